"""Roles and scope: a user sees and completes only tasks of their role and scope (§8.2, issue #2)."""
from __future__ import annotations


def test_another_units_task_is_invisible_and_cannot_be_completed(api):
    event = api.report()
    api.whistle_to(event["id"], department="zhifa")
    task = api.task("zhifa1", event["id"], "accept_whistle")

    assert api.tasks("shijian1", event["id"]) == []          # 市监局 does not see 执法局's order
    r = api.post(f"/api/tasks/{task['id']}/complete", "shijian1", json={})
    assert r.status_code == 404
    assert api.get(f"/api/events/{event['id']}", "shijian1").status_code == 404
    # another community's staff: not theirs either
    r = api.post(f"/api/tasks/{task['id']}/complete", "staff2", json={})
    assert r.status_code == 404
    assert api.get(f"/api/events/{event['id']}", "staff2").status_code == 404
    # the right unit still can
    api.complete("zhifa1", event["id"], "accept_whistle", {"decision": "accept"})


def test_same_community_without_the_role_gets_403(api):
    event = api.report()
    task = api.task("staff1", event["id"], "verify")
    assert api.tasks("grid1", event["id"]) == []
    r = api.post(f"/api/tasks/{task['id']}/complete", "grid1", json={"verdict": "accept"})
    assert r.status_code == 403 and r.json["field"] == "role"


def test_a_grid_worker_reports_only_into_their_own_pool(api):
    r = api.post("/api/events", "grid1", json={**_report(), "community": "lg-longgang"})
    assert r.status_code == 403 and r.json["field"] == "community"
    assert api.post("/api/events", "zhifa1", json=_report()).status_code == 403


def test_event_list_is_scoped_and_paged(api):
    mine = [api.report()["id"] for _ in range(3)]
    r = api.get("/api/events?per_page=2&page=1", "staff1")
    assert r.status_code == 200 and r.json["total"] == 3 and len(r.json["items"]) == 2
    assert r.json["items"][0]["id"] == mine[-1]
    assert api.get("/api/events", "staff2").json["total"] == 0
    assert api.get("/api/events", "city1").json["total"] == 3            # the city authority sees all
    assert api.get("/api/events?status=closed", "staff1").json["total"] == 0
    r = api.get("/api/events?per_page=1000", "staff1")
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "per_page"
    r = api.get("/api/events?created_from=yesterday", "staff1")
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "created_from"


def _report():
    from tests.web.client import REPORT
    return dict(REPORT)
