"""A failing handler (STYLE.md §2–3) in the real app with a registry of its own: a task's step surfaces
it with its name as an incident and changes nothing; a failing timer holds back no other one."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from handlers.registry import Registry, default_registry
from tests.web.client import Api
from tests.web.conftest import build_app, seed


def test_a_failing_handler_surfaces_with_its_name_and_changes_nothing(settings):
    _app, api = _app_with(settings, "dispatch_whistle", _broken)
    event = api.report()
    api.complete("staff1", event["id"], "verify", {"verdict": "accept"})
    api.complete("staff1", event["id"], "analyse", {"disposal": "whistle"})
    task = api.task("whistle1", event["id"], "issue_whistle")
    r = api.post(f"/api/tasks/{task['id']}/complete", "whistle1",
                 json={"lead_department": "zhifa", "on_site": False})
    assert r.status_code == 409 and r.json["error"] == "step_failed", r.json      # an incident (issue #15)
    assert r.json["handler"] == "dispatch_whistle" and "城管系统无响应" in r.json["message"]
    assert r.json["element"] == "dispatch_order" and r.json["incident_id"]
    assert api.task("whistle1", event["id"], "issue_whistle")["id"] == task["id"]   # still ready
    assert api.event(event["id"])["lead_unit"] is None


def _broken(ctx, task, **params):
    raise ConnectionError("城管系统无响应")


def test_a_failing_timer_does_not_hold_back_later_ones(settings):
    """record_overdue fails for the 30-minute acceptance timer; the 24-hour one behind it still fires
    at its own time, and the failure is kept on the timer row for the next sweep."""
    from sqlalchemy import select

    from engine.store.models import Timer
    calls = []

    def flaky_record_overdue(ctx, task, **params):
        calls.append(params["stage"])
        if params["stage"] == "accept":
            raise RuntimeError("短信网关故障")
        return default_registry().get("record_overdue")(ctx, task, **params)
    app, api = _app_with(settings, "record_overdue", flaky_record_overdue)
    late = api.report()
    api.whistle_to(late["id"])                                   # accept timer due 09:30, will fail
    other = api.report()
    api.whistle_to(other["id"])
    api.complete("zhifa1", other["id"], "accept_whistle", {"decision": "accept"})   # dispose timer due next day 09:00
    result = api.advance("P1DT1H")
    assert [m for m in result["errors"].values() if "record_overdue" in m and "短信网关故障" in m]
    assert "close" in calls
    assert any(a["action"] == "overdue" for a in api.event(other["id"])["timeline"])
    svc = app.extensions["eventflow"]
    errors = svc.read(lambda s: [t.last_error for t in s.scalars(select(Timer).where(Timer.last_error.is_not(None)))])
    assert errors and "短信网关故障" in errors[0]


def test_failed_timers_never_starve_healthy_ones_and_advance_does_not_spin(settings):
    """A sweep reads healthy due timers first (review of issue #4): with room for one instance per
    sweep, the failing one due earlier does not keep a healthy one from firing."""
    from engine.runtime import sweep
    broken_ids = []

    def failing_for_one_event(ctx, task, **params):
        if ctx.event.id in broken_ids:
            raise RuntimeError("短信网关故障")
        return default_registry().get("record_overdue")(ctx, task, **params)
    app, api = _app_with(settings, "record_overdue", failing_for_one_event)
    broken = api.report()
    broken_ids.append(broken["id"])
    api.whistle_to(broken["id"])                     # its accept timer will fail at 09:30, every time
    result = api.advance("PT31M")                   # returns (does not spin on the failure)
    assert result["errors"] and not result["fired"]
    healthy = api.report()
    api.whistle_to(healthy["id"])
    svc = app.extensions["eventflow"]
    svc.clock.set(svc.clock.now() + timedelta(minutes=31))
    from engine.store.models import Deadline
    fired = sweep.sweep(svc.session_factory, svc.env, limit=1)
    assert list(fired.fired) and not fired.errors     # the healthy one, though the broken one is older
    assert svc.read(lambda s: s.scalar(select(Deadline.status).where(Deadline.event_id == healthy["id"],
                                                                       Deadline.kind == "accept"))) == "missed"


def _app_with(settings, operation: str, handler):
    """A seeded app whose `operation` is `handler` (the others are the real ones)."""
    registry = Registry()
    for name in default_registry().names():
        registry.operation(name)(default_registry().get(name))
    registry._handlers[operation] = handler
    app = build_app(settings, registry=registry)
    seed(app)
    return app, Api(app)
