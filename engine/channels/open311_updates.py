"""mySociety's Open311 extension, service request updates (issue #18; §4.3 闭环, §5.3, §7.1 反馈来源): a
FixMyStreet-style client follows each stage of a citizen's request, and a citizen adds to it. No Flask:
web/api/open311.py renders these dicts as JSON or XML.

- **GET servicerequestupdates** lists the updates in a time window, oldest first. Each is one durable row
  of the audit trail read as a stage (engine/channels/stages.py), so its `update_id` (the audit row's id)
  never changes and a row reads the same however late it is read. A request merged into another event
  (合并) or transferred to another community (转办, §7.1) follows that event: the stages of the event that
  handles its matter come under its own `service_request_id` too (`update_id` `<row>-<request>`).
- **POST servicerequestupdates** is a citizen's update (补充: a comment and/or a photo URL) on a public
  request, with the channel's API key as for POST requests. It is stored on the event as a
  `citizen_update` audit row (shown in its timeline), told to whoever has the event's open tasks, and
  listed like any other update. The client's `update_id` makes a retry return the same update.
- The same privacy as the requests: only citizens' reports of the non-sensitive types (Table A.1 rows 1–3
  never), and no reporter, name, phone, e-mail or staff member in any update.
"""
from __future__ import annotations

import math

from sqlalchemy import and_, false, or_, select, union_all
from sqlalchemy.orm import aliased

from engine.channels import open311, stages
from engine.core import contracts
from engine.core.clock import local, parse_instant
from engine.core.errors import InvalidData, NotFound
from engine.pool.comments import tell_assignees
from engine.store import paging
from engine.store.models import Audit, Event, User, is_completion, of_action

MAX_TEXT, MAX_MEDIA, MAX_REF = 2000, 5, 100
#: the rows a request follows on the event that handles its matter: those after its own 合并 / 转办 row
_LINKED = ("merged_into", "transferred")


def _stage_rows(actions=stages.ACTIONS):
    """SQL: audit rows of `actions` that may be a stage (the task completions of Figure 1's main line only),
    written so that PostgreSQL reads a period's through two indexes: ix_audit_action_at for the actions
    other than completions, ix_audit_completed_at for the completions (migration 0045)."""
    others = [a for a in actions if a != contracts.TASK_COMPLETED]
    parts = [of_action(Audit.action, *others)] if others else []
    if contracts.TASK_COMPLETED in actions:
        parts.append(and_(is_completion(Audit.action), Audit.task_name.in_(stages.TASKS)))
    return or_(false(), *parts)


def _updates(catalogs, start, end, numbers: list[str]):
    """(at, audit_id, request_id) of every update in the window: each public request's own stages, and
    the stages after its 合并 / 转办 of the event it now follows (one step along)."""
    window = (Audit.at >= start) & (Audit.at <= end)
    own = select(Audit.at.label("at"), Audit.id.label("audit_id"), Event.id.label("request_id")) \
        .join(Event, Event.id == Audit.event_id).where(open311._public(catalogs), _stage_rows(), window)
    follower, target, link = aliased(Event), aliased(Event), aliased(Audit)
    linked_at = select(link.id).where(link.event_id == follower.id, link.action.in_(_LINKED)) \
        .order_by(link.id).limit(1).correlate(follower).scalar_subquery()
    followed = select(Audit.at, Audit.id, follower.id) \
        .join(target, target.id == Audit.event_id) \
        .join(follower, or_(follower.merged_into_id == target.id, follower.transferred_to_id == target.id)) \
        .where(open311._public(catalogs, follower), target.type_code.in_(open311.public_types(catalogs)),
               _stage_rows(stages.FOLLOWED_ACTIONS), window, Audit.id > linked_at)
    if numbers:
        own, followed = own.where(Event.number.in_(numbers)), followed.where(follower.number.in_(numbers))
    return union_all(own, followed).subquery("updates")


def find_updates(session, catalogs, args: dict, now) -> paging.Page:
    """GET servicerequestupdates: `start_date` / `end_date` (W3C date-times with offset, on the update's
    time; by default the 90 days before now, at most 90 days), `service_request_id` (comma-separated
    numbers) to follow some requests only; oldest first, `limit` a page (at most and by default 1000) and
    `cursor` the page after or before one given. A page may hold fewer updates than `limit`: rows of
    internal work are read but not shown."""
    page = paging.page_request(args.get("cursor"), args.get("limit"), open311.MAX_RESULTS, open311.MAX_RESULTS)
    start, end = open311._window(args, now)
    numbers = open311._list_arg(args, "service_request_id")[:open311.MAX_RESULTS]
    sub = _updates(catalogs, start, end, numbers)
    order = paging.Order("open311_updates", sub.c.at, sub.c.audit_id, sub.c.request_id)
    found = paging.fetch(session, select(sub.c.audit_id, sub.c.request_id), order, page)
    return found.map(lambda keys: describe(session, catalogs, keys))


def describe(session, catalogs, keys: list[tuple[int, int]]) -> list[dict]:
    """The updates of (audit row, request) pairs, as the extension shows them."""
    if not keys:
        return []
    rows = {a.id: a for a in session.scalars(select(Audit).where(Audit.id.in_({k[0] for k in keys})))}
    wanted = {k[1] for k in keys} | {a.event_id for a in rows.values()}
    found = {e.id: e for e in session.scalars(select(Event).where(Event.id.in_(wanted)))}
    results = open311._outcomes(session, [a.event_id for a in rows.values() if a.action == "source_notified"])
    actors = {a.actor for a in rows.values() if a.task_name in stages.UNIT_TASKS}
    units = dict(session.execute(select(User.username, User.unit).where(User.username.in_(actors))).all()) if actors else {}
    items = []
    for audit_id, request_id in keys:
        row, request = rows[audit_id], found[request_id]
        stage = stages.of(row.action, row.data, row.task_name, found[row.event_id], catalogs,
                          result=results.get(row.event_id), unit=units.get(row.actor))
        if stage is None:
            continue
        own = row.event_id == request_id
        media = (row.data or {}).get("media_url") if row.action == "citizen_update" else None
        items.append({"update_id": str(audit_id) if own else f"{audit_id}-{request_id}",
                      "service_request_id": request.number, "status": stage.status,
                      "updated_datetime": local(row.at), "description": stage.description,
                      "media_url": media[0] if media else "", "external_status_code": stage.code})
    return items


# -- a citizen's update -----------------------------------------------------------------------------------

def _text(form: dict, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _checked(form: dict, media: list) -> dict:
    """The update's fields, checked; InvalidData naming each wrong one."""
    errors = []
    number = _text(form, "service_request_id")
    if not number:
        errors.append({"field": "service_request_id", "reason": "必填：要补充的诉求编号 (required: the request's number)"})
    text = _text(form, "description")
    if len(text) > MAX_TEXT:
        errors.append({"field": "description", "reason": f"至多{MAX_TEXT}字 (at most {MAX_TEXT} characters)"})
    urls = [u.strip() for u in media if isinstance(u, str) and u.strip()]
    if len(urls) > MAX_MEDIA:
        errors.append({"field": "media_url", "reason": f"至多{MAX_MEDIA}个 (at most {MAX_MEDIA} URLs)"})
    for url in urls:
        if not url.startswith(("https://", "http://")) or len(url) > 500:
            errors.append({"field": "media_url", "reason": "应为 http(s) 地址，至多500字符 (an http(s) URL)"})
            break
    if not text and not urls:
        errors.append({"field": "description", "reason": "必填：补充的内容，或随附照片 media_url "
                                                         "(required: the update's text, or a media_url)"})
    status = _text(form, "status").lower()
    if status and status not in stages.CLIENT_STATUSES:
        errors.append({"field": "status", "reason": f"应为 {' / '.join(s.upper() for s in stages.CLIENT_STATUSES)} "
                                                    f"之一，收到 {status[:40]!r} (not a status of the extension)"})
    ref = _text(form, "update_id") or _text(form, "update_id_ext")
    if len(ref) > MAX_REF:
        errors.append({"field": "update_id", "reason": f"至多{MAX_REF}字符 (at most {MAX_REF} characters)"})
    when = _text(form, "updated_datetime")
    if when:
        try:
            parsed = parse_instant(when)
            when = local(parsed) if math.isfinite(parsed.timestamp()) else None
        except (ValueError, OverflowError):
            errors.append({"field": "updated_datetime", "reason": f"应为带时区的 ISO 8601 日期时间，收到 {when[:40]!r} "
                                                                  "(e.g. 2026-10-08T09:00:00+08:00)"})
    if errors:
        raise InvalidData(errors)
    contact = {k: _text(form, k)[:100] for k in ("first_name", "last_name", "email", "phone") if _text(form, k)}
    return {"number": number, "text": text, "media_url": urls, "client_status": status or None,
            "update_ref": ref or None, "updated_datetime": when or None, "contact": contact or None}


def submit(cmd, form: dict, media: list, channel: str, idempotency_key=None) -> tuple[int, bool]:
    """POST servicerequestupdates: a citizen's update on a public request, from `channel` (its key already
    checked); (the update's id, created). The client's `update_id` (else an Idempotency-Key) makes a retry
    return the update it created. A citizen cannot move the event: the status they send is kept as
    they said it, and the update shows the request's status as it then was."""
    session, catalogs, now = cmd.session, cmd.catalogs, cmd.now()
    fields = _checked(form, media)
    event = session.scalar(select(Event).where(open311._public(catalogs), Event.number == fields["number"]))
    if event is None:
        raise NotFound(f"service_request_id: no public request {fields['number']!r}", field="service_request_id")
    ref = fields["update_ref"] or (str(idempotency_key)[:MAX_REF] if idempotency_key else None)
    if ref:
        for row in session.scalars(select(Audit).where(Audit.event_id == event.id, Audit.action == "citizen_update")):
            if (row.data or {}).get("update_ref") == ref and (row.data or {}).get("channel") == channel:
                return row.id, False
    handling = open311._followed(session, [event]).get(event.id, event)    # where the matter is handled now
    latest = open311.latest_stages(session, catalogs, [handling]).get(handling.id)
    status = latest.status if latest is not None else ("open" if handling.status in open311.OPEN_STATES else "closed")
    row = Audit(at=now, actor=f"open311:{channel}", action="citizen_update", event_id=event.id,
                data={"text": fields["text"], "media_url": fields["media_url"], "status": status,
                      "client_status": fields["client_status"], "update_ref": ref, "channel": channel,
                      "updated_datetime": fields["updated_datetime"], "contact": fields["contact"]})
    session.add(row)
    session.flush()
    words = fields["text"] or "（照片）"
    told_on = f"{event.number}（已并入/转至 {handling.number}）" if handling is not event else event.number
    if handling.status == "open":
        tell_assignees(session, catalogs, handling, "citizen_update", f"群众对事件 {told_on} 补充：{words}", now)
    return row.id, True
