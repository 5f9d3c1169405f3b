"""web/ui/forms.py: every task form rendered from its resolved JSON Schema, posted back the way a browser
posts it, and checked by the engine against the same schema (issue #6)."""
from __future__ import annotations

import io
from pathlib import Path

import lxml.html
import pytest
from markupsafe import Markup
from werkzeug.datastructures import FileStorage, MultiDict

from catalogs import load_catalogs
from engine.runtime import forms
from tests.conftest import PROCESSES
from web.ui import forms as ui_forms

FORM_FILES = sorted((PROCESSES / "forms").glob("*.json"))
CONTROLS = "input|select|textarea"


@pytest.fixture(scope="module")
def catalogs():
    return load_catalogs()


def load(name: str, catalogs) -> dict:
    path = PROCESSES / "forms" / name
    return forms.resolve(forms.parse_form(path.read_text(encoding="utf-8"), str(path)), catalogs)


def html_of(fields: Markup):
    return lxml.html.fromstring(f"<form>{fields}</form>")


def field(doc, path: str):
    found = doc.xpath(f'//div[@data-field="{path}"]')
    assert len(found) == 1, path
    return found[0]


def text(element) -> str:
    return " ".join(element.text_content().split())


def titled_fields(schema: dict, prefix: str = ""):
    """(path, property) of every field and nested field (rows: the first row) the page shows."""
    for name, prop in (schema.get("properties") or {}).items():
        yield prefix + name, prop
        if prop.get("type") == "object" and "properties" in prop:
            yield from titled_fields(prop, f"{prefix}{name}.")
        items = prop.get("items") or {}
        if prop.get("type") == "array" and items.get("type") == "object":
            yield from titled_fields(items, f"{prefix}{name}.0.")


def option_titles(prop: dict) -> list[str]:
    target = prop["items"] if prop.get("type") == "array" else prop
    if "enum" in target:
        return target.get("x-enum-titles") or [str(v) for v in target["enum"]]
    return [alt["title"] for alt in target.get("oneOf", []) if "const" in alt]


def browser_post(fields: Markup, answers: dict, photos: dict | None = None):
    """(form, files) as a browser posts the rendered fields: every text input, textarea and select (empty
    unless answered), only checked radios and checkboxes, an empty file part for each photo input left
    empty, and the page's CSRF token."""
    doc = html_of(fields)
    for name, value in answers.items():
        control = doc.inputs[name]
        if isinstance(value, list):
            for item in value:
                control.value.add(item)
        else:
            control.value = value
    form = MultiDict([("csrf_token", "token"), *doc.form_values()])
    files = MultiDict()
    for element in doc.xpath('//input[@type="file"]'):
        name = element.get("name")
        given = (photos or {}).get(name) or [("", b"")]
        for filename, content in given:
            files.add(name, FileStorage(io.BytesIO(content), filename=filename, name=name))
    return form, files


def fake_keys(uploads: dict) -> dict[str, list[str]]:
    return {path: [f"{i:x}".rjust(64, "a") for i, _ in enumerate(files)] for path, files in uploads.items()}


def submit(schema: dict, answers: dict, photos: dict | None = None):
    """Render, post as a browser would, parse and fill photo keys: (data with defaults, uploads, errors)."""
    form, files = browser_post(ui_forms.render(schema), answers, photos)
    data, uploads = ui_forms.parse(schema, form, files)
    data = forms.with_defaults(schema, ui_forms.fill_photos(data, schema, fake_keys(uploads)))
    return data, uploads, forms.validate(schema, data)


# --- every form file -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", FORM_FILES, ids=lambda p: p.stem)
def test_every_form_renders_a_control_and_a_chinese_label_for_each_field(path: Path, catalogs):
    schema = load(path.name, catalogs)
    fields = ui_forms.render(schema)
    assert isinstance(fields, Markup)
    doc = html_of(fields)
    names = [e.get("name") for e in doc.xpath(f"//*[self::{' or self::'.join(CONTROLS.split('|'))}]")]
    top = [div.get("data-field") for div in doc.xpath("./div[@data-field]")]
    assert top == schema["x-order"]
    for name in schema["properties"]:
        assert any(n == name or n.startswith(name + ".") for n in names), name

    ids = doc.xpath("//@id")
    assert len(ids) == len(set(ids))
    for label in doc.xpath("//label"):
        assert doc.xpath(f'//*[@id="{label.get("for")}"]'), label.get("for")

    answered, _uploads, _errors = submit(schema, {})        # what an empty post answers: the defaults
    for name, prop in titled_fields(schema):
        box = field(doc, name)
        heading = box.xpath("./label | ./fieldset/legend")[0]
        assert prop["title"] in text(heading)
        if name in schema["properties"]:        # starred: what the user must answer, not what a default answers
            starred = bool(heading.xpath('.//span[@class="req"]'))
            assert starred == (name in schema.get("required", []) and name not in answered), name
        if prop.get("description"):
            assert prop["description"] in text(box.xpath('./p[@class="help"] | ./fieldset/p[@class="help"]')[0])
        titles = option_titles(prop)
        if titles and prop.get("type") != "boolean":
            shown = [text(o) for o in box.xpath(".//option[@value!=''] | .//div[@class='choices']/label")]
            assert shown == titles, name
        if prop.get("type") == "boolean":
            assert [text(o) for o in box.xpath(".//div[@class='choices']/label")] == ["是", "否"]


@pytest.mark.parametrize("path", FORM_FILES, ids=lambda p: p.stem)
def test_an_empty_post_names_the_required_fields(path: Path, catalogs):
    schema = load(path.name, catalogs)
    data, uploads, errors = submit(schema, {})
    assert uploads == {}
    assert set(data) <= {n for n, p in schema["properties"].items() if "default" in p}
    for name in schema["required"]:
        if name not in data:
            assert name in {e["field"] for e in errors}


def test_a_group_title_is_a_legend_so_an_option_label_is_found_alone(catalogs):
    """The browser test clicks 是 inside 核查是否通过 and 否 inside 是否现场处置: only the option has a
    <label>, or get_by_label("是") would match two elements."""
    for name, path, word in (("check.json", "passed", "是"), ("whistle.json", "on_site", "否")):
        box = field(html_of(ui_forms.render(load(name, catalogs))), path)
        labels = [label for label in box.xpath(".//label") if word in text(label)]
        assert len(labels) == 1 and text(labels[0]) == word


def test_photo_fields_are_image_file_inputs_that_allow_the_gallery(catalogs):
    """No `capture`: a before-photo (处置前照片, §8.5) taken earlier must still be pickable from the gallery."""
    doc = html_of(ui_forms.render(load("feedback.json", catalogs)))
    many = doc.xpath('//input[@name="after_photos"]')[0]
    assert (many.get("type"), many.get("capture"), many.get("multiple")) == ("file", None, "multiple")
    assert "image/jpeg" in many.get("accept")
    assert "最多 9 张" in text(field(doc, "after_photos"))
    one = html_of(ui_forms.render(load("arrive.json", catalogs))).xpath('//input[@name="arrival_photo"]')[0]
    assert one.get("type") == "file" and one.get("multiple") is None


def test_rows_of_an_array_of_objects_are_named_by_index(catalogs):
    doc = html_of(ui_forms.render(load("consult.json", catalogs)))
    rows = doc.xpath('//div[@data-field="assignments"]//fieldset[@class="row"]')
    assert [text(r.xpath("./legend")[0]) for r in rows] == [f"分工 {i}" for i in range(1, 6)]
    assert doc.xpath('//select[@name="assignments.4.unit"]/option[text()="执法局"]')
    assert doc.xpath('//textarea[@name="assignments.1.task_description"]')


# --- round trips: what a browser posts is valid task data ---------------------------------------------------

def test_verify_accept(catalogs):
    data, _, errors = submit(load("verify.json", catalogs), {"verdict": "accept"})
    assert (data, errors) == ({"verdict": "accept"}, [])


def test_verify_transfer_needs_its_community_and_note(catalogs):
    data, _, errors = submit(load("verify.json", catalogs), {"verdict": "transfer"})
    assert {e["field"] for e in errors} == {"target_community", "verify_note"}
    data, _, errors = submit(load("verify.json", catalogs),
                             {"verdict": "transfer", "target_community": "lg-xincheng", "verify_note": "在新城社区"})
    assert errors == [] and data["target_community"] == "lg-xincheng"


def test_analyse_with_a_stationed_unit(catalogs):
    data, _, errors = submit(load("analyse.json", catalogs),
                             {"disposal": "stationed", "stationed_unit": "gongan.longgang_pcs",
                              "analysis_note": "派出所处置"})
    assert errors == []
    assert data == {"disposal": "stationed", "stationed_unit": "gongan.longgang_pcs", "analysis_note": "派出所处置"}


def test_whistle_with_co_departments_and_a_boolean(catalogs):
    schema = load("whistle.json", catalogs)
    data, _, errors = submit(schema, {"lead_department": "zhifa", "co_departments": ["shijian", "gongan"],
                                      "on_site": "false", "whistle_reason": "社区无执法权"})
    assert errors == []
    assert data["on_site"] is False and sorted(data["co_departments"]) == ["gongan", "shijian"]
    data, _, errors = submit(schema, {"lead_department": "zhifa", "on_site": "true"})
    assert errors == [] and data["co_departments"] == [] and data["on_site"] is True


def test_accept_and_return(catalogs):
    schema = load("accept.json", catalogs)
    assert submit(schema, {"decision": "accept"})[2] == []
    data, _, errors = submit(schema, {"decision": "return", "return_code": "other",
                                      "return_reason": "不属本部门职责\r\n应由市监局处置"})
    assert errors == [] and data["return_reason"] == "不属本部门职责\n应由市监局处置"
    assert [e["field"] for e in submit(schema, {"decision": "return"})[2]] == ["return_code"]   # the coded reason


def test_feedback_with_a_summary_only(catalogs):
    data, uploads, errors = submit(load("feedback.json", catalogs), {"result_summary": "已清理占道摊点"})
    assert (data, uploads, errors) == ({"result_summary": "已清理占道摊点"}, {}, [])


def test_feedback_with_photos_only(catalogs):
    schema = load("feedback.json", catalogs)
    photos = {"before_photos": [("before.jpg", b"jpeg-1")],
              "after_photos": [("a1.jpg", b"jpeg-2"), ("a2.jpg", b"jpeg-3")]}
    data, uploads, errors = submit(schema, {}, photos)
    assert errors == []
    assert uploads == photos
    assert len(data["before_photos"]) == 1 and len(data["after_photos"]) == 2
    assert all(len(key) == 64 for key in data["after_photos"])
    assert [e["field"] for e in submit(schema, {}, {"after_photos": photos["after_photos"]})[2]] == ["result_summary"]


def test_arrive_with_a_nested_location_and_one_photo(catalogs):
    schema = load("arrive.json", catalogs)
    data, uploads, errors = submit(
        schema, {"arrival_location.lat": "27.52", "arrival_location.lng": " 120.55 ", "on_spot": "difficult",
                 "difficult_reason": "需市监局配合"}, {"arrival_photo": [("scene.jpg", b"jpeg")]})
    assert errors == []
    assert data["arrival_location"] == {"lat": 27.52, "lng": 120.55}
    assert uploads == {"arrival_photo": [("scene.jpg", b"jpeg")]}
    assert isinstance(data["arrival_photo"], str) and len(data["arrival_photo"]) == 64
    data, _, errors = submit(schema, {"arrival_location.lat": "27.52", "on_spot": "solved"})
    assert {e["field"] for e in errors} == {"arrival_location.lng", "arrival_photo"}


def test_check_not_passed(catalogs):
    data, _, errors = submit(load("check.json", catalogs), {"passed": "false", "check_note": "摊点仍在", "rating": "不满意"})
    assert errors == [] and data == {"passed": False, "check_note": "摊点仍在", "rating": "不满意"}


def test_authority_assign(catalogs):
    data, _, errors = submit(load("authority_assign.json", catalogs),
                             {"owner_department": "shijian", "decision_note": "属市场监管职责"})
    assert errors == [] and data["owner_department"] == "shijian"


def test_consult_with_two_rows_and_an_empty_row_between(catalogs):
    schema = load("consult.json", catalogs)
    data, _, errors = submit(schema, {"consult_note": "分工落实", "assignments.0.unit": "zhifa",
                                      "assignments.0.task_description": "清理占道",
                                      "assignments.2.person": "cadre1", "assignments.2.task_description": "回访群众"})
    assert errors == []
    assert data["assignments"] == [{"unit": "zhifa", "task_description": "清理占道"},
                                   {"person": "cadre1", "task_description": "回访群众"}]
    data, _, errors = submit(schema, {"consult_note": "分工落实", "assignments.3.task_description": "回访群众"})
    assert [e["field"] for e in errors] == ["assignments.0.unit"]     # rows are renumbered as posted data


def test_one_thing_lead_and_stationed_result(catalogs):
    data, _, errors = submit(load("one_thing_lead.json", catalogs), {"co_departments": ["zhifa"]})
    assert errors == [] and data == {"co_departments": ["zhifa"]}
    data, _, errors = submit(load("stationed_result.json", catalogs), {"resolved": "false", "escalate_reason": "无权处置"})
    assert errors == [] and data["resolved"] is False


def test_place_with_defaults(catalogs):
    schema = load("place.json", catalogs)
    doc = html_of(ui_forms.render(schema))
    assert doc.xpath('//input[@name="place_crs"][@checked]')[0].get("value") == "wgs84"
    data, _, errors = submit(schema, {"place_lat": "27.55", "place_lng": "120.6", "place_crs": "gcj02"})
    assert errors == []
    assert data == {"place_lat": 27.55, "place_lng": 120.6, "place_crs": "gcj02", "place_address": ""}


def test_a_value_that_is_not_a_number_comes_back_as_typed_and_is_named(catalogs):
    schema = load("place.json", catalogs)
    data, _, errors = submit(schema, {"place_lat": "abc", "place_lng": "120"})
    assert data["place_lat"] == "abc" and data["place_lng"] == 120
    assert [e["field"] for e in errors] == ["place_lat"]
    for bad in ("nan", "inf", "1e999"):
        assert ui_forms.parse(schema, MultiDict({"place_lat": bad}), MultiDict())[0]["place_lat"] == bad
    counted = {"type": "object", "properties": {"count": {"type": "integer", "title": "数量"}}}
    assert ui_forms.parse(counted, MultiDict({"count": "3"}), MultiDict())[0] == {"count": 3}
    for given in ("3.5", "三"):
        data = ui_forms.parse(counted, MultiDict({"count": given}), MultiDict())[0]
        assert [e["field"] for e in forms.validate(counted, data)] == ["count"]
    html = html_of(ui_forms.render(schema, {"place_lat": "abc"}, {"place_lat": "应为数字"}))
    assert html.xpath('//input[@name="place_lat"]')[0].get("value") == "abc"


def test_parse_ignores_unknown_names_and_bad_row_indexes(catalogs):
    schema = load("consult.json", catalogs)
    form = MultiDict([("csrf_token", "t"), ("nope", "x"), ("assignments.x.unit", "zhifa"),
                      ("assignments.99999.unit", "zhifa"), ("assignments.1.unit", "")])
    assert ui_forms.parse(schema, form, MultiDict()) == ({}, {})


# --- errors and values shown again after a failed submit ----------------------------------------------------

def test_errors_are_shown_beside_the_nearest_field(catalogs):
    cases = {"verify.json": {"verdict": "verdict"}, "feedback.json": {"after_photos.0": "after_photos"},
             "consult.json": {"assignments.1.unit": "assignments.1.unit", "assignments": "assignments"},
             "arrive.json": {"arrival_location.lat": "arrival_location.lat"}}
    for name, where in cases.items():
        doc = html_of(ui_forms.render(load(name, catalogs), {}, {**{e: f"错误 {e}" for e in where}, "(form)": "表单有误"}))
        for error, path in where.items():
            own = field(doc, path).xpath("./p[@class='error'] | ./fieldset/p[@class='error']")
            assert [text(p) for p in own] == [f"错误 {error}"], path
            if path != "assignments":
                assert doc.xpath(f'//*[contains(@aria-describedby, "{own[0].get("id")}")]')
        assert [text(p) for p in doc.xpath("./p[@role='alert']")] == ["表单有误"]
    beyond = {"assignments.9.person": "第十条", "assignments": "至少一条"}    # row 10 is not rendered
    doc = html_of(ui_forms.render(load("consult.json", catalogs), {}, beyond))
    assert text(field(doc, "assignments").xpath("./fieldset/p[@class='error']")[0]) == "第十条；至少一条"
    doc = html_of(ui_forms.render(load("feedback.json", catalogs), {}, {"after_photos.0": "不是本事件的照片"}))
    assert "不是本事件的照片" in text(field(doc, "after_photos"))


def test_the_engines_own_errors_land_on_their_fields(catalogs):
    schema = load("consult.json", catalogs)
    data, _, errors = submit(schema, {"assignments.0.unit": "zhifa", "assignments.0.person": "cadre1",
                                      "assignments.0.task_description": "清理",
                                      "assignments.1.task_description": "回访"})
    shown = {e["field"]: e["reason"] for e in errors}
    assert set(shown) == {"consult_note", "assignments.0.person", "assignments.1.unit"}
    doc = html_of(ui_forms.render(schema, data, shown))
    assert not doc.xpath("./p[@role='alert']")
    for path, reason in shown.items():
        assert reason in text(field(doc, path).xpath(".//p[@class='error']")[0])
    row = html_of(ui_forms.render(schema, data, {"assignments.1": "应为对象"}))
    assert text(row.xpath('//fieldset[@data-row="1"]/p[@class="error"]')[0]) == "应为对象"


def test_photos_inside_rows_and_objects_are_filled_by_path():
    schema = {"type": "object", "properties": {
        "parts": {"type": "array", "title": "分项", "items": {"type": "object", "title": "分项", "properties": {
            "note": {"type": "string", "title": "说明"},
            "shot": {"type": "string", "title": "照片", "x-widget": "photo"}}}},
        "site": {"type": "object", "title": "现场", "properties": {
            "pics": {"type": "array", "title": "照片", "items": {"type": "string"}, "x-widget": "photos"}}}}}
    files = MultiDict([("parts.3.shot", FileStorage(io.BytesIO(b"x"), filename="a.jpg")),
                       ("parts.0.shot", FileStorage(io.BytesIO(b""), filename="")),
                       ("site.pics", FileStorage(io.BytesIO(b"y"), filename="b.jpg")),
                       ("site.pics", FileStorage(io.BytesIO(b"z"), filename="c.jpg"))])
    data, uploads = ui_forms.parse(schema, MultiDict({"parts.1.note": "", "parts.0.note": "一"}), files)
    assert data == {"parts": [{"note": "一"}, {}]}
    assert uploads == {"parts.1.shot": [("a.jpg", b"x")], "site.pics": [("b.jpg", b"y"), ("c.jpg", b"z")]}
    filled = ui_forms.fill_photos(data, schema, {"parts.1.shot": ["k1"], "site.pics": ["k2", "k3"], "x": []})
    assert filled == {"parts": [{"note": "一"}, {"shot": "k1"}], "site": {"pics": ["k2", "k3"]}}
    assert data == {"parts": [{"note": "一"}, {}]}


def test_values_fill_the_inputs_again(catalogs):
    doc = html_of(ui_forms.render(load("verify.json", catalogs),
                                  {"verdict": "transfer", "target_community": "lg-xincheng", "verify_note": "在新城"}))
    assert doc.inputs["verdict"].value == "transfer"
    assert doc.inputs["target_community"].value == "lg-xincheng"
    assert doc.inputs["verify_note"].value == "在新城"
    doc = html_of(ui_forms.render(load("whistle.json", catalogs),
                                  {"lead_department": "zhifa", "co_departments": ["gongan", "shijian"],
                                   "on_site": False}))
    assert set(doc.inputs["co_departments"].value) == {"gongan", "shijian"}
    assert doc.inputs["on_site"].value == "false"
    doc = html_of(ui_forms.render(load("consult.json", catalogs),
                                  {"assignments": [{"unit": "zhifa", "task_description": "a"},
                                                   {"person": "cadre1", "task_description": "b"}]}))
    assert doc.inputs["assignments.0.unit"].value == "zhifa"
    assert doc.inputs["assignments.1.person"].value == "cadre1"
    assert doc.inputs["assignments.1.task_description"].value == "b"
    doc = html_of(ui_forms.render(load("arrive.json", catalogs), {"arrival_location": {"lat": 27.52, "lng": 120.5}}))
    assert (doc.inputs["arrival_location.lat"].value, doc.inputs["arrival_location.lng"].value) == ("27.52", "120.5")


def test_consult_shows_more_rows_when_more_were_posted(catalogs):
    rows = [{"person": f"p{i}", "task_description": "t"} for i in range(7)]
    doc = html_of(ui_forms.render(load("consult.json", catalogs), {"assignments": rows}))
    assert doc.inputs["assignments.6.person"].value == "p6"


# --- escaping -----------------------------------------------------------------------------------------------

def test_schema_text_and_values_are_escaped():
    evil = "<script>alert(1)</script>"
    schema = {"type": "object", "title": evil, "x-order": ["pick", "note", "many", "\"><b>"], "properties": {
        "pick": {"type": "string", "title": evil, "description": evil, "enum": ['a"><script>x</script>', "b"],
                 "x-enum-titles": [evil, "B"], "x-widget": "radio"},
        "note": {"type": "string", "title": "说明", "x-widget": "textarea"},
        "many": {"type": "array", "title": "多选", "items": {"type": "string", "oneOf": [{"const": "x", "title": evil}]}},
        "\"><b>": {"type": "string", "title": "名"}}}
    values = {"note": "</textarea>" + evil, "\"><b>": '"><script>y</script>'}
    fields = ui_forms.render(schema, values, {"note": evil})
    assert "<script" not in fields and "<b>" not in fields
    doc = html_of(fields)
    assert not doc.xpath("//script | //b")
    assert doc.inputs["note"].value == "</textarea>" + evil
    assert doc.xpath('//input[@name="pick"]')[0].get("value") == 'a"><script>x</script>'
    assert text(field(doc, "pick").xpath(".//legend")[0]) == evil
    assert text(field(doc, "note").xpath("./p[@class='error']")[0]) == evil
    posted = 'a"><script>x</script>'
    assert ui_forms.parse(schema, MultiDict({"pick": posted}), MultiDict())[0] == {"pick": posted}


def test_only_what_must_be_answered_is_starred(catalogs):
    """吹哨 (issue #20): 协办部门 may be left empty (its default, an empty list, answers it) and has no star;
    主办部门 and 是否现场处置 must be chosen and have one."""
    doc = html_of(ui_forms.render(load("whistle.json", catalogs)))
    starred = {name: bool(field(doc, name).xpath('(./label | ./fieldset/legend)//span[@class="req"]'))
               for name in ("lead_department", "co_departments", "on_site", "whistle_reason")}
    assert starred == {"lead_department": True, "co_departments": False, "on_site": True, "whistle_reason": False}
