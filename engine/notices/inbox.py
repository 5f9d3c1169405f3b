"""消息 (issue #5 "every source hears back", §4.3, §9): what the notification outbox (engine/notices/outbox.py) holds
for one user — messages to them by name, to their unit or a unit below it, and, for the community's
cadres, to their community. A grid worker reads here how each report ended (办结, 退回, 转办, 撤单, 合并);
a department clerk reads its dispatches, warnings (预警) and supervision (督办)."""
from __future__ import annotations

from sqlalchemy import and_, or_, select

from engine.accounts import privacy
from engine.core.clock import local
from engine.core.errors import InvalidData
from engine.store import paging
from engine.store.models import Event, Notification
from engine.accounts.permissions import reads_community_messages, units_within


def addressed_to(user, catalogs):
    """SQL condition: the notifications meant for this user."""
    clauses = [and_(Notification.recipient_kind == "person", Notification.recipient == user.username)]
    if user.unit:
        clauses.append(and_(Notification.recipient_kind == "unit",
                            Notification.recipient.in_(units_within(catalogs, user.unit))))
    if reads_community_messages(user):
        clauses.append(and_(Notification.recipient_kind == "community", Notification.recipient == user.community))
    return or_(*clauses)


#: 消息's order: the newest first
ORDER = paging.Order("notifications", Notification.id, descending=True)
PAGE = paging.PageRequest(20)


def listing(session, user, catalogs, after_id: int | None = None, kind: str | None = None,
            page: paging.PageRequest = PAGE, ids=None) -> tuple[int, paging.Page]:
    """(how many, a page of them newest first) of the user's messages; `after_id` gives only those newer
    than one seen, `ids` only these messages, those of them addressed to the user (the live inbox,
    engine/notices/live.py)."""
    if kind is not None and (not isinstance(kind, str) or len(kind) > 40):
        raise InvalidData([{"field": "kind", "reason": "至多40个字符 (at most 40 characters)"}])
    query = select(Notification, Event.number, Event.type_code, Event.reporter) \
        .outerjoin(Event, Event.id == Notification.event_id) \
        .where(addressed_to(user, catalogs))
    if after_id is not None:
        query = query.where(Notification.id > after_id)
    if ids is not None:
        query = query.where(Notification.id.in_(list(ids)))
    if kind:
        query = query.where(Notification.kind == kind)
    total = paging.count(session, query)
    found = paging.fetch(session, query, ORDER, page)
    hidden = privacy.hidden_ids(user, catalogs, [(n.event_id, code, reporter) for n, _n, code, reporter in found.items])
    # a message about a sensitive event the reader may not see (a duty officer's copy, a unit's notice):
    # that something happened, not what (issue #15)
    return total, found.map(lambda rows: [privacy.redact_row(describe(n, number), text_fields=("message",))
                                          if n.event_id in hidden else describe(n, number)
                                          for n, number, _c, _r in rows])


def messages(cmd, after_id: int | None = None, kind: str | None = None,
             page: paging.PageRequest = PAGE, ids=None) -> tuple[int, paging.Page]:
    """`listing` for the command's user: what they read of a sensitive event is recorded (engine/accounts/privacy.py)."""
    total, found = listing(cmd.session, cmd.user, cmd.catalogs, after_id, kind, page, ids)
    privacy.disclose_listed(cmd, [i["event_id"] for i in found.items], "notifications")
    return total, found


def describe(row: Notification, event_number: str | None) -> dict:
    return {"id": row.id, "at": local(row.at), "kind": row.kind, "message": row.message,
            "event_id": row.event_id, "event_number": event_number,
            "to": {"kind": row.recipient_kind, "name": row.recipient}, "clause": row.clause, "rung": row.rung}
