"""Instance administration (issue #7) through the HTTP API: 挂起, 恢复, 终止 with a reason, audited, by a
process or system administrator. Issue #4: a suspended instance's timers wait and its deadlines pause —
their due times move by the suspension (natural time by its length, working days by the office time it
covered). The real engine and the simulated clock; both databases."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from engine.casework import administration, tasks
from engine.store import uow
from engine.core.errors import StaleInstance
from engine.store.models import Notification, Timer, User
from engine.accounts.users import principal
from tests.web.test_deadlines import (advance_to, deadline, declared_difficult, now, supervised, told,
                                      whistle)


def administer(api, action, event_id, user="owner1", reason="等待上级协调意见", expect=200):
    r = api.post(f"/api/events/{event_id}/{action}", user, json={"reason": reason})
    assert r.status_code == expect, r.json
    return r.json


def timeline(api, event_id, action):
    return [t for t in api.event(event_id)["timeline"] if t["action"] == action]


def test_a_suspended_instances_accept_limit_waits_and_moves_by_the_suspension(app, api):
    event = api.report()
    dispatched = whistle(api, event)                       # 签收受理 within 30 minutes (§8.3)
    advance_to(api, dispatched + timedelta(minutes=10))
    body = administer(api, "suspend", event["id"])
    assert body["process"]["status"] == "suspended" and body["process"]["suspended_by"] == "owner1"
    assert body["process"]["suspend_reason"] == "等待上级协调意见" and body["stage"].startswith("已挂起")
    assert deadline(api, event["id"], "accept")["status"] == "paused"
    assert any("已挂起" in m for m in told(app, "zhifa", "suspended"))    # whoever has the open task hears

    # well past the original due time (and its warning): nothing fires, nothing is supervised
    advance_to(api, dispatched + timedelta(hours=2))
    row = deadline(api, event["id"], "accept")
    assert row["status"] == "paused" and row["light"] == "paused" and row["missed_at"] is None
    assert supervised(api, event["id"]) == [] and told(app, "zhifa", "warning") == []
    assert timeline(api, event["id"], "timer_fired") == []

    # its task is listed, marked, and cannot be completed
    task = api.task("zhifa1", event["id"], "accept_whistle")
    assert task["suspended"] is True
    r = api.post(f"/api/tasks/{task['id']}/complete", "zhifa1", json={"decision": "accept"})
    assert r.status_code == 409 and r.json["error"] == "suspended", r.json
    r = api.post(f"/api/events/{event['id']}/withdraw", "grid1", json={"reason": "问题已自行解决"})
    assert r.status_code == 409 and r.json["error"] == "suspended", r.json

    resumed_at = now(api)
    body = administer(api, "resume", event["id"], reason="协调意见已到")
    assert body["process"]["status"] == "running" and body["process"]["suspended_at"] is None
    assert not body["stage"].startswith("已挂起")
    row = deadline(api, event["id"], "accept")
    due = dispatched + timedelta(minutes=30) + (resumed_at - (dispatched + timedelta(minutes=10)))
    assert row["status"] == "pending" and datetime.fromisoformat(row["due_at"]) == due
    assert row["original_due_at"] == (dispatched + timedelta(minutes=30)).isoformat()
    assert datetime.fromisoformat(row["due_at"]) - resumed_at == timedelta(minutes=20)   # the time it had left
    assert any("时限顺延至" in m for m in told(app, "zhifa", "resumed"))
    [record] = timeline(api, event["id"], "instance_resumed")
    assert record["actor"] == "owner1" and record["data"]["suspended_seconds"] == 110 * 60

    advance_to(api, due - timedelta(seconds=1))
    assert deadline(api, event["id"], "accept")["status"] == "pending"
    advance_to(api, due + timedelta(seconds=1))
    assert deadline(api, event["id"], "accept")["status"] == "missed"
    [sup] = supervised(api, event["id"])
    assert sup["kind"] == "accept" and sup["unit"] == "zhifa"
    api.close_whistle(event["id"])                                # and the work goes on to the end
    assert api.event(event["id"])["status"] == "closed"


def test_a_working_day_limit_moves_by_the_office_time_the_suspension_covered(app, api):
    event = declared_difficult(api)                 # 5 working days: due Wed 2026-10-14 17:30
    assert deadline(api, event["id"], "close_difficult")["due_at"] == "2026-10-14T17:30:00+08:00"
    advance_to(api, datetime.fromisoformat("2026-10-09T16:30:00+08:00"))     # Friday afternoon
    administer(api, "suspend", event["id"])
    advance_to(api, datetime.fromisoformat("2026-10-11T12:00:00+08:00"))     # Sunday noon
    administer(api, "resume", event["id"])
    # covered: Fri 16:30–17:30 (1 h) and the make-up working Saturday 10-10 (9 h) = 10 office hours;
    # Wed 17:30 + 10 h = Thu 08:30–17:30 (9 h) and Fri 08:30 + 1 h
    row = deadline(api, event["id"], "close_difficult")
    assert row["due_at"] == "2026-10-16T09:30:00+08:00" and row["status"] == "pending"
    svc = app.extensions["eventflow"]
    instance_id = api.event(event["id"])["process"]["instance_id"]
    timers = svc.read(lambda s: s.scalars(select(Timer.due_at).where(Timer.instance_id == instance_id)).all())
    assert datetime.fromisoformat("2026-10-16T09:30:00+08:00") in timers   # the waiting timer moved with it


def test_terminate_cancels_open_work_and_timers_and_tells_the_source(app, api):
    event = api.report()
    whistle(api, event)
    body = administer(api, "terminate", event["id"], reason="重复立案，终止办理")
    assert body["status"] == "terminated" and body["status_name"] == "已终止"
    assert body["status_reason"] == "重复立案，终止办理" and body["open_tasks"] == []
    assert body["process"]["status"] == "terminated" and body["closed_at"]
    assert deadline(api, event["id"], "accept")["status"] == "superseded"
    assert api.tasks("zhifa1", event["id"]) == []
    assert any("已终止" in m for m in told(app, "zhifa", "terminated"))
    assert any("已终止" in m and "重复立案" in m for m in told(app, "grid1", "outcome"))   # the source hears
    [record] = timeline(api, event["id"], "instance_terminated")
    assert record["actor"] == "owner1" and record["data"]["reason"] == "重复立案，终止办理"
    svc = app.extensions["eventflow"]
    instance_id = body["process"]["instance_id"]
    assert svc.read(lambda s: s.scalars(select(Timer).where(Timer.instance_id == instance_id)).all()) == []
    advance_to(api, now(api) + timedelta(days=3))                 # nothing left to fire or supervise
    assert supervised(api, event["id"]) == [] and timeline(api, event["id"], "timer_fired") == []
    administer(api, "terminate", event["id"], expect=409)
    administer(api, "suspend", event["id"], expect=409)


def test_a_suspended_instance_can_be_terminated(app, api):
    event = api.report()
    whistle(api, event)
    administer(api, "suspend", event["id"])
    body = administer(api, "terminate", event["id"], user="admin1", reason="上级决定不再办理")
    assert body["status"] == "terminated" and body["process"]["suspended_at"] is None
    assert deadline(api, event["id"], "accept")["status"] == "superseded"
    administer(api, "resume", event["id"], expect=409)


def test_who_may_administer_and_what_is_refused(app, api):
    event = api.report()
    for user in ("staff1", "zhifa1", "city1", "grid1"):
        r = api.post(f"/api/events/{event['id']}/suspend", user, json={"reason": "测试理由"})
        assert r.status_code == 403, (user, r.json)
    r = api.post(f"/api/events/{event['id']}/suspend", "owner1", json={})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "reason", r.json
    r = api.post(f"/api/events/{event['id']}/suspend", "owner1", json={"reason": " "})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "reason", r.json
    assert api.event(event["id"])["process"]["status"] == "running"          # a refusal changes nothing
    administer(api, "resume", event["id"], expect=409)                        # not suspended
    administer(api, "suspend", 999999, expect=404)
    administer(api, "suspend", event["id"])
    r = administer(api, "suspend", event["id"], expect=409)                  # already suspended
    assert "已挂起" in r["message"]
    assert len(timeline(api, event["id"], "instance_suspended")) == 1


def test_a_step_that_loaded_the_instance_before_it_was_suspended_is_refused(app, api, settings):
    """The version check: a completion that read the running instance, then saves after a suspension
    committed, fails as stale (the unit of work then runs again, sees the suspension and answers 409).
    PostgreSQL only: on SQLite a unit holds the write lock from BEGIN IMMEDIATE, so they cannot overlap."""
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("SQLite serializes writing units at BEGIN IMMEDIATE: a suspension cannot commit meanwhile")
    event = api.report()
    svc = app.extensions["eventflow"]
    [task] = api.tasks("staff1", event["id"])
    session = svc.session_factory()
    try:
        user = principal(session.scalar(select(User).where(User.username == "staff1")))
        item, row, loaded = tasks.find_work(session, user, svc.catalogs, task["id"])
        assert row.status == "running"
        owner = principal(svc.read(lambda s: s.scalar(select(User).where(User.username == "owner1"))))
        uow.run(svc.session_factory, lambda s: administration.suspend(svc.command(s, owner), event["id"], "并发挂起"))
        with pytest.raises(StaleInstance):
            svc.runtime.instances.complete_task(session, row, loaded, task["id"], {"verdict": "accept"}, "staff1")
    finally:
        session.rollback()
        session.close()
    r = api.post(f"/api/tasks/{task['id']}/complete", "staff1", json={"verdict": "accept"})
    assert r.status_code == 409 and r.json["error"] == "suspended"
    assert api.task("staff1", event["id"], "verify")                       # still there, still not done
    assert svc.read(lambda s: s.scalars(select(Notification).where(Notification.kind == "suspended")).all())


def test_a_calendar_edited_while_suspended_moves_the_paused_limit_too(app, api):
    event = declared_difficult(api)                       # 5 working days: Wed 2026-10-14 17:30
    administer(api, "suspend", event["id"])
    calendar = api.get("/api/catalogs/calendar", "admin1").json
    calendar["years"] = {"2026": {"holidays": ["2026-01-01", *[f"2026-10-0{d}" for d in (1, 2, 5, 6, 7)], "2026-10-13"],
                                  "workdays": ["2026-10-10"]}}
    r = api.client.put("/api/catalogs/calendar", headers=api.headers("admin1"), json=calendar)
    assert r.status_code == 200 and r.json["deadlines_moved"] == 1, r.json
    row = deadline(api, event["id"], "close_difficult")
    assert row["status"] == "paused" and row["due_at"] == "2026-10-15T17:30:00+08:00"
    administer(api, "resume", event["id"])                # no time passed: nothing more to move
    assert deadline(api, event["id"], "close_difficult")["due_at"] == "2026-10-15T17:30:00+08:00"
