"""The time left on each ready task (issue #19): 待办 is read red first, then by time left, the tasks without a
limit after them — a page at a time from an index, so the order is kept on the task itself, as Camunda keeps a
task's due date on it (ACT_RU_TASK.DUE_DATE_).

A task's limit is the first open deadline record (§8) of its event that names its task, earliest due first
— the one 待办 shows beside it. The task carries that limit's rank (`RED` missed, `RUNNING`, `PAUSED` while
the process is suspended, `NO_LIMIT`), its due time (for a task without a limit, when it was made: the oldest
first) and its warning time (黄灯 from then on). Green and yellow are told apart by the clock when the list is
read; red, paused and the due time change only with the deadline records.

They are kept in step whatever changes a deadline record — armed, met, missed, superseded, paused, resumed,
extended (§8.4), moved with the calendar — by one listener: every flush that writes deadline records brings
the tasks of their events up to date in the same transaction. The process runtime writes new tasks with
one statement that computes the same keys as it writes them (`add`, through the limits it is given).
"""
from __future__ import annotations

from sqlalchemy import and_, bindparam, case, event as sa_event, func, insert, literal_column, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import PASSIVE_NO_INITIALIZE, get_history

from engine.store.models import Deadline, WorkItem

#: the ranks of `WorkItem.time_rank`, in 待办's order
RED, RUNNING, PAUSED, NO_LIMIT = 0, 1, 2, 3
#: the deadline records that still run on a task (a met one, or one superseded, no longer does)
OPEN_DEADLINES = ("pending", "missed", "paused")
#: the lights a task shows, as the 待办 filter and its counts name them (`none`: no limit runs on it)
LIGHTS = ("red", "yellow", "green", "paused", "none")

_LIMIT = Deadline.__table__.alias("task_limit")
_ITEMS = WorkItem.__table__


#: written into the statement (no parameters a statement run for many rows at once could not take)
_OPEN = [literal_column(f"'{status}'") for status in OPEN_DEADLINES]


def _first(column, event_id=_ITEMS.c.event_id, spec=_ITEMS.c.spec_name):
    """SQL: `column` of the task's first open deadline record (a sub-select, one index look-up): of the task row
    being written (correlated), or of the event and task named (a new task's own values)."""
    return (select(column).where(_LIMIT.c.event_id == event_id, _LIMIT.c.task_spec == spec,
                                 _LIMIT.c.status.in_(_OPEN), _LIMIT.c.met_at.is_(None))
            .order_by(_LIMIT.c.due_at, _LIMIT.c.id).limit(literal_column("1")).scalar_subquery())


_RANK = case((_LIMIT.c.status == "missed", RED), (_LIMIT.c.status == "paused", PAUSED), else_=RUNNING)


def _keys(event_id=_ITEMS.c.event_id, spec=_ITEMS.c.spec_name, made=_ITEMS.c.created_at) -> dict:
    """A task's keys from its first open limit: rank, due time (else when it was made), warning time."""
    return {"time_rank": func.coalesce(_first(_RANK, event_id, spec), NO_LIMIT),
            "time_key": func.coalesce(_first(_LIMIT.c.due_at, event_id, spec), made),
            "warn_at": _first(_LIMIT.c.warn_at, event_id, spec)}


#: the tasks of these events, brought in step with their deadline records (built once)
_FOLLOW = update(_ITEMS).where(_ITEMS.c.event_id.in_(bindparam("event_ids", expanding=True))).values(**_keys())
#: new tasks, written with their keys in the same statement (their event, task and time as parameters again)
_ADD = insert(_ITEMS).values(**_keys(bindparam("of_event", type_=_ITEMS.c.event_id.type),
                                     bindparam("of_spec", type_=_ITEMS.c.spec_name.type),
                                     bindparam("made_at", type_=_ITEMS.c.created_at.type)))


def add(connection, rows: list[dict]) -> None:
    """Write new ready tasks (work_item rows as dicts), each carrying its first open limit."""
    connection.execute(_ADD, [{**row, "of_event": row["event_id"], "of_spec": row["spec_name"],
                               "made_at": row["created_at"]} for row in rows])


def follow(connection, event_ids) -> None:
    """The ready tasks of these events carry their first open limit again (after their deadline records, or
    their tasks, changed)."""
    ids = sorted({i for i in event_ids if i is not None})
    if ids:
        connection.execute(_FOLLOW, {"event_ids": ids})


#: what of a deadline record the tasks' keys are made of (a warning sent, `warned_at`, changes none of them)
_KEYED = ("status", "due_at", "warn_at", "met_at", "task_spec", "event_id")


def _moves_tasks(row) -> bool:
    """Read by `get_history` per column, loading nothing (an unloaded column has no change): `inspect(row).attrs`
    would build a view of every column of the row, kept in a reference cycle with it, that only the cyclic
    garbage collector frees."""
    return any(get_history(row, name, PASSIVE_NO_INITIALIZE).has_changes() for name in _KEYED)


@sa_event.listens_for(Session, "after_flush")
def _deadlines_flushed(session, _flush_context) -> None:
    """Whatever wrote deadline records in this flush (the session still lists them, with what changed): the
    tasks of their events follow, in the same transaction."""
    changed = {row.event_id for row in session.new if isinstance(row, Deadline)}
    changed |= {row.event_id for row in session.dirty if isinstance(row, Deadline) and _moves_tasks(row)}
    if changed:
        follow(session.connection(), changed)


# -- reading: the light of a task at a time -------------------------------------------------------------
def light_is(name: str, now):
    """SQL on WorkItem: the tasks whose light at `now` is `name` (one of LIGHTS)."""
    running = WorkItem.time_rank == RUNNING
    return {"red": WorkItem.time_rank == RED, "paused": WorkItem.time_rank == PAUSED,
            "none": WorkItem.time_rank == NO_LIMIT, "yellow": and_(running, WorkItem.warn_at <= now),
            "green": and_(running, WorkItem.warn_at > now)}[name]


def light_of(now):
    """SQL on WorkItem: its light at `now`, as a name of LIGHTS (what the per-light counts group by)."""
    return case((WorkItem.time_rank == RED, "red"), (WorkItem.time_rank == PAUSED, "paused"),
                (WorkItem.time_rank == NO_LIMIT, "none"), (WorkItem.warn_at <= now, "yellow"), else_="green")


def light(item: WorkItem, now) -> str:
    """The light of a loaded task at `now` (as `light_of` tells it in SQL)."""
    if item.time_rank == RUNNING:
        return "yellow" if item.warn_at is not None and now >= item.warn_at else "green"
    return {RED: "red", PAUSED: "paused"}.get(item.time_rank, "none")
