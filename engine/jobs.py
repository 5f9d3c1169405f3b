"""The standard's periodic work, registered as jobs beside the timer sweep (engine/runtime/sweep.py runs
them, and knows nothing of what they do). In the order each sweep runs them:

- 黄灯预警 (§8): a warning for every pending deadline past its warning share; a simulated clock's advance
  stops at each warning's time (engine/limits/deadlines.py);
- the start of stored submissions whose process never started (issue #5: the app stopped between storing
  one and starting it), once they waited past the grace period;
- the §9.2 hazard-point reminders and flags, once per day of the business clock
  (engine/oversight/hazards.py);
- and, on an interval of its own, not in the sweep, the signed callbacks to the sources
  (engine/channels/callbacks.py), so a slow receiver never holds up a timer.

Each environment (engine/wiring.py) builds its own list: a once-a-day job keeps the day it last ran.
"""
from __future__ import annotations

import logging

from sqlalchemy import bindparam, delete, select

from engine.channels import callbacks
from engine.core.errors import Conflict, EventflowError, NotFound
from engine.limits import deadlines
from engine.oversight import hazards
from engine.pool import events
from engine.runtime.specs import active_version
from engine.runtime.sweep import Job, OncePerDay, one_unit
from engine.store import uow
from engine.store.models import Event, Instance, PendingStart

log = logging.getLogger(__name__)

#: the jobs' names: what each did is `SweepResult.of(name)`
WARNINGS, PENDING_STARTS, HAZARD_REMINDERS, CALLBACKS = "warnings", "pending_starts", "hazard_reminders", "callbacks"


def periodic() -> list[Job]:
    return [Job(WARNINGS, one_unit(deadlines.send_warnings), next_due=deadlines.next_warning_at),
            Job(PENDING_STARTS, start_waiting),
            Job(HAZARD_REMINDERS, OncePerDay(one_unit(remind_hazards))),
            Job(CALLBACKS, deliver_callbacks, interval="callback_interval_seconds")]


def remind_hazards(cmd) -> list[tuple[str, str]]:
    """§9.2: remind (the month's last working days) and flag (the month closed) each community without a
    hazard point for the month; ("reminded" | "flagged", community) of each."""
    done = hazards.remind_and_flag(cmd.session, cmd.catalogs, cmd.env.limits.calendar, cmd.now())
    return [(what, community) for what in ("reminded", "flagged") for community in done[what]]


def deliver_callbacks(session_factory, env) -> list[int]:
    """Every due callback, once (engine/channels/callbacks.py); the ids of those attempted."""
    delivery = callbacks.deliver_due(session_factory, env.clock, env.wall_clock)
    return [*delivery.delivered, *delivery.retried, *delivery.failed]


# -- stored submissions left waiting: engine/casework/lifecycle.py (helper H1) has these as functions of a
# command; on merging, `start_waiting` here gives way to `lifecycle.start_waiting` -----------------------
_HAS_PROCESS = select(Instance.id).where(Instance.event_id == bindparam("event_id"))
_PENDING = select(PendingStart.event_id).where(PendingStart.event_id == bindparam("event_id")).with_for_update()
_STARTED = delete(PendingStart).where(PendingStart.event_id == bindparam("event_id"))
_WAITING = (select(PendingStart.event_id).where(PendingStart.stored_at <= bindparam("before"))
            .order_by(PendingStart.stored_at).limit(bindparam("limit")))


def _start_pending(cmd, event_id: int):
    session, env = cmd.session, cmd.env
    if session.scalar(_PENDING, {"event_id": event_id}) is None:
        return None
    event = session.get(Event, event_id, with_for_update=True)
    if event is None:
        raise NotFound(f"event {event_id} does not exist")
    if session.scalar(_HAS_PROCESS, {"event_id": event_id}) is not None:
        raise Conflict(f"event {event.number} already has a process")
    session.execute(_STARTED, {"event_id": event_id})
    version = active_version(session, env.process_key)
    event.error = None
    return env.instances.start(session, event, version,
                               events.initial_data(event, placement_unit=cmd.catalogs.city_authority()), cmd.actor)


def _mark_failed_start(cmd, event_id: int, message: str) -> None:
    event = cmd.session.get(Event, event_id)
    event.status, event.error, event.stage = "error", message, ""
    cmd.session.execute(_STARTED, {"event_id": event_id})


def start_waiting(session_factory, env, limit: int = 100) -> list[int]:
    """Start the processes of stored submissions that waited past the grace period (the app stopped
    between storing one and starting it: issue #5, a crash after acceptance loses nothing). One unit
    each; a process that refuses to start marks its event `error` instead of being tried forever."""
    before = env.clock.now() - env.start_grace
    started = []
    waiting = uow.read(session_factory, lambda s: list(s.scalars(_WAITING, {"before": before, "limit": limit})))
    for event_id in waiting:
        try:
            if uow.run(session_factory, lambda s, e=event_id: _start_pending(env.command(s), e)) is not None:
                started.append(event_id)
                log.warning("event %s: its process had not started; started by the sweep", event_id)
        except Exception as err:  # noqa: BLE001 - one bad submission must not stop the others
            log.exception("sweep: event %s could not start", event_id)
            message = err.message if isinstance(err, EventflowError) else f"{type(err).__name__}: {err}"
            uow.run(session_factory, lambda s, e=event_id, m=message: _mark_failed_start(env.command(s), e, m))
    return started
