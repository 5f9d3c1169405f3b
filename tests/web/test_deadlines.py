"""Every time limit of §8 on the simulated clock (issue #4): nothing one second before its due time;
one second after, the deadline is missed, a supervision record (§9.1) names who was late, they and
their supervisor are told, and the work is still open; the yellow warning (预警) at its share; working
days; extensions (§8.4); rework is no free extension. The real engine through the HTTP API."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from engine.store.models import Notification
from tests.web.test_paths import SUPERIOR

SIM_START = datetime.fromisoformat("2026-10-08T09:00:00+08:00")


def told(app, recipient, kind):
    svc = app.extensions["eventflow"]
    return svc.read(lambda s: [n.message for n in s.scalars(select(Notification).where(
        Notification.recipient == recipient, Notification.kind == kind).order_by(Notification.id))])


def deadline(api, event_id, kind, unit=None, user="staff1"):
    found = [d for d in api.event(event_id, user=user)["deadlines"] if d["kind"] == kind
             and (unit is None or d["unit"] == unit)]
    assert len(found) == 1, api.event(event_id, user=user)["deadlines"]
    return found[0]


def now(api):
    return datetime.fromisoformat(api.get("/api/sim/now", "admin1").json["now"])


def advance_to(api, when: datetime):
    r = api.post("/api/sim/advance", "admin1", json={"to": when.isoformat()})
    assert r.status_code == 200, r.json


def supervised(api, event_id, user="city1"):
    r = api.get("/api/supervision", user)
    assert r.status_code == 200, r.json
    return [s for s in r.json["items"] if s["event_id"] == event_id]


def assert_fires_on_time(app, api, event_id, kind, due: datetime, open_task, unit=None, person=None):
    """One second before: pending; one second after: missed, supervised, told, work still open."""
    advance_to(api, due - timedelta(seconds=1))
    assert deadline(api, event_id, kind, unit)["status"] == "pending"
    assert supervised(api, event_id) == []
    advance_to(api, due + timedelta(seconds=1))
    row = deadline(api, event_id, kind, unit)
    assert row["status"] == "missed" and row["light"] == "red"
    [record] = supervised(api, event_id)
    assert record["kind"] == kind and record["unit"] == unit and record["person"] == person
    assert record["status"] == "open" and "超期" in record["reason"]
    user, name = open_task
    assert api.task(user, event_id, name)                               # non-interrupting: work goes on
    return record


def whistle(api, event, on_site=False, co=None):
    api.whistle_to(event["id"], department="zhifa", on_site=on_site, co_departments=co)
    return now(api)


def declared_difficult(api, reason="需协调产权单位"):
    """An on-site whistle to zhifa, accepted, and declared 疑难 at 到场 (§8.3)."""
    event = api.report()
    whistle(api, event, on_site=True)
    api.complete("zhifa1", event["id"], "accept_whistle", {"decision": "accept"})
    api.complete("zhifa1", event["id"], "arrive", {"arrival_location": {"lat": 27.52, "lng": 120.6},
                                                   "arrival_photo": api.photo("zhifa1", event["id"]),
                                                   "on_spot": "difficult",
                                                   "difficult_reason": reason})
    return event


# -- each kind: on time, missed, supervised ---------------------------------------------------------
def test_accept_30_minutes_from_dispatch(app, api):
    event = api.report()
    dispatched = whistle(api, event)
    row = deadline(api, event["id"], "accept")
    assert datetime.fromisoformat(row["due_at"]) == dispatched + timedelta(minutes=30)
    assert row["unit"] == "zhifa" and row["original_due_at"] == row["due_at"] and not row["extended"]
    assert_fires_on_time(app, api, event["id"], "accept", dispatched + timedelta(minutes=30),
                         ("zhifa1", "accept_whistle"), unit="zhifa")
    assert any("红灯" in m for m in told(app, "zhifa", "overdue"))
    assert any("督办" in m and "李明华" in m for m in told(app, "zhifa", "supervise"))   # the 分管领导


def test_close_24_hours_from_dispatch_and_a_rework_does_not_restart_it(app, api):
    event = api.report()
    dispatched = whistle(api, event)
    advance_to(api, dispatched + timedelta(minutes=10))
    api.complete("zhifa1", event["id"], "accept_whistle", {"decision": "accept"})
    row = deadline(api, event["id"], "close")
    assert datetime.fromisoformat(row["due_at"]) == dispatched + timedelta(hours=24)
    advance_to(api, dispatched + timedelta(hours=20))
    api.complete("zhifa1", event["id"], "dispose_feedback", {"result_summary": "已处置"})
    assert deadline(api, event["id"], "close")["status"] == "met"
    api.receive_closure(event["id"])
    api.complete("staff1", event["id"], "check", {"passed": False, "check_note": "未整改", "rating": "不满意"})
    row = deadline(api, event["id"], "close")                      # 重办: the same limit runs on
    assert row["status"] == "pending" and datetime.fromisoformat(row["due_at"]) == dispatched + timedelta(hours=24)
    assert_fires_on_time(app, api, event["id"], "close", dispatched + timedelta(hours=24),
                         ("zhifa1", "dispose_rework"), unit="zhifa")


def test_arrive_one_hour_from_dispatch(app, api):
    event = api.report()
    dispatched = whistle(api, event, on_site=True)
    advance_to(api, dispatched + timedelta(minutes=10))
    api.complete("zhifa1", event["id"], "accept_whistle", {"decision": "accept"})
    assert deadline(api, event["id"], "accept")["status"] == "met"
    assert_fires_on_time(app, api, event["id"], "arrive", dispatched + timedelta(minutes=60),   # not from 受理
                         ("zhifa1", "arrive"), unit="zhifa")


def test_close_difficult_five_working_days_across_a_make_up_saturday(app, api):
    event = declared_difficult(api)
    row = deadline(api, event["id"], "close_difficult")
    # declared Thu 2026-10-08: Fri 9, Sat 10 (调休 make-up working day), Mon 12, Tue 13, Wed 14 → 17:30
    due = datetime.fromisoformat("2026-10-14T17:30:00+08:00")
    assert datetime.fromisoformat(row["due_at"]) == due and row["basis"] == "working"
    assert row["calendar_warning"] is None
    assert_fires_on_time(app, api, event["id"], "close_difficult", due, ("zhifa1", "dispose_feedback"), unit="zhifa")


def test_a_working_day_deadline_in_a_year_without_a_calendar_is_computed_and_warned(app, api):
    advance_to(api, datetime.fromisoformat("2026-12-29T09:00:00+08:00"))
    event = declared_difficult(api, "跨年协调")
    row = deadline(api, event["id"], "close_difficult")
    # Wed 30, Thu 31 (2026, holiday data); Fri 2027-01-01 counted as a weekday (no 2027 calendar), Mon 4, Tue 5
    assert row["due_at"] == "2027-01-05T17:30:00+08:00"
    assert "2027" in row["calendar_warning"]
    assert api.event(event["id"])["warnings"] == [row["calendar_warning"]]


def test_community_handle_uses_the_communitys_limit_for_the_type(app, api):
    event = api.report(type_code="A13")          # lg-xincheng sets A13 (施工噪音) to 1 hour (§8.1)
    api.complete("staff1", event["id"], "verify", {"verdict": "accept"})
    assigned = now(api)
    api.complete("staff1", event["id"], "analyse", {"disposal": "cadre"})
    row = deadline(api, event["id"], "community_handle")
    assert row["rule"] == "PT1H" and row["unit"] is None and row["community"] == "lg-xincheng"
    record = assert_fires_on_time(app, api, event["id"], "community_handle", assigned + timedelta(hours=1),
                                  ("staff1", "handle_by_cadre"))
    assert record["community"] == "lg-xincheng"


def test_community_handle_defaults_to_two_hours(app, api):
    event = api.report(type_code="A05")
    api.complete("staff1", event["id"], "verify", {"verdict": "accept"})
    assigned = now(api)
    api.complete("staff1", event["id"], "analyse", {"disposal": "stationed", "stationed_unit": "gongan.xincheng_pcs"})
    assert_fires_on_time(app, api, event["id"], "community_handle", assigned + timedelta(hours=2),
                         ("stationed1", "handle_stationed"), unit="gongan.xincheng_pcs")


def test_superior_deadline(app, api):
    event = api.report("committee1", **SUPERIOR)
    api.complete("committee1", event["id"], "consult", {
        "consult_note": "会商", "assignments": [{"unit": "zhifa", "task_description": "整治"}]})
    due = datetime.fromisoformat(SUPERIOR["superior_deadline"])
    assert_fires_on_time(app, api, event["id"], "superior", due, ("zhifa1", "part_unit"),
                         unit="committee.xincheng")                   # the committee owns the assignment
    api.complete("zhifa1", event["id"], "part_unit", {"part_summary": "完成"})
    api.complete("committee1", event["id"], "committee_report", {"result_summary": "完成"})
    row = deadline(api, event["id"], "superior")
    assert row["status"] == "missed" and row["met_at"]                 # done late: still a miss
    assert supervised(api, event["id"]) == []                           # … and no longer open


def test_co_departments_have_their_own_accept_and_close(app, api):
    event = api.report()
    dispatched = whistle(api, event, co=["shijian"])
    api.complete("zhifa1", event["id"], "accept_whistle", {"decision": "accept"})
    part_dispatched = now(api)
    assert deadline(api, event["id"], "accept", unit="shijian")["status"] == "pending"
    api.complete("shijian1", event["id"], "co_accept", {})
    row = deadline(api, event["id"], "close", unit="shijian")
    assert datetime.fromisoformat(row["due_at"]) == part_dispatched + timedelta(hours=24)
    api.complete("zhifa1", event["id"], "dispose_feedback", {"result_summary": "主办部分已处置"})
    advance_to(api, part_dispatched + timedelta(hours=24, seconds=1))
    assert deadline(api, event["id"], "close", unit="shijian")["status"] == "missed"
    assert deadline(api, event["id"], "close", unit="zhifa")["status"] == "met"
    assert [s["unit"] for s in supervised(api, event["id"])] == ["shijian"]
    assert dispatched <= part_dispatched


# -- warning lights ---------------------------------------------------------------------------------
def test_the_yellow_warning_at_two_thirds_of_the_window(app, api):
    event = api.report()
    dispatched = whistle(api, event)
    row = deadline(api, event["id"], "accept")
    assert row["light"] == "green" and datetime.fromisoformat(row["warn_at"]) == dispatched + timedelta(minutes=20)
    advance_to(api, dispatched + timedelta(minutes=20) - timedelta(seconds=1))
    assert told(app, "zhifa", "warning") == [] and deadline(api, event["id"], "accept")["light"] == "green"
    advance_to(api, dispatched + timedelta(minutes=20, seconds=1))
    assert len(told(app, "zhifa", "warning")) == 1 and "黄灯" in told(app, "zhifa", "warning")[0]
    assert deadline(api, event["id"], "accept")["light"] == "yellow"
    advance_to(api, dispatched + timedelta(minutes=25))
    assert len(told(app, "zhifa", "warning")) == 1                     # once
    advance_to(api, dispatched + timedelta(minutes=31))
    assert deadline(api, event["id"], "accept")["light"] == "red"


def test_met_deadlines_have_no_light_and_withdrawal_supersedes(app, api):
    event = api.report()
    whistle(api, event)
    api.complete("zhifa1", event["id"], "accept_whistle", {"decision": "accept"})
    assert deadline(api, event["id"], "accept")["light"] is None
    api.withdraw("grid1", event["id"])
    assert deadline(api, event["id"], "close")["status"] == "superseded"


# -- extensions (§8.4) ------------------------------------------------------------------------------
def request_extension(api, deadline_id, user="staff1", expect=201, **body):
    r = api.post(f"/api/deadlines/{deadline_id}/extension-requests", user, json={"reason": "需协调多方", **body})
    assert r.status_code == expect, r.json
    return r.json


def decide(api, request_id, expect=200, user="city1", **body):
    r = api.post(f"/api/extension-requests/{request_id}/decision", user, json=body)
    assert r.status_code == expect, r.json
    return r.json


def test_an_approved_extension_re_arms_the_timer_and_keeps_the_original(app, api):
    event = api.report()
    dispatched = whistle(api, event)
    api.complete("zhifa1", event["id"], "accept_whistle", {"decision": "accept"})
    close = deadline(api, event["id"], "close")
    req = request_extension(api, close["id"], requested_due_at=(dispatched + timedelta(hours=48)).isoformat())
    assert req["status"] == "pending" and told(app, "shezhi", "extension_requested")
    new_due = dispatched + timedelta(hours=36)
    done = decide(api, req["id"], approve=True, new_due_at=new_due.isoformat(), note="同意")
    assert done["status"] == "approved"
    row = deadline(api, event["id"], "close")
    assert datetime.fromisoformat(row["due_at"]) == new_due and row["extended"] and row["extensions"] == 1
    assert datetime.fromisoformat(row["original_due_at"]) == dispatched + timedelta(hours=24)
    assert_fires_on_time(app, api, event["id"], "close", new_due, ("zhifa1", "dispose_feedback"), unit="zhifa")


def test_a_rejected_extension_changes_nothing_and_the_cap_holds(app, api):
    event = api.report()
    dispatched = whistle(api, event)
    api.complete("zhifa1", event["id"], "accept_whistle", {"decision": "accept"})
    close = deadline(api, event["id"], "close")                        # close: at most 2 extensions
    req = request_extension(api, close["id"])
    assert request_extension(api, close["id"], expect=409)["error"] == "conflict"   # one at a time
    assert decide(api, req["id"], approve=False, expect=422)["errors"][0]["field"] == "note"
    decide(api, req["id"], approve=False, note="理由不充分")
    assert deadline(api, event["id"], "close")["due_at"] == close["due_at"]
    for hours in (30, 36):
        req = request_extension(api, close["id"])
        decide(api, req["id"], approve=True, new_due_at=(dispatched + timedelta(hours=hours)).isoformat())
    assert "2" in request_extension(api, close["id"], expect=409)["message"]          # the cap
    assert deadline(api, event["id"], "close")["extensions"] == 2


def test_extension_roles_and_bad_input(app, api):
    event = api.report()
    whistle(api, event)
    accept = deadline(api, event["id"], "accept")
    assert request_extension(api, accept["id"], user="zhifa1", expect=403)["error"] == "forbidden"
    assert request_extension(api, accept["id"], reason="", expect=422)["errors"][0]["field"] == "reason"
    assert "0" in request_extension(api, accept["id"], expect=409)["message"]       # accept: no extensions
    api.complete("zhifa1", event["id"], "accept_whistle", {"decision": "accept"})
    close = deadline(api, event["id"], "close")
    req = request_extension(api, close["id"])
    assert decide(api, req["id"], user="staff1", approve=True, expect=403)["error"] == "forbidden"
    r = decide(api, req["id"], approve=True, new_due_at="2026-10-08T10:00:00+08:00", expect=422)
    assert r["errors"][0]["field"] == "new_due_at"
    assert decide(api, req["id"], approve=True, expect=422)["errors"][0]["field"] == "new_due_at"
    assert decide(api, req["id"], approve=True, note={"a": 1}, expect=422)["errors"][0]["field"] == "note"
    assert api.get("/api/extension-requests?status=maybe", "city1").status_code == 422
    assert api.get("/api/supervision?status=maybe", "city1").json["errors"][0]["field"] == "status"


# -- supervision listing -----------------------------------------------------------------------------
def test_supervision_is_filtered_and_scoped(app, api):
    first, second = api.report(), api.report()
    whistle(api, first)
    api.whistle_to(second["id"], department="shijian")
    api.advance("PT31M")
    assert {s["unit"] for s in supervised(api, first["id"]) + supervised(api, second["id"])} == {"zhifa", "shijian"}
    only = api.get("/api/supervision?unit=zhifa&kind=accept", "city1").json["items"]
    assert [s["event_id"] for s in only] == [first["id"]]
    assert {s["unit"] for s in api.get("/api/supervision", "zhifa1").json["items"]} == {"zhifa"}
    assert {s["event_id"] for s in api.get("/api/supervision", "staff1").json["items"]} == {first["id"], second["id"]}
    assert api.get("/api/supervision", "staff2").json["items"] == []
    assert api.get("/api/supervision?kind=close", "city1").json["items"] == []


@pytest.mark.parametrize("when", ["2026-10-01T10:00:00+08:00"])
def test_working_days_skip_the_national_day_holiday(when):
    from catalogs import load_catalogs
    from engine.limits.workdays import WorkCalendar
    calendar = WorkCalendar(load_catalogs().calendar())
    # 10-01..10-07 off; Thu 10-08 1, Fri 10-09 2, Sat 10-10 (调休) 3, Mon 10-12 4, Tue 10-13 5
    assert calendar.add_working_days(datetime.fromisoformat(when), 5).isoformat() == "2026-10-13T17:30:00+08:00"
    # a plain weekend: Fri 2026-11-20 → Mon 23 … Fri 27
    assert calendar.add_working_days(datetime.fromisoformat("2026-11-20T16:00:00+08:00"), 5).isoformat() \
        == "2026-11-27T17:30:00+08:00"
    assert calendar.uncovered_years == set()


def test_editing_the_calendar_moves_pending_working_day_deadlines(settings, app, api, tmp_path):
    """An administrator adds a year's holiday arrangement: at the next start (or `eventflow
    load-catalogs`) pending working-day deadlines are computed again and their timers re-armed."""
    import json
    import shutil

    from catalogs.loader import DATA_DIR
    from tests.web.conftest import build_app
    from web.scheduler import catch_up
    advance_to(api, datetime.fromisoformat("2026-12-29T09:00:00+08:00"))
    event = declared_difficult(api, "跨年协调")
    assert deadline(api, event["id"], "close_difficult")["due_at"] == "2027-01-05T17:30:00+08:00"
    app.extensions["eventflow"].db.dispose()

    edited = tmp_path / "catalogs"
    shutil.copytree(DATA_DIR, edited)
    calendar = json.loads((edited / "calendar.json").read_text(encoding="utf-8"))
    calendar["years"]["2027"] = {"holidays": ["2027-01-01"], "workdays": []}   # a test arrangement
    (edited / "calendar.json").write_text(json.dumps(calendar), encoding="utf-8")
    from dataclasses import replace
    restarted = build_app(replace(settings, catalog_dir=str(edited)))
    catch_up(restarted.extensions["eventflow"])
    from tests.web.client import Api
    again = Api(restarted)
    row = deadline(again, event["id"], "close_difficult")
    assert row["due_at"] == "2027-01-06T17:30:00+08:00" and row["calendar_warning"] is None
    assert row["original_due_at"] == row["due_at"] and not row["extended"]
    advance_to(again, datetime.fromisoformat("2027-01-05T17:30:01+08:00"))
    assert deadline(again, event["id"], "close_difficult")["status"] == "pending"   # the timer moved too
    advance_to(again, datetime.fromisoformat("2027-01-06T17:30:01+08:00"))
    assert deadline(again, event["id"], "close_difficult")["status"] == "missed"
    restarted.extensions["eventflow"].db.dispose()


def test_out_of_hours_a_units_notices_also_reach_the_person_on_duty(app, api):
    """值班表: the accept limit of an order dispatched on the make-up Saturday evening is missed at
    night; zhifa's duty officer that day (catalogs/data/duty_rosters.json) is told as well."""
    advance_to(api, datetime.fromisoformat("2026-10-10T18:00:00+08:00"))     # after office hours
    event = api.report()
    dispatched = whistle(api, event)
    advance_to(api, dispatched + timedelta(minutes=31))
    assert any(m.startswith("【值班】【红灯】") for m in told(app, "zhifa1", "overdue"))
    assert told(app, "shijian1", "overdue") == []


def test_in_office_hours_only_the_unit_is_told(app, api):
    event = api.report()                                # Thu 2026-10-08 09:00, a working day
    dispatched = whistle(api, event)
    advance_to(api, dispatched + timedelta(minutes=31))
    assert told(app, "zhifa", "overdue") and told(app, "zhifa1", "overdue") == []


# -- review: misses inside a user's step, re-dispatch after a miss -----------------------------------
def test_a_rework_after_the_due_time_is_a_miss_at_once(app, api):
    event = api.report()
    dispatched = whistle(api, event)
    api.complete("zhifa1", event["id"], "accept_whistle", {"decision": "accept"})
    advance_to(api, dispatched + timedelta(hours=20))
    api.complete("zhifa1", event["id"], "dispose_feedback", {"result_summary": "已处置"})
    advance_to(api, dispatched + timedelta(hours=25))                 # the check fails after the due time
    api.receive_closure(event["id"])
    api.complete("staff1", event["id"], "check", {"passed": False, "check_note": "未整改", "rating": "不满意"})
    row = deadline(api, event["id"], "close")                         # re-armed at its old, past time
    assert row["status"] == "missed" and row["light"] == "red" and len(supervised(api, event["id"])) == 1
    api.complete("zhifa1", event["id"], "dispose_rework", {"result_summary": "重办完成"})
    row = deadline(api, event["id"], "close")
    assert row["status"] == "missed" and row["met_at"]                # done late is still a miss


def test_completing_after_the_due_time_before_the_sweep_is_a_miss(app, api):
    event = api.report()
    dispatched = whistle(api, event)
    app.extensions["eventflow"].clock.set(dispatched + timedelta(minutes=30, seconds=1))  # no sweep yet
    api.complete("zhifa1", event["id"], "accept_whistle", {"decision": "accept"})
    row = deadline(api, event["id"], "accept")
    assert row["status"] == "missed" and row["met_at"]


def test_a_step_after_a_parallel_due_time_does_not_lose_that_miss(app, api):
    event = api.report()
    whistle(api, event, co=["shijian"])
    api.complete("zhifa1", event["id"], "accept_whistle", {"decision": "accept"})
    part = now(api)
    app.extensions["eventflow"].clock.set(part + timedelta(minutes=30, seconds=1))   # shijian due, no sweep yet
    api.complete("zhifa1", event["id"], "dispose_feedback", {"result_summary": "主办部分已处置"})
    assert deadline(api, event["id"], "accept", unit="shijian")["status"] == "missed"
    assert [s["unit"] for s in supervised(api, event["id"])] == ["shijian"]


def test_a_unit_that_missed_and_gets_the_order_back_has_a_new_accept_limit(app, api):
    event = api.report()
    whistle(api, event)
    api.advance("PT31M")                                                 # zhifa misses its accept
    api.complete("zhifa1", event["id"], "accept_whistle", {"decision": "return",
                                                           "return_code": "not_ours", "return_reason": "非本部门职责"})
    api.complete("whistle1", event["id"], "redispatch", {"lead_department": "shijian"})
    api.complete("shijian1", event["id"], "accept_whistle", {"decision": "return",
                                                             "return_code": "not_ours", "return_reason": "非本部门职责"})
    api.complete("city1", event["id"], "authority_assign", {"owner_department": "zhifa", "decision_note": "执法局承办"})
    assigned = now(api)
    zhifa = [d for d in api.event(event["id"])["deadlines"] if d["kind"] == "accept" and d["unit"] == "zhifa"]
    assert [d["status"] for d in zhifa] == ["missed", "pending"]
    assert datetime.fromisoformat(zhifa[1]["due_at"]) == assigned + timedelta(minutes=30)


def test_the_diagrams_default_applies_where_the_community_sets_no_limit(app, api, tmp_path):
    from engine.limits.deadlines import Deadlines
    svc = app.extensions["eventflow"]
    deadlines = Deadlines(svc.catalogs)
    start = datetime.fromisoformat("2026-10-08T09:00:00+08:00")
    assert deadlines.compute("community_handle", "PT3H", start, "lg-xincheng", "A13")[2] == "PT1H"   # own limit
    assert deadlines.compute("community_handle", "PT3H", start, "lg-xincheng", "A05")[2] == "PT2H"   # its default
    assert deadlines.compute("community_handle", "PT3H", start, "nowhere", "A05")[2] == "PT3H"       # the diagram's


def test_every_kind_warns_at_two_thirds_of_its_own_window(app, api):
    """One event per path, every deadline it arms: warn_at is two thirds of that deadline's window, and
    its light turns yellow there, telling its unit (or community) once."""
    on_site = api.report()
    whistle(api, on_site, on_site=True)
    api.complete("zhifa1", on_site["id"], "accept_whistle", {"decision": "accept"})
    cadre = api.report()
    api.complete("staff1", cadre["id"], "verify", {"verdict": "accept"})
    api.complete("staff1", cadre["id"], "analyse", {"disposal": "cadre"})
    superior = api.report("committee1", **SUPERIOR)
    api.complete("committee1", superior["id"], "consult", {
        "consult_note": "会商", "assignments": [{"unit": "zhifa", "task_description": "整治"}]})
    kinds = set()
    for event in (on_site, cadre, superior):
        for row in api.event(event["id"], user="city1")["deadlines"]:
            if row["status"] != "pending":
                continue
            kinds.add(row["kind"])
            start, due, warn = (datetime.fromisoformat(row[k]) for k in ("started_at", "due_at", "warn_at"))
            assert abs((warn - start).total_seconds() - (due - start).total_seconds() * 2 / 3) <= 1, row
            advance_to(api, max(now(api), warn + timedelta(seconds=1)))
            after = [d for d in api.event(event["id"], user="city1")["deadlines"] if d["id"] == row["id"]][0]
            assert after["light"] in ("yellow", "red"), after
    assert kinds == {"arrive", "community_handle", "superior"}
    assert told(app, "lg-xincheng", "warning")                         # the cadres' community


def test_a_limit_counted_in_working_time_skips_the_night_and_the_weekend(settings, tmp_path):
    """An administrator sets §8.1 社区处置 to working time (a setting per kind): the community's 2 hours
    asked at 16:30 on a Friday are one hour that day and one from Monday's opening (office hours
    08:30–17:30); the timer fires then, not at 18:30 on Friday."""
    import json
    import shutil
    from dataclasses import replace

    from catalogs.loader import DATA_DIR
    from tests.web.client import Api
    from tests.web.conftest import build_app, seed
    edited = tmp_path / "catalogs"
    shutil.copytree(DATA_DIR, edited)
    kinds = json.loads((edited / "deadline_kinds.json").read_text(encoding="utf-8"))
    for kind in kinds:
        if kind["code"] == "community_handle":
            kind["basis"] = "working"
    (edited / "deadline_kinds.json").write_text(json.dumps(kinds, ensure_ascii=False), encoding="utf-8")
    app = build_app(replace(settings, catalog_dir=str(edited)))
    seed(app)
    api = Api(app)
    try:
        advance_to(api, datetime.fromisoformat("2026-11-20T16:30:00+08:00"))       # a Friday afternoon
        event = api.report(type_code="A05")                                           # xincheng: 2 h
        api.complete("staff1", event["id"], "verify", {"verdict": "accept"})
        api.complete("staff1", event["id"], "analyse", {"disposal": "cadre"})
        row = deadline(api, event["id"], "community_handle")
        assert row["basis"] == "working" and row["rule"] == "PT2H"
        due = datetime.fromisoformat("2026-11-23T09:30:00+08:00")
        assert datetime.fromisoformat(row["due_at"]) == due
        assert_fires_on_time(app, api, event["id"], "community_handle", due, ("staff1", "handle_by_cadre"))
    finally:
        app.extensions["eventflow"].db.dispose()
