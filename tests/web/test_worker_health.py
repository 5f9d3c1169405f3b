"""GET /api/health/worker (engine/jobs.py `late_work`): what `eventflow worker` should have done and has not, for a
monitor — a time limit's timer (§8.3) more than EVENTFLOW_LATE_AFTER_S overdue makes it 503, naming how many and
how late; once the worker's sweep fires it, 200 again. On both databases, the clock injected (time moved without a
sweep, as when the worker has stopped)."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from engine.store import uow
from engine.store.models import (Callback, Incident, Instance, NoticeChannel, NoticeDelivery, Notification, PendingStart,
                                 Timer)
from tests.web.conftest import build_app


def test_a_timer_the_worker_has_not_fired_makes_it_late(app, api):
    svc = app.extensions["eventflow"]
    monitor = app.test_client()
    quiet = monitor.get("/api/health/worker")
    assert quiet.status_code == 200 and quiet.get_json() == {
        "status": "ok", "late_after_s": 60, "timers": {"late": 0, "oldest_s": None},
        "starts": {"late": 0, "oldest_s": None}, "notices": {"late": 0, "oldest_s": None},
        "callbacks": {"late": 0, "oldest_s": None}}
    api.report("grid1")                                                   # 核实 within 30 minutes (§7.1)
    started = svc.clock.now()
    svc.clock.set(started + timedelta(minutes=31))                        # due a minute ago: not yet late
    assert monitor.get("/api/health/worker").status_code == 200
    svc.clock.set(started + timedelta(minutes=31, seconds=5))             # 65 s overdue, and the worker stopped
    late = monitor.get("/api/health/worker")
    assert late.status_code == 503
    assert late.get_json()["status"] == "late" and late.get_json()["timers"]["late"] >= 1
    assert 64 <= late.get_json()["timers"]["oldest_s"] <= 66
    svc.sweep()                                                           # the worker is back
    assert monitor.get("/api/health/worker").status_code == 200


def test_a_start_and_a_notice_left_waiting_are_late_too(app, api):
    """A stored report whose process never started (the app stopped in between, and the worker with it) and a
    notice to a channel left unsent count as the timers do; a notice sent does not."""
    svc = app.extensions["eventflow"]
    now = svc.clock.now()
    event = api.report("grid1")

    def leave_waiting(session):
        session.add(PendingStart(event_id=event["id"], stored_at=now - timedelta(minutes=5)))
        channel = NoticeChannel(owner_kind="unit", owner="zhifa", label="值班邮箱", url="mailto://duty@example.cn",
                                created_at=now, created_by="admin1")
        session.add(channel)
        session.flush()
        for status, due in (("pending", timedelta(minutes=3)), ("failed", timedelta(minutes=2)),
                            ("sent", timedelta(minutes=9))):
            notice = Notification(at=now, event_id=event["id"], recipient_kind="unit", recipient="zhifa",
                                  kind="whistle", message="新吹哨")
            session.add(NoticeDelivery(notification=notice, channel_id=channel.id, status=status, attempts=1,
                                       next_attempt_at=now - due, created_at=now - due))
    uow.run(svc.session_factory, leave_waiting)
    late = app.test_client().get("/api/health/worker")
    assert late.status_code == 503
    assert late.get_json()["starts"] == {"late": 1, "oldest_s": 5 * 60 - 60}   # waited past its 60 s of grace
    assert late.get_json()["notices"] == {"late": 2, "oldest_s": 3 * 60}
    assert late.get_json()["timers"]["late"] == 0


def test_late_is_what_the_worker_would_do_and_has_not(app, api, settings):
    """Counted as the worker's jobs pick their work up: a timer whose firing failed (retried at every pass) is
    late, one an open incident holds for an administrator is not, nor a suspended instance's (its limits stand
    still); a notice due is late, one waiting for its retry or held for quiet hours is not; a callback due is.
    With EVENTFLOW_LATE_AFTER_S at an hour, none of it is late yet."""
    svc = app.extensions["eventflow"]
    now = svc.clock.now()
    plain, failing, held, suspended = (api.report("grid1", description=f"迟滞 {i}")["id"] for i in range(4))
    assert api.post(f"/api/events/{suspended}/suspend", "owner1", json={"reason": "等待协调"}).status_code == 200

    def leave_behind(session):
        for event_id in (failing, held):
            for timer in session.scalars(select(Timer).join(Instance).where(Instance.event_id == event_id)):
                timer.last_error = "RuntimeError: the handler failed"
        instance = session.scalar(select(Instance).where(Instance.event_id == held))
        session.add(Incident(kind="timer", status="open", event_id=held, instance_id=instance.id,
                             version_id=instance.version_id, activity="verify_limit", actor="system",
                             reason="RuntimeError", opened_at=now, last_failed_at=now))
        channel = NoticeChannel(owner_kind="unit", owner="zhifa", label="值班邮箱", url="mailto://duty@example.cn",
                                created_at=now, created_by="admin1")
        session.add(channel)
        session.flush()
        for status, due in (("pending", -40), ("failed", -35), ("failed", 5), ("held", -45), ("sent", -50)):
            notice = Notification(at=now, event_id=plain, recipient_kind="unit", recipient="zhifa", kind="whistle",
                                  message="新吹哨")
            session.add(NoticeDelivery(notification=notice, channel_id=channel.id, status=status, attempts=1,
                                       next_attempt_at=now + timedelta(minutes=40 + due), created_at=now))
        for status in ("pending", "delivered"):
            session.add(Callback(event_id=plain, channel="wechat", url="https://source.example/callback", body={},
                                 status=status, attempts=1, next_attempt_at=now + timedelta(minutes=2),
                                 created_at=now))
    uow.run(svc.session_factory, leave_behind)
    svc.clock.set(now + timedelta(minutes=40))              # the 30-minute 核实 limits fell due 10 minutes ago
    late = app.test_client().get("/api/health/worker").get_json()
    assert {kind: late[kind]["late"] for kind in ("timers", "notices", "callbacks", "starts")} == {
        "timers": 2, "notices": 2, "callbacks": 1, "starts": 0}
    assert [late["timers"]["oldest_s"], late["notices"]["oldest_s"], late["callbacks"]["oldest_s"]] == [600, 40 * 60, 38 * 60]

    patient = build_app(replace(settings, late_after_seconds=3600))       # the same database, an hour's patience
    answer = patient.test_client().get("/api/health/worker")
    assert answer.status_code == 200 and answer.get_json()["late_after_s"] == 3600
    patient.extensions["eventflow"].db.dispose()
