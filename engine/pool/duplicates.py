"""Duplicates across channels (issue #5, §5, §7.1): the same matter reported twice — a citizen on the
12345 hotline and a grid worker on patrol, or two citizens on two apps — is one event to handle.

A new event of the same type within a distance and a time of an *open* one is flagged for the
registrar (登记核实, §7.1: the community's staff), never merged by itself: two stalls on one street
corner are two events. The registrar merges it (合并) or clears the flag. A merge is a BPMN message
(`merge`, processes/community_event.bpmn) to the duplicate's process: its open work and timers are
cancelled, its source is told where the matter went, and from then on every outcome of the surviving
event reaches the merged reports' sources too (handlers/notify.py; Open311 shows the survivor's state).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Row, bindparam, select

from engine.accounts import permissions
from engine.core.clock import local
from engine.core.errors import Conflict, InvalidData
from engine.core.ids import MAX_ID, is_record_id
from engine.pool.location import distance_m
from engine.store.models import Audit, Event
from engine.store.rows import insert_all, update_loaded

#: who may decide on a duplicate: the registrar of the event's community, or the city above it


@dataclass(frozen=True)
class Window:
    """How near in space and time a report must be to an open one to be flagged."""

    radius_m: float = 200.0
    within: timedelta = timedelta(hours=24)


#: the columns a candidate is measured and named by (not whole events: a busy corner's reports would each load
#: up to 50 rows with their JSON decoded)
_NEAR = (select(Event.id, Event.number, Event.lat, Event.lng).where(
    Event.id != bindparam("id"), Event.type_code == bindparam("type_code"), Event.status == "open",
    Event.merged_into_id.is_(None), Event.created_at >= bindparam("since"), Event.created_at <= bindparam("until"),
    Event.lat.between(bindparam("south"), bindparam("north")), Event.lng.between(bindparam("west"), bindparam("east")))
    .order_by(Event.id).limit(50))


def candidate(session, event: Event, window: Window) -> tuple[Row, float] | None:
    """The open event this one most likely repeats, as (its id, number, lat, lng) and the distance: same
    type, reported within the window before it, within the radius; the nearest (then the earliest).
    Candidates are found through the type and time indexes and a bounding box, then measured on the
    ellipsoid."""
    if event.lat is None or event.lng is None:
        return None
    dlat = window.radius_m / 111_000 * 1.01
    dlng = dlat / max(math.cos(math.radians(event.lat)), 0.01)
    rows = session.execute(_NEAR, {"id": event.id, "type_code": event.type_code,
                                   "since": event.created_at - window.within, "until": event.created_at,
                                   "south": event.lat - dlat, "north": event.lat + dlat,
                                   "west": event.lng - dlng, "east": event.lng + dlng})
    best = None
    for row in rows:
        metres = distance_m(event.lat, event.lng, row.lat, row.lng)
        if metres <= window.radius_m and (best is None or metres < best[1]):
            best = (row, metres)
    return best


def flag(session, event: Event, window: Window, now) -> Row | None:
    """Flag a newly registered event that repeats an open one (audited on both). Returns the original's
    id, number, lat and lng."""
    found = candidate(session, event, window)
    if found is None:
        return None
    original, metres = found
    # written as statements, the loaded event told (a new report's unit: nothing left for the ORM to flush)
    update_loaded(session, event, {"duplicate_of_id": original.id})
    data = {"duplicate_of": original.number, "event": event.number, "distance_m": round(metres, 1),
            "source": event.source, "channel": event.channel}
    insert_all(session, Audit, [dict(at=now, actor="system", action="duplicate_suspected", event_id=event.id, data=data),
                                dict(at=now, actor="system", action="duplicate_reported", event_id=original.id, data=data)])
    return original


def describe_flag(session, event: Event, user, catalogs) -> dict | None:
    """What the registrar sees on a flagged event: the open event it seems to repeat, and how near — only
    if the user may see that event too (a sensitive one, another community's: nothing of it, issue #15)."""
    if event.duplicate_of_id is None:
        return None
    original = session.scalar(select(Event).where(Event.id == event.duplicate_of_id,
                                                  permissions.events_of(user, catalogs)))
    if original is None:
        return None
    return {"id": original.id, "number": original.number, "status": original.status,
            "source": original.source, "description": original.description,
            "created_at": local(original.created_at),
            "distance_m": round(distance_m(event.lat, event.lng, original.lat, original.lng), 1)}


def related(session, event: Event, user, catalogs) -> dict:
    """Reports flagged as repeating this event, and reports merged into it (they follow it): those the user
    may see."""
    rows = session.scalars(select(Event).where((Event.duplicate_of_id == event.id) | (Event.merged_into_id == event.id),
                                               permissions.events_of(user, catalogs)).order_by(Event.id))
    flagged, merged = [], []
    for row in rows:
        item = {"id": row.id, "number": row.number, "source": row.source, "channel": row.channel,
                "status": row.status, "created_at": local(row.created_at)}
        (merged if row.merged_into_id == event.id else flagged).append(item)
    return {"suspected_duplicates": [i for i in flagged if i["status"] == "open"], "merged_reports": merged}


def check_merge(session, duplicate: Event, body, user, catalogs) -> tuple[Event, str]:
    """The surviving event and the reason, or a 422/409/403 naming what is wrong."""
    body = body if isinstance(body, dict) else {}
    into, reason = body.get("into"), body.get("reason")
    errors = []
    if not is_record_id(into):   # a number past the database's INTEGER names no event (engine/core/ids.py)
        errors.append({"field": "into", "reason": f"须为保留事件的编号 id，1 至 {MAX_ID} 的整数 "
                                                  f"(the id of the event to keep, a whole number from 1 to {MAX_ID})"})
    if not isinstance(reason, str) or len(reason.strip()) < 2:
        errors.append({"field": "reason", "reason": "请说明理由，至少2个字 (a reason of at least 2 characters)"})
    if errors:
        raise InvalidData(errors)
    if into == duplicate.id:
        raise InvalidData([{"field": "into", "reason": "不能并入自身 (an event cannot be merged into itself)"}])
    # only an event the user may see can be named: nothing of another is told, not even that it exists
    survivor = session.scalar(select(Event).where(Event.id == into, permissions.events_of(user, catalogs)))
    if survivor is None:
        raise InvalidData([{"field": "into", "reason": f"事件 {into} 不存在 (no such event)"}])
    permissions.may_merge(user, duplicate, survivor)
    if duplicate.status != "open":
        raise Conflict(f"事件 {duplicate.number} 已不在办理中，不能合并 (only an open event can be merged)",
                       event_status=duplicate.status)
    if survivor.status != "open" or survivor.merged_into_id is not None:
        raise Conflict(f"保留事件 {survivor.number} 已不在办理中 (the event to keep must be open)",
                       field="into", event_status=survivor.status)
    if survivor.type_code != duplicate.type_code:
        raise InvalidData([{"field": "into", "reason": f"事件类型不同（{duplicate.type_code} 与 {survivor.type_code}），"
                                                      "不是同一事项 (different event types are not one matter)"}])
    return survivor, reason.strip()[:2000]


def merged(session, duplicate: Event, survivor: Event, reason: str, user, now) -> None:
    """After the duplicate's process took the merge message: link the two and audit both."""
    duplicate.merged_into_id, duplicate.duplicate_of_id = survivor.id, survivor.id
    data = {"duplicate": duplicate.number, "into": survivor.number, "reason": reason, "source": duplicate.source,
            "channel": duplicate.channel}
    session.add(Audit(at=now, actor=user.username, action="merged_into", event_id=duplicate.id, data=data))
    session.add(Audit(at=now, actor=user.username, action="merged_from", event_id=survivor.id, data=data))


def dismiss(session, event: Event, reason, user, now) -> None:
    """不是重复: the registrar clears the flag (audited with the reason)."""
    if not isinstance(reason, str) or len(reason.strip()) < 2:
        raise InvalidData([{"field": "reason", "reason": "请说明理由，至少2个字 (a reason of at least 2 characters)"}])
    permissions.may_merge(user, event)
    if event.duplicate_of_id is None or event.merged_into_id is not None:
        raise Conflict(f"事件 {event.number} 没有待处理的重复标记 (the event is not flagged as a duplicate)")
    original = event.duplicate_of_id
    event.duplicate_of_id = None
    session.add(Audit(at=now, actor=user.username, action="duplicate_dismissed", event_id=event.id,
                      data={"duplicate_of": original, "reason": reason.strip()[:2000]}))


_FOLLOWERS = select(Event).where(Event.merged_into_id == bindparam("event_id")).order_by(Event.id)


def followers(session, event_id: int) -> list[Event]:
    """The reports merged into an event: its outcomes reach their sources too."""
    return list(session.scalars(_FOLLOWERS, {"event_id": event_id}))
