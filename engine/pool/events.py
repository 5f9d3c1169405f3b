"""The community event pool (社区事件池, §7.1): checking and registering a report, its readable number,
who may see it, and its summary (an event's detail and timeline: engine/pool/reading.py).

Who may claim which source (§5; issue #15 part 3). A report's `source` says where the event came from, and
the process and the indicators trust it (a 上级交办 carries the superior's deadline, §8.2), so a signed-in
user may register only the sources of their own roles (engine/accounts/permissions.py `SOURCE_USERS`, checked by
`may_use_source`):

The table, with its reasons, is in engine/accounts/permissions.py.

`citizen` (§5.3 群众接报) comes only through an Open311 API key (engine/open311.py) and `iot_alert` (§5.4
智慧社区预警) only from a signed device (engine/channels/devices.py): no signed-in user may claim them. Anything else
is refused with 403 naming `source`."""
from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from engine.runtime import forms
from engine.pool import intake
from engine.accounts import permissions
from engine.core.clock import SHANGHAI, local, parse_instant
from engine.core.errors import Forbidden, InvalidData, NotFound
from engine.notices.outbox import notify
from engine.pool.location import SYSTEMS
from engine.store import paging
from engine.store.rows import add_inserted, insert_all
from engine.store.models import Audit, Event, EventCounter, EventParty, PendingStart


def N_(text: str) -> str:
    """Marks a word staff read for the web app's message catalog (gettext_noop: `make translations` extracts
    it, the web app translates it where it shows it); the engine and the API keep the Chinese."""
    return text


#: §5: the six sources of the pool (§5.1 … §5.6, in order).
SOURCES = {"grid_worker": N_("专职网格员上报"), "committee_patrol": N_("社区联合党委巡查"), "citizen": N_("群众接报"),
           "iot_alert": N_("智慧社区预警"), "one_thing": N_("社区治理一件事"), "superior": N_("上级交办")}
#: the event's status in the words staff read; every end state is explicit (issue #3)
STATUS_WORDS = {"open": N_("办理中"), "closed": N_("办结"), "invalid": N_("不属实/无效"), "returned": N_("退回来源"),
                "transferred": N_("转办"), "withdrawn": N_("撤单"), "merged": N_("已合并"), "terminated": N_("已终止"),
                "error": N_("流程启动失败")}
#: a closed event's 回访 (engine/casework/revisits.py): 回访中 beside 办结 while it is open
REVISIT_WORDS = {"open": N_("回访中"), "done": N_("已回访")}
#: a report made as handled on the spot (即知即改, engine/casework/on_spot.py), by the community's verification
ON_SPOT_WORDS = {"reported": N_("即知即改，待社区核实"), "confirmed": N_("即知即改，社区已核实办结"),
                 "rejected": N_("即知即改未通过核实，按常规流转")}

EVENT_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["source", "type_code", "description", "location"],
    "properties": {
        "source": {"type": "string", "title": "来源", "enum": sorted(SOURCES)},
        "type_code": {"type": "string", "title": "事件类型", "minLength": 1, "maxLength": 20},
        "description": {"type": "string", "title": "问题描述", "minLength": 2, "maxLength": 2000},
        #: the pool it is sent to (default: the reporter's own); the location decides whose it is
        "community": {"type": "string", "title": "接收社区", "minLength": 1, "maxLength": 60},
        "photos": {"type": "array", "title": "现场照片", "maxItems": 20,
                   "items": {"type": "string", "maxLength": 300}},
        #: the source's own reference, used as the idempotency key when no Idempotency-Key header is sent
        "source_ref": {"type": "string", "title": "来源编号", "minLength": 1, "maxLength": 200},
        "reporter_contact": {
            "type": "object", "additionalProperties": False, "title": "联系人",
            "properties": {"name": {"type": "string", "title": "姓名", "maxLength": 60},
                           "phone": {"type": "string", "title": "电话", "pattern": "^[0-9+\\- ]{3,20}$",
                                     "x-hint": "3—20 位数字，可含 + - 和空格"},
                           "email": {"type": "string", "title": "电子邮箱", "maxLength": 120}}},
        #: 即知即改 (engine/casework/on_spot.py): fixed on the spot, reported with after photos (multipart part
        #: `after_photos`, `before_photos` optional) for the community to verify; what was done, in words
        "handled_on_spot": {"type": "boolean", "title": "即知即改"},
        "on_spot_summary": {"type": "string", "title": "现场处置情况", "minLength": 2, "maxLength": 2000},
        #: a report kept on the phone without signal and sent later (issue #20): when it was made there, as the
        #: phone's clock said (kept in the audit trail with what was sent; the event is registered when it arrives)
        "drafted_at": {"type": "string", "title": "离线填写时间", "minLength": 10, "maxLength": 40},
        "superior_body": {"type": "string", "title": "交办单位", "minLength": 2, "maxLength": 200},
        "superior_deadline": {"type": "string", "title": "上级要求办结时间", "minLength": 10, "maxLength": 40},
        "location": {
            #: coordinates may be missing (an address only: a registrar places it, 分拨) but not half given
            "type": "object", "additionalProperties": False, "required": ["address"], "title": "事发地点",
            "dependentRequired": {"lat": ["lng"], "lng": ["lat"]},
            "properties": {"lat": {"type": "number", "title": "纬度", "minimum": -90, "maximum": 90},
                           "lng": {"type": "number", "title": "经度", "minimum": -180, "maximum": 180},
                           "address": {"type": "string", "title": "地址", "minLength": 1, "maxLength": 300},
                           #: wgs84 (GPS, the default), gcj02 (高德/腾讯), bd09 (百度): stored as WGS-84
                           "crs": {"type": "string", "title": "坐标系", "enum": sorted(SYSTEMS)}}},
    },
}


def check_report(payload, catalogs, user, more_errors=()) -> dict:
    """Validate a report; raise InvalidData naming each bad field (with `more_errors`, the caller's own checks
    of what came with it), Forbidden for a wrong scope.
    Returns the report as it is registered: the location in WGS-84 and `community` the one whose area
    holds it (jurisdiction, engine/pool/intake.py), `routed_from` the pool it was sent to if that differs."""
    errors = forms.validate(EVENT_SCHEMA, payload)
    if not errors:
        code = payload["type_code"]  # a Table A.1 type, or an Appendix B "one thing" matter
        if catalogs.event_type(code) is None and catalogs.one_thing_matter(code) is None:
            errors.append({"field": "type_code", "reason": f"「事件类型」{payload['type_code']} 不在附录A、附录B 中：请从列表中"
                                                           f"选择 (unknown event type {payload['type_code']!r})"})
        elif catalogs.is_retired(code):     # a retired row names old events, new reports choose another
            errors.append({"field": "type_code", "reason": f"{code} 已停用，请选择其他类型 "
                                                           "(retired: no longer offered for new reports)"})
        asked = payload.get("community") or user.community
        if asked is None:
            errors.append({"field": "community", "reason": "请选择接收社区 (required: you belong to no community)"})
        elif catalogs.community(asked) is None:
            errors.append({"field": "community", "reason": f"「接收社区」{asked} 不存在：请从列表中选择 "
                                                           f"(unknown community {asked!r})"})
        errors.extend(_source_problems(payload, catalogs))
    errors.extend(more_errors)
    if errors:
        raise InvalidData(errors)
    if not permissions.may_use_source(user, payload["source"]):
        raise Forbidden(f"您的角色不能登记来源为“{SOURCES[payload['source']]}”的事件 "
                        f"(your role may not register events of source {payload['source']!r}; "
                        f"yours: {', '.join(permissions.sources_for(user, SOURCES)) or 'none'})", field="source")
    if not permissions.is_global(user) and user.community != asked:
        raise Forbidden("只能上报到本社区的事件池 (you may register events only in your own community's pool)",
                        field="community")
    if "lat" not in payload["location"]:   # an address only: the community's registrar places it (分拨)
        return {**payload, "location": intake.unplaced(payload["location"]), "community": asked}
    location, holder = intake.locate(payload["location"], catalogs)
    clean = {**payload, "location": location, "community": holder}
    if holder != asked:
        clean["routed_from"] = asked
    return clean


def _source_problems(payload, catalogs) -> list[dict]:
    """§5.5: a "one thing" matter names its Appendix B code; §5.6/§8.2: a superior assignment names
    the assigning body and its deadline (an instant with its offset), and no other source carries them."""
    problems = []
    if payload["source"] == "one_thing" and catalogs.one_thing_matter(payload["type_code"]) is None:
        problems.append({"field": "type_code", "reason": "一件事须填写附录B事项编码 (an Appendix B matter code)"})
    if payload["source"] != "superior":   # only an assignment carries a superior's body and deadline
        problems.extend({"field": name, "reason": "仅上级交办可填写 (only for a superior assignment)"}
                        for name in ("superior_body", "superior_deadline") if name in payload)
    if payload["source"] == "superior":
        for name in ("superior_body", "superior_deadline"):
            if name not in payload:
                problems.append({"field": name, "reason": "上级交办必填 (required for a superior assignment)"})
    if "drafted_at" in payload:
        try:
            parse_instant(payload["drafted_at"])
        except ValueError:
            problems.append({"field": "drafted_at", "reason": "应为带时区的日期时间 (an ISO date-time with offset: when "
                                                              "the report was made on the phone, e.g. 2026-10-08T09:15:00+08:00)"})
    if "superior_deadline" in payload:   # whatever the source: a deadline given is stored, so it must be one
        try:
            parse_instant(payload["superior_deadline"])
        except ValueError:
            problems.append({"field": "superior_deadline",
                             "reason": "应为带时区的日期时间 (an ISO date-time with offset, e.g. 2026-10-09T18:00+08:00)"})
    return problems


def add_party(session, event_id: int, kind: str, value: str) -> None:
    """Remember that a unit or person was given work on the event (idempotent)."""
    add_parties(session, event_id, [(kind, value)])


#: upserts are dialect statements: one of each, built once, chosen by the session's dialect name
_DIALECTS = (("postgresql", postgresql), ("sqlite", sqlite))
_ADD_PARTIES = {name: dialect.insert(EventParty.__table__).on_conflict_do_nothing() for name, dialect in _DIALECTS}


def add_parties(session, event_id: int, parties) -> None:
    """add_party for several (kind, value) pairs in one batched statement."""
    rows = [dict(event_id=event_id, kind=kind, value=str(value)) for kind, value in parties]
    if rows:
        session.connection().execute(_ADD_PARTIES[session.get_bind().dialect.name], rows)


_COUNT = {name: dialect.insert(EventCounter.__table__).values(day=bindparam("the_day"), last=1)
          .on_conflict_do_update(index_elements=["day"], set_={"last": EventCounter.__table__.c.last + 1})
          .returning(EventCounter.__table__.c.last)
          for name, dialect in _DIALECTS}


def next_number(session, now) -> str:
    """LG-YYYYMMDD-NNNN, counted per day in Asia/Shanghai, safe under concurrent inserts."""
    day = now.astimezone(SHANGHAI).strftime("%Y%m%d")
    last = session.connection().execute(_COUNT[session.get_bind().dialect.name], {"the_day": day}).scalar_one()
    return f"LG-{day}-{last:04d}"


def register(session, catalogs, payload: dict, reporter: str, now, key: str | None = None,
             channel: str | None = None, public_token: str | None = None, raw=None) -> Event:
    """Store a checked report (check_report's result) with its idempotency key, and tell the community it
    came to (`announce`). `raw` is what the source sent, kept in the audit trail as received (before
    coordinate conversion)."""
    loc = payload["location"]
    event = Event(number=next_number(session, now), source=payload["source"], type_code=payload["type_code"],
                  description=payload["description"], lat=loc["lat"], lng=loc["lng"], address=loc["address"],
                  photos=payload.get("photos", []), community=payload["community"], reporter=reporter,
                  status="open", stage="登记", created_at=now, superior_body=payload.get("superior_body"),
                  superior_deadline=parse_instant(payload["superior_deadline"])
                  if payload.get("superior_deadline") else None,
                  intake_key=key, channel=channel, reporter_contact=payload.get("reporter_contact"),
                  received_crs=loc.get("crs") or "wgs84", public_token=public_token, on_spot=payload.get("on_spot"))
    add_inserted(session, event)
    # the rows nothing reads back in this unit, as plain INSERTs (no objects for the ORM to flush)
    insert_all(session, PendingStart, [dict(event_id=event.id, stored_at=now)])   # until its process starts (issue #5)
    trail = [dict(at=now, actor=reporter, action="reported", event_id=event.id,
                  data=raw if raw is not None else payload)]
    if loc["lat"] is None:
        trail.append(dict(at=now, actor="system", action="awaiting_placement", event_id=event.id,
                          data={"address": loc["address"], "community": payload["community"],
                                "reason": "仅有地址，待分拨定位 (an address only: waiting to be placed, §7.1)"}))
    if payload.get("routed_from"):
        trail.append(dict(at=now, actor="system", action="jurisdiction_routed", event_id=event.id,
                          data={"sent_to": payload["routed_from"], "community": payload["community"],
                                "reason": "事发地属该社区辖区 (§7.1 属地: the location lies in this community)"}))
    insert_all(session, Audit, trail)
    announce(session, catalogs, event, now)
    return event


#: the notice of a new report (§4.1 自动通知派单)
NEW_REPORT = "new_report"


def announce(session, catalogs, event: Event, now) -> None:
    """§4.1 事件信息上报后自动通知派单: a new report is a notice to the community whose pool it entered (its
    cadres register and verify it, §7.1), or, for an address no community holds yet, to the city authority
    that places it (分拨). A sensitive event's notice (Table A.1 rows 1–3) names no type: its number only."""
    what = "" if catalogs.is_sensitive(event.type_code) else \
        f" {(catalogs.event_type(event.type_code) or {}).get('content', event.type_code)}"
    said = f"【新上报】{event.number}{what}（{SOURCES.get(event.source, event.source)}）"
    if event.community and event.on_spot:    # 即知即改: fixed already, the community verifies the fix
        notify(session, catalogs, now, event.id, "community", event.community, NEW_REPORT,
               f"{said}，已即知即改，请核实处置结果（§7.1）", clause="§4.1")
    elif event.community:
        notify(session, catalogs, now, event.id, "community", event.community, NEW_REPORT,
               f"{said}，请登记核实（§7.1）", clause="§4.1")
    else:
        notify(session, catalogs, now, event.id, "unit", catalogs.city_authority(), NEW_REPORT,
               f"{said}，仅有地址，请分拨定位（§7.1）", clause="§4.1")


def register_transfer(session, source: Event, community: str, reason: str, actor: str, now) -> Event:
    """转办 (§7.1): the event belongs to another community. A linked copy is registered in that
    community's pool; the two are one matter (counted once: the source ends as `transferred`)."""
    event = Event(number=next_number(session, now), source=source.source, type_code=source.type_code,
                  description=source.description, lat=source.lat, lng=source.lng, address=source.address,
                  photos=list(source.photos or []), community=community, reporter=source.reporter,
                  status="open", stage="登记", created_at=now, transferred_from_id=source.id,
                  channel=source.channel,   # the channel hears the linked event's outcome too
                  superior_body=source.superior_body, superior_deadline=source.superior_deadline)
    session.add(event)
    session.flush()
    source.transferred_to_id = event.id
    session.add(Audit(at=now, actor=actor, action="transferred_in", event_id=event.id,
                      data={"from": source.number, "from_community": source.community, "reason": reason}))
    return event


def reopen(event: Event) -> int:
    """The closed event is open again (重启, or 重新办理 after a 不满意 回访): no closure, no reason, no lead
    department, no 回访 open; its reopen count (against the first-time rate, §8.6) goes up. The new count."""
    event.status, event.closed_at, event.status_reason, event.lead_unit, event.revisit = "open", None, None, None, None
    event.reopen_count = (event.reopen_count or 0) + 1
    return event.reopen_count


def initial_data(event: Event, reopened: bool = False, placement_unit: str | None = None) -> dict:
    """What the process sees at its start event (docs/process-conventions.md, "Task data").
    `placement_unit` is the city unit that places (分拨) a report with neither coordinates nor community."""
    matter = event.type_code if event.source == "one_thing" else None
    deadline = local(event.superior_deadline) if event.superior_deadline else None
    return {"event_id": event.id, "event_number": event.number, "community": event.community,
            "event_type": event.type_code, "source": event.source, "description": event.description,
            "location": {"lat": event.lat, "lng": event.lng, "address": event.address},
            "reporter": event.reporter, "reopened": reopened, "matter_code": matter,
            "superior_body": event.superior_body, "superior_deadline": deadline, "placement_unit": placement_unit,
            # 即知即改 reported and not verified yet: the community verifies the fix (engine/casework/on_spot.py)
            "handled_on_spot": bool(event.on_spot) and event.on_spot.get("state") == "reported"}


#: get_visible's statement per user (permissions.per_user)
_VISIBLE: dict = {}


def get_visible(session, event_id: int, user, catalogs) -> Event:
    query = permissions.per_user(_VISIBLE, user, catalogs, lambda: select(Event).where(
        Event.id == bindparam("event_id"), permissions.events_of(user, catalogs)))
    event = session.scalar(query, {"event_id": event_id})
    if event is None:
        raise not_visible(event_id)
    return event


def not_visible(event_id: int) -> NotFound:
    """The refusal of an event the user may not see, or that does not exist: the same 404 for both."""
    return NotFound(f"event {event_id} does not exist or is not yours to see")


LIST_FILTERS = ("status", "community", "type_code", "source", "lead_unit", "number", "reporter")


#: the pool's order: the newest report first (ids grow with registration)
ORDER = paging.Order("events", Event.id, descending=True)


def search(session, user, catalogs, filters: dict, page: paging.PageRequest) -> tuple[int, paging.Page]:
    """(how many match, a page of them) of the events the user may see that match the filters."""
    query = matching(select(Event), user, catalogs, filters)
    return paging.count(session, query), paging.fetch(session, query, ORDER, page)


def matching(query, user, catalogs, filters: dict):
    """`query` (a select from Event) narrowed to the events the user may see that match the filters: the
    list's condition, which its export (engine/pool/export.py) shares."""
    query = query.where(permissions.events_of(user, catalogs))
    for name in LIST_FILTERS:
        if filters.get(name):
            query = query.where(getattr(Event, name) == filters[name])
    if filters.get("created_from"):
        query = query.where(Event.created_at >= filters["created_from"])
    if filters.get("created_to"):
        query = query.where(Event.created_at < filters["created_to"])
    if filters.get("suspected_duplicate"):   # the registrar's queue: open reports flagged as repeats (§7.1)
        query = query.where(Event.duplicate_of_id.is_not(None), Event.merged_into_id.is_(None),
                            Event.status == "open")
    return query


def summary(event: Event) -> dict:
    return {"id": event.id, "number": event.number, "source": event.source, "type_code": event.type_code,
            "description": event.description, "community": event.community, "status": event.status,
            "status_name": STATUS_WORDS.get(event.status, event.status),
            "stage": event.stage, "lead_unit": event.lead_unit, "reporter": event.reporter,
            "location": {"lat": event.lat, "lng": event.lng, "address": event.address},
            "photos": event.photos or [], "created_at": local(event.created_at),
            "closed_at": local(event.closed_at), "error": event.error, "status_reason": event.status_reason,
            "transferred_from_id": event.transferred_from_id, "transferred_to_id": event.transferred_to_id,
            "reopen_count": event.reopen_count or 0, "superior_body": event.superior_body,
            "revisit": event.revisit, "revisit_name": REVISIT_WORDS.get(event.revisit) if event.revisit else None,
            "duplicate_of_id": event.duplicate_of_id, "merged_into_id": event.merged_into_id,
            "on_spot_state": (event.on_spot or {}).get("state"),
            "superior_deadline": local(event.superior_deadline)}

