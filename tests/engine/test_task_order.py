"""The time left on a ready task (engine/limits/task_order.py, issue #19), on SQLite and PostgreSQL: whatever writes a
deadline record through the ORM — armed, warned, missed, paused, moved, met, superseded — the tasks of its event
carry their first open limit in the same transaction (rank, due time, warning time), the earliest due of those
that name the task; a warning sent changes none of it and writes no task; a task the runtime writes with its own
statement follows when asked (`follow`); and the lights read back in SQL are those `light` tells in Python."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import event as sa_event, insert, select

from engine.limits import task_order
from engine.store.models import Deadline, Event, Instance, ProcessVersion, WorkItem

T0 = datetime(2026, 10, 8, 1, 0, tzinfo=timezone.utc)


def _event_with_tasks(session, *specs) -> tuple[int, int, list[str]]:
    """An event, its instance and a ready task for each spec (written as the runtime writes them: one Core
    insert, no keys given)."""
    version = session.scalar(select(ProcessVersion.id).order_by(ProcessVersion.id))
    event = Event(number=f"ORDER-{uuid.uuid4().hex[:8]}", source="grid_worker", type_code="A05", description="时限",
                  address="x", photos=[], community="lg-xincheng", reporter="grid1", status="open", stage="",
                  created_at=T0)
    session.add(event)
    session.flush()
    instance = Instance(event_id=event.id, version_id=version, state="", serializer_version="1.5", status="running",
                        row_version=1, updated_at=T0)
    session.add(instance)
    session.flush()
    ids = [str(uuid.uuid4()) for _ in specs]
    if not ids:
        return event.id, instance.id, ids
    session.execute(insert(WorkItem), [dict(id=i, instance_id=instance.id, event_id=event.id, spec_name=spec, title=spec,
                                            lane="社区", role="community_staff", assignee_kind="community",
                                            community="lg-xincheng", form="forms/verify.json",
                                            created_at=T0 + timedelta(seconds=n))
                                       for n, (i, spec) in enumerate(zip(ids, specs, strict=True))])
    return event.id, instance.id, ids


def _limit(event_id, instance_id, spec, due_minutes, status="pending") -> Deadline:
    due = T0 + timedelta(minutes=due_minutes)
    return Deadline(event_id=event_id, instance_id=instance_id, kind="community_handle", task_spec=spec,
                    community="lg-xincheng", basis="natural", rule="PT2H", started_at=T0, original_due_at=due,
                    due_at=due, warn_at=T0 + timedelta(minutes=due_minutes * 2 // 3), status=status, extended=False,
                    extensions=0)


def _keys(session, task_id) -> tuple:
    item = session.execute(select(WorkItem.time_rank, WorkItem.time_key, WorkItem.warn_at)
                           .where(WorkItem.id == task_id)).one()
    return item.time_rank, item.time_key, item.warn_at


def _updates_of_tasks(session) -> list[str]:
    sent = []
    sa_event.listen(session.get_bind(), "before_cursor_execute",
                    lambda conn, cursor, statement, *rest: sent.append(statement)
                    if statement.lstrip().upper().startswith("UPDATE WORK_ITEM") else None)
    return sent


def test_a_task_carries_its_first_open_limit_whatever_changes_it(sessions):
    with sessions() as session:
        event_id, instance_id, (handle, other) = _event_with_tasks(session, "handle_by_cadre", "verify")
        assert _keys(session, handle) == (task_order.NO_LIMIT, T0, None)            # none yet: when it was made
        assert _keys(session, other)[:2] == (task_order.NO_LIMIT, T0 + timedelta(seconds=1))
        late, soon = _limit(event_id, instance_id, "handle_by_cadre", 120), _limit(event_id, instance_id,
                                                                                   "handle_by_cadre", 60)
        session.add_all([late, soon])
        session.flush()                                                            # armed: the earlier one counts
        assert _keys(session, handle) == (task_order.RUNNING, T0 + timedelta(minutes=60), T0 + timedelta(minutes=40))
        assert _keys(session, other)[0] == task_order.NO_LIMIT                      # names another task
        sent = _updates_of_tasks(session)
        soon.warned_at = T0 + timedelta(minutes=41)                                # 黄灯预警 sent: nothing moves
        session.flush()
        assert sent == []
        soon.status = "missed"                                                     # fired
        session.flush()
        assert _keys(session, handle)[:2] == (task_order.RED, T0 + timedelta(minutes=60)) and len(sent) == 1
        soon.met_at = T0 + timedelta(minutes=70)                                   # done late: no longer open
        late.status = "paused"                                                     # and the other one paused
        session.flush()
        assert _keys(session, handle)[:2] == (task_order.PAUSED, T0 + timedelta(minutes=120))
        late.status, late.due_at = "pending", T0 + timedelta(minutes=180)          # resumed, moved
        session.flush()
        assert _keys(session, handle)[:2] == (task_order.RUNNING, T0 + timedelta(minutes=180))
        late.status = "superseded"                                                 # the work was cancelled
        session.flush()
        assert _keys(session, handle) == (task_order.NO_LIMIT, T0, None)
        session.rollback()


def test_a_task_written_after_its_limit_follows_when_asked_and_its_light_reads_the_same_in_sql(sessions):
    with sessions() as session:
        event_id, instance_id, _ = _event_with_tasks(session)
        session.add(_limit(event_id, instance_id, "check", 90))
        session.flush()
        _, _, (task,) = _event_with_tasks(session, "check")                        # another event's task …
        session.execute(insert(WorkItem), [dict(id="late-task", instance_id=instance_id, event_id=event_id,
                                                spec_name="check", title="核查", lane="社区", role="community_staff",
                                                assignee_kind="community", community="lg-xincheng", form=None,
                                                created_at=T0)])
        assert _keys(session, "late-task")[0] == task_order.NO_LIMIT                # … and this one, written after
        task_order.follow(session.connection(), [event_id])
        assert _keys(session, "late-task") == (task_order.RUNNING, T0 + timedelta(minutes=90), T0 + timedelta(minutes=60))
        assert _keys(session, task)[0] == task_order.NO_LIMIT                       # not its event's limit
        for minutes, light in ((59, "green"), (60, "yellow"), (200, "yellow")):
            now = T0 + timedelta(minutes=minutes)
            item = session.get(WorkItem, "late-task")
            session.refresh(item)
            assert task_order.light(item, now) == light
            assert session.scalar(select(task_order.light_of(now)).where(WorkItem.id == "late-task")) == light
            assert session.scalar(select(WorkItem.id).where(WorkItem.id == "late-task",
                                                             task_order.light_is(light, now))) == "late-task"
        session.rollback()
