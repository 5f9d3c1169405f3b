"""The engine's front door: what web/ and the CLI call. Every method takes the caller's session and
never commits (the unit of work in engine/uow.py does)."""
from __future__ import annotations

from sqlalchemy import func, select

from engine import deploy as deploying
from engine import events, tasks
from engine.clock import SystemClock
from engine.errors import Conflict, NotFound
from engine.instances import InstanceCache, Instances
from engine.models import Event, Instance, Timer, WorkItem
from engine.versions import SpecCache, active_version

PROCESS_KEY = "community_event"


class Runtime:
    def __init__(self, catalogs, registry, clock, process_key: str = PROCESS_KEY):
        self.catalogs = catalogs
        self.registry = registry
        self.clock = clock
        #: sessions and tokens expire by the wall clock even when business time is simulated
        self.wall_clock = SystemClock()
        self.process_key = process_key
        self.specs = SpecCache()
        self.instances = Instances(self.specs, registry, catalogs, clock, InstanceCache())

    # -- process versions -------------------------------------------------------------------------
    def deploy(self, session, bundle, actor: str):
        return deploying.deploy(session, bundle, self.catalogs, self.registry, self.clock, actor)

    # -- events -----------------------------------------------------------------------------------
    def report(self, session, payload, user) -> Event:
        """Check and store a report. Nothing else happens in this unit: the accepted submission is
        stored before the process starts."""
        events.check_report(payload, self.catalogs, user)
        return events.register(session, payload, user.username, self.clock.now())

    def start(self, session, event_id: int, actor: str) -> Instance:
        event = session.get(Event, event_id)
        if event is None:
            raise NotFound(f"event {event_id} does not exist")
        if session.scalar(select(Instance.id).where(Instance.event_id == event_id)) is not None:
            raise Conflict(f"event {event.number} already has a process")
        version = active_version(session, self.process_key)
        event.error = None
        return self.instances.start(session, event, version, events.initial_data(event), actor)

    def mark_failed_start(self, session, event_id: int, message: str) -> None:
        event = session.get(Event, event_id)
        event.status, event.error, event.stage = "error", message, ""

    # -- tasks ------------------------------------------------------------------------------------
    def tasks_for(self, session, user) -> list[dict]:
        return tasks.ready_for(session, user, self.catalogs, self.specs)

    def complete(self, session, task_id: str, data, user) -> dict:
        item = tasks.find_for(session, user, self.catalogs, task_id)
        row = session.get(Instance, item.instance_id)
        compiled = self.specs.get(session, row.version_id)
        clean = tasks.check_data(item, compiled, self.catalogs, data)
        event = session.get(Event, item.event_id)
        done = self.instances.complete_task(session, row, event, task_id, clean, user.username)
        if done is None:
            raise Conflict("该任务已办理或已撤销 (the task is no longer ready)", task_id=task_id)
        return {"task_id": task_id, "event_id": event.id, "event_status": event.status, "stage": event.stage}

    # -- timers -----------------------------------------------------------------------------------
    def due_instance_ids(self, session, limit: int = 500) -> list[int]:
        return list(session.scalars(select(Timer.instance_id).where(Timer.due_at <= self.clock.now())
                                    .group_by(Timer.instance_id).order_by(func.min(Timer.due_at)).limit(limit)))

    def next_due(self, session):
        """The earliest due time of a timer that has not failed (failed ones are retried by every
        sweep, but must not hold back the timers behind them)."""
        return session.scalar(select(func.min(Timer.due_at)).where(Timer.last_error.is_(None)))

    def fire(self, session, instance_id: int) -> list[str]:
        """Fire what fell due on one instance. The timer rows are locked (PostgreSQL: FOR UPDATE SKIP
        LOCKED), so when several app nodes sweep at once each timer fires once."""
        claimed = session.scalars(select(Timer.id).where(Timer.instance_id == instance_id,
                                                         Timer.due_at <= self.clock.now())
                                  .with_for_update(skip_locked=True)).all()
        if not claimed:
            return []
        row = session.get(Instance, instance_id)
        event = session.get(Event, row.event_id)
        return self.instances.fire_timers(session, row, event)

    def record_timer_error(self, session, instance_id: int, message: str) -> None:
        for timer in session.scalars(select(Timer).where(Timer.instance_id == instance_id,
                                                         Timer.due_at <= self.clock.now())):
            timer.last_error = message[:2000]

    def open_work(self, session, event_id: int) -> list[WorkItem]:
        return list(session.scalars(select(WorkItem).where(WorkItem.event_id == event_id)))
