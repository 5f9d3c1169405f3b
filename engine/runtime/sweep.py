"""The one timer sweep (STYLE.md §4): load only instances with a due timer, fire each in its own unit
of work, and catch errors per instance so one broken instance never blocks the rest.

A failure of the diagram's own step (its code, a handler) opens an incident (engine/casework/incidents.py) and the
sweep leaves that instance's failed timers to an administrator's retry; any other failure (the database
went away) is kept on the timer rows and tried again after the healthy ones.

APScheduler calls `sweep` every few seconds under the system clock; POST /api/sim/advance calls
`advance`, which walks the simulated clock from due time to due time so each timer fires at its
own moment.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from engine.store import uow
from engine.core.errors import EventflowError

log = logging.getLogger(__name__)


@dataclass
class SweepResult:
    fired: dict = field(default_factory=dict)   # instance id → [timer element ids]
    started: list = field(default_factory=list)  # stored submissions whose process the sweep started
    errors: dict = field(default_factory=dict)  # instance id → message
    warnings: int = 0                           # 黄灯预警 sent


def sweep(session_factory, runtime, limit: int = 500) -> SweepResult:
    result = SweepResult()
    due = uow.read(session_factory, lambda s: runtime.due_instance_ids(s, limit))
    for instance_id in due:
        try:
            fired = uow.run(session_factory, lambda s, i=instance_id: runtime.fire(s, i))
            if fired:
                result.fired[instance_id] = fired
        except Exception as err:  # noqa: BLE001 - one broken instance must not stop the sweep
            message = f"{type(err).__name__}: {err}"
            log.exception("timer sweep: instance %s failed", instance_id)
            result.errors[instance_id] = message
            uow.run(session_factory,
                    lambda s, i=instance_id, m=message, e=err: runtime.record_timer_error(s, i, m, e))
    try:
        result.warnings = uow.run(session_factory, runtime.send_warnings)
    except Exception:  # noqa: BLE001 - warnings must not stop the timers
        log.exception("timer sweep: sending warnings failed")
    result.started = start_waiting(session_factory, runtime)
    check_hazards(session_factory, runtime)
    return result


def check_hazards(session_factory, runtime) -> None:
    """§9.2: remind and flag communities without a hazard point for the month (once a day)."""
    try:
        uow.run(session_factory, runtime.check_hazards)
    except Exception:  # noqa: BLE001 - a reminder must not stop the timers
        log.exception("sweep: hazard-point reminders failed")


def start_waiting(session_factory, runtime, limit: int = 100) -> list[int]:
    """Start the processes of stored submissions that waited past the grace period (the app stopped
    between storing one and starting it: issue #5, a crash after acceptance loses nothing). One unit
    each; a process that refuses to start marks its event `error` instead of being tried forever."""
    before = runtime.clock.now() - runtime.start_grace
    started = []
    for event_id in uow.read(session_factory, lambda s: runtime.pending_starts(s, before, limit)):
        try:
            if uow.run(session_factory, lambda s, e=event_id: runtime.start_pending(s, e, "system")) is not None:
                started.append(event_id)
                log.warning("event %s: its process had not started; started by the sweep", event_id)
        except Exception as err:  # noqa: BLE001 - one bad submission must not stop the others
            log.exception("sweep: event %s could not start", event_id)
            message = err.message if isinstance(err, EventflowError) else f"{type(err).__name__}: {err}"
            uow.run(session_factory, lambda s, e=event_id, m=message: runtime.mark_failed_start(s, e, m))
    return started


def advance(session_factory, runtime, clock, target) -> SweepResult:
    """Move a simulated clock to `target`, firing every timer at its due time on the way."""
    total, previous = SweepResult(), None
    while True:
        upcoming = uow.read(session_factory, runtime.next_due)
        if upcoming is None or upcoming > target:
            break
        if upcoming > clock.now():
            clock.set(upcoming)
        step = sweep(session_factory, runtime)
        for key, value in step.fired.items():
            total.fired.setdefault(key, []).extend(value)
        total.errors.update(step.errors)
        total.warnings += step.warnings
        total.started += step.started
        if not step.fired and not step.warnings and (not step.errors or upcoming == previous):
            break  # nothing moved (failures alone, twice at the same time, are no progress): stop, don't spin
        previous = upcoming
    clock.set(max(target, clock.now()))
    total.started += start_waiting(session_factory, runtime)   # submissions that waited past the grace
    check_hazards(session_factory, runtime)                     # the day the clock reached
    return total
