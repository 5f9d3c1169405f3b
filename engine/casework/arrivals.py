"""到场 check-in (§8.3 现场类处置事项1小时内到场): where the department said it was, against where the event is.

The 到场 form (processes/forms/arrive.json) asks for the position on arrival (`arrival_location`, WGS-84 from the
phone's GPS). Right after it, the diagram's 核对到场位置 (`check_arrival`, processes/event_flow.bpmn) measures the
geodesic distance on the WGS-84 ellipsoid to the event's location (engine/pool/location.py, pyproj) and keeps one
`arrival_check` row: further than EVENTFLOW_ARRIVAL_FAR_M (default 300 m) is **far** — a check-in made somewhere
else. Nothing is refused (the work goes on: a phone's fix can be poor indoors), but a far one is

- flagged on the event (its detail's `arrival_checks`, the event page's 到场核验), and audited (`arrival_checked`);
- an entry of the circular (§9.1, engine/oversight/circular.py category 到场位置偏离) against the unit that arrived
  and the person who checked in, in the period it was made — one line a check-in, which the assessment deducts
  like every entry of the circular.

A sensitive event's check-in is part of its content: the event's readers see it; the circular shows it to those
who may not see the event as 「涉密事件 N 件」 (engine/accounts/privacy.py), as it does every entry.
"""
from __future__ import annotations

from sqlalchemy import bindparam, select

from engine.core.clock import local
from engine.pool.location import distance_m
from engine.store.models import ArrivalCheck, User

#: the audit action of a check-in (its data: distance_m, limit_m, far)
CHECKED = "arrival_checked"
#: the circular's category of a far check-in (§9.1)
CATEGORY = "到场位置偏离"


def reason(distance: float | None, limit: float) -> str:
    """What the event and the circular say of a check-in."""
    if distance is None:
        return "事件无定位，无法核对到场位置"
    if distance > limit:
        return f"到场定位距事件位置 {distance:.0f} 米，超过 {limit:.0f} 米（§8.3 到场）"
    return f"到场定位距事件位置 {distance:.0f} 米（{limit:.0f} 米以内）"


def check(ctx, task, location, unit=None) -> dict:
    """核对到场位置: measure the check-in `location` ({lat, lng}, WGS-84) against the event's point and keep it;
    `unit` is the unit that arrived (the lead department). {distance_m, limit_m, far} for the diagram."""
    event, limit = ctx.event, float(ctx.arrival_far_m)
    lat, lng = float(location["lat"]), float(location["lng"])
    distance = None if event.lat is None else round(distance_m(event.lat, event.lng, lat, lng), 1)
    far = distance is not None and distance > limit
    said = reason(distance, limit)
    ctx.session.add(ArrivalCheck(event_id=event.id, instance_id=ctx.instance_id, unit=unit, person=ctx.actor,
                                 community=event.community, lat=lat, lng=lng, distance_m=distance, limit_m=limit,
                                 far=far, reason=said, checked_at=ctx.now()))
    ctx.record(CHECKED, {"unit": unit, "distance_m": distance, "limit_m": limit, "far": far, "reason": said}, task=task)
    return {"distance_m": distance, "limit_m": limit, "far": far}


_OF_EVENT = select(ArrivalCheck).where(ArrivalCheck.event_id == bindparam("event_id")).order_by(ArrivalCheck.id)


def of_event(session, catalogs, event_id: int) -> list[dict]:
    """The event's check-ins, oldest first, as its detail shows them: who (display name, unit name), where, how far."""
    rows = list(session.scalars(_OF_EVENT, {"event_id": event_id}))
    people = {u.username: u.display_name for u in session.scalars(
        select(User).where(User.username.in_({r.person for r in rows if r.person})))} if rows else {}
    return [{"checked_at": local(r.checked_at), "unit": r.unit,
             "unit_name": (catalogs.unit(r.unit) or {}).get("name", r.unit) if r.unit else None,
             "person": r.person, "person_name": people.get(r.person, r.person),
             "location": {"lat": r.lat, "lng": r.lng}, "distance_m": r.distance_m, "limit_m": r.limit_m,
             "far": r.far, "reason": r.reason} for r in rows]
