"""认领 (issue #6: claim and release) through the API, and issue #4's rule that claiming does not stop the
clock: 签收受理's 30 minutes (§8.3) are met by completing the task, not by claiming it."""
from __future__ import annotations

from engine.accounts import users
from tests.conftest import PASSWORD


def second_clerk(app):
    svc = app.extensions["eventflow"]
    svc.run(lambda s: users.create_user(s, svc.catalogs, svc.env.wall_clock, "zhifa2", PASSWORD,
                                        ["department_staff"], None, "zhifa", "执法局 办事员二", 1024))


def test_a_claimed_task_is_the_claimers_until_released(app, api):
    second_clerk(app)
    event = api.report()
    api.whistle_to(event["id"], department="zhifa")
    task = api.task("zhifa1", event["id"], "accept_whistle")
    r = api.post(f"/api/tasks/{task['id']}/claim", "zhifa1")
    assert r.status_code == 200 and r.json["claimed_by"] == "zhifa1"
    assert api.task("zhifa2", event["id"], "accept_whistle")["claimed_by"] == "zhifa1"   # others see whose it is
    r = api.post(f"/api/tasks/{task['id']}/claim", "zhifa2")
    assert r.status_code == 409 and r.json["claimed_by"] == "zhifa1"
    r = api.post(f"/api/tasks/{task['id']}/complete", "zhifa2", json={"decision": "accept"})
    assert r.status_code == 409 and r.json["claimed_by"] == "zhifa1"
    assert api.post(f"/api/tasks/{task['id']}/release", "zhifa2").status_code == 409
    assert api.post(f"/api/tasks/{task['id']}/release", "zhifa1").json["claimed_by"] is None
    assert api.post(f"/api/tasks/{task['id']}/claim", "zhifa2").json["claimed_by"] == "zhifa2"
    api.complete("zhifa2", event["id"], "accept_whistle", {"decision": "accept"})
    actions = [t["action"] for t in api.event(event["id"])["timeline"]]
    assert actions.count("task_claimed") == 2 and actions.count("task_released") == 1


def test_claiming_does_not_stop_the_accept_clock(app, api):
    event = api.report()
    api.whistle_to(event["id"], department="zhifa")
    task = api.task("zhifa1", event["id"], "accept_whistle")
    api.post(f"/api/tasks/{task['id']}/claim", "zhifa1")
    api.advance("PT29M")
    accept = next(d for d in api.event(event["id"])["deadlines"] if d["kind"] == "accept")
    assert accept["status"] == "pending"
    api.advance("PT2M")
    accept = next(d for d in api.event(event["id"])["deadlines"] if d["kind"] == "accept")
    assert accept["status"] == "missed"                    # claimed 31 minutes ago, still not accepted
    supervised = api.get("/api/supervision", "city1", query_string={"kind": "accept"}).json["items"]
    assert [s["event_id"] for s in supervised] == [event["id"]]


def test_only_those_who_may_do_the_task_may_claim_it(api):
    event = api.report()
    task = api.task("staff1", event["id"], "verify")
    assert api.post(f"/api/tasks/{task['id']}/claim", "staff2").status_code == 404     # another community
    assert api.post(f"/api/tasks/{task['id']}/claim", "grid1").status_code == 403      # same community, wrong role
    assert api.post(f"/api/tasks/{task['id']}/release", "staff1").status_code == 409   # nothing to release
