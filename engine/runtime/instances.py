"""Start, load, run and store process instances; keep the work-item and timer indexes in step.

One call = one step of one instance inside the caller's unit of work: nothing here commits.
Optimistic concurrency: the instance row carries `row_version`; a concurrent save makes the UPDATE
miss and the save raises StaleInstance, which the unit of work retries (engine/store/uow.py).

An ended instance (completed, terminated) keeps no state (issue #17): what people read of it afterwards —
the event, its deadlines, its audit trail with every form's data, its version for the diagram — is kept
elsewhere, nothing loads it again (a reopened event starts a new instance) and its task tree would be
most of what a closed event stores. Its row keeps the version, status and times.

The save path writes through SQLAlchemy Core on the session's connection: one UPDATE of the instance,
then one batched statement per index table and per kind of row the step recorded (bench/lifecycle.py
measures what that buys against the ORM's unit of work).
"""
from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timezone
from uuid import UUID

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.defaults import EndEvent
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import and_, bindparam, delete, insert, select, update
from sqlalchemy.orm.attributes import set_committed_value

from engine.runtime import spiff
from engine.core.clock import SHANGHAI, local
from engine.core.errors import Conflict, EventflowError, StaleInstance
from engine.store.models import Event, Instance, Timer, WorkItem
from engine.store.rows import add_inserted, update_loaded
from engine.runtime.sandbox import Exhausted, UnsafeCode
from engine.runtime.scripting import EventflowScriptEngine, failed_element, root_cause, unwrap_handler_error
from engine.runtime.timers import due_times
from engine.runtime.hooks import Hooks
from engine.runtime.specs import CompiledVersion, active_version
from engine.core import contracts

#: the save path's statements, built once (constructing a statement costs SQLAlchemy more than
#: SQLite takes to run it: bench/lifecycle.py)
_INSTANCES, _WORK_ITEMS, _TIMERS = Instance.__table__, WorkItem.__table__, Timer.__table__
_SAVE = (update(_INSTANCES)
         .where(_INSTANCES.c.id == bindparam("instance_id"), _INSTANCES.c.row_version == bindparam("expected"))
         .values(state=bindparam("new_state"), serializer_version=bindparam("new_serializer"),
                 status=bindparam("new_status"), updated_at=bindparam("new_updated_at"),
                 row_version=bindparam("new_row_version")))
#: by one id, as many times as there are ids (an expanding IN costs SQLAlchemy as much again as the statement)
_DROP_WORK = delete(_WORK_ITEMS).where(_WORK_ITEMS.c.id == bindparam("task_id"))
_DROP_TIMER = delete(_TIMERS).where(and_(_TIMERS.c.instance_id == bindparam("instance"),
                                         _TIMERS.c.task_id == bindparam("task"), _TIMERS.c.spec_name == bindparam("spec")))
_ADD_TIMERS = insert(_TIMERS)
_STATE = select(Instance.state).where(Instance.id == bindparam("instance_id"))
#: the statuses of an instance that takes no step again: its state is not kept
ENDED = ("completed", "terminated")


class ProcessError(EventflowError):
    """The process could not take a step (a handler failed, an assignee is missing …)."""

    status = 500
    code = "process_error"
    #: the exception that stopped the step, if any (engine/runtime/incidents.py: may its words be shown?)
    cause: BaseException | None = None

    @classmethod
    def of(cls, failure: BaseException, element: str | None) -> "ProcessError":
        """What stopped the step, by the exception diagram code raised (with SpiffWorkflow's words on
        where, e.g. the expression it was evaluating, when it wrapped one)."""
        cause = root_cause(failure)
        where = f" — {str(failure).strip()}" if cause is not failure and str(failure).strip() else ""
        error = cls(f"{type(cause).__name__}: {cause}{where}", element=element)
        error.cause = cause
        return error


class Suspended(Conflict):
    """挂起: a suspended instance takes no step (no task, message or timer) until it is resumed."""

    code = "suspended"


def _writable(row: Instance) -> None:
    if row.status == "suspended":
        raise Suspended(f"流程已挂起，恢复后才能办理 (the process is suspended: {row.suspend_reason})",
                        suspended_at=local(_aware(row.suspended_at)) if row.suspended_at else None,
                        suspended_by=row.suspended_by)
    if row.status != "running":
        raise Conflict(f"流程已{'终止' if row.status == 'terminated' else '结束'} (the process is {row.status})",
                       process_status=row.status)


class InstanceCache:
    """Deserialized instances keyed by (id, row_version), each with what its indexes hold (so a step
    does not walk the task tree again to learn what it starts from). An entry is taken out while in
    use and put back only after its transaction committed, so a cached state is always a committed one.

    Bounded by count and by memory (issue #17: an app worker stays within 200 MB): a loaded workflow
    takes about 2 KB per task of its tree (Figure 1 mid-flow: ~40 tasks, ~80 KB), so `max_bytes` is
    counted as tasks × BYTES_PER_TASK; the least recently used go first. An ended instance is never
    put (`Instances.save`)."""

    #: measured with tracemalloc on Figure 1's workflows (SpiffWorkflow 3): Task objects, their data dicts
    BYTES_PER_TASK = 2048

    def __init__(self, size: int = 2000, max_bytes: int = 48 * 1024 * 1024):
        self._items: OrderedDict[int, tuple[int, spiff.Workflow, "Indexed | None", int]] = OrderedDict()
        self._size = size
        self._max_bytes = max_bytes
        self._bytes = 0
        self._lock = threading.Lock()

    @classmethod
    def weight(cls, workflow) -> int:
        """Estimated bytes of a loaded workflow: its tasks and its subprocesses' tasks."""
        return cls.BYTES_PER_TASK * (len(workflow.tasks) + sum(len(sp.tasks) for sp in workflow.subprocesses.values()))

    @property
    def bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def take(self, instance_id: int, row_version: int):
        """(workflow, indexed) of the committed state, or (None, None)."""
        with self._lock:
            item = self._items.pop(instance_id, None)
            if item is not None:
                self._bytes -= item[3]
        return (item[1], item[2]) if item and item[0] == row_version else (None, None)

    def put(self, instance_id: int, row_version: int, workflow, index: "Indexed | None" = None) -> None:
        weight = self.weight(workflow)
        if weight > self._max_bytes:
            return
        with self._lock:
            old = self._items.pop(instance_id, None)
            if old is not None:
                self._bytes -= old[3]
            self._items[instance_id] = (row_version, workflow, index, weight)
            self._bytes += weight
            while len(self._items) > self._size or self._bytes > self._max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= dropped[3]


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def _boundary_timer_ids(task) -> set[str]:
    """Ids of the boundary events attached to a task (its siblings under SpiffWorkflow's
    BoundaryEventSplit), whatever their state."""
    parent = task.parent
    if parent is None or not isinstance(parent.task_spec, BoundaryEventSplit):
        return set()
    return {str(c.id) for c in parent.children
            if c is not task and getattr(c.task_spec, "event_definition", None) is not None}


def _completed(workflow, task_id: str) -> bool:
    task = workflow.get_task_from_id(UUID(task_id))
    return task is not None and task.state == TaskState.COMPLETED


def _resolve_path(data: dict, path: str):
    value = data
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def outcome_reached(workflow, task_meta: dict) -> str | None:
    """The outcome of the last end event with one (docs/process-conventions.md, End events) that the instance
    has completed, in its own process or a called one, `overdue_recorded` aside; None before any. It is what
    the event's status becomes — also while the instance runs on after it (回访 after a called process closed
    the event)."""
    outcomes = task_meta.get("_outcomes") or {}
    ends = {end for end, word in outcomes.items() if word != "overdue_recorded"}
    if not any(task._state == TaskState.COMPLETED and task.task_spec.bpmn_id in ends
               for flow in (workflow, *workflow.subprocesses.values()) for task in flow.tasks.values()):
        return None
    outcome = None
    for task in workflow.get_tasks(state=TaskState.COMPLETED):   # in the tree's order: the last one counts
        if isinstance(task.task_spec, EndEvent) and task.task_spec.bpmn_id in ends:
            outcome = outcomes[task.task_spec.bpmn_id]
    return outcome


@dataclass(frozen=True)
class Indexed:
    """What the work-item and timer indexes hold for a state: ready user tasks and waiting timers."""

    ready: dict
    timers: set


def indexed(workflow) -> Indexed:
    return Indexed({str(t.id): t for t in workflow.get_tasks(state=TaskState.READY, manual=True)},
                   set(due_times(workflow)))


class Instances:
    def __init__(self, specs, registry, catalogs, clock, hooks: Hooks, cache: InstanceCache | None = None):
        self.specs = specs
        self.registry = registry
        self.catalogs = catalogs
        self.clock = clock
        self.hooks = hooks
        self.deadlines = hooks.limits
        self.cache = cache if cache is not None else InstanceCache()

    # -- running ----------------------------------------------------------------------------------
    def _context(self, session, event, instance_id, actor, compiled=None, new_instance=False):
        return self.hooks.run_context(session=session, clock=self.clock, catalogs=self.catalogs, event=event,
                                      instance_id=instance_id, actor=actor,
                                      task_meta=compiled.task_meta if compiled is not None else None,
                                      new_instance=new_instance)

    def _engine(self, ctx) -> EventflowScriptEngine:
        return EventflowScriptEngine(ctx, self.registry, self.deadlines)

    def _run(self, workflow, action, element=None):
        """Run a step; a failure names the element it failed at (the gateway, script or timer whose code
        failed, else `element`: the task being completed)."""
        engine = workflow.script_engine
        engine.failed_at = None
        try:
            action()
        except EventflowError:
            raise
        except (Exhausted, UnsafeCode) as err:   # the sandbox stopped diagram code (engine/runtime/sandbox.py)
            raise ProcessError.of(err, failed_element(err, engine) or element) from err
        except Exception as err:  # noqa: BLE001 - surface the handler's own error if there is one
            inner = unwrap_handler_error(err)
            if isinstance(inner, EventflowError):  # a handler's own failure, or its 422 on a parameter
                raise inner from err
            # the sandbox stopped diagram code (engine/runtime/sandbox.py), or the code itself failed
            raise ProcessError.of(inner, failed_element(err, engine) or element) from err

    def start(self, session, event: Event, version_id: int, data: dict, actor: str) -> Instance:
        compiled = self.specs.get(session, version_id)
        workflow = spiff.Workflow(compiled.spec, compiled.subprocess_specs)
        now = self.clock.now()
        # its state is written by `save` below, as every step's is
        row = add_inserted(session, Instance(event_id=event.id, version_id=compiled.id, state="", status="running",
                                             serializer_version=spiff.SERIALIZER_VERSION, updated_at=now,
                                             started_at=now, started_by=actor))
        ctx = self._context(session, event, row.id, actor, compiled, new_instance=True)
        workflow.script_engine = self._engine(ctx)
        workflow.task_tree.data.update(data)
        self._run(workflow, workflow.do_engine_steps)
        self.save(session, row, workflow, compiled, event)
        self._start_linked(session, ctx, compiled, actor)
        return row

    def load(self, session, row: Instance, event: Event, actor: str):
        compiled = self.specs.get(session, row.version_id)
        workflow, index = self.cache.take(row.id, row.row_version)
        if workflow is None:
            state = session.scalar(_STATE, {"instance_id": row.id})
            if not state:                 # ended: its state is not kept (a caller checks _writable first)
                raise Conflict(f"流程已结束 (the process is {row.status}: its state is not kept)",
                               process_status=row.status)
            workflow = spiff.load(state, compiled.spec, compiled.subprocess_specs)
        ctx = self._context(session, event, row.id, actor, compiled)
        workflow.script_engine = self._engine(ctx)
        return workflow, compiled, ctx, index if index is not None else indexed(workflow)

    def complete_task(self, session, row: Instance, event: Event, task_id: str, data: dict, actor: str,
                      stored_parties=frozenset()):
        """Run one ready user task with its form data. Returns the task, or None if not ready. `stored_parties`:
        (kind, value) parties the event already has (the task's own assignee), not written again."""
        _writable(row)
        workflow, compiled, ctx, before = self.load(session, row, event, actor)
        ctx.stored_parties = frozenset(stored_parties)
        task = workflow.get_task_from_id(UUID(task_id))
        if task is None or task.state != TaskState.READY:
            return None
        task.data.update(data)
        ctx.record(contracts.TASK_COMPLETED, data, task=task)
        attached = _boundary_timer_ids(task)   # the limits this task's completion meets

        def step():
            task.run()
            workflow.do_engine_steps()
        self._run(workflow, step, element=task.task_spec.bpmn_id)
        self.save(session, row, workflow, compiled, event, before, met_ids=attached)
        self._start_linked(session, ctx, compiled, actor)
        return task

    def task_data(self, session, row: Instance, event: Event, task_id: str) -> dict:
        """A copy of the data a ready task sees (read only: the state is put back unchanged)."""
        workflow, _, _, before = self.load(session, row, event, "system")
        try:
            task = workflow.get_task_from_id(UUID(task_id))
            return copy.deepcopy(task.data) if task is not None else {}
        finally:
            self.cache.put(row.id, row.row_version, workflow, before)

    def send_message(self, session, row: Instance, event: Event, name: str, payload: dict, actor: str) -> bool:
        """Deliver a BPMN message (e.g. `withdraw`, 撤单) to the instance. False when nothing in the
        process is waiting for it (nothing changes then)."""
        _writable(row)
        workflow, compiled, ctx, before = self.load(session, row, event, actor)
        message = BpmnEvent(MessageEventDefinition(name), payload=payload)
        if not workflow.get_tasks(state=TaskState.WAITING | TaskState.READY, catches_event=message):
            self.cache.put(row.id, row.row_version, workflow, before)  # unchanged: still the committed state
            return False
        ctx.record("message_received", {"message": name, **payload})
        self._run(workflow, lambda: (workflow.send_event(message), workflow.do_engine_steps()))
        self.save(session, row, workflow, compiled, event, before)
        self._start_linked(session, ctx, compiled, actor)
        return True

    def extend(self, session, deadline, event: Event, new_due) -> None:
        """§8.4 approved: the deadline's due time moves (the original is kept) and its waiting timer is
        re-armed at the new time in the stored state, so the sweep fires it then."""
        deadline.due_at, deadline.extended = new_due, True
        deadline.extensions = (deadline.extensions or 0) + 1
        deadline.warn_at = self.deadlines.warn_at(deadline.kind, _aware(deadline.started_at), new_due)
        deadline.warned_at = None
        self.rearm(session, deadline, event, new_due)

    def rearm(self, session, deadline, event: Event, new_due) -> None:
        """Move the waiting timer that watches `deadline` to `new_due` in the stored state."""
        if not deadline.timer_task_id:
            return
        row = session.get(Instance, deadline.instance_id)
        _writable(row)
        workflow, compiled, ctx, before = self.load(session, row, event, "system")
        timer = workflow.get_task_from_id(UUID(deadline.timer_task_id))
        if timer is None or timer.state != TaskState.WAITING:
            self.cache.put(row.id, row.row_version, workflow, before)
            return
        timer._set_internal_data(event_value=new_due.astimezone(SHANGHAI).isoformat())
        ctx.record("timer_rearmed", {"kind": deadline.kind, "due_at": new_due.astimezone(SHANGHAI).isoformat()})
        self.save(session, row, workflow, compiled, event, before)

    def move_timers(self, session, row: Instance, event: Event, moved: dict, shift, actor: str, record: tuple):
        """Resuming (engine/casework/administration.py): every waiting timer moves — to its deadline's new due
        time (`moved`, by timer task id), or by `shift` where no deadline watches it — and the state is
        saved, which rebuilds the timer index. `record` is the (action, data) for the audit trail."""
        _writable(row)
        workflow, compiled, ctx, before = self.load(session, row, event, actor)
        for task_id, _, due in due_times(workflow):
            new_due = moved.get(task_id) or datetime.fromisoformat(due) + shift
            timer = workflow.get_task_from_id(UUID(task_id))
            timer._set_internal_data(event_value=new_due.astimezone(SHANGHAI).isoformat())
        ctx.record(*record)
        self.save(session, row, workflow, compiled, event, before)

    def terminate(self, session, row: Instance, event: Event, reason: str, actor: str, notify_source) -> None:
        """终止 (engine/casework/administration.py): cancel all open work and timers, end the event as
        `terminated` and tell its source through `notify_source` (the registry's operation)."""
        if row.status not in ("running", "suspended"):
            _writable(row)
        workflow, compiled, ctx, before = self.load(session, row, event, actor)
        now = self.clock.now()
        ctx.record("instance_terminated", {"reason": reason})
        workflow.cancel()
        event.status, event.closed_at = "terminated", now
        notify_source(ctx, None, "terminated", reason)
        self.save(session, row, workflow, compiled, event, before, status="terminated")

    def _start_linked(self, session, ctx, compiled, actor) -> None:
        """Events a step created (转办) start on the active version of the same process; an event the step
        handed to a new instance of its own (`ctx.restart`: the data it starts with) starts again there."""
        while ctx.pending_starts:
            new_event = ctx.pending_starts.pop(0)
            version = active_version(session, compiled.process_key)
            self.start(session, new_event, version, self.hooks.initial_data(new_event), actor)
        if ctx.restart is not None:
            data, ctx.restart = ctx.restart, None
            self.start(session, ctx.event, active_version(session, compiled.process_key), data, actor)

    def fire_timers(self, session, row: Instance, event: Event) -> list[str]:
        """Let every timer that fell due by the clock fire. Returns the fired timers' element ids."""
        _writable(row)
        workflow, compiled, ctx, before = self.load(session, row, event, "system")
        self._run(workflow, lambda: (workflow.refresh_timers(), workflow.do_engine_steps()))
        waiting = {tid for tid, _, _ in due_times(workflow)}
        fired_ids = {tid for tid, _, _ in before.timers if tid not in waiting and _completed(workflow, tid)}
        fired = sorted(spec for tid, spec, _ in before.timers if tid in fired_ids)
        if fired:
            ctx.record("timer_fired", {"timers": fired})
        self.save(session, row, workflow, compiled, event, before)
        self._start_linked(session, ctx, compiled, "system")
        return fired

    # -- storing ----------------------------------------------------------------------------------
    def save(self, session, row: Instance, workflow, compiled: CompiledVersion, event: Event,
             before: "Indexed | None" = None, met_ids=frozenset(), status: str | None = None) -> None:
        """Store the state (none once the instance ended), then bring the work-item and timer indexes in
        step with it.

        The instance UPDATE goes first: its row_version check detects a concurrent save before anything
        else is written, and it takes the instance's row lock first, always in that order. Then what the
        step recorded (audit, notifications, parties) and the index changes, each in one batched
        statement. The indexes are changed by difference with what the loaded state had (no re-reading).
        """
        now = self.clock.now()
        status = status or ("completed" if workflow.completed else "running")
        state = "" if status in ENDED else spiff.dump(workflow)
        version = row.row_version
        connection = session.connection()
        done = connection.execute(_SAVE, {"instance_id": row.id, "expected": version, "new_state": state,
                                          "new_serializer": spiff.SERIALIZER_VERSION, "new_status": status,
                                          "new_updated_at": now, "new_row_version": version + 1})
        if done.rowcount != 1:
            raise StaleInstance(f"process instance {row.id} was saved by someone else (version {version})")
        for name, value in (("state", state), ("serializer_version", spiff.SERIALIZER_VERSION),
                            ("status", status), ("updated_at", now), ("row_version", version + 1)):
            set_committed_value(row, name, value)   # the ORM object says what the row now holds
        ctx = workflow.script_engine.context
        before = before or Indexed({}, set())
        after = indexed(workflow)
        titles = self._sync_work_items(connection, ctx, row, before, after, compiled, event, now)
        ctx.write()
        self._sync_timers(connection, row, before, after)
        if met_ids or before.timers - after.timers or ctx.armed:  # else no deadline can change
            self.deadlines.reconcile(ctx, workflow, met_ids, now, event)
        if workflow.completed:
            self.deadlines.instance_ended(ctx, now)
        if ctx.restart is None:       # else the event's next instance says where it is (_start_linked)
            self._sync_event(session, workflow, compiled, event, titles, now)
        if status not in ENDED:       # an ended one is never loaded again: it would only take memory
            pending = session.info.setdefault("after_commit", [])
            pending.append(lambda rid=row.id, rv=version + 1, wf=workflow: self.cache.put(rid, rv, wf, after))

    def _sync_work_items(self, connection, ctx, row, before, after, compiled, event, now) -> list[str]:
        gone = [task_id for task_id in before.ready if task_id not in after.ready]
        if gone:
            connection.execute(_DROP_WORK, [{"task_id": task_id} for task_id in gone])
        new_rows = []
        for task_id, task in after.ready.items():
            if task_id in before.ready:
                continue
            meta = compiled.task_meta.get(task.task_spec.bpmn_id)
            if meta is None:
                raise ProcessError("a ready manual task is not a user task with a form",
                                   element=task.task_spec.bpmn_id)
            kind, _, path = meta["assignee"].partition(":")
            values = {"community": event.community if kind == "community" else None,
                      "unit": _resolve_path(task.data, path) if kind == "unit" else None,
                      "person": _resolve_path(task.data, path) if kind == "person" else None}
            if values[kind] is None:
                raise ProcessError(f"assignee {meta['assignee']!r} has no value in the task data",
                                   element=task.task_spec.bpmn_id)
            if kind in ("unit", "person"):
                ctx.involve(kind, values[kind])
            new_rows.append(dict(id=task_id, instance_id=row.id, event_id=event.id,
                                 spec_name=task.task_spec.bpmn_id, title=meta["title"], lane=meta["lane"],
                                 role=meta["role"], assignee_kind=kind, form=meta["form"], created_at=now,
                                 **{k: str(v) if v is not None else None for k, v in values.items()}))
        if new_rows:     # written with the time left on them (待办's order), one statement
            self.deadlines.add_tasks(connection, new_rows)
        return [t.task_spec.bpmn_name or t.task_spec.bpmn_id for t in after.ready.values()]

    def _sync_timers(self, connection, row, before, after) -> None:
        gone = [dict(instance=row.id, task=tid, spec=spec) for tid, spec, _ in before.timers - after.timers]
        if gone:
            connection.execute(_DROP_TIMER, gone)
        new = after.timers - before.timers
        if new:
            connection.execute(_ADD_TIMERS, [dict(instance_id=row.id, task_id=tid, spec_name=spec,
                                                  due_at=datetime.fromisoformat(due)) for tid, spec, due in new])

    def _sync_event(self, session, workflow, compiled, event, titles, now) -> None:
        """The event's status, closure and stage (its ready steps' names) as the step left them: what changed
        written in one UPDATE of its own, the loaded event told so (nothing left for the ORM to flush: every
        step changes the stage, and a flush costs more than the statement)."""
        status, closed_at = event.status, event.closed_at
        if status == "open":
            outcome = outcome_reached(workflow, compiled.task_meta)
            if outcome or workflow.completed:
                status, closed_at = outcome or "closed", now
        now_reads = {"status": status, "closed_at": closed_at,
                     "stage": "、".join(titles)[:200] if status == "open" else ""}
        update_loaded(session, event, {name: value for name, value in now_reads.items() if getattr(event, name) != value})

