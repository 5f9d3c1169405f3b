"""An event's process from start to end, as its source and the registrar move it (§7.1): starting a stored
submission's process (issue #5: stored first, started in a unit of its own; the sweep starts one left
waiting), 重新启动 after a refused start, 撤单, 重启 (reopen) and 合并 (merge) — the last two of §5's repeated
reports. Each takes a `Command` (engine/core/command.py) and never commits.
"""
from __future__ import annotations

import logging
from datetime import timezone

from sqlalchemy import bindparam, delete, select

from engine.accounts import permissions
from engine.casework import process_versions, revisits
from engine.channels import callbacks
from engine.core import contracts
from engine.core.clock import local
from engine.core.errors import Conflict, EventflowError, Forbidden, InvalidData, NotFound
from engine.notices.outbox import notify
from engine.pool import duplicates, events
from engine.store import uow
from engine.store.models import Audit, Event, Instance, PendingStart, WorkItem

log = logging.getLogger(__name__)

_HAS_PROCESS = select(Instance.id).where(Instance.event_id == bindparam("event_id"))
_STARTED = delete(PendingStart).where(PendingStart.event_id == bindparam("event_id"))
#: the pending start taken: removed in the unit that starts the process, and whether there was one (a second
#: starter's DELETE waits for the first's row lock, then finds none)
_TAKE_PENDING = _STARTED.returning(PendingStart.event_id)
_WAITING = (select(PendingStart.event_id).where(PendingStart.stored_at <= bindparam("before"))
            .order_by(PendingStart.stored_at).limit(bindparam("limit")))


def check_reason(value) -> str:
    """The reason an operation must give (撤单, 重启, 挂起 …): at least two characters, cut at 2000."""
    if not isinstance(value, str) or len(value.strip()) < 2:
        raise InvalidData([{"field": "reason", "reason": "请说明理由，至少2个字 (a reason of at least 2 characters)"}])
    return value.strip()[:2000]


# -- starting the process -------------------------------------------------------------------------------
def start(cmd, event_id: int, actor: str | None = None, pending: bool = False) -> Instance:
    """Start a stored event's process (the event row is locked: two starters start one). `actor` is who
    the start is recorded for (a channel, `system`), by default the command's user. `pending`: the caller
    took the event's pending start in this unit (`start_pending`), so it has no process yet: no look-up
    needed."""
    session, env = cmd.session, cmd.env
    event = session.get(Event, event_id, with_for_update=True)
    if event is None:
        raise NotFound(f"event {event_id} does not exist")
    if not pending:
        if session.scalar(_HAS_PROCESS, {"event_id": event_id}) is not None:
            raise Conflict(f"event {event.number} already has a process")
        session.execute(_STARTED, {"event_id": event_id})
    version = process_versions.version_for(cmd, event)   # its type's process (Table A.1 `process`), or Figure 1's
    if event.error is not None:      # a failed start's reason, cleared (untouched otherwise: nothing to flush)
        event.error = None
    return env.instances.start(session, event, version,
                               events.initial_data(event, placement_unit=cmd.catalogs.city_authority()),
                               actor or cmd.actor)


def start_pending(cmd, event_id: int, actor: str | None = None) -> Instance | None:
    """Start the process of a stored submission still waiting for it: right after storing it, on a
    retry of it, or from the sweep after the app stopped in between. None if it waits no more. The pending start
    is removed first (one statement, its row locked): if the start fails, the unit rolls back and it waits again."""
    if cmd.session.execute(_TAKE_PENDING, {"event_id": event_id}).first() is None:
        return None
    return start(cmd, event_id, actor, pending=True)


def pending_starts(cmd, stored_before, limit: int = 100) -> list[int]:
    """Submissions stored before `stored_before` whose process never started, oldest first."""
    return list(cmd.session.scalars(_WAITING, {"before": stored_before, "limit": limit}))


def mark_failed_start(cmd, event_id: int, message: str) -> None:
    """The process could not start: the event stays in the pool marked `error`, for an administrator
    (the sweep does not try again)."""
    event = cmd.session.get(Event, event_id)
    event.status, event.error, event.stage = "error", message, ""
    cmd.session.execute(_STARTED, {"event_id": event_id})


def start_waiting(session_factory, env, limit: int = 100) -> list[int]:
    """The sweep's job for submissions that waited past the grace period (the app stopped between storing
    one and starting it: issue #5, a crash after acceptance loses nothing). One unit each; a process that
    refuses to start marks its event `error` instead of being tried forever."""
    before = env.clock.now() - env.start_grace
    started = []
    for event_id in uow.read(session_factory, lambda s: pending_starts(env.command(s), before, limit)):
        try:
            if uow.run(session_factory, lambda s, e=event_id: start_pending(env.command(s), e, "system")) is not None:
                started.append(event_id)
                log.warning("event %s: its process had not started; started by the sweep", event_id)
        except Exception as err:  # noqa: BLE001 - one bad submission must not stop the others
            log.exception("sweep: event %s could not start", event_id)
            message = err.message if isinstance(err, EventflowError) else f"{type(err).__name__}: {err}"
            uow.run(session_factory, lambda s, e=event_id, m=message: mark_failed_start(env.command(s), e, m))
    return started


def restart(cmd, event_id: int) -> Event:
    """重新启动: an administrator starts the process of a stored event whose start was refused (status
    `error`: e.g. no version was deployed then). Nothing changes if it is refused again."""
    session = cmd.session
    event = events.get_visible(session, event_id, cmd.user, cmd.catalogs)
    if event.status != "error" or session.scalar(_HAS_PROCESS, {"event_id": event_id}) is not None:
        raise Conflict(f"事件 {event.number} 不是启动失败的事件 (only an event whose process failed to start)",
                       event_status=event.status)
    event.status, event.stage = "open", "登记"
    session.add(Audit(at=cmd.now(), actor=cmd.actor, action="process_restarted", event_id=event.id,
                      data={"error": event.error}))
    start(cmd, event_id)
    return event


# -- the source's and the registrar's moves ---------------------------------------------------------------
def open_work(cmd, event_id: int) -> list[WorkItem]:
    """The event's open tasks."""
    return list(cmd.session.scalars(select(WorkItem).where(WorkItem.event_id == event_id)
                                    .order_by(WorkItem.created_at, WorkItem.id)))


def locked(cmd, event_id: int) -> Event:
    """The event, visible to the user, with its row locked until commit (PostgreSQL FOR UPDATE;
    SQLite serializes writers with BEGIN IMMEDIATE): two withdrawals or reopens cannot both pass
    their status check."""
    event = events.get_visible(cmd.session, event_id, cmd.user, cmd.catalogs)
    cmd.session.execute(select(Event.id).where(Event.id == event.id).with_for_update())
    cmd.session.refresh(event)
    return event


def withdraw(cmd, event_id: int, reason) -> Event:
    """撤单 (§7.1): the source takes its report back before closure. A BPMN message: the process's
    withdraw boundary event cancels all open work and timers and ends the event as `withdrawn`."""
    event = locked(cmd, event_id)
    if not permissions.may_speak_for_source(cmd.user, event):
        raise Forbidden("只有上报人或本社区干部可以撤单 (only the reporter or the community's staff may withdraw)")
    if event.status != "open":
        raise Conflict(f"事件 {event.number} 状态为「{events.STATUS_WORDS.get(event.status, event.status)}」，不能撤单",
                       event_status=event.status)
    reason = check_reason(reason)
    _end_by_message(cmd, event, "withdraw", {"reason": reason, "by": cmd.actor},
                    "流程当前不接受撤单 (the process does not accept a withdrawal now)", "withdrawn",
                    lambda item: f"事件 {event.number} 已撤单，「{item.title}」无需再办：{reason}")
    return event


def reopen(cmd, event_id: int, reason) -> Event:
    """重启: a closed event comes back to analysis (研判) within the reopen window — a repeat
    complaint about the same matter. It starts a new instance of the active version with
    `reopened` true (the BPMN routes it past 核实), and counts against the first-time rate (§8.6)."""
    env = cmd.env
    event = locked(cmd, event_id)
    if not permissions.may_speak_for_source(cmd.user, event):
        raise Forbidden("只有上报人或本社区干部可以重启事件 (only the reporter or the community's staff may reopen)")
    if event.status != "closed" or event.closed_at is None:
        raise Conflict(f"只有已办结的事件可以重启 (only a closed event can be reopened; it is {event.status})",
                       event_status=event.status)
    closed_at = event.closed_at if event.closed_at.tzinfo else event.closed_at.replace(tzinfo=timezone.utc)
    if cmd.now() > closed_at + env.reopen_window:
        raise Conflict(f"已超过重启期限（办结后 {env.reopen_window.days} 天）(the reopen window has passed)",
                       closed_at=local(closed_at))
    revisits.check_reopen(cmd.session, event)
    reason = check_reason(reason)
    count = events.reopen(event)
    cmd.session.add(Audit(at=cmd.now(), actor=cmd.actor, action=contracts.REOPENED, event_id=event.id,
                          data={"reason": reason, "count": count}))
    callbacks.enqueue_stage(cmd.session, cmd.catalogs, event, "reopened", None, None, cmd.now())   # 重启, to its source
    version = process_versions.version_for(cmd, event)
    env.instances.start(cmd.session, event, version, events.initial_data(event, reopened=True), cmd.actor)
    return event


def merge(cmd, event_id: int, body) -> Event:
    """合并 (§5, §7.1): the registrar merges a repeated report into the open event of the same matter.
    A BPMN message `merge` ends the duplicate's process (its open work and timers are cancelled, its
    source is told); from then on the survivor's outcomes reach the merged report's source too."""
    event = locked(cmd, event_id)
    survivor, reason = duplicates.check_merge(cmd.session, event, body, cmd.user, cmd.catalogs)
    payload = {"into": survivor.id, "into_number": survivor.number, "reason": reason, "by": cmd.actor}
    _end_by_message(cmd, event, "merge", payload, "流程当前不接受合并 (the process does not accept a merge now)",
                    "merged", lambda item: f"事件 {event.number} 已并入 {survivor.number} 办理，「{item.title}」无需再办")
    duplicates.merged(cmd.session, event, survivor, reason, cmd.user, cmd.now())
    return event


def dismiss_duplicate(cmd, event_id: int, body) -> Event:
    """不是重复: the registrar clears a duplicate flag, with the reason."""
    event = locked(cmd, event_id)
    duplicates.dismiss(cmd.session, event, (body or {}).get("reason") if isinstance(body, dict) else None,
                       cmd.user, cmd.now())
    return event


def _running(session, event: Event) -> Instance:
    row = session.scalar(select(Instance).where(Instance.event_id == event.id,
                                                Instance.status.in_(("running", "suspended")))
                         .order_by(Instance.id.desc()))
    if row is None:
        raise Conflict(f"事件 {event.number} 没有进行中的流程 (the event has no running process)")
    return row


def _end_by_message(cmd, event, message: str, payload: dict, refused: str, kind: str, words) -> None:
    """Send the BPMN message that ends the event's running process (撤单, 合并); 409 `refused` if
    nothing in it waits for the message. Whoever had open work on it hears that it is gone."""
    row = _running(cmd.session, event)
    cancelled = open_work(cmd, event.id)
    if not cmd.env.instances.send_message(cmd.session, row, event, message, payload, cmd.actor):
        raise Conflict(refused)
    for item in cancelled:
        notify(cmd.session, cmd.catalogs, cmd.now(), event.id, item.assignee_kind, getattr(item, item.assignee_kind),
               kind, words(item))
