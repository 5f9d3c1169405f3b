"""督办 and 延期 (§9.1, §8.4): open supervision records of missed deadlines, and extension requests
the community makes and the city authority decides (issue #4)."""
from __future__ import annotations

from datetime import timezone

from sqlalchemy import func, select

from engine.accounts import permissions, privacy
from engine.channels import callbacks
from engine.core.clock import local, parse_instant
from engine.core.errors import Conflict, InvalidData, NotFound
from engine.pool.events import get_visible
from engine.store import paging
from engine.notices.outbox import notify
from engine.store.models import Audit, Deadline, Event, ExtensionRequest, Supervision

SUPERVISION_FILTERS = ("unit", "person", "kind", "community", "status")
SUPERVISION_STATUSES = ("open", "closed", "all")
REQUEST_STATUSES = ("pending", "approved", "rejected")
DEADLINE_WORDS = {"pending": "未到期", "met": "已按期办结", "missed": "已超期", "superseded": "已撤销",
                  "paused": "已暂停（流程挂起）"}


def _utc(value):
    return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value


#: 督办's order: the newest record first, its id breaking ties
ORDER = paging.Order("supervision", Supervision.opened_at, Supervision.id, descending=True)
#: 延期申请's order: the newest request first
REQUEST_ORDER = paging.Order("extension_requests", ExtensionRequest.id, descending=True)
PAGE = paging.PageRequest(100)


def list_supervision(session, user, catalogs, filters: dict,
                     page: paging.PageRequest = PAGE) -> paging.Page:
    query = select(Supervision, Event.number, Event.type_code, Event.reporter).join(Event, Event.id == Supervision.event_id) \
        .where(permissions.scoped_rows(Supervision, user, catalogs))
    status = filters.get("status") or "open"
    if status not in SUPERVISION_STATUSES:
        raise InvalidData([{"field": "status", "reason": f"应为 {' | '.join(SUPERVISION_STATUSES)}"}])
    if status != "all":
        query = query.where(Supervision.status == status)
    for name in ("unit", "person", "kind", "community"):
        if filters.get(name):
            query = query.where(getattr(Supervision, name) == filters[name])
    found = paging.fetch(session, query, ORDER, page)
    hidden = privacy.hidden_ids(user, catalogs, [(s.event_id, code, reporter) for s, _n, code, reporter in found.items])

    def shown(rows):
        for s, number, _c, _r in rows:
            item = {"id": s.id, "event_id": s.event_id, "event_number": number, "deadline_id": s.deadline_id,
                    "kind": s.kind, "unit": s.unit, "person": s.person, "community": s.community, "reason": s.reason,
                    "status": s.status, "opened_at": local(s.opened_at), "closed_at": local(s.closed_at)}
            # a sensitive event's record is counted for those who may not see the event, without its number or names
            yield privacy.redact_row(item, name_fields=("person",), id_fields=("event_id", "event_number", "deadline_id")) \
                if s.event_id in hidden else item
    return found.map(shown)


def records(cmd, filters: dict, page: paging.PageRequest = PAGE) -> paging.Page:
    """督办 (§9.1): `list_supervision` for the command's user, its sensitive reads recorded."""
    found = list_supervision(cmd.session, cmd.user, cmd.catalogs, filters, page)
    privacy.disclose_listed(cmd, [i["event_id"] for i in found.items], "supervision")
    return found


def describe_request(row: ExtensionRequest) -> dict:
    return {"id": row.id, "deadline_id": row.deadline_id, "event_id": row.event_id,
            "requested_by": row.requested_by, "requested_at": local(row.requested_at), "reason": row.reason,
            "requested_due_at": local(row.requested_due_at), "status": row.status, "decided_by": row.decided_by,
            "decided_at": local(row.decided_at), "new_due_at": local(row.new_due_at),
            "decision_note": row.decision_note}


def shown_request(session, catalogs, user, row: ExtensionRequest) -> dict:
    """One request as this user may read it (the list's rule: a sensitive event's reason withheld)."""
    event = session.get(Event, row.event_id)
    if event is not None and not permissions.may_see_sensitive(user, catalogs, event.type_code, event.reporter):
        return privacy.redact_row(describe_request(row), text_fields=("reason", "decision_note"),
                                  name_fields=("requested_by",), id_fields=("event_id", "deadline_id"))
    return describe_request(row)


def _instant_field(value, field):
    if value is None:
        return None
    try:
        return parse_instant(str(value))
    except ValueError as err:
        raise InvalidData([{"field": field, "reason": str(err)}]) from None


def _text_field(value, field, minimum=2):
    if not isinstance(value, str) or len(value.strip()) < minimum:
        raise InvalidData([{"field": field, "reason": f"请填写，至少{minimum}个字 (at least {minimum} characters)"}])
    return value.strip()[:2000]


def request_extension(cmd, deadline_id: int, body: dict) -> dict:
    """§8.4: 社区作出申请并说明情况 — the event's community asks, with a reason; the count of requests
    (pending or approved) per deadline is capped by the deadline kind's `max_extensions`."""
    session, catalogs, user = cmd.session, cmd.catalogs, cmd.user
    deadline = session.get(Deadline, deadline_id)
    if deadline is None:
        raise NotFound(f"deadline {deadline_id} does not exist")
    event = get_visible(session, deadline.event_id, user, catalogs)
    permissions.may_request_extension(user, event)
    reason = _text_field(body.get("reason"), "reason")
    wanted = _instant_field(body.get("requested_due_at"), "requested_due_at")
    session.execute(select(Deadline.id).where(Deadline.id == deadline.id).with_for_update())
    session.refresh(deadline)             # the status as of the lock, not as first read
    if deadline.status != "pending":
        raise Conflict(f"只有未到期的时限可以申请延期，该时限{DEADLINE_WORDS.get(deadline.status, deadline.status)} "
                       f"(the deadline is {deadline.status})", deadline_status=deadline.status)
    if wanted is not None and wanted <= _utc(deadline.due_at):
        raise InvalidData([{"field": "requested_due_at", "reason": "应晚于当前时限 (later than the current due time)"}])
    used = session.scalar(select(func.count(ExtensionRequest.id)).where(
        ExtensionRequest.deadline_id == deadline.id, ExtensionRequest.status.in_(("pending", "approved"))))
    cap = (catalogs.deadline_kind(deadline.kind) or {}).get("max_extensions", 0)
    if session.scalar(select(ExtensionRequest.id).where(ExtensionRequest.deadline_id == deadline.id,
                                                        ExtensionRequest.status == "pending")):
        raise Conflict("该时限已有待审批的延期申请 (a request is already waiting for a decision)")
    if used >= cap:
        raise Conflict(f"该时限最多延期 {cap} 次 (at most {cap} extensions of this limit)", max_extensions=cap)
    now = cmd.now()
    row = ExtensionRequest(deadline_id=deadline.id, event_id=event.id, requested_by=user.username, requested_at=now,
                           reason=reason, requested_due_at=wanted, status="pending")
    session.add(row)
    session.flush()
    authority = catalogs.city_authority()
    notify(session, catalogs, now, event.id, "unit", authority, "extension_requested",
           f"事件 {event.number} 申请延期：{reason}（§8.4，请审批）", clause="§8.4")
    session.add(Audit(at=now, actor=user.username, action="extension_requested", event_id=event.id,
                      data={"deadline_id": deadline.id, "kind": deadline.kind, "reason": reason,
                            "requested_due_at": local(wanted)}))
    return describe_request(row)


def extension_requests(cmd, status: str | None = None,
                       page: paging.PageRequest = PAGE) -> paging.Page:
    """A page of the extension requests the user may see (`permissions.extension_requests_of`), newest
    first; the sensitive reads recorded, a sensitive event's reason withheld from those who may not see it."""
    session, catalogs, user = cmd.session, cmd.catalogs, cmd.user
    if status and status not in REQUEST_STATUSES:
        raise InvalidData([{"field": "status", "reason": f"应为 {' | '.join(REQUEST_STATUSES)}"}])
    query = select(ExtensionRequest, Event.type_code, Event.reporter).join(Event, Event.id == ExtensionRequest.event_id)
    query = query.where(permissions.extension_requests_of(user))
    if status:
        query = query.where(ExtensionRequest.status == status)
    found = paging.fetch(session, query, REQUEST_ORDER, page)
    hidden = privacy.hidden_ids(user, catalogs, [(r.event_id, code, reporter) for r, code, reporter in found.items])
    # the city decides a sensitive event's request without reading its reason (issue #15)
    found = found.map(lambda rows: [privacy.redact_row(describe_request(r), text_fields=("reason", "decision_note"),
                                                       name_fields=("requested_by",), id_fields=("event_id", "deadline_id"))
                                    if r.event_id in hidden else describe_request(r) for r, _c, _r in rows])
    privacy.disclose_listed(cmd, [i["event_id"] for i in found.items], "extension_requests")
    return found


def decide_extension(cmd, request_id: int, body: dict) -> dict:
    """§8.4: 市级主管部门审批 — approve with a new due time (the timer is re-armed, the original due time
    kept, the deadline marked extended; a later miss is still a miss) or reject. The request as the
    decider may read it (`shown_request`)."""
    session, catalogs, user = cmd.session, cmd.catalogs, cmd.user
    permissions.EXTENSION_DECIDE.require(user)   # §8.4: the city authority decides
    row = session.get(ExtensionRequest, request_id)
    if row is None:
        raise NotFound(f"extension request {request_id} does not exist")
    session.execute(select(ExtensionRequest.id).where(ExtensionRequest.id == row.id).with_for_update())
    session.refresh(row)
    if row.status != "pending":
        raise Conflict(f"该申请已{ {'approved': '批准', 'rejected': '驳回'}.get(row.status, row.status) }",
                       request_status=row.status)
    approve = body.get("approve")
    if not isinstance(approve, bool):
        raise InvalidData([{"field": "approve", "reason": "应为 true（批准）或 false（驳回）"}])
    note = body.get("note")
    if note is not None and not isinstance(note, str):
        raise InvalidData([{"field": "note", "reason": "应为文字 (a text)"}])
    note = note.strip()[:2000] if note else None
    deadline = session.get(Deadline, row.deadline_id)
    event = session.get(Event, row.event_id)
    now = cmd.now()
    if approve:
        new_due = _instant_field(body.get("new_due_at"), "new_due_at")
        if new_due is None:
            raise InvalidData([{"field": "new_due_at", "reason": "批准须给出新的时限 (required to approve)"}])
        if new_due <= max(_utc(deadline.due_at), now):
            raise InvalidData([{"field": "new_due_at", "reason": "应晚于当前时限和当前时间 (later than now and the current due time)"}])
        if deadline.status != "pending":
            raise Conflict(f"该时限{DEADLINE_WORDS.get(deadline.status, deadline.status)}，不能再延期 "
                           f"(the deadline is {deadline.status})", deadline_status=deadline.status)
        cmd.env.instances.extend(session, deadline, event, new_due)
        row.status, row.new_due_at = "approved", new_due
    else:
        note = _text_field(note, "note")
        row.status = "rejected"
    row.decided_by, row.decided_at, row.decision_note = user.username, now, note
    words = f"已批准，新时限 {local(row.new_due_at)}" if approve else f"未批准：{note}"
    for kind, value in (("person", row.requested_by), ("unit", deadline.unit), ("person", deadline.person)):
        if value:
            notify(session, catalogs, now, event.id, kind, value, "extension_decided",
                   f"事件 {event.number} 的延期申请{words}", clause="§8.4")
    decided = {"request_id": row.id, "deadline_id": deadline.id, "approved": approve,
               "new_due_at": local(row.new_due_at), "note": note}
    session.add(Audit(at=now, actor=user.username, action="extension_decided", event_id=event.id, data=decided))
    callbacks.enqueue_stage(session, catalogs, event, "extension_decided", decided, None, now)   # 延期, to its source
    return shown_request(session, catalogs, user, row)
