"""Timers across a restart (issue #4): a server stopped over a due time fires it on start, before it
serves (web/scheduler.py `catch_up`). The app, stopped and built again on the same database."""
from __future__ import annotations

from datetime import timedelta

from tests.web.client import Api
from tests.web.conftest import build_app
from web.scheduler import catch_up


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
