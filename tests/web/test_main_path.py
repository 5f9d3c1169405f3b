"""Figure 1's main path through the HTTP API, each step by the role's own token (§6, §7, §8)."""
from __future__ import annotations

from tests.web.conftest import build_app


def test_whistle_path_from_report_to_close(api):
    event = api.report("grid1")
    assert event["number"].startswith("LG-20261008-")
    assert event["status"] == "open" and event["stage"] == "核实"
    assert [t["name"] for t in event["open_tasks"]] == ["verify"]

    api.whistle_to(event["id"], department="zhifa")
    detail = api.event(event["id"])
    assert detail["lead_unit"] == "zhifa" and detail["stage"] == "签收受理"

    # 签收受理 then 处置反馈 by the department chosen at dispatch (§8.3), 结案接收 by the whistle officer who
    # sent the order (§7.3.3), 核查 by the community (§8.5)
    api.complete("zhifa1", event["id"], "accept_whistle", {"decision": "accept", "accept_note": "已签收"})
    api.complete("zhifa1", event["id"], "dispose_feedback",
                 {"result_summary": "已清理占道摊点", "before_photos": [api.photo("zhifa1", event["id"])],
                  "after_photos": [api.photo("zhifa1", event["id"])]})
    assert api.event(event["id"])["stage"] == "结案接收"
    api.receive_closure(event["id"])
    result = api.complete("staff1", event["id"], "check", {"passed": True, "rating": "满意"})
    assert result["event_status"] == "closed"

    detail = api.event(event["id"], user="grid1")  # the reporter sees the outcome
    assert detail["status"] == "closed" and detail["closed_at"] and detail["revisit"] == "open"
    assert [t["name"] for t in detail["open_tasks"]] == ["revisit"]     # 回访中 (issue #18): asked next
    api.complete("staff1", event["id"], "revisit", {"revisit_reached": True, "revisit_rating": "满意",
                                                    "revisit_words": "摊点已清理"})
    detail = api.event(event["id"], user="grid1")
    assert detail["status"] == "closed" and detail["open_tasks"] == [] and detail["revisit"] == "done"
    assert detail["process"]["status"] == "completed"
    actions = [(a["actor"], a["action"], a["task_name"]) for a in detail["timeline"]]
    assert actions[0] == ("grid1", "reported", None)
    assert ("whistle1", "task_completed", "吹哨") in actions
    assert ("zhifa1", "task_completed", "签收受理") in actions
    assert ("whistle1", "task_completed", "结案接收") in actions
    assert ("staff1", "task_completed", "核查") in actions
    assert any(a == "source_notified" for _, a, _ in actions)
    completed = [a for a in detail["timeline"] if a["action"] == "task_completed" and a["task_name"] == "处置反馈"]
    assert completed[0]["data"]["result_summary"] == "已清理占道摊点"


def test_self_handle_path_with_rework(api):
    event = api.report("grid1")
    api.complete("staff1", event["id"], "verify", {"verdict": "accept"})
    api.complete("staff1", event["id"], "analyse", {"disposal": "stationed", "stationed_unit": "gongan.xincheng_pcs"})
    api.complete("stationed1", event["id"], "handle_stationed", {"resolved": True, "stationed_summary": "已劝离"})
    api.complete("staff1", event["id"], "check", {"passed": False, "check_note": "仍有摊点", "rating": "不满意"})
    # 重办: back to the stationed staff as a new task
    api.complete("stationed1", event["id"], "handle_stationed", {"resolved": True, "stationed_summary": "已全部清理"})
    assert api.complete("staff1", event["id"], "check", {"passed": True, "rating": "满意"})["event_status"] == "closed"


def test_invalid_report_closes_as_invalid(api):
    event = api.report("grid1")
    result = api.complete("staff1", event["id"], "verify",
                          {"verdict": "invalid", "verify_note": "现场无此情况"})
    assert result["event_status"] == "invalid"
    assert api.tasks("staff1", event["id"]) == []


def test_instance_survives_a_restart_mid_flow(settings, app, api):
    event = api.report("grid1")
    api.whistle_to(event["id"], department="gongan.xincheng_pcs")
    app.extensions["eventflow"].db.dispose()

    restarted = build_app(settings)  # new process: empty caches, same database
    from tests.web.client import Api
    again = Api(restarted)
    assert again.event(event["id"])["stage"] == "签收受理"
    # the 派出所's task is seen by its own clerk and by the 公安局 above it, not by another 派出所
    assert again.tasks("police1", event["id"])
    assert again.tasks("pcs1", event["id"]) == []
    again.complete("police1", event["id"], "accept_whistle", {"decision": "accept"})
    again.complete("police1", event["id"], "dispose_feedback", {"result_summary": "已调解"})
    again.receive_closure(event["id"])
    assert again.complete("staff1", event["id"], "check", {"passed": True, "rating": "满意"})["event_status"] == "closed"


def test_event_numbers_count_per_day(api):
    first, second = api.report(), api.report()
    assert first["number"] == "LG-20261008-0001" and second["number"] == "LG-20261008-0002"
    api.advance("P1D")
    assert api.report()["number"] == "LG-20261009-0001"


def test_whistle_rework_goes_back_to_the_department(api):
    event = api.report()
    api.whistle_to(event["id"], department="zhifa")
    api.complete("zhifa1", event["id"], "accept_whistle", {"decision": "accept"})
    first = api.task("zhifa1", event["id"], "dispose_feedback")
    api.complete("zhifa1", event["id"], "dispose_feedback", {"result_summary": "已处置"})
    api.receive_closure(event["id"])
    api.complete("staff1", event["id"], "check", {"passed": False, "check_note": "未整改到位", "rating": "不满意"})
    again = api.task("zhifa1", event["id"], "dispose_rework")         # 重办: a new task, same unit
    assert again["id"] != first["id"] and again["title"] == "重办反馈"
    api.complete("zhifa1", event["id"], "dispose_rework", {"result_summary": "已彻底整改"})
    api.receive_closure(event["id"])                                  # the redone closure is received again
    assert api.complete("staff1", event["id"], "check", {"passed": True, "rating": "满意"})["event_status"] == "closed"


def test_a_report_is_kept_even_when_its_process_cannot_start(settings):
    from tests.web.client import REPORT, Api
    from tests.web.conftest import seed
    app = build_app(settings)
    seed(app, deploy=False)                       # no process version deployed
    api = Api(app)
    r = api.post("/api/events", "grid1", json=REPORT)
    assert r.status_code == 201
    assert r.json["status"] == "error" and "no version" in r.json["error"]
    assert r.json["timeline"][0]["action"] == "reported"                   # stored first
    # refused, not lost: marked for an administrator, and not tried again by every sweep
    assert api.advance("PT2M")["started"] == []
    assert api.event(r.json["id"])["status"] == "error"


def test_an_administrator_starts_an_event_whose_start_was_refused(settings):
    from engine.casework import process_versions
    from engine.runtime import bundle
    from tests.conftest import PROCESSES
    from tests.web.client import REPORT, Api
    from tests.web.conftest import seed
    app = build_app(settings)
    seed(app, deploy=False)
    api = Api(app)
    event = api.post("/api/events", "grid1", json=REPORT).json
    assert event["status"] == "error"
    r = api.post(f"/api/events/{event['id']}/start", "admin1")
    assert r.status_code == 404 and api.event(event["id"])["status"] == "error"     # refused again: unchanged
    svc = app.extensions["eventflow"]
    svc.run(lambda s: process_versions.deploy(svc.command(s), bundle.from_directory(PROCESSES), "admin1"))
    assert api.post(f"/api/events/{event['id']}/start", "grid1").status_code == 403
    r = api.post(f"/api/events/{event['id']}/start", "admin1")
    assert r.status_code == 200, r.json
    assert r.json["status"] == "open" and [t["name"] for t in r.json["open_tasks"]] == ["verify"]
    assert "process_restarted" in [a["action"] for a in r.json["timeline"]]
    again = api.post(f"/api/events/{event['id']}/start", "admin1")
    assert again.status_code == 409 and again.json["event_status"] == "open"
