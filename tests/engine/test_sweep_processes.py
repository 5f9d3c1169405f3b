"""Timers at scale (issue #4): two app processes sweeping one PostgreSQL database fire every due timer
exactly once (row locks with SKIP LOCKED), and a server stopped over a due time fires it on start."""
from __future__ import annotations

import multiprocessing
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.store.models import Audit, Deadline, Notification
from tests.web.client import Api
from tests.web.conftest import build_app
from tests.engine.sweepers import sweep_until_idle
from web.scheduler import catch_up


def whistled_events_swept_by_two_processes(settings, app, api, minutes_later: int) -> list[dict]:
    """12 whistled events (each arms a 30-minute accept timer), then two sweeper processes started
    together at `minutes_later` after dispatch on the shared PostgreSQL database, run until idle."""
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("SQLite is documented as single-process; several app nodes need PostgreSQL")
    events = [api.report() for _ in range(12)]
    for event in events:
        api.whistle_to(event["id"], department="zhifa")
    later = (app.extensions["eventflow"].clock.now() + timedelta(minutes=minutes_later)).isoformat()
    spawn = multiprocessing.get_context("spawn")
    ready, go = [spawn.Event(), spawn.Event()], spawn.Event()
    workers = [spawn.Process(target=sweep_until_idle, args=(settings.database_url, later, r, go)) for r in ready]
    for worker in workers:
        worker.start()
    for flag in ready:
        assert flag.wait(60)
    go.set()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    return events


def test_two_processes_fire_every_due_timer_exactly_once(settings, app, api):
    events = whistled_events_swept_by_two_processes(settings, app, api, 31)
    svc = app.extensions["eventflow"]
    fired = svc.read(lambda s: Counter(a.event_id for a in s.scalars(select(Audit).where(Audit.action == "timer_fired"))))
    assert fired == {e["id"]: 1 for e in events}                       # none twice, none lost
    missed = svc.read(lambda s: Counter(d.event_id for d in s.scalars(select(Deadline).where(Deadline.status == "missed"))))
    assert missed == {e["id"]: 1 for e in events}
    red = svc.read(lambda s: len(list(s.scalars(select(Notification).where(Notification.kind == "overdue")))))
    assert red == len(events)


def test_two_processes_send_each_warning_once(settings, app, api):
    """Two sweepers at 21 minutes after dispatch: every accept deadline is past its warning share
    (two thirds of 30 minutes) and not yet due; each yellow warning goes out once."""
    events = whistled_events_swept_by_two_processes(settings, app, api, 21)
    svc = app.extensions["eventflow"]
    warned = svc.read(lambda s: Counter(n.event_id for n in s.scalars(select(Notification).where(
        Notification.kind == "warning"))))
    assert warned == {e["id"]: 1 for e in events}
    assert svc.read(lambda s: [d.status for d in s.scalars(select(Deadline))]) == ["pending"] * len(events)


def test_a_server_stopped_over_a_due_time_fires_it_on_start(settings, app, api):
    event = api.report()
    api.whistle_to(event["id"], department="zhifa")
    svc = app.extensions["eventflow"]
    svc.db.dispose()                                                    # the server stops …
    from engine.store.models import ClockState
    from engine.store import uow
    uow.run(svc.session_factory, lambda s: setattr(s.get(ClockState, 1) or s.merge(ClockState(id=1, now=svc.clock.now())),
                                                   "now", svc.clock.now() + timedelta(hours=2)))
    restarted = build_app(settings)                                     # … and starts two hours later
    again = Api(restarted)
    assert "timer_fired" not in [a["action"] for a in again.event(event["id"])["timeline"]]
    result = catch_up(restarted.extensions["eventflow"])
    assert result.fired and not result.errors
    timeline = again.event(event["id"])["timeline"]
    assert [a["data"]["kind"] for a in timeline if a["action"] == "deadline_missed"] == ["accept"]
    restarted.extensions["eventflow"].db.dispose()
