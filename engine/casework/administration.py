"""实例管理 — instance administration (issue #7; issue #4: a suspended instance's timers wait).

A process or system administrator may 挂起 (suspend), 恢复 (resume) or 终止 (terminate) the running process
of an event, always with a reason. Each is audited and told to whoever has open work on the event.

- **Suspended**: its tasks stay in their owners' 待办, marked 已挂起, but cannot be completed; no message
  (撤单, 合并) reaches it; its timers do not fire; its pending deadlines are `paused` (no 黄灯预警, no
  miss, no extension request).
- **Resumed**: every paused deadline and every waiting timer moves by the suspension — a natural-time limit
  by its length, a working-time limit (basis `working`, e.g. §8.3's 5 working days) by the office time it
  covered — so each has the time left that it had when the suspension began.
- **Terminated**: open work and timers are cancelled, pending or paused deadlines superseded, open
  supervision closed; the event ends as `terminated` (已终止) and its source is told, as of any outcome
  (§7.1 feeds back to the source).

The instance row's version is checked on every change, so a suspension and a step saved at the same
moment cannot both pass: the later one is run again on the new state (engine/store/uow.py) and refused.
"""
from __future__ import annotations

from datetime import timezone

from sqlalchemy import select

from engine.accounts import permissions
from engine.casework import delegation
from engine.casework.lifecycle import check_reason
from engine.core.clock import local
from engine.core.errors import Conflict
from engine.pool.events import STATUS_WORDS, not_visible
from engine.store.models import Audit, Event, Instance, WorkItem
from engine.notices.outbox import notify


def _utc(value):
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def _instance(session, catalogs, event_id: int, user) -> tuple[Event, Instance]:
    """The event (row locked until commit) and its newest process instance; like any other reader, an
    administrator acts only on an event they may see (a sensitive one is the police's: 404, issue #15)."""
    permissions.ADMINISTER.require(user)
    event = session.scalar(select(Event).where(Event.id == event_id, permissions.events_of(user, catalogs))
                           .with_for_update())
    if event is None:
        raise not_visible(event_id)
    row = session.scalar(select(Instance).where(Instance.event_id == event.id).order_by(Instance.id.desc()))
    if row is None:
        raise Conflict(f"事件 {event.number} 没有流程 (the event has no process)", event_status=event.status)
    return event, row


def _tell_open_work(session, catalogs, now, event: Event, kind: str, text: str) -> None:
    """Whoever has open work on the event — the assignee, and the one who claimed it — once each."""
    told = set()
    for item in session.scalars(select(WorkItem).where(WorkItem.event_id == event.id).order_by(WorkItem.created_at)):
        for recipient in ((item.assignee_kind, getattr(item, item.assignee_kind)), ("person", item.claimed_by)):
            if recipient[1] and recipient not in told:
                told.add(recipient)
                notify(session, catalogs, now, event.id, *recipient, kind, f"事件 {event.number}「{item.title}」{text}")


def suspend(cmd, event_id: int, reason) -> Event:
    """挂起: `reason` given; its tasks cannot be completed, its timers wait and its deadlines pause."""
    session, user, reason = cmd.session, cmd.user, check_reason(reason)
    event, row = _instance(session, cmd.catalogs, event_id, user)
    if row.status == "suspended":
        raise Conflict(f"事件 {event.number} 的流程已挂起 (already suspended since {local(_utc(row.suspended_at))})",
                       process_status=row.status)
    if row.status != "running" or event.status != "open":
        raise Conflict(f"事件 {event.number} 状态为「{STATUS_WORDS.get(event.status, event.status)}」，"
                       f"只有办理中的流程可以挂起 (only a running process can be suspended)",
                       process_status=row.status, event_status=event.status)
    now = cmd.now()
    row.status, row.suspended_at, row.suspended_by, row.suspend_reason = "suspended", now, user.username, reason
    paused = cmd.env.limits.pause(session, row)
    event.stage = f"已挂起（{event.stage}）"[:200] if event.stage else "已挂起"
    session.add(Audit(at=now, actor=user.username, action="instance_suspended", event_id=event.id,
                      instance_id=row.id, data={"reason": reason,
                                                "paused": [{"kind": d.kind, "due_at": local(_utc(d.due_at))}
                                                           for d in paused]}))
    _tell_open_work(session, cmd.catalogs, now, event, "suspended",
                    f"已挂起，暂停办理，时限暂停计算：{reason}")
    session.flush()   # the version check: a step saved meanwhile makes this unit run again
    return event


def resume(cmd, event_id: int, reason) -> Event:
    """恢复: its deadlines and timers move by the suspension and count on."""
    session, user, reason = cmd.session, cmd.user, check_reason(reason)
    event, row = _instance(session, cmd.catalogs, event_id, user)
    if row.status != "suspended":
        raise Conflict(f"事件 {event.number} 的流程没有挂起 (the process is not suspended)", process_status=row.status)
    now, began = cmd.now(), _utc(row.suspended_at)
    moved = cmd.env.limits.resume(session, row, began, now)
    delegation.move(session, row.id, now - began)     # 下派's sub-deadlines wait as long (issue #19)
    row.status, row.suspended_at, row.suspended_by, row.suspend_reason = "running", None, None, None
    session.flush()   # the version check, before the state is loaded and saved again
    record = ("instance_resumed", {"reason": reason, "suspended_at": local(began),
                                   "suspended_seconds": int((now - began).total_seconds()),
                                   "deadlines": [{"kind": d.kind, "due_at": local(_utc(d.due_at))} for d in moved]})
    cmd.env.instances.move_timers(session, row, event, {d.timer_task_id: _utc(d.due_at) for d in moved
                                                        if d.timer_task_id}, now - began, user.username, record)
    due = "；".join(f"{cmd.catalogs.deadline_kind(d.kind)['name']}时限顺延至 {local(_utc(d.due_at))}"
                   for d in moved if cmd.catalogs.deadline_kind(d.kind))
    _tell_open_work(session, cmd.catalogs, now, event, "resumed",
                    "已恢复办理" + (f"，{due}" if due else "") + f"：{reason}")
    return event


def terminate(cmd, event_id: int, reason) -> Event:
    """终止: open work and timers are cancelled, the event ends `terminated`, its source is told."""
    session, user, reason = cmd.session, cmd.user, check_reason(reason)
    event, row = _instance(session, cmd.catalogs, event_id, user)
    if row.status not in ("running", "suspended") or event.status != "open":
        raise Conflict(f"事件 {event.number} 状态为「{STATUS_WORDS.get(event.status, event.status)}」，"
                       f"只有办理中或挂起的流程可以终止 (only a running or suspended process can be terminated)",
                       process_status=row.status, event_status=event.status)
    now = cmd.now()
    _tell_open_work(session, cmd.catalogs, now, event, "terminated", f"已终止，无需再办：{reason}")
    row.suspended_at = row.suspended_by = row.suspend_reason = None
    if row.status == "suspended":
        row.status = "running"
    session.flush()
    cmd.env.instances.terminate(session, row, event, reason, user.username, cmd.env.registry.get("notify_source"))
    return event


def describe(row: Instance) -> dict:
    """What GET /api/events/{id} says of a suspension."""
    if row.status != "suspended":
        return {}
    return {"suspended_at": local(_utc(row.suspended_at)), "suspended_by": row.suspended_by,
            "suspend_reason": row.suspend_reason}
