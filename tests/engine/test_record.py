"""办理记录 (issue #19, engine/casework/record.py): a completed form's answers in words, labelled by the form's own
titles — the real forms of processes/forms with the catalogs' choices filled in as a task is served them."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from catalogs import load_catalogs
from engine.casework import record
from engine.runtime import forms

FORMS = Path(__file__).resolve().parents[2] / "processes" / "forms"
PEOPLE = {"staff1": {"name": "社区干部 陈芳", "unit": "新城社区"}}


@pytest.fixture(scope="module")
def catalogs():
    return load_catalogs()


def form(catalogs, name):
    return forms.resolve(json.loads((FORMS / f"{name}.json").read_text(encoding="utf-8")), catalogs)


def shown(catalogs, name, data):
    return {f["label"]: f for f in record.fields(form(catalogs, name), data, catalogs, PEOPLE)}


def test_choices_are_their_titles_and_booleans_are_yes_or_no(catalogs):
    whistle = shown(catalogs, "whistle", {"lead_department": "zhifa", "co_departments": ["shijian", "gongan"],
                                          "on_site": False, "whistle_reason": "社区无执法权"})
    assert [f for f in whistle] == ["主办部门", "协办部门", "是否现场处置", "吹哨理由"]      # the form's x-order
    assert whistle["主办部门"]["text"] == "执法局"                                         # the catalog's label
    assert whistle["协办部门"]["text"] == "市监局、公安局"
    assert whistle["是否现场处置"]["text"] == "否" and whistle["吹哨理由"]["text"] == "社区无执法权"
    assert whistle["主办部门"]["value"] == "zhifa"                                         # the code kept for clients
    analyse = shown(catalogs, "analyse", {"disposal": "whistle", "analysis_note": "需执法"})
    assert analyse["处置方式"]["text"] == "吹哨"                                            # x-enum-titles
    check = shown(catalogs, "check", {"passed": True, "rating": "满意"})
    assert check["核查是否通过"]["text"] == "是" and check["评价"]["text"] == "满意"


def test_empty_answers_are_left_out_and_photos_are_kept_as_keys(catalogs):
    feedback = shown(catalogs, "feedback", {"result_summary": "已清理", "before_photos": ["b.jpg"],
                                            "after_photos": [], "extra": None})
    assert list(feedback) == ["处置结果", "处置前照片"]
    assert feedback["处置前照片"]["kind"] == "photos" and feedback["处置前照片"]["value"] == ["b.jpg"]
    arrive = shown(catalogs, "arrive", {"arrival_location": {"lat": 27.5, "lng": 120.0}, "arrival_photo": "a.jpg",
                                        "on_spot": "solved"})
    assert arrive["到场位置"]["text"] == "纬度：27.5，经度：120"                             # an object by its titles
    assert arrive["现场照片"]["value"] == ["a.jpg"] and arrive["现场情况"]["text"] == "现场已解决"


def test_a_person_is_named_by_display_name_never_by_login(catalogs):
    consult = shown(catalogs, "consult", {"consult_note": "分工落实", "assignments": [
        {"unit": "zhifa", "task_description": "清理"}, {"person": "staff1", "task_description": "回访"},
        {"person": "left-the-city", "task_description": "巡查"}]})
    rows = consult["任务分工"]
    assert rows["kind"] == "items"
    assert [[(f["label"], f["text"]) for f in part] for part in rows["items"]] == [
        [("承办单位", "执法局"), ("任务内容", "清理")], [("承办人", "社区干部 陈芳"), ("任务内容", "回访")],
        [("承办人", record.UNKNOWN_NAME), ("任务内容", "巡查")]]
    assert "staff1" not in rows["text"] and "left-the-city" not in rows["text"]


def test_a_date_time_is_local_and_a_field_no_form_defines_keeps_its_name(catalogs):
    schema = {"type": "object", "properties": {"due": {"type": "string", "format": "date-time", "title": "约定时间"}}}
    found = record.fields(schema, {"due": "2026-10-08T01:30:00+00:00", "old_key": 3.0}, catalogs, {})
    assert [(f["label"], f["text"]) for f in found] == [("约定时间", "2026-10-08 09:30"), ("old_key", "3")]
