"""Broken copies of the shipped catalogs are refused with the file, row and reason of the problem."""

import json
import shutil

import pytest

from catalogs import CatalogError, load_catalogs
from catalogs.loader import DATA_DIR


def copy_with(tmp_path, file, change):
    """Copy the shipped data into tmp_path, let ``change`` edit one parsed file in place, write it back."""
    directory = tmp_path / "data"
    shutil.copytree(DATA_DIR, directory)
    path = directory / file
    document = json.loads(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
    return directory


def refusal(tmp_path, file, change) -> CatalogError:
    with pytest.raises(CatalogError) as caught:
        load_catalogs(copy_with(tmp_path, file, change))
    return caught.value


def row(rows, code):
    return next(r for r in rows if r["code"] == code)


def community(document, code):
    return next(f for f in document["features"] if f["properties"]["code"] == code)


def test_unknown_department_code(tmp_path):
    error = refusal(tmp_path, "event_types.json", lambda rows: row(rows, "A07").update(department="zhifaa"))
    assert (error.file, error.path, error.reason) == ("event_types.json", "A07.department", "unknown unit 'zhifaa'")
    assert str(error) == "event_types.json A07.department: unknown unit 'zhifaa'"


def test_competent_department_must_be_a_department_not_an_office(tmp_path):
    error = refusal(tmp_path, "event_types.json",
                    lambda rows: row(rows, "A02").update(department="gongan.longgang_pcs"))
    assert (error.file, error.path) == ("event_types.json", "A02.department")
    assert "kind 'office'" in error.reason


def test_duplicate_event_type_code(tmp_path):
    error = refusal(tmp_path, "event_types.json", lambda rows: row(rows, "A08").update(code="A07"))
    assert (error.file, error.path) == ("event_types.json", "A07")
    assert error.reason == "duplicate code 'A07' (entries 7 and 8)"


def test_duplicate_unit_code(tmp_path):
    error = refusal(tmp_path, "units.json", lambda rows: rows.append(dict(row(rows, "jingfa"))))
    assert (error.file, error.path) == ("units.json", "jingfa") and "duplicate code" in error.reason


def test_unit_parent_cycle(tmp_path):
    error = refusal(tmp_path, "units.json", lambda rows: row(rows, "gongan").update(parent="gongan.longgang_pcs"))
    assert (error.file, error.path) == ("units.json", "gongan.parent")
    assert error.reason == "parent cycle: gongan → gongan.longgang_pcs → gongan"


def test_unit_that_is_its_own_parent(tmp_path):
    error = refusal(tmp_path, "units.json", lambda rows: row(rows, "yingji").update(parent="yingji"))
    assert (error.path, error.reason) == ("yingji.parent", "parent cycle: yingji → yingji")


def test_unknown_parent(tmp_path):
    error = refusal(tmp_path, "units.json", lambda rows: row(rows, "zhifa.zhongdui1").update(parent="zhifa2"))
    assert str(error) == "units.json zhifa.zhongdui1.parent: unknown unit 'zhifa2'"


def test_exactly_one_city_authority(tmp_path):
    def second_authority(rows):
        rows.append({**row(rows, "shezhi"), "code": "zhengfa", "name": "市委政法委"})
    error = refusal(tmp_path, "units.json", second_authority)
    assert (error.path, error.file) == ("zhengfa.kind", "units.json") and "more than one" in error.reason


def test_missing_supervisor_is_a_schema_violation(tmp_path):
    error = refusal(tmp_path, "units.json", lambda rows: row(rows, "zhifa").pop("supervisor"))
    assert str(error) == "units.json zhifa.supervisor: missing required field"


def test_missing_field_in_appendix_a(tmp_path):
    error = refusal(tmp_path, "event_types.json", lambda rows: row(rows, "A12").pop("department"))
    assert (error.file, error.path, error.reason) == ("event_types.json", "A12.department", "missing required field")


def test_a_process_key_must_be_a_bpmn_process_id(tmp_path):
    """Table A.1's optional `process` (the process an event of the type starts) is an id, not prose; that a
    deployed version provides it is the database's to say (tests/engine/test_type_processes.py)."""
    error = refusal(tmp_path, "event_types.json", lambda rows: row(rows, "A05").update(process="六步 办理"))
    assert (error.file, error.path) == ("event_types.json", "A05.process") and "does not match" in error.reason
    good = load_catalogs(copy_with(tmp_path / "ok", "event_types.json",
                                   lambda rows: row(rows, "A05").update(process="six_user_tasks")))
    assert good.process_of("A05") == "six_user_tasks" and good.process_of("A07") is None
    assert good.processes_named() == {"A05": "six_user_tasks"}


def test_misspelt_field_is_refused(tmp_path):
    error = refusal(tmp_path, "one_thing_matters.json", lambda rows: row(rows, "B02").update(cooperatin=[]))
    assert (error.file, error.path) == ("one_thing_matters.json", "B02") and "'cooperatin'" in error.reason


def test_unknown_cooperating_unit(tmp_path):
    error = refusal(tmp_path, "one_thing_matters.json", lambda rows: row(rows, "B03")["cooperating"].append("huanbao"))
    assert str(error) == "one_thing_matters.json B03.cooperating[4]: unknown unit 'huanbao'"


@pytest.mark.parametrize("value, reason", [
    ("P2H", "not an ISO 8601 duration of the form PnDTnHnMnS: 'P2H'"),
    ("PT0M", "a time limit must be longer than zero: 'PT0M'"),
    ("2 hours", "'2 hours' does not match '^P'"),  # caught by the schema already
])
def test_invalid_duration(tmp_path, value, reason):
    error = refusal(tmp_path, "communities.geojson",
                    lambda doc: community(doc, "lg-xincheng")["properties"]["time_limits"].update(A13=value))
    assert (error.file, error.path, error.reason) == ("communities.geojson", "lg-xincheng.time_limits.A13", reason)


def test_time_limit_for_an_unknown_event_type(tmp_path):
    error = refusal(tmp_path, "communities.geojson",
                    lambda doc: community(doc, "lg-fangyan")["properties"]["time_limits"].update(A99="PT1H"))
    assert (error.path, error.reason.split(" (")[0]) == ("lg-fangyan.time_limits.A99", "unknown event type 'A99'")


def test_whistle_list_names_an_unknown_event_type(tmp_path):
    error = refusal(tmp_path, "communities.geojson",
                    lambda doc: community(doc, "lg-longgang")["properties"]["whistle_list"].insert(0, "A31"))
    assert str(error) == "communities.geojson lg-longgang.whistle_list[0]: unknown event type 'A31'"


def test_community_committee_must_be_a_committee(tmp_path):
    error = refusal(tmp_path, "communities.geojson",
                    lambda doc: community(doc, "lg-yanjiang")["properties"].update(committee="gongan"))
    assert error.path == "lg-yanjiang.committee" and "kind 'department'" in error.reason


def test_overlapping_polygons(tmp_path):
    def shift_west(doc):  # move 龙港社区 0.01° west, into 沿江社区
        ring = community(doc, "lg-longgang")["geometry"]["coordinates"][0]
        ring[:] = [[lng - 0.01, lat] for lng, lat in ring]
    error = refusal(tmp_path, "communities.geojson", shift_west)
    assert (error.file, error.path, error.reason) == (
        "communities.geojson", "lg-longgang.geometry", "overlaps community 'lg-yanjiang'")


def test_a_polygon_inside_another_overlaps_it(tmp_path):
    def nest(doc):
        community(doc, "lg-xincheng")["geometry"]["coordinates"] = [
            [[120.53, 27.51], [120.54, 27.51], [120.54, 27.52], [120.53, 27.51]]]
    error = refusal(tmp_path, "communities.geojson", nest)
    assert (error.path, error.reason) == ("lg-xincheng.geometry", "overlaps community 'lg-fangyan'")


def test_self_intersecting_polygon(tmp_path):
    def bowtie(doc):
        community(doc, "lg-fangyan")["geometry"]["coordinates"] = [
            [[120.52, 27.50], [120.57, 27.55], [120.57, 27.50], [120.52, 27.55], [120.52, 27.50]]]
    error = refusal(tmp_path, "communities.geojson", bowtie)
    assert error.path == "lg-fangyan.geometry" and error.reason.startswith("invalid polygon: Self-intersection")


def test_unclosed_ring(tmp_path):
    error = refusal(tmp_path, "communities.geojson",
                    lambda doc: community(doc, "lg-fangyan")["geometry"]["coordinates"][0].pop())
    assert error.path == "lg-fangyan.geometry" and "not closed" in error.reason


def test_swapped_coordinates_fail_the_schema(tmp_path):
    def swap(doc):
        ring = community(doc, "lg-xincheng")["geometry"]["coordinates"][0]
        ring[:] = [[lat, lng] for lng, lat in ring]
    error = refusal(tmp_path, "communities.geojson", swap)
    assert error.path == "lg-xincheng.geometry.coordinates[0][0][1]" and "maximum" in error.reason


def test_malformed_json_names_line_and_column(tmp_path):
    directory = copy_with(tmp_path, "roles.json", lambda rows: None)
    (directory / "roles.json").write_text('[\n  {"code": "grid_worker", "name": "网格员"\n]', encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        load_catalogs(directory)
    assert (caught.value.file, caught.value.path) == ("roles.json", "line 3 column 1")


def test_all_problems_are_collected(tmp_path):
    def two_problems(rows):
        row(rows, "A07").update(department="zhifaa")
        row(rows, "A19").update(department="shijan")
    error = refusal(tmp_path, "event_types.json", two_problems)
    assert [e.path for e in error.errors] == ["A07.department", "A19.department"]


def test_content_hash_changes_with_the_files(tmp_path):
    shipped = load_catalogs()
    edited = load_catalogs(copy_with(tmp_path, "roles.json", lambda rows: rows[0].update(name="专职网格员")))
    assert edited.content_hash != shipped.content_hash
    assert edited.role("专职网格员") == "grid_worker"


# -- issue #4: the §8 limits, the working calendar and duty rosters ----------------------------------
def test_a_deadline_kind_needs_a_known_basis(tmp_path):
    error = refusal(tmp_path, "deadline_kinds.json", lambda rows: row(rows, "accept").update(basis="lunar"))
    assert error.file == "deadline_kinds.json" and "lunar" in error.reason


def test_a_duplicate_deadline_kind(tmp_path):
    error = refusal(tmp_path, "deadline_kinds.json", lambda rows: rows.append(dict(row(rows, "close"))))
    assert error.file == "deadline_kinds.json" and "duplicate code 'close'" in error.reason


@pytest.mark.parametrize("days, reason", [
    ({"holidays": ["2027-02-30"], "workdays": []}, "is not a date"),
    ({"holidays": ["2028-01-03"], "workdays": []}, "is not in 2027"),
    ({"holidays": ["2027-01-02"], "workdays": []}, "weekend day"),          # a Saturday as a holiday
    ({"holidays": [], "workdays": ["2027-01-04"]}, "is a weekday"),         # a Monday as 调休
])
def test_a_calendar_year_must_hold_real_days_of_that_year(tmp_path, days, reason):
    error = refusal(tmp_path, "calendar.json", lambda doc: doc["years"].update({"2027": days}))
    assert error.file == "calendar.json" and reason in error.reason


def test_office_hours_must_open_before_they_close(tmp_path):
    error = refusal(tmp_path, "calendar.json", lambda doc: doc["office_hours"].update(start="18:00"))
    assert (error.file, error.path) == ("calendar.json", "office_hours")


def test_a_duty_roster_names_known_units_once_a_day(tmp_path):
    error = refusal(tmp_path, "duty_rosters.json", lambda rows: rows.append({"unit": "nasa", "date": "2026-10-10",
                                                                             "person": "x"}))
    assert error.file == "duty_rosters.json" and "unknown unit 'nasa'" in error.reason
    error = refusal(tmp_path / "again", "duty_rosters.json",
                    lambda rows: rows.append({"unit": "zhifa", "date": "2026-10-10", "person": "someone"}))
    assert "two people on duty" in error.reason


# -- issue #18: the escalation ladder ------------------------------------------------------------------------
def rung(rows, code):
    return next(r for r in rows if r["code"] == code)


@pytest.mark.parametrize("change, path, words", [
    (lambda rows: rung(rows, "city").pop("after"), "city.after", "missed_for needs `after`"),
    (lambda rows: rung(rows, "city").update(after="PT0H"), "city.after", "longer than zero"),
    (lambda rows: rung(rows, "red").update(after="PT1H"), "red.after", "only a missed_for rung"),
    (lambda rows: rung(rows, "dispatch").update(limits=["acept"]), "dispatch.limits[0]", "unknown deadline kind"),
    (lambda rows: rung(rows, "city").update(notify=["unit:nasa"]), "city.notify[0]", "unknown unit 'nasa'"),
    (lambda rows: rung(rows, "city").update(notify=["duty_officer"]), "city.notify", "name who is told"),
    (lambda rows: rung(rows, "city").update(message="事件 {number"), "city.message", "unbalanced braces"),
    (lambda rows: rung(rows, "city").update(message="{number!r}"), "city.message", "unknown placeholder"),
    (lambda rows: rung(rows, "city").update(message="{number:>9}"), "city.message", "unknown placeholder"),
    (lambda rows: rung(rows, "city").update(message="{due_at.year}"), "city.message", "unknown placeholder"),
    (lambda rows: rows.append(dict(rung(rows, "city"))), "city", "duplicate code 'city'"),
    (lambda rows: rung(rows, "city").update(trigger="later"), "city.trigger", "is not one of"),
    (lambda rows: rung(rows, "city").update(notify=["everyone"]), "city.notify[0]", "does not match"),
])
def test_a_broken_escalation_ladder_is_refused_naming_the_rung(tmp_path, change, path, words):
    error = refusal(tmp_path, "escalation.json", change)
    assert any(e.file == "escalation.json" and e.path == path and words in e.reason for e in error.errors), error.errors


def test_a_units_leader_account_is_optional_and_a_name(tmp_path):
    load_catalogs(copy_with(tmp_path, "units.json", lambda rows: row(rows, "zhifa")["supervisor"].update(username="lmh")))
    error = refusal(tmp_path / "again", "units.json", lambda rows: row(rows, "zhifa")["supervisor"].update(username=""))
    assert error.path == "zhifa.supervisor.username"


# -- §8.1 the community's own steps (step_limits.json) and Appendix B's limits (issue #19) ---------------
@pytest.mark.parametrize("change, path, words", [
    (lambda rows: rows.append({"community": "lg-nowhere", "event_type": "A05"}), "[2].community", "unknown community"),
    (lambda rows: rows.append({"community": "*", "event_type": "A99"}), "[2].event_type", "unknown event type"),
    (lambda rows: rows.append({"community": "lg-xincheng", "event_type": "A13", "check": "PT1H"}), "[2]", "set twice"),
    (lambda rows: rows[0].update(verify="PT0M"), "[0].verify", "longer than zero"),
    (lambda rows: rows[0].update(analyse="1 hour"), "[0].analyse", "does not match"),
    (lambda rows: rows[0].update(analyse="PT1X"), "[0].analyse", "ISO 8601"),
])
def test_a_broken_step_limit_is_refused_naming_the_row(tmp_path, change, path, words):
    error = refusal(tmp_path, "step_limits.json", change)
    assert (error.file, error.path) == ("step_limits.json", path) and words in error.reason


def test_the_most_particular_step_limit_applies():
    cats = load_catalogs()
    assert cats.step_limit("verify", "lg-xincheng", "A13") == "PT20M"     # the community's own for the type
    assert cats.step_limit("check", "lg-xincheng", "A13") == "PT2H"       # not set there: every community's
    assert cats.step_limit("analyse", "lg-longgang", "A13") == "PT1H"
    assert cats.step_limit("verify", None, None) == "PT30M"


@pytest.mark.parametrize("change, path", [
    (lambda rows: row(rows, "B03")["limits"].update(nosuch={"close": "P1D"}), "B03.limits.nosuch"),
    (lambda rows: row(rows, "B03")["limits"].update({"gongan.longgang_pcs": {"close": "P1D"}}),
     "B03.limits.gongan.longgang_pcs"),                                  # an office never co-operates (Table B.1)
    (lambda rows: row(rows, "B03")["limits"].update(lead="soon"), "B03.limits.lead"),
    (lambda rows: row(rows, "B03")["limits"]["default"].update(close="PT0S"), "B03.limits.default.close"),
])
def test_a_broken_one_thing_limit_is_refused(tmp_path, change, path):
    error = refusal(tmp_path, "one_thing_matters.json", change)
    assert (error.file, error.path) == ("one_thing_matters.json", path)
