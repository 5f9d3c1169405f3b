"""Two people complete the same task at once: exactly one 200 and one clear 409 (real threads, real DB)."""
from __future__ import annotations

import threading

from tests.web.client import Api


def test_two_concurrent_completions_give_one_200_and_one_409(app, api):
    event = api.report()
    task = api.task("staff1", event["id"], "verify")
    headers = api.headers("staff1")
    barrier = threading.Barrier(2)
    statuses = []

    def complete():
        client = app.test_client()
        barrier.wait()
        r = client.post(f"/api/tasks/{task['id']}/complete", headers=headers,
                        json={"verdict": "accept"})
        statuses.append((r.status_code, r.json))

    threads = [threading.Thread(target=complete) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(s for s, _ in statuses) == [200, 409], statuses
    conflict = next(body for s, body in statuses if s == 409)
    assert conflict["error"] == "conflict" and conflict["task_id"] == task["id"]
    detail = Api(app).event(event["id"])
    assert [a["task_name"] for a in detail["timeline"] if a["action"] == "task_completed"] == ["核实"]
    assert [t["name"] for t in detail["open_tasks"]] == ["analyse"]


def test_two_concurrent_reopens_start_one_process(app, api, settings, monkeypatch):
    """Both requests pass their visibility check before either writes (PostgreSQL, forced by a barrier);
    the event row lock makes the second see the first's reopen: one 200, one 409, one running process."""
    from engine.pool import events
    from sqlalchemy import func, select

    from engine.store.models import Instance
    event = api.report()
    api.whistle_to(event["id"])
    api.close_whistle(event["id"])
    api.complete("staff1", event["id"], "revisit", {"revisit_reached": True, "revisit_rating": "满意"})   # 回访 first
    headers = {u: api.headers(u) for u in ("grid1", "staff1")}
    if settings.database_url.startswith("postgresql"):   # SQLite writers queue at BEGIN IMMEDIATE already
        barrier, original, calls = threading.Barrier(2), events.get_visible, []

        def get_visible_then_wait(*args, **kwargs):
            found = original(*args, **kwargs)
            calls.append(1)
            if len(calls) <= 2:          # the two reopens' own checks, not the responses' reads
                barrier.wait()
            return found
        monkeypatch.setattr(events, "get_visible", get_visible_then_wait)
    statuses = []

    def reopen(user):
        r = app.test_client().post(f"/api/events/{event['id']}/reopen", headers=headers[user],
                                   json={"reason": "同一问题再次投诉"})
        statuses.append(r.status_code)

    threads = [threading.Thread(target=reopen, args=(u,)) for u in headers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 409]
    svc = app.extensions["eventflow"]
    running = svc.read(lambda s: s.scalar(select(func.count(Instance.id)).where(
        Instance.event_id == event["id"], Instance.status == "running")))
    assert running == 1 and Api(app).event(event["id"])["reopen_count"] == 1
