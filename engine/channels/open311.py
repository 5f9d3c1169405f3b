"""Open311 GeoReport v2 for the citizen channels (群众接报, §5.3): the services, a citizen's report,
and what the public may read back. No Flask: web/api/open311.py renders these dicts as JSON or XML.

- **Services** are the event types of Appendix A Table A.1 (the "one thing" matters of Appendix B are
  the community's own, not a citizen's). Each has the same small set of attributes (ATTRIBUTES).
- **A report** is registered like any other (§7.1 登记) with source `citizen` and the channel of its API
  key; the community is the one whose area holds the point (属地), the citizen names none. The channel's
  `source_ref` (e.g. the 12345 work-order number) or an `Idempotency-Key` makes a retry return the same
  request. Coordinates come in the channel's system (`crs`) unless the form says otherwise.
- **Public reads** show no personal data (no reporter, name, phone, e-mail, account or device), and never
  an event of a sensitive type (Table A.1 rows 1–3: 重点人员、平安建设、警情).
"""
from __future__ import annotations

import copy
import math
import re
import secrets
from datetime import timedelta, timezone

from sqlalchemy import func, select
from catalogs.model import STEPS

from engine.channels import stages
from engine.pool import duplicates, events, intake
from engine.runtime import forms
from engine.core.clock import local, parse_instant
from engine.core.errors import InvalidData, NotFound
from engine.pool.location import SYSTEMS
from engine.store import paging
from engine.store.models import Audit, Deadline, Event
from engine.core import contracts

#: the attributes every service asks for (GeoReport `service_definition`); none is required
ATTRIBUTES = [
    {"variable": True, "code": "occurred_at", "datatype": "datetime", "required": False,
     "datatype_description": "带时区的日期时间，如 2026-10-08T08:30:00+08:00 (ISO 8601 with offset)",
     "order": 1, "description": "发生时间"},
    {"variable": True, "code": "urgent", "datatype": "singlevaluelist", "required": False,
     "datatype_description": "是 / 否：是否危及人身或财产安全 (yes / no)", "order": 2, "description": "是否紧急",
     "values": [{"key": "yes", "name": "是"}, {"key": "no", "name": "否"}]},
]
#: the engine's field names (engine/pool/events.py EVENT_SCHEMA) → the Open311 form field they came from
FIELD_NAMES = {"type_code": "service_code", "location": "lat/long", "location.lat": "lat", "location.lng": "long",
               "location.address": "address_string", "location.crs": "crs", "photos": "media_url",
               "reporter_contact.name": "first_name", "reporter_contact.phone": "phone",
               "reporter_contact.email": "email"}
#: GeoReport: at most this many requests per list, and a date range of at most 90 days
MAX_RESULTS = 1000
WINDOW = timedelta(days=90)
#: Event.status → GeoReport status; an event whose process failed to start is still open to the citizen
OPEN_STATES = ("open", "error")
_HAN = re.compile(r"[\u4e00-\u9fff]")


# -- services ---------------------------------------------------------------------------------------

def _service_name(row: dict) -> str:
    return f"{row['category']} · {row['content']}"


def services(catalogs) -> list[dict]:
    """GET services: one service per Table A.1 row offered for new reports (not retired), grouped by its
    category."""
    result = []
    for row in catalogs.offered("event_types"):
        department = catalogs.unit(row["department"]) or {}
        result.append({"service_code": row["code"], "service_name": _service_name(row),
                       "description": f"附录A 表A.1 第{row['no']}项：{row['content']}"
                                      f"（主管部门：{department.get('name', row['department'])}）",
                       "metadata": True, "type": "realtime",
                       "keywords": ", ".join(k for k in (row["category"], row.get("category_en"), row["code"]) if k),
                       "group": row["category"]})
    return result


def service_definition(catalogs, code: str) -> dict:
    """GET services/{code}: the attributes a report of this service may carry."""
    if catalogs.event_type(code) is None:
        raise NotFound(f"service_code: unknown service code {code!r}", field="service_code")
    return {"service_code": code, "attributes": copy.deepcopy(ATTRIBUTES)}


# -- a citizen's report -----------------------------------------------------------------------------

def open311_field(field: str) -> str:
    """The Open311 name of an engine field: `location.lng` → `long`, `photos.0` → `media_url`."""
    parts = field.split(".")
    for end in range(len(parts), 0, -1):
        name = FIELD_NAMES.get(".".join(parts[:end]))
        if name:
            return name
    return field


def renamed(err: InvalidData) -> InvalidData:
    """The same problems, each naming the form field the citizen sent."""
    return InvalidData([{**e, "field": open311_field(e["field"])} for e in err.details["errors"]])


def submit(cmd, form: dict, channel: str, idempotency_key=None) -> tuple[Event, bool]:
    """群众接报 (§5.3): register a citizen's report from `channel` (its API key already checked); (event,
    created). Stored without a user, in the community that holds the point, and flagged if it repeats an
    open report (engine/pool/duplicates.py); as for any report, its process starts in a second unit of
    work. A retry with the same key (Idempotency-Key, else `source_ref`) returns the event it created.
    Raises InvalidData naming the Open311 fields (`lat/long` for a point in no community, §7.1)."""
    session, catalogs, now = cmd.session, cmd.catalogs, cmd.now()
    try:
        key = intake.key_for(f"open311:{channel}", idempotency_key or form.get("source_ref"))
        found = intake.existing(session, key)
        if found is not None:
            return found, False
        crs = (catalogs.channel(channel) or {}).get("crs", "wgs84")
        payload = _payload(form, catalogs)
        if payload["location"].get("lat") is None:   # an address only: the city places it (分拨, §7.1)
            location, community = intake.unplaced(payload["location"]), None
        else:
            location, community = intake.locate(payload["location"], catalogs, default_crs=crs)
    except InvalidData as err:
        raise renamed(err) from None
    clean = {**payload, "location": location, "community": community}
    raw = {name: value for name, value in form.items() if name != "api_key"}  # as received, but no secret
    event = events.register(session, catalogs, clean, f"open311:{channel}", now, key=key, channel=channel,
                            public_token=secrets.token_urlsafe(24), raw=raw)
    duplicates.flag(session, event, cmd.env.duplicate_window, now)
    return event, True


def _text(form: dict, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _number(form: dict, name: str, errors: list) -> float | None:
    text = _text(form, name)
    if not text:
        errors.append({"field": name, "reason": "必填项：事发地坐标，或只填 address_string 由市级分拨定位 "
                                                "(required: the coordinates, or an address_string alone)"})
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        errors.append({"field": name, "reason": f"应为数字，收到 {text[:40]!r} (expected a decimal number)"})
        return None
    return value


def _payload(form: dict, catalogs) -> dict:
    """The report as the engine registers it (EVENT_SCHEMA), from the GeoReport form."""
    errors = []
    code = _text(form, "service_code")
    row = catalogs.event_type(code) if code else None
    if not code:
        errors.append({"field": "service_code", "reason": "必填项 (required)"})
    elif row is None:
        errors.append({"field": "service_code", "reason": f"unknown service code {code!r} (附录A 表A.1 中没有此事项)"})
    elif row.get("retired"):
        errors.append({"field": "service_code", "reason": f"{code} 已停用 (retired: no longer offered for new reports)"})
    address = _text(form, "address_string")
    if address and not _text(form, "lat") and not _text(form, "long"):
        lat = lng = None        # GeoReport: lat/long or address_string; an address alone is placed by the city
    else:
        lat, lng = _number(form, "lat", errors), _number(form, "long", errors)
    crs = _text(form, "crs")
    if crs and crs not in SYSTEMS:
        errors.append({"field": "crs", "reason": f"未知坐标系 {crs!r}，应为 {' / '.join(SYSTEMS)} "
                                                 "(unknown coordinate system)"})
    media = _text(form, "media_url")
    if media and not media.startswith(("https://", "http://")):
        errors.append({"field": "media_url", "reason": "应为 http(s) 地址 (expected an http(s) URL)"})
    notes = _attribute_notes(form, errors)
    if errors:
        raise InvalidData(errors)
    description = _text(form, "description") or _service_name(row)  # GeoReport: description is optional
    if notes:
        description = f"{description}\n（{'；'.join(notes)}）"
    address = address or f"{lat:.6f}, {lng:.6f}"
    location = {"address": address} if lat is None else {"lat": lat, "lng": lng, "address": address}
    if crs:
        location["crs"] = crs
    payload = {"source": "citizen", "type_code": code, "description": description, "location": location}
    contact = {"name": _name(_text(form, "first_name"), _text(form, "last_name")),
               "phone": _text(form, "phone"), "email": _text(form, "email")}
    if any(contact.values()):
        payload["reporter_contact"] = {k: v for k, v in contact.items() if v}
    if media:
        payload["photos"] = [media]
    errors = forms.validate(events.EVENT_SCHEMA, payload)
    if errors:
        raise InvalidData(errors)
    return payload


def _name(first: str, last: str) -> str:
    """A Chinese name is written family name first, without a space (陈 + 芳 → 陈芳)."""
    if _HAN.search(first + last):
        return f"{last}{first}"
    return " ".join(p for p in (first, last) if p)


def _attribute_notes(form: dict, errors: list) -> list[str]:
    """attribute[code]=value, checked against ATTRIBUTES; kept in the description in words."""
    known = {a["code"]: a for a in ATTRIBUTES}
    notes = []
    for name, value in form.items():
        if not (name.startswith("attribute[") and name.endswith("]")):
            continue
        code, value = name[len("attribute["):-1], (value or "").strip()
        attribute = known.get(code)
        if attribute is None:
            errors.append({"field": name, "reason": f"未知属性，应为 {' / '.join(known)} (unknown attribute)"})
        elif not value:
            continue
        elif attribute["datatype"] == "datetime":
            try:
                notes.append(f"{attribute['description']}：{local(parse_instant(value))}")
            except ValueError:
                errors.append({"field": name, "reason": "应为带时区的日期时间，如 2026-10-08T08:30:00+08:00 "
                                                        "(an ISO 8601 date-time with offset)"})
        else:
            choice = next((v for v in attribute["values"] if value in (v["key"], v["name"])), None)
            if choice is None:
                keys = " / ".join(v["key"] for v in attribute["values"])
                errors.append({"field": name, "reason": f"应为 {keys} (not one of the values)"})
            else:
                notes.append(f"{attribute['description']}：{choice['name']}")
    return notes


def receipt(event: Event, catalogs, account_id: str | None = None) -> dict:
    """The answer to POST requests: the readable number and the citizen's token."""
    if event.community is None:
        city = (catalogs.unit(catalogs.city_authority()) or {}).get("name", "市级主管部门")
        notice = f"已登记，编号 {event.number}，由{city}按地址分拨定位后转所属社区核实办理（§7.1）"
    else:
        community = (catalogs.community(event.community) or {}).get("name", event.community)
        notice = f"已登记，编号 {event.number}，由{community}核实办理（§7.1）"
    return {"service_request_id": event.number, "token": event.public_token, "service_notice": notice,
            "account_id": account_id or None}


# -- public reads -----------------------------------------------------------------------------------

def public_types(catalogs) -> list[str]:
    """The Table A.1 types the public may read of (rows 1–3, the sensitive ones, never)."""
    return [row["code"] for row in catalogs.get("event_types") if not row.get("sensitive")]


def _public(catalogs, event=Event):
    """SQL condition: citizens' reports of the non-sensitive Table A.1 types (`event`: Event or an alias)."""
    return (event.source == "citizen") & event.type_code.in_(public_types(catalogs))


def _list_arg(args: dict, name: str) -> list[str]:
    return [part.strip() for part in (args.get(name) or "").split(",") if part.strip()]


def _instant_arg(args: dict, name: str):
    text = (args.get(name) or "").strip()
    if not text:
        return None
    try:
        return parse_instant(text)
    except ValueError:
        raise InvalidData([{"field": name, "reason": f"应为带时区的 ISO 8601 日期时间，收到 {text[:40]!r} "
                                                     "(e.g. 2026-10-08T09:00:00+08:00)"}]) from None


#: GET requests' order: the newest request first, the event id breaking ties
ORDER = paging.Order("open311", Event.created_at, Event.id, descending=True)


def find_requests(session, catalogs, args: dict, now) -> paging.Page:
    """GET requests. `service_request_id` (comma-separated numbers) overrides the other filters;
    otherwise `service_code`, `status` (open, closed; comma-separated) and the date range of
    `requested_datetime`: `start_date`/`end_date`, at most 90 days, by default the 90 days before now
    (the business clock). Newest first: `limit` a page (at most and by default 1000, as before pages), and
    `cursor` the page after (or before) one given (engine/store/paging.py)."""
    page = paging.page_request(args.get("cursor"), args.get("limit"), MAX_RESULTS, MAX_RESULTS)
    query = select(Event).where(_public(catalogs))
    numbers = _list_arg(args, "service_request_id")
    if numbers:
        query = query.where(Event.number.in_(numbers[:MAX_RESULTS]))
    else:
        errors = []
        codes = _list_arg(args, "service_code")
        for code in codes:
            if catalogs.event_type(code) is None:
                errors.append({"field": "service_code", "reason": f"unknown service code {code!r}"})
        states = _list_arg(args, "status")
        for state in states:
            if state not in ("open", "closed"):
                errors.append({"field": "status", "reason": f"应为 open 或 closed，收到 {state!r}"})
        if errors:
            raise InvalidData(errors)
        start, end = _window(args, now)
        query = query.where(Event.created_at >= start, Event.created_at <= end)
        if codes:
            query = query.where(Event.type_code.in_(codes))
        if states == ["open"]:
            query = query.where(Event.status.in_(OPEN_STATES))
        elif states == ["closed"]:
            query = query.where(Event.status.not_in(OPEN_STATES))
    found = paging.fetch(session, query, ORDER, page)
    return found.map(lambda rows: describe_many(session, catalogs, rows))


def _window(args: dict, now):
    start, end = _instant_arg(args, "start_date"), _instant_arg(args, "end_date")
    if start is None and end is None:
        end = now
    if start is None:
        start = end - WINDOW
    if end is None:
        end = start + WINDOW
    if end < start:
        raise InvalidData([{"field": "end_date", "reason": "早于 start_date (is before start_date)"}])
    if end - start > WINDOW:
        raise InvalidData([{"field": "end_date", "reason": "查询范围不能超过90天 (the range may span at most 90 days)"}])
    return start, end


def find_request(session, catalogs, number: str) -> list[dict]:
    """GET requests/{id}: a list of one; NotFound for an unknown number or one that is not public."""
    event = session.scalar(select(Event).where(_public(catalogs), Event.number == number))
    if event is None:
        raise NotFound(f"service_request_id: no public request {number!r}", field="service_request_id")
    return describe_many(session, catalogs, [event])


def find_token(session, token: str) -> list[dict]:
    """GET tokens/{token}: the request the citizen's token stands for."""
    number = session.scalar(select(Event.number).where(Event.public_token == token)) if token else None
    if number is None:
        raise NotFound("token: unknown token", field="token")
    return [{"service_request_id": number, "token": token}]


def describe_many(session, catalogs, rows: list[Event]) -> list[dict]:
    ids = [e.id for e in rows]
    updated = dict(session.execute(select(Audit.event_id, func.max(Audit.at)).where(Audit.event_id.in_(ids))
                                   .group_by(Audit.event_id)).all()) if ids else {}
    followed = _followed(session, rows)
    handling = {e.id: followed.get(e.id, e) for e in rows}      # the event each request's matter is with now
    outcomes = _outcomes(session, [e.id for e in [*rows, *followed.values()]
                                   if e.status == "closed" and not e.status_reason])
    live = {e.id: e for e in handling.values() if e.status == "open"}
    expected, latest = _expected(session, list(live)), latest_stages(session, catalogs, list(live.values()))
    return [describe(e, catalogs, updated.get(e.id), outcomes.get(e.id), followed.get(e.id),
                     outcomes.get(followed[e.id].id) if e.id in followed else None,
                     stage=latest.get(handling[e.id].id), expected=expected.get(handling[e.id].id)) for e in rows]


def _expected(session, ids: list[int]) -> dict:
    """GeoReport `expected_datetime`: when the work in hand is due — the latest due time of the event's
    pending deadline records (engine/limits/deadlines.py; an approved extension moves it, §8.4). The community's
    own steps' limits (§8.1 核实, 研判, 吹哨, 核查: catalogs/data/step_limits.json) are the community's working
    clock, not when the request is expected done: None while only they run, or the instance is suspended (its
    deadlines paused)."""
    if not ids:
        return {}
    return dict(session.execute(select(Deadline.event_id, func.max(Deadline.due_at))
                                .where(Deadline.event_id.in_(ids), Deadline.status == "pending",
                                       Deadline.kind.not_in(STEPS))
                                .group_by(Deadline.event_id)).all())


def latest_stages(session, catalogs, rows: list[Event]) -> dict[int, stages.Stage]:
    """The latest stage (engine/channels/stages.py) of each event, a citizen's own update not counted."""
    found: dict[int, stages.Stage] = {}
    by_id = {e.id: e for e in rows}
    if not by_id:
        return found
    trail = session.execute(select(Audit.event_id, Audit.action, Audit.data, Audit.task_name)
                            .where(Audit.event_id.in_(list(by_id)), Audit.action.in_(stages.ACTIONS),
                                   Audit.action != "citizen_update")
                            .order_by(Audit.event_id, Audit.id.desc()))
    for event_id, action, data, task_name in trail:
        if event_id not in found:
            stage = stages.of(action, data, task_name, by_id[event_id], catalogs)
            if stage is not None:
                found[event_id] = stage
    return found


def _next(event: Event) -> int | None:
    return event.merged_into_id or event.transferred_to_id


def _followed(session, rows: list[Event], hops: int = 5) -> dict[int, Event]:
    """Where each request's matter went: the event it was merged into (合并) or transferred to (转办),
    followed along the chain (a transfer may be transferred again) to the event handling it now."""
    known = {e.id: e for e in rows}
    for _ in range(hops):
        wanted = {_next(e) for e in known.values()} - {None} - set(known)
        if not wanted:
            break
        known.update({e.id: e for e in session.scalars(select(Event).where(Event.id.in_(wanted)))})
    found = {}
    for event in rows:
        current, seen = event, {event.id}
        while _next(current) in known and _next(current) not in seen:
            current = known[_next(current)]
            seen.add(current.id)
        if current is not event:
            found[event.id] = current
    return found


def _outcomes(session, ids: list[int]) -> dict[int, str]:
    """The last written result (处置结果, §8.5) of each closed event."""
    found = {}
    if ids:
        rows = session.execute(select(Audit.event_id, Audit.data).where(
            Audit.event_id.in_(ids), Audit.action == contracts.TASK_COMPLETED).order_by(Audit.id))
        for event_id, data in rows:
            if isinstance(data, dict) and isinstance(data.get(contracts.RESULT_SUMMARY), str) and data[contracts.RESULT_SUMMARY]:
                found[event_id] = data[contracts.RESULT_SUMMARY]
    return found


def status_notes(event: Event, outcome: str | None = None, stage: stages.Stage | None = None) -> str:
    """The stage or the outcome in the words staff use: 受理：…, 吹哨派单：…, 延期：…, 办结：…, 退回来源：<reason>.
    An open event says its latest stage (engine/channels/stages.py); an ended one its outcome."""
    if event.status == "error":
        return "已登记，等待处理"
    if event.status == "open" and stage is not None:
        paused = "（已挂起，暂停办理）" if (event.stage or "").startswith("已挂起") else ""
        return stage.description + paused
    word = events.STATUS_WORDS.get(event.status, event.status)
    detail = event.stage if event.status == "open" else (event.status_reason or outcome)
    if not detail:
        return word
    return detail if detail.startswith(word) else f"{word}：{detail}"


def describe(event: Event, catalogs, audited=None, outcome: str | None = None, followed: Event | None = None,
             followed_outcome: str | None = None, stage: stages.Stage | None = None, expected=None) -> dict:
    """One request as the public sees it: no reporter, contact, account or device. A request merged into
    another event (engine/pool/duplicates.py) or transferred to another community's pool (转办, §7.1) follows
    that event: open while it is, then its outcome."""
    row = catalogs.event_type(event.type_code) or {}
    agency = catalogs.unit(event.lead_unit) if event.lead_unit else catalogs.community(event.community) \
        if event.community else catalogs.unit(catalogs.city_authority())   # not yet placed: the city's 分拨
    times = [t for t in (audited, event.closed_at, event.created_at) if t is not None]
    status, notes = ("open" if event.status in OPEN_STATES else "closed"), status_notes(event, outcome, stage)
    if followed is not None:
        status = "open" if followed.status in OPEN_STATES else "closed"
        if event.merged_into_id:
            notes = f"已并入 {followed.number} 办理：{status_notes(followed, followed_outcome, stage)}"
        else:
            community = (catalogs.community(followed.community) or {}).get("name", followed.community)
            notes = f"已转 {followed.number}（{community}）办理：{status_notes(followed, followed_outcome, stage)}"
    return {"service_request_id": event.number, "status": status, "status_notes": notes,
            "service_name": _service_name(row) if row else event.type_code,
            "service_code": event.type_code, "description": event.description,
            "agency_responsible": (agency or {}).get("name"),
            "requested_datetime": local(event.created_at), "updated_datetime": local(max(times, key=_utc)),
            "expected_datetime": local(expected) if status == "open" else None,
            "address": event.address, "lat": event.lat, "long": event.lng,
            # a URL the source sent; stored photos (keys) are served only to those who may see the event
            "media_url": next((p for p in event.photos or [] if str(p).startswith(("http://", "https://"))), None)}


def _utc(value):
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
