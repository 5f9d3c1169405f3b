"""The words of a refusal (issue #20): the one function that splits the engine's "中文 (English)" messages into
the reader's language, and the Chinese reason of every JSON Schema validator a task form can fire, naming the
field by its title (engine/core/words.py, engine/runtime/forms.py). No Flask here."""
from __future__ import annotations

import re

import pytest

from engine.core import words
from engine.runtime import forms

CJK = re.compile(r"[\u4e00-\u9fff]")
#: what jsonschema says in English; none of it may reach the Chinese part
JSONSCHEMA_WORDS = re.compile(r"is too short|is too long|should be non-empty|does not match|is not valid under|"
                              r"is not one of|is a required property|is not of type|is less than|is greater than|"
                              r"has non-unique|Additional properties|expected", re.I)


@pytest.mark.parametrize("message, chinese, english", [
    ("必填项 (required)", "必填项", "required"),
    ("「问题描述」至少 2 个字，请补充 (description: at least 2 characters)", "「问题描述」至少 2 个字，请补充",
     "description: at least 2 characters"),
    # the English part with brackets of its own, and a Chinese word inside it (§7.1 属地)
    ("「A05 人行道秩序整治」的「主管部门」：单位 x 不存在 (event_types.json A05.department: unknown unit 'x' (a.json))",
     "「A05 人行道秩序整治」的「主管部门」：单位 x 不存在", "event_types.json A05.department: unknown unit 'x' (a.json)"),
    ("事发地属该社区辖区 (§7.1 属地: the location lies in this community)", "事发地属该社区辖区",
     "§7.1 属地: the location lies in this community"),
    # the older way round: English first, the Chinese in the bracket
    ("unknown service code 'X1' (附录A 表A.1 中没有此事项)", "附录A 表A.1 中没有此事项", "unknown service code 'X1'"),
    # a Chinese message alone, with a bracket that is no English (a clause, a code)
    ("须在吹哨理由中说明 (§7.3.2)", "须在吹哨理由中说明 (§7.3.2)", None),
    ("请填写「一般时限」（§8.1 一般为 2 小时）", "请填写「一般时限」（§8.1 一般为 2 小时）", None),
    ("wrong username or password", None, "wrong username or password"),
])
def test_a_message_splits_into_its_languages(message, chinese, english):
    assert words.split(message) == (chinese, english)


def test_the_reader_gets_one_language_each_of_several_joined_reasons_too():
    joined = "「处置方式」为必填项，请选择 (disposal: required)；「研判意见」最多 2000 个字 (analysis_note: at most 2000)"
    assert words.in_language(joined, "zh_CN") == "「处置方式」为必填项，请选择；「研判意见」最多 2000 个字"
    assert words.in_language(joined, "en") == "disposal: required; analysis_note: at most 2000"
    # a Chinese-only message goes through the message catalog in English, as is without one
    catalog = {"请选择文件": "Choose a file"}
    assert words.in_language("请选择文件", "en", lambda m: catalog.get(m, m)) == "Choose a file"
    assert words.in_language("请选择文件", "en") == "请选择文件"
    assert words.in_language("wrong password", "zh_CN") == "wrong password"      # nothing to choose from
    said = words.in_language("必填项 (required)", "zh_CN")
    assert words.in_language(said, "zh_CN") == said                                # saying twice changes nothing


def test_a_prefix_is_said_in_each_language():
    assert words.prefixed("「密码」至少 8 个字符 (at least 8 characters)", "第 3 行：", "row 3: ") == \
        "第 3 行：「密码」至少 8 个字符 (row 3: at least 8 characters)"
    assert words.prefixed("至少 8 个字符", "第 3 行：", "row 3: ") == "第 3 行：至少 8 个字符"


FORM = {
    "type": "object",
    "properties": {
        "summary": {"type": "string", "title": "处理结果", "minLength": 2, "maxLength": 5},
        "note": {"type": "string", "title": "说明", "minLength": 1},
        "phone": {"type": "string", "title": "电话", "pattern": "^[0-9]{11}$", "x-hint": "11 位手机号码"},
        "code": {"type": "string", "title": "编号", "pattern": "^[A-Z]+$"},
        "day": {"type": "string", "title": "到场日期", "format": "date"},
        "verdict": {"type": "string", "title": "核查结论", "enum": ["pass", "fail"]},
        "agreed": {"const": True, "title": "确认"},
        "unit": {"type": "string", "title": "承办单位", "oneOf": [{"const": "zhifa", "title": "执法局"}]},
        "hours": {"type": "number", "title": "用时", "minimum": 0, "maximum": 24, "multipleOf": 0.5},
        "share": {"type": "number", "title": "比例", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        "count": {"type": "integer", "title": "人数"},
        "photos": {"type": "array", "title": "处置后照片", "x-widget": "photos", "minItems": 1, "maxItems": 2,
                   "items": {"type": "string"}},
        "tags": {"type": "array", "title": "协办部门", "minItems": 2, "uniqueItems": True, "items": {"type": "string"}},
        "rows": {"type": "array", "title": "任务分工", "items": {
            "type": "object", "properties": {"unit": {"type": "string", "title": "单位", "minLength": 1},
                                             "lat": {"type": "number", "title": "纬度"},
                                             "lng": {"type": "number", "title": "经度"}},
            "required": ["unit"], "dependentRequired": {"lat": ["lng"]}}},
        "extra": {"type": "object", "title": "附加", "minProperties": 1},
        "other": {"type": "string", "title": "其他说明"},
    },
    "required": ["verdict"],
    "if": {"properties": {"verdict": {"const": "fail"}}, "required": ["verdict"]},
    "then": {"properties": {"other": {"not": {}}}},
    "additionalProperties": False,
}


def reasons(data) -> dict[str, str]:
    return {e["field"]: e["reason"] for e in forms.validate(FORM, data)}


@pytest.mark.parametrize("data, field, chinese", [
    ({"summary": "a"}, "summary", "「处理结果」至少 2 个字，请补充"),
    ({"summary": "abcdef"}, "summary", "「处理结果」最多 5 个字，现有 6 个，请删减"),
    ({"note": ""}, "note", "「说明」不能为空，请填写"),
    ({"phone": "123"}, "phone", "「电话」应为11 位手机号码（现为“123”）"),
    ({"code": "a1"}, "code", "「编号」格式不对，请按页面提示的格式填写（现为“a1”）"),
    ({"day": "2026/10/01"}, "day", "「到场日期」应为日期，如 2026-10-01"),
    ({"verdict": "maybe"}, "verdict", "「核查结论」不在可选范围内，请从选项中选择"),
    ({"agreed": False}, "agreed", "「确认」不在可选范围内，请从选项中选择"),
    ({"unit": "nosuch"}, "unit", "「承办单位」不在可选范围内，请从选项中选择"),
    ({"hours": -1}, "hours", "「用时」不能小于 0"),
    ({"hours": 25}, "hours", "「用时」不能大于 24"),
    ({"hours": 1.2}, "hours", "「用时」应为 0.5 的整数倍"),
    ({"share": 0}, "share", "「比例」应大于 0"),
    ({"share": 1}, "share", "「比例」应小于 1"),
    ({"count": "三"}, "count", "「人数」应为整数，请重新填写"),
    ({"photos": []}, "photos", "「处置后照片」请至少上传 1 张"),
    ({"photos": ["a", "b", "c"]}, "photos", "「处置后照片」最多 2 张，请删去多余的"),
    ({"tags": ["zhifa"]}, "tags", "「协办部门」请至少选择或填写 2 项"),
    ({"tags": ["zhifa", "zhifa"]}, "tags", "「协办部门」有重复的项，请去掉重复"),
    ({"rows": [{"unit": "a"}, {"unit": ""}]}, "rows.1.unit", "「任务分工」第 2 行的「单位」不能为空，请填写"),
    ({"rows": [{}]}, "rows.0.unit", "「任务分工」第 1 行的「单位」为必填项，请填写"),
    ({"rows": [{"unit": "a", "lat": 27.5}]}, "rows.0.lng", "「任务分工」第 1 行的「经度」须与「纬度」一同填写"),
    ({"extra": {}}, "extra", "「附加」至少填写 1 项"),
    ({"verdict": "fail", "other": "x"}, "other", "「其他说明」此情况下不应填写，请清空"),
    ({"surprise": 1}, "surprise", "表单中没有「surprise」这一项，请刷新页面后重新填写"),
    ({"count": float("nan")}, "count", "「人数」应为有限的数"),
])
def test_each_validator_has_a_chinese_reason_naming_the_field(data, field, chinese):
    found = reasons({"verdict": "pass", **data})
    assert field in found, found
    zh, en = words.split(found[field])
    assert zh == chinese
    assert en and not CJK.search(en) and field.split(".")[0] in en      # the English names the field itself
    assert not JSONSCHEMA_WORDS.search(zh)


def test_a_required_field_says_what_to_do_by_its_kind():
    form = {"type": "object", "required": ["verdict", "photo", "note"],
            "properties": {"verdict": {"type": "string", "title": "核实结果", "enum": ["a"]},
                           "photo": {"type": "string", "title": "现场照片", "x-widget": "photo"},
                           "note": {"type": "string", "title": "核实情况"}}}
    found = {e["field"]: words.split(e["reason"])[0] for e in forms.validate(form, {})}
    assert found == {"verdict": "「核实结果」为必填项，请选择", "photo": "「现场照片」为必填项，请拍照或上传照片",
                     "note": "「核实情况」为必填项，请填写"}


def test_one_of_several_groups_names_them_in_words():
    form = {"type": "object", "properties": {"summary": {"type": "string", "title": "处置结果"},
                                             "before": {"type": "array", "title": "处置前照片"},
                                             "after": {"type": "array", "title": "处置后照片"}},
            "anyOf": [{"required": ["summary"]}, {"required": ["before", "after"]}]}
    (error,) = forms.validate(form, {})
    assert error["field"] == "summary"
    assert words.split(error["reason"]) == ("请至少填写其一：「处置结果」 或 「处置前照片」、「处置后照片」",
                                            "one of these is required: summary | before + after")


def test_every_shipped_form_refuses_an_empty_submission_in_chinese():
    """The forms processes/ deploys: whatever an empty or wrong submission fires is said in Chinese."""
    from pathlib import Path
    for path in sorted((Path(__file__).resolve().parents[2] / "processes" / "forms").glob("*.json")):
        schema = forms.parse_form(path.read_bytes(), path.name)
        wrong = {name: ("" if prop.get("type") == "string" else []) for name, prop in schema["properties"].items()
                 if isinstance(prop, dict)}
        for data in ({}, wrong):
            for error in forms.validate(schema, data):
                zh, en = words.split(error["reason"])
                assert zh and CJK.search(zh) and en, (path.name, error)
                assert not JSONSCHEMA_WORDS.search(zh), (path.name, error)


def test_a_catalog_edit_refused_many_times_over_elsewhere_is_said_once_per_table():
    """engine/accounts/catalog_refusals.py: the unit tree without 执法局 — its two 中队 each said, the 13 rows of
    Table A.1 and 8 of Table B.1 that name it said once each, the unit named as it was."""
    import json

    from catalogs import CatalogError, load_catalogs
    from catalogs.loader import DATA_DIR, read_documents
    from engine.accounts import catalog_refusals
    before = json.loads((DATA_DIR / "units.json").read_text(encoding="utf-8"))
    after = [u for u in before if u["code"] != "zhifa"]
    overrides = {"units": json.dumps(after, ensure_ascii=False).encode("utf-8")}
    with pytest.raises(CatalogError) as caught:
        load_catalogs(None, overrides)
    said = catalog_refusals.reasons(caught.value.errors, "units", read_documents(None, overrides), before)
    chinese = [words.split(e["reason"])[0] for e in said]
    assert len(caught.value.errors) > 20 and len(said) == 6, chinese
    assert chinese[2] == ("附录A 表A.1中「A05 人行道秩序整治」、「A06 未经许可设置户外大型户外广告」、「A07 违法张贴(分发)小广告」、"
                          "「A08 占道经营整治」、「A09 环境卫生督查、整治」等 13 行的「主管部门」：单位「执法局」已被删除，"
                          "但这里仍在使用它：请先改为其他单位，或保留该单位")
    assert said[2]["field"] == "A05.department"
    assert all(CJK.search(zh) and "unknown unit" not in zh for zh in chinese)
    assert words.split(said[0]["reason"])[1] == "units.json zhifa.zhongdui1.parent: unknown unit 'zhifa'"
