"""The built-in handlers where Figure 1 calls them, run by the real engine through the HTTP API (no
stand-ins). Each handler alone, against a run context: tests/handlers/test_builtin_handlers.py."""
from __future__ import annotations

from sqlalchemy import select

from engine.store.models import Notification


def notifications(app):
    svc = app.extensions["eventflow"]
    return svc.read(lambda s: [(n.recipient_kind, n.recipient, n.kind) for n in s.scalars(select(Notification))])


def test_dispatch_whistle_sets_the_lead_unit_and_the_ladder_tells_it_in_figure1(app, api):
    event = api.report()
    api.whistle_to(event["id"], department="shijian.xincheng_scjgs")
    assert api.event(event["id"])["lead_unit"] == "shijian.xincheng_scjgs"
    assert ("unit", "shijian.xincheng_scjgs", "dispatched") in notifications(app)
    assert api.tasks("shijian1", event["id"])          # the 市监局 above the office sees it


def test_record_overdue_records_the_limit_once_and_the_deadline_tells_the_supervisor_in_figure1(app, api):
    event = api.report()
    api.whistle_to(event["id"], department="zhifa")
    api.advance("PT31M")
    assert ("unit", "zhifa", "overdue") in notifications(app)
    overdue = [a for a in api.event(event["id"])["timeline"] if a["action"] == "overdue"]
    assert overdue[0]["data"] == {"stage": "accept", "name": "签收受理", "limit": "PT30M", "unit": "zhifa"}
    assert ("unit", "zhifa", "supervise") in notifications(app)


def test_notify_source_tells_the_reporter_the_outcome_in_figure1(app, api):
    event = api.report("grid1")
    api.complete("staff1", event["id"], "verify", {"verdict": "accept"})
    api.complete("staff1", event["id"], "analyse", {"disposal": "stationed", "stationed_unit": "gongan.xincheng_pcs"})
    api.complete("stationed1", event["id"], "handle_stationed", {"resolved": True, "stationed_summary": "已处理"})
    api.complete("staff1", event["id"], "check", {"passed": True, "rating": "满意"})
    assert ("person", "grid1", "outcome") in notifications(app)


def test_dispatch_part_tells_the_co_department_and_keeps_the_lead_in_figure1(app, api):
    event = api.report()
    api.whistle_to(event["id"], department="zhifa", co_departments=["shijian"])
    api.complete("zhifa1", event["id"], "accept_whistle", {"decision": "accept"})
    assert ("unit", "shijian", "dispatched") in notifications(app)
    assert api.event(event["id"])["lead_unit"] == "zhifa"               # 主办 unchanged by 协办派单


def test_record_return_counts_returns_and_calls_the_city_authority_on_the_second_in_figure1(app, api):
    event = api.report()
    api.whistle_to(event["id"], department="shijian")
    api.complete("shijian1", event["id"], "accept_whistle", {"decision": "return", "return_code": "not_ours", "return_reason": "非本部门"})
    assert ("unit", "shezhi", "owner_needed") not in notifications(app)
    api.complete("whistle1", event["id"], "redispatch", {"lead_department": "gongan"})
    api.complete("police1", event["id"], "accept_whistle", {"decision": "return", "return_code": "not_ours", "return_reason": "非本部门"})
    assert ("unit", "shezhi", "owner_needed") in notifications(app)
    counts = [a["data"]["count"] for a in api.event(event["id"])["timeline"] if a["action"] == "whistle_returned"]
    assert counts == [1, 2]


def test_record_part_keeps_each_departments_summary_and_photos_in_figure1(app, api):
    event = api.report()
    api.whistle_to(event["id"], department="zhifa", co_departments=["shijian"])
    api.complete("zhifa1", event["id"], "accept_whistle", {"decision": "accept"})
    api.complete("shijian1", event["id"], "co_accept", {})
    key = api.photo("shijian1", event["id"])
    api.complete("shijian1", event["id"], "co_report", {"part_summary": "已查处", "part_photos": [key]})
    [part] = [a["data"] for a in api.event(event["id"])["timeline"] if a["action"] == "part_reported"]
    assert part["unit"] == "shijian" and part["unit_name"] == "市监局"
    assert part["summary"] == "已查处" and part["photos"] == [key]   # referenced, not copied


def test_transfer_event_registers_a_linked_event_in_the_other_pool_in_figure1(app, api):
    event = api.report()
    api.complete("staff1", event["id"], "verify",
                 {"verdict": "transfer", "target_community": "lg-longgang", "verify_note": "属龙港社区"})
    assert ("community", "lg-longgang", "transferred_in") in notifications(app)
    moved = [a["data"] for a in api.event(event["id"])["timeline"] if a["action"] == "transferred"]
    assert moved[0]["to_community"] == "lg-longgang" and moved[0]["to_event"].startswith("LG-")


def test_plan_one_thing_reads_the_matters_catalog_row_in_figure1(app, api):
    event = api.report("committee1", source="one_thing", type_code="B04", description="违章建筑处置")
    task = api.task("committee1", event["id"], "lead_matter")
    plan = api.get(f"/api/tasks/{task['id']}", "committee1").json["data"]["plan"]
    assert plan == {"code": "B04", "name": "违章建筑处置", "co_departments": ["zigui", "nongye", "zhifa"],
                    "lead_limit": "P7D", "planned_at": plan["planned_at"]}     # Table B.1 row 4: the lead's 7 days


def test_plan_one_thing_includes_the_companies_of_table_b1_in_figure1(app, api):
    event = api.report("committee1", source="one_thing", type_code="B02", description="合用场所消防安全整治")
    task = api.task("committee1", event["id"], "lead_matter")
    plan = api.get(f"/api/tasks/{task['id']}", "committee1").json["data"]["plan"]
    assert {"gongdian", "shuiwu"} <= set(plan["co_departments"])
    api.complete("committee1", event["id"], "lead_matter", {"co_departments": plan["co_departments"]})
    assert ("unit", "gongdian", "dispatched") in notifications(app)


def test_check_assignee_accepts_a_unit_with_staff_stationed_in_the_community_in_figure1(app, api):
    event = api.report()
    api.complete("staff1", event["id"], "verify", {"verdict": "accept"})
    api.complete("staff1", event["id"], "analyse", {"disposal": "stationed", "stationed_unit": "gongan.xincheng_pcs"})
    checked = [a for a in api.event(event["id"])["timeline"] if a["task_name"] == "核对下沉单位"]
    assert api.task("stationed1", event["id"], "handle_stationed") and not checked   # a machine step, no audit row


def test_check_assignments_names_the_item_that_cannot_be_done_in_figure1(app, api):
    from tests.web.test_paths import SUPERIOR
    event = api.report("committee1", **SUPERIOR)
    task = api.task("committee1", event["id"], "consult")
    r = api.post(f"/api/tasks/{task['id']}/complete", "committee1", json={"consult_note": "会商", "assignments": [
        {"unit": "zhifa", "task_description": "整治"}, {"person": "grid1", "task_description": "宣传"}]})
    assert r.status_code == 422 and "第2项" in r.json["errors"][0]["reason"]


def test_place_event_puts_an_address_only_report_on_the_map_and_in_the_pool_that_holds_it_in_figure1(app, api):
    report = {"source": "grid_worker", "type_code": "A05", "description": "人行道被占道经营",
              "location": {"address": "新城大道与世纪大道交叉口"}}
    event = api.post("/api/events", "grid1", json=report).json
    api.complete("staff1", event["id"], "place_in_community", {"place_lat": 27.58, "place_lng": 120.60})
    placed = api.event(event["id"], user="staff2")
    assert (placed["community"], placed["location"]["lat"], placed["location"]["address"]) == \
        ("lg-longgang", 27.58, "新城大道与世纪大道交叉口")
    assert [t["data"]["community"] for t in placed["timeline"] if t["action"] == "placed"] == ["lg-longgang"]
