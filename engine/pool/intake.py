"""How a submission from any of the six sources (§5) becomes one event of the pool (§7.1 登记).

- **Idempotency.** Every submission may carry a key (an `Idempotency-Key` header, or the source's own
  reference: the hotline's work-order number, a device's alert id). Keys live in one namespace per
  source ("user:grid1", "open311:hotline_12345", "device:cam-7"); a retry with a known key returns the
  event it created, and two racing retries meet at the unique index.
- **Location.** Coordinates arrive in the system the source declares (engine/pool/location.py) and are
  stored as WGS-84.
- **Jurisdiction (属地, §7.1).** The community whose boundary holds the point owns the event. A point in
  another community's area sends the event to that community's pool (audited as `jurisdiction_routed`);
  a point in no community is refused back to the source with the reason, before anything is stored.
"""
from __future__ import annotations

from sqlalchemy import bindparam, select

from engine.core.errors import InvalidData
from engine.pool.location import SYSTEMS, to_wgs84
from engine.store.models import Event

#: the longest key a source may send (the stored key adds its namespace)
MAX_KEY = 200


def key_for(namespace: str, ref) -> str | None:
    """The stored idempotency key of a submission, or None when it carries none."""
    if ref is None or ref == "":
        return None
    ref = str(ref).strip()
    if not ref or len(ref) > MAX_KEY:
        raise InvalidData([{"field": "source_ref", "reason": f"幂等键应为1至{MAX_KEY}个字符 "
                                                             f"(an idempotency key of 1 to {MAX_KEY} characters)"}])
    return f"{namespace}:{ref}"


_BY_KEY = select(Event).where(Event.intake_key == bindparam("key"))


def existing(session, key: str | None) -> Event | None:
    """The event an earlier submission with this key created."""
    if key is None:
        return None
    return session.scalar(_BY_KEY, {"key": key})


def locate(location: dict, catalogs, default_crs: str = "wgs84") -> tuple[dict, str]:
    """(location in WGS-84, the community that holds it). Raises InvalidData naming `location` when the
    point lies in no community: the report goes back to its source with that reason (§7.1)."""
    crs = location.get("crs") or default_crs
    if crs not in SYSTEMS:
        raise InvalidData([{"field": "location.crs",
                            "reason": f"未知坐标系 {crs!r}，应为 {' / '.join(SYSTEMS)} (unknown coordinate system)"}])
    lat, lng = to_wgs84(float(location["lat"]), float(location["lng"]), crs)
    community = catalogs.community_at(lat, lng)
    if community is None:
        raise InvalidData([{"field": "location", "reason":
                            f"位置（{lat:.6f}, {lng:.6f}，WGS-84）不在任何社区辖区内，已退回来源 "
                            "(the point lies in no community's area: returned to the source)"}])
    return {"lat": lat, "lng": lng, "address": location.get("address") or "", "crs": crs}, community


def unplaced(location: dict) -> dict:
    """The location of a report that gave an address but no coordinates: placed later (分拨, §7.1) by
    the `place_event` handler through `locate`."""
    return {"lat": None, "lng": None, "address": location["address"], "crs": location.get("crs")}
