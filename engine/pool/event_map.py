"""The event page's map (issue #20): the event's community boundary and its point, the 到场 check-ins with their
distance from it (§8.3, engine/casework/arrivals.py), and its neighbours — the other open events nearby, by type —
as one GeoJSON FeatureCollection (WGS-84 [lng, lat]) for the page's Leaflet map and `GET /api/events/{id}/map`.

Who sees what: the map is the event's content, so it is read only by those who may see the event, and that read is
recorded for a sensitive one (`reading.visible`). A neighbour is an event in its own right: only those the reader may
see are on the map (`permissions.events_of`: their scope, and Table A.1 rows 1–3 only for the police, the designated
cadres and their reporter). A sensitive neighbour the reader may not see is left out altogether — no point, no
count: where a 重点人员 event lies is itself its content. A sensitive neighbour the reader may see is shown, and the
read recorded (`privacy.disclose`, where `map_neighbours`).

Neighbours are found through a bounding box around the point (on the open events: their status index), then measured
on the WGS-84 ellipsoid (pyproj), the nearest first; at most `NEIGHBOURS` of them, from the newest `SCANNED` in the box.
"""
from __future__ import annotations

import math

from sqlalchemy import bindparam, select

from engine.accounts import permissions, privacy
from engine.casework import arrivals
from engine.core.clock import local
from engine.pool.location import distance_m
from engine.pool.reading import visible
from engine.store.db import PLANNED
from engine.store.models import Event

#: the most neighbours a map shows (the nearest), and the most open events of the box measured (the newest)
NEIGHBOURS = 200
SCANNED = 2000
#: how much of a neighbour's description the map shows
SHORT = 60


def map_data(cmd, event_id: int, radius_m: float = 1000.0) -> dict:
    """The event's map as a FeatureCollection: `community` (its boundary), `event` (its point), `arrival` (each
    到场 check-in, its distance and whether it was too far) and `neighbour` features (open events the reader may
    see within `radius_m` of the point), with `radius_m` and `neighbours` (how many are shown)."""
    event = visible(cmd, event_id, "map")
    catalogs = cmd.catalogs
    features = [{"type": "Feature", "geometry": f["geometry"],
                 "properties": {"kind": "community", "code": event.community, "name": f["properties"].get("name")}}
                for f in catalogs.get("communities")["features"] if f["properties"]["code"] == event.community]
    if event.lat is not None and event.lng is not None:
        features.append(_point(event.lng, event.lat, {"kind": "event", "name": event.number, "event_id": event.id,
                                                      "type_name": _type_name(catalogs, event.type_code)}))
    for check in arrivals.of_event(cmd.session, catalogs, event.id):
        where = check["location"]
        features.append(_point(where["lng"], where["lat"], {
            "kind": "arrival", "checked_at": check["checked_at"], "unit_name": check["unit_name"],
            "person_name": check["person_name"], "distance_m": check["distance_m"], "limit_m": check["limit_m"],
            "far": check["far"], "reason": check["reason"]}))
    near = neighbours(cmd, event, radius_m)
    return {"type": "FeatureCollection", "features": features + near, "radius_m": radius_m, "neighbours": len(near)}


_BOX = (select(Event).where(
    Event.status == "open", Event.id != bindparam("id"), Event.merged_into_id.is_(None),
    Event.lat.between(bindparam("south"), bindparam("north")), Event.lng.between(bindparam("west"), bindparam("east"))))


def neighbours(cmd, event: Event, radius_m: float) -> list[dict]:
    """The open events within `radius_m` of the event that the reader may see, nearest first, as point features
    with their number, type (Table A.1's category, or Appendix B's matter), stage, address, the first words of
    their description and their distance; none when the event has no point."""
    if event.lat is None or event.lng is None or radius_m <= 0:
        return []
    session, catalogs, user = cmd.session, cmd.catalogs, cmd.user
    dlat = radius_m / 111_000 * 1.01
    dlng = dlat / max(math.cos(math.radians(event.lat)), 0.01)
    query = permissions.per_user(_QUERIES, user, catalogs, lambda: _BOX.where(permissions.events_of(user, catalogs))
                                 .order_by(Event.id.desc()).limit(SCANNED))
    rows = session.scalars(query, {"id": event.id, "south": event.lat - dlat, "north": event.lat + dlat,
                                   "west": event.lng - dlng, "east": event.lng + dlng},
                           execution_options=PLANNED)    # the reader's scope and the box decide
    measured = sorted(((distance_m(event.lat, event.lng, row.lat, row.lng), row.id, row) for row in rows),
                      key=lambda found: found[:2])
    shown, now = [], cmd.now()
    for metres, _id, row in measured:
        if metres > radius_m or len(shown) == NEIGHBOURS:
            break
        privacy.disclose(session, catalogs, user, row, now, "map_neighbours")     # a sensitive one they may see
        text = row.description or ""
        shown.append(_point(row.lng, row.lat, {
            "kind": "neighbour", "event_id": row.id, "number": row.number, "type_code": row.type_code,
            "type_name": _type_name(catalogs, row.type_code), "stage": row.stage, "address": row.address,
            "description": text[:SHORT] + ("…" if len(text) > SHORT else ""),
            "created_at": local(row.created_at), "distance_m": round(metres, 1)}))
    return shown


_QUERIES: dict = {}


def _point(lng: float, lat: float, properties: dict) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lng, lat]}, "properties": properties}


def _type_name(catalogs, code: str | None) -> str:
    """Table A.1's category (市容环境卫生 …) or the Appendix B matter, as 待办's map names a type."""
    kind = catalogs.event_type(code) or catalogs.one_thing_matter(code) or {}
    return kind.get("category") or kind.get("name") or code or ""
