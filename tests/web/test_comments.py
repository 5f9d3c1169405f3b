"""留言 and 催办 (issue #6; §9.1) through the API: recorded in the timeline and told to whoever has the
event's open tasks (a claimer by name); only the community's cadres and the city may urge."""
from __future__ import annotations

from sqlalchemy import select

from engine.store.models import Notification


def told(app, kind):
    svc = app.extensions["eventflow"]
    return svc.read(lambda s: [(n.recipient_kind, n.recipient) for n in s.scalars(
        select(Notification).where(Notification.kind == kind).order_by(Notification.id))])


def test_a_comment_reaches_the_department_that_has_the_task(app, api):
    event = api.report()
    api.whistle_to(event["id"], department="zhifa")
    r = api.post(f"/api/events/{event['id']}/comments", "grid1", json={"text": "摊主又回来了，请尽快处理"})
    assert r.status_code == 201 and r.json["told"] == ["unit:zhifa"]
    assert told(app, "comment") == [("unit", "zhifa")]
    entry = [t for t in api.event(event["id"])["timeline"] if t["action"] == "comment"][0]
    assert (entry["actor"], entry["data"]["text"]) == ("grid1", "摊主又回来了，请尽快处理")


def test_urging_presses_the_claimer_and_is_for_cadres_and_the_city(app, api):
    event = api.report()
    api.whistle_to(event["id"], department="zhifa")
    task = api.task("zhifa1", event["id"], "accept_whistle")
    api.post(f"/api/tasks/{task['id']}/claim", "zhifa1")
    r = api.post(f"/api/events/{event['id']}/urge", "staff1", json={"text": "群众再次来电，请加快签收"})
    assert r.status_code == 201 and r.json["told"] == ["person:zhifa1"]
    assert told(app, "urge") == [("person", "zhifa1")]
    assert api.post(f"/api/events/{event['id']}/urge", "grid1", json={"text": "快点"}).json["field"] == "role"
    assert api.post(f"/api/events/{event['id']}/urge", "staff2", json={"text": "快点处理"}).status_code == 404
    assert api.post(f"/api/events/{event['id']}/urge", "staff1", json={"text": "快"}).json["errors"][0]["field"] \
        == "text"
    api.post(f"/api/tasks/{task['id']}/complete", "zhifa1", json={"decision": "accept"})
    api.complete("zhifa1", event["id"], "dispose_feedback", {"result_summary": "已处置"})
    api.receive_closure(event["id"])
    api.complete("staff1", event["id"], "check", {"passed": True, "rating": "满意"})
    r = api.post(f"/api/events/{event['id']}/urge", "staff1", json={"text": "请加快"})
    assert r.status_code == 409 and r.json["event_status"] == "closed"
