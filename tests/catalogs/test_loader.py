"""The shipped catalogs load and agree with DB330383/T 5—2021 (Appendix A, Appendix B, §7.3.2, §8.1)."""

import json
import re
from pathlib import Path

import pytest
from shapely.geometry import shape

from catalogs import CatalogError, load_catalogs, parse_duration
from catalogs.loader import DATA_DIR

STANDARD = Path("/work/shared/standard/DB330383-T5-2021.md")


@pytest.fixture(scope="module")
def cats():
    return load_catalogs()


def test_shipped_catalogs_load_from_the_package_data(cats):
    assert load_catalogs(DATA_DIR).content_hash == cats.content_hash
    assert re.fullmatch(r"[0-9a-f]{64}", cats.content_hash)
    assert cats.names() == ["roles", "units", "departments", "event_types", "one_thing_matters", "communities",
                            "deadline_kinds", "calendar", "duty_rosters", "channels", "escalation",
                            "return_reasons", "step_limits"]


def test_appendix_a_has_30_rows_with_their_competent_departments(cats):
    rows = cats.get("event_types")
    assert [r["code"] for r in rows] == [f"A{n:02d}" for n in range(1, 31)]
    assert [r["no"] for r in rows] == list(range(1, 31))
    expected = {**{n: "gongan" for n in range(1, 5)}, **{n: "zhifa" for n in range(5, 18)},
                **{n: "shijian" for n in range(18, 30)}, 30: "xiaofang"}
    assert {r["no"]: r["department"] for r in rows} == expected


@pytest.mark.parametrize("code, category, content, department", [
    ("A03", "警情流转", "无治安案件警情(如家暴、拆迁、劳资等矛盾纠纷)", "gongan"),
    ("A05", "市容环境卫生", "人行道秩序整治", "zhifa"),
    ("A07", "市容环境卫生", "违法张贴(分发)小广告", "zhifa"),
    ("A14", "自然资源", "违章巡查", "zhifa"),
    ("A20", "市场核查处置", '完成"三小一摊"案件简易程序', "shijian"),
    ("A28", "市场服务", "农村集体聚餐的登记备案", "shijian"),
    ("A30", "消防", "开展居住出租房、合用场所、个体工商户和规下、限下企业消防安全排查，发现火灾隐患的实时录入\"四个平台\"",
     "xiaofang"),
])
def test_appendix_a_rows_match_the_standard(cats, code, category, content, department):
    row = cats.event_type(code)
    assert (row["category"], row["content"], row["department"]) == (category, content, department)
    assert cats.competent_department(code) == department


@pytest.mark.skipif(not STANDARD.exists(), reason="the standard's transcription is not on this machine")
def test_every_appendix_a_row_is_verbatim_from_the_standard(cats):
    table = STANDARD.read_text(encoding="utf-8").split("Table A.1")[1].split("## 附录B")[0]
    published = re.findall(r"^\| (\d+) \| (\S+)[^|]* \| (.+) \| (\S+)[^|]* \|$", table, re.M)
    assert len(published) == 30
    names = {"公安局": "gongan", "执法局": "zhifa", "市监局": "shijian", "消防大队": "xiaofang"}
    ours = {r["no"]: (r["category"], r["content"], r["department"]) for r in cats.get("event_types")}
    assert ours == {int(no): (cat, content, names[dept]) for no, cat, content, dept in published}


def test_every_event_type_maps_to_an_existing_department(cats):
    for row in cats.get("event_types"):
        unit = cats.unit(row["department"])
        assert unit is not None and unit["kind"] == "department", row["code"]


def test_appendix_b_has_10_rows_led_by_the_committee(cats):
    rows = cats.get("one_thing_matters")
    assert [r["code"] for r in rows] == [f"B{n:02d}" for n in range(1, 11)]
    assert all(r["lead"] == "committee" for r in rows)
    assert cats.one_thing_matter("B04")["name"] == "违章建筑处置"
    assert set(cats.one_thing_matter("B01")["cooperating"]) == {
        "xuantong", "jingfa", "gongan", "zigui", "shijian", "yingji", "zhifa", "xiaofang", "gongdian", "shuiwu"}
    assert cats.one_thing_matter("B04")["cooperating"] == ["zigui", "nongye", "zhifa"]
    assert cats.one_thing_matter("B07")["cooperating"] == ["zhifa", "xuantong", "gongan", "zigui"]  # 宣统部
    assert cats.one_thing_matter("B10")["cooperating"] == ["yingji", "gongan", "zigui", "shijian", "zhifa"]
    for row in rows:
        assert all(cats.unit(code) is not None for code in row["cooperating"]), row["code"]


def test_every_department_the_standard_names_is_a_unit(cats):
    named = {"gongan": "公安局", "zhifa": "执法局", "shijian": "市监局", "xiaofang": "消防救援大队",
             "xuantong": "市委宣统部", "jingfa": "经发局", "zigui": "资规局", "yingji": "应急局",
             "nongye": "农业农村局", "gongdian": "供电局", "shuiwu": "水务公司"}
    assert {code: cats.unit(code)["name"] for code in named} == named
    assert all(u["supervisor"]["name"] and u["supervisor"]["title"] for u in cats.get("units"))
    authority = cats.unit(cats.city_authority())
    assert authority["kind"] == "authority"


def test_roles_resolve_by_code_or_chinese_name(cats):
    assert [o["value"] for o in cats.options("roles")] == [
        "grid_worker", "community_staff", "whistle_officer", "stationed_staff", "department_staff",
        "committee", "city_authority", "process_admin", "system_admin"]
    assert cats.role("吹哨人员") == "whistle_officer"
    assert cats.role("社区干部/社工") == "community_staff"
    assert cats.role("grid_worker") == "grid_worker"
    assert cats.role("村长") is None


def test_options_resolve_to_existing_codes(cats):
    lookups = {"roles": cats.role, "units": cats.unit, "departments": cats.unit, "event_types": cats.event_type,
               "one_thing_matters": cats.one_thing_matter, "communities": cats.community}
    for name, lookup in lookups.items():
        options = cats.options(name)
        assert options and len({o["value"] for o in options}) == len(options), name
        assert all(o["label"] and lookup(o["value"]) for o in options), name
    assert {"value": "A05", "label": "A05 市容环境卫生 · 人行道秩序整治"} in cats.options("event_types")
    assert {"value": "gongan.longgang_pcs", "label": "公安局 / 龙港派出所"} in cats.options("departments")
    assert {"value": "zhifa", "label": "执法局"} in cats.options("departments")
    with pytest.raises(KeyError):
        cats.options("holidays")


def test_get_returns_json_serialisable_copies(cats):
    for name in cats.names():
        json.dumps(cats.get(name), ensure_ascii=False)
    assert cats.get("communities")["type"] == "FeatureCollection"
    departments = cats.get("departments")
    assert {d["kind"] for d in departments} == {"department", "office", "company"}   # Table B.1 companies take orders too
    assert {"code": "zhifa.zhongdui1", "parent": "zhifa"}.items() <= next(
        d for d in departments if d["code"] == "zhifa.zhongdui1").items()
    cats.get("event_types")[0]["department"] = "changed"
    cats.unit("gongan")["supervisor"]["name"] = "changed"
    assert cats.competent_department("A01") == "gongan"
    assert cats.unit("gongan")["supervisor"]["name"] != "changed"
    with pytest.raises(KeyError):
        cats.get("holidays")


def test_units_form_a_tree_of_departments_and_offices(cats):
    assert cats.unit_ancestors("gongan.longgang_pcs") == ["gongan.longgang_pcs", "gongan"]
    assert cats.is_within("gongan.longgang_pcs", "gongan")
    assert cats.is_within("gongan", "gongan")
    assert not cats.is_within("gongan", "gongan.longgang_pcs")
    assert not cats.is_within("gongan.longgang_pcs", "zhifa")
    assert not cats.is_within("shijian.longgang_scjgs", "gongan")
    assert not cats.is_within("nonexistent", "gongan")
    with pytest.raises(KeyError):
        cats.unit_ancestors("nonexistent")


def test_community_at_finds_each_community_and_none_outside(cats):
    for feature in cats.get("communities")["features"]:
        inside = shape(feature["geometry"]).representative_point()
        assert cats.community_at(inside.y, inside.x) == feature["properties"]["code"]
    assert cats.community_at(27.58, 120.60) == "lg-longgang"
    assert cats.community_at(27.52, 120.60) == "lg-xincheng"
    assert cats.community_at(28.00, 120.67) is None  # Wenzhou city centre
    assert cats.community_at(120.60, 27.58) is None  # (lng, lat) by mistake


def test_each_community_has_its_committee(cats):
    for option in cats.options("communities"):
        committee = cats.unit(cats.community(option["value"])["committee"])
        assert committee["kind"] == "committee" and cats.is_within(committee["code"], cats.city_authority())


def test_time_limit_uses_the_override_then_the_default_then_2_hours(cats):
    assert cats.time_limit("lg-xincheng", "A13") == "PT1H"  # per-type override
    assert cats.time_limit("lg-xincheng", "A01") == "PT2H"  # the community's default
    assert cats.time_limit("lg-unknown", "A13") == "PT2H"  # §8.1: in general 2 hours
    assert cats.time_limit(None, None) == "PT2H"
    for option in cats.options("communities"):
        for value in cats.community(option["value"])["time_limits"].values():
            parse_duration(value)


def test_whistle_lists_mark_appendix_a_types(cats):
    assert cats.whistle_listed("lg-xincheng", "A13")
    assert not cats.whistle_listed("lg-xincheng", "A01")
    assert not cats.whistle_listed("lg-unknown", "A13")


def test_parse_duration_accepts_only_day_and_clock_durations():
    assert parse_duration("PT2H").total_seconds() == 7200
    assert parse_duration("P1DT30M").total_seconds() == 86400 + 1800
    for text in ["P", "PT", "PT0H", "2H", "P1M", "P1Y", "PT1.5H", "pt2h", "P1DT"]:
        with pytest.raises(ValueError):
            parse_duration(text)


def test_a_missing_directory_is_a_catalog_error(tmp_path):
    with pytest.raises(CatalogError) as caught:
        load_catalogs(tmp_path)
    assert caught.value.file == "roles.json" and "not found" in caught.value.reason


def test_duty_rosters_name_the_person_on_duty_for_a_unit_or_above(cats):
    assert cats.on_duty("zhifa", "2026-10-10") == "zhifa1"
    assert cats.on_duty("zhifa.zhongdui1", "2026-10-10") == "zhifa1"      # the department's roster covers it
    assert cats.on_duty("zhifa", "2026-10-12") is None
    assert cats.on_duty("nowhere", "2026-10-10") is None


def test_bytes_their_schema_passed_are_not_validated_again_and_refused_ones_are_refused_every_time():
    """catalogs/loader.py `_PASSED`: an app is built on the same catalogs again and again (each gunicorn
    worker, each test's app); jsonschema passes the same bytes once per process. A document the schema
    refused is never remembered: loading it again names the same error."""
    from catalogs import loader
    raw = (DATA_DIR / "roles.json").read_bytes()
    load_catalogs()
    assert ("roles", loader.hashlib.sha256(raw).digest()) in loader._PASSED
    bad = json.loads(raw)
    bad[0].pop("code")
    wrong = json.dumps(bad, ensure_ascii=False).encode()
    for _ in range(2):
        with pytest.raises(CatalogError) as refused:
            load_catalogs(overrides={"roles": wrong})
        assert (refused.value.file, refused.value.reason) == ("roles.json", "missing required field")
    assert ("roles", loader.hashlib.sha256(wrong).digest()) not in loader._PASSED
