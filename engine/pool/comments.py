"""留言 and 催办 on an event (issue #6; §9.1 督办/催办): anyone who may see an event may leave a comment; the
community's cadres and the city may urge the open work. Both go into the timeline and are told to whoever
has the event's open tasks (their person, unit — out of hours its duty roster too — or community)."""
from __future__ import annotations

from sqlalchemy import select

from engine.pool import events
from engine.accounts import permissions
from engine.core.errors import Conflict, InvalidData
from engine.store.models import Audit, WorkItem
from engine.notices.outbox import notify


def _text(body) -> str:
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not 2 <= len(text.strip()) <= 1000:
        raise InvalidData([{"field": "text", "reason": "请填写内容，2至1000字 (2 to 1000 characters)"}])
    return text.strip()


def tell_assignees(session, catalogs, event, kind: str, message: str, now) -> list[str]:
    """Tell whoever has the event's open tasks (their person, unit — out of hours its duty roster too — or
    community); the recipients told, as `kind:recipient`."""
    told = []
    for item in session.scalars(select(WorkItem).where(WorkItem.event_id == event.id).order_by(WorkItem.created_at)):
        recipient_kind = "person" if item.claimed_by else item.assignee_kind
        recipient = item.claimed_by or getattr(item, item.assignee_kind)
        if recipient and f"{recipient_kind}:{recipient}" not in told:
            notify(session, catalogs, now, event.id, recipient_kind, recipient, kind, f"{message}（{item.title}）")
            told.append(f"{recipient_kind}:{recipient}")
    return told


def comment(cmd, event_id: int, body) -> dict:
    """留言: recorded on the event and told to whoever has its open tasks."""
    session, catalogs, user, now = cmd.session, cmd.catalogs, cmd.user, cmd.now()
    text = _text(body)
    event = events.get_visible(session, event_id, user, catalogs)
    told = tell_assignees(session, catalogs, event, "comment",
                           f"{user.display_name} 在事件 {event.number} 留言：{text}", now)
    session.add(Audit(at=now, actor=user.username, action="comment", event_id=event.id,
                      data={"text": text, "told": told}))
    return {"event_id": event.id, "text": text, "told": told}


def urge(cmd, event_id: int, body) -> dict:
    """催办 (§9.1): the community or the city presses whoever has the event's open tasks."""
    session, catalogs, user, now = cmd.session, cmd.catalogs, cmd.user, cmd.now()
    text = _text(body)
    event = events.get_visible(session, event_id, user, catalogs)
    permissions.URGE.require(user)   # the community that owns the event, and the city above it
    if event.status != "open":
        raise Conflict(f"事件 {event.number} 已不在办理中，无需催办 (the event is no longer open)", event_status=event.status)
    told = tell_assignees(session, catalogs, event, "urge", f"【催办】事件 {event.number}：{text}", now)
    if not told:
        raise Conflict("事件当前没有待办任务可催办 (nothing is waiting to be urged)")
    session.add(Audit(at=now, actor=user.username, action="urged", event_id=event.id, data={"text": text, "told": told}))
    return {"event_id": event.id, "text": text, "told": told}
