"""The one timer sweep (STYLE.md §4): load only instances with a due timer, fire each in its own unit
of work, and catch errors per instance so one broken instance never blocks the rest; then run the jobs.

A failure of the diagram's own step (its code, a handler) opens an incident (engine/runtime/incidents.py)
and the sweep leaves that instance's failed timers to an administrator's retry; any other failure (the
database went away) is kept on the timer rows and tried again after the healthy ones. Timer rows are
claimed with row locks (PostgreSQL: FOR UPDATE SKIP LOCKED), so when several app nodes sweep at once each
timer fires once.

Jobs are periodic work beside the timers, registered by the domain (engine/jobs.py: 黄灯预警, the start of
stored submissions, the §9.2 hazard reminders, callbacks): the runtime runs them and knows nothing of
what they do. APScheduler calls `sweep` every few seconds under the system clock (web/scheduler.py), and
each job with an `interval` on its own; POST /api/sim/advance calls `advance`, which walks the simulated
clock from due time to due time (of a timer, or of a job that says when it next has work) so each fires
at its own moment.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timezone
from typing import Callable

from sqlalchemy import select

from engine.core.clock import SHANGHAI
from engine.core.command import Command
from engine.runtime import incidents
from engine.store import uow
from engine.store.models import Event, Instance, Timer

log = logging.getLogger(__name__)

#: the timers the sweep may fire: those of running instances (a suspended one's wait for its resumption)
_DUE = (select(Timer.instance_id).join(Instance, Instance.id == Timer.instance_id)
        .where(Instance.status == "running"))


@dataclass(frozen=True)
class Job:
    """Periodic work the domain registers (engine/jobs.py). `run(session_factory, env)` opens its own
    units of work (one per item where one item's failure must not undo the others': `one_unit` for a job
    that is a single unit) and returns what it did, a list (empty: nothing)."""

    name: str
    run: Callable
    #: `next_due(cmd)`: when it next has work (None: none), so a simulated clock's `advance` stops there;
    #: what such a job did counts as the sweep's progress. Without it the job runs at every sweep.
    next_due: Callable | None = None
    #: the Settings attribute of its own APScheduler interval, seconds (callbacks: a slow receiver must
    #: not hold up a timer); None: it runs in every sweep
    interval: str | None = None


def one_unit(op) -> Callable:
    """A job that is one unit of work: `op(cmd)` for the system (no user), committed once."""
    return lambda session_factory, env: uow.run(session_factory, lambda s: op(Command(s, env)))


class OncePerDay:
    """A job's run, at most once per day of the business clock (Asia/Shanghai): the day it last ran
    without failing is kept here, on the job (each environment builds its own jobs: engine/wiring.py)."""

    def __init__(self, run: Callable):
        self.run, self.day = run, None

    def __call__(self, session_factory, env) -> list:
        today = env.clock.now().astimezone(SHANGHAI).date()
        if self.day == today:
            return []
        done = self.run(session_factory, env)
        self.day = today
        return done


@dataclass
class SweepResult:
    fired: dict = field(default_factory=dict)   # instance id → [timer element ids]
    errors: dict = field(default_factory=dict)  # instance id → message
    done: dict = field(default_factory=dict)    # job name → what it did (a list)
    #: a timer fired or a job with a due time did something (`advance` and `until_idle` go on while so)
    progress: bool = False

    def of(self, job: str) -> list:
        """What the job of that name did."""
        return self.done.get(job, [])

    def add(self, other: "SweepResult") -> None:
        for key, value in other.fired.items():
            self.fired.setdefault(key, []).extend(value)
        self.errors.update(other.errors)
        for name, value in other.done.items():
            self.done.setdefault(name, []).extend(value)
        self.progress = self.progress or other.progress


# -- timers ---------------------------------------------------------------------------------------------
def due_instance_ids(session, now, limit: int = 500) -> list[int]:
    """Instances with a due timer, earliest first, those whose handler failed after the others.
    Reads only the due rows through the due_at index (no GROUP BY, which lets a planner scan the
    whole table), so its cost does not grow with the number of open instances (bench/sweep.py)."""
    healthy = session.scalars(_DUE.where(Timer.due_at <= now, Timer.last_error.is_(None))
                              .order_by(Timer.due_at).limit(limit * 4))
    ids = list(dict.fromkeys(healthy))[:limit]
    if len(ids) < limit:  # failed ones are retried after the healthy, never ahead of them, and not at
        # all while an incident holds them (a diagram's failure: retried by an administrator, issue #15)
        failed = session.scalars(_DUE.where(Timer.due_at <= now, Timer.last_error.is_not(None),
                                            Timer.instance_id.not_in(incidents.held_instances()))
                                 .order_by(Timer.due_at).limit(limit * 4))
        ids = list(dict.fromkeys([*ids, *failed]))[:limit]
    return ids


def next_timer(session):
    """The earliest due time of a timer that has not failed (failed ones are retried by every sweep, but
    must not hold back the timers behind them). Read through the due_at index from the earliest on (a
    min() over the join would read every open instance's timer: bench/timers.py)."""
    return session.scalar(_NEXT)


_NEXT = (select(Timer.due_at).join(Instance, Instance.id == Timer.instance_id)
         .where(Timer.last_error.is_(None), Instance.status == "running").order_by(Timer.due_at).limit(1))


def fire(cmd, instance_id: int) -> list[str]:
    """Fire what fell due on one instance; the fired timers' element ids. The timer rows are locked
    (PostgreSQL: FOR UPDATE SKIP LOCKED), so when several app nodes sweep at once each timer fires once."""
    session = cmd.session
    claimed = session.execute(select(Timer.id, Timer.last_error).where(Timer.instance_id == instance_id,
                                                                       Timer.due_at <= cmd.now())
                              .with_for_update(skip_locked=True)).all()
    row = session.get(Instance, instance_id)
    if not claimed or row.status != "running":   # a suspended instance's timers wait (issue #4)
        return []
    fired = cmd.env.instances.fire_timers(session, row, session.get(Event, row.event_id))
    if any(error for _, error in claimed):       # a failed one fired after all: its incident is resolved
        incidents.resolve_timers(session, instance_id, cmd.now())
    return fired


def record_timer_error(cmd, instance_id: int, message: str, error=None) -> None:
    """The sweep could not fire an instance's due timers: the error is kept on them, and a failure of
    the diagram's step (not, say, of the database) opens an incident, which holds them until retried."""
    session = cmd.session
    due = list(session.scalars(select(Timer).where(Timer.instance_id == instance_id, Timer.due_at <= cmd.now())))
    for timer in due:
        timer.last_error = message[:2000]
    if isinstance(error, incidents.STEP_FAILURES) and due:
        row = session.get(Instance, instance_id)
        failure = incidents.timer_failure(error, row, session.get(Event, row.event_id),
                                          [t.spec_name for t in due], cmd.catalogs)
        incidents.record(session, failure, cmd.now())


def fire_due(session_factory, env, limit: int = 500) -> SweepResult:
    """Every instance with a due timer, each in its own unit; a failure is recorded in a unit of its own."""
    result = SweepResult()
    due = uow.read(session_factory, lambda s: due_instance_ids(s, env.clock.now(), limit))
    for instance_id in due:
        try:
            fired = uow.run(session_factory, lambda s, i=instance_id: fire(Command(s, env), i))
            if fired:
                result.fired[instance_id] = fired
        except Exception as err:  # noqa: BLE001 - one broken instance must not stop the sweep
            message = f"{type(err).__name__}: {err}"
            log.exception("timer sweep: instance %s failed", instance_id)
            result.errors[instance_id] = message
            uow.run(session_factory,
                    lambda s, i=instance_id, m=message, e=err: record_timer_error(Command(s, env), i, m, e))
    result.progress = bool(result.fired)
    return result


# -- jobs -----------------------------------------------------------------------------------------------
def run_job(session_factory, env, job: Job) -> list:
    """What the job did; a failure is logged and does nothing else (a job must not stop the timers)."""
    try:
        return list(job.run(session_factory, env) or [])
    except Exception:  # noqa: BLE001 - one failing job must not stop the sweep nor the other jobs
        log.exception("sweep: job %s failed", job.name)
        return []


def _swept(env, timed: bool | None = None) -> list[Job]:
    """The jobs the sweep runs (not those on an interval of their own); only those with (timed) or
    without (not timed) a due time when `timed` is said."""
    return [j for j in env.jobs if j.interval is None and (timed is None or (j.next_due is not None) == timed)]


def run_jobs(session_factory, env, jobs) -> SweepResult:
    result = SweepResult()
    for job in jobs:
        result.done[job.name] = run_job(session_factory, env, job)
        result.progress = result.progress or (job.next_due is not None and bool(result.done[job.name]))
    return result


# -- the sweep ------------------------------------------------------------------------------------------
def sweep(session_factory, env, limit: int = 500) -> SweepResult:
    """Fire every due timer, then run the jobs (in their order: engine/jobs.py)."""
    result = fire_due(session_factory, env, limit)
    result.add(run_jobs(session_factory, env, _swept(env)))
    return result


def next_due(cmd):
    """The earliest moment the sweep has work: a timer (`next_timer`) or a job's next due time (a warning
    to send)."""
    times = [next_timer(cmd.session), *(job.next_due(cmd) for job in _swept(cmd.env, timed=True))]
    times = [t if t.tzinfo else t.replace(tzinfo=timezone.utc) for t in times if t is not None]
    return min(times) if times else None


def until_idle(session_factory, env, limit: int = 500) -> SweepResult:
    """Sweep until a sweep makes no progress (at start-up: everything that fell due while the server was
    down, in due order)."""
    total = SweepResult()
    while True:
        step = sweep(session_factory, env, limit)
        total.add(step)
        if not step.progress:
            return total


def advance(session_factory, env, target) -> SweepResult:
    """Move a simulated clock (`env.clock`) to `target`, firing every timer and running every timed job at
    its due time on the way; then the other jobs once more at `target` (submissions that waited past the
    grace, the day the clock reached)."""
    clock, total, previous = env.clock, SweepResult(), None
    while True:
        upcoming = uow.read(session_factory, lambda s: next_due(Command(s, env)))
        if upcoming is None or upcoming > target:
            break
        if upcoming > clock.now():
            clock.set(upcoming)
        step = sweep(session_factory, env)
        total.add(step)
        if not step.progress and (not step.errors or upcoming == previous):
            break  # nothing moved (failures alone, twice at the same time, are no progress): stop, don't spin
        previous = upcoming
    clock.set(max(target, clock.now()))
    total.add(run_jobs(session_factory, env, _swept(env, timed=False)))
    return total
