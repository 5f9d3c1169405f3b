"""Where an event is (§7.1 登记: location), and whose it is (属地 jurisdiction).

Coordinates are stored as WGS-84. Most Chinese map SDKs and hotline geocoders give GCJ-02 (Baidu's
give BD-09); mixing them shifts a point by hundreds of metres, enough to put it in the neighbouring
community. A source declares its system (`crs`), and the point is converted with prcoords (the exact
iterative inverse, not the one-step approximation).

Jurisdiction is the community whose boundary (catalogs/data/communities.geojson) holds the point:
the receiving community if it holds it; another community → the event goes to that community's pool
(audited); no community → refused back to the source with the reason (issue #5).
"""
from __future__ import annotations

from dataclasses import dataclass

import prcoords

#: coordinate systems a source may declare
SYSTEMS = {"wgs84": "WGS-84 (GPS)", "gcj02": "GCJ-02 (高德/腾讯/国内地图)", "bd09": "BD-09 (百度地图)"}


def to_wgs84(lat: float, lng: float, crs: str = "wgs84") -> tuple[float, float]:
    """(lat, lng) in WGS-84 from a point in `crs`."""
    if crs == "wgs84":
        return lat, lng
    if crs == "gcj02":
        point = prcoords.gcj_wgs_bored(prcoords.Coords(lat, lng))
    elif crs == "bd09":
        point = prcoords.bd_wgs_bored(prcoords.Coords(lat, lng))
    else:
        raise ValueError(f"unknown coordinate system {crs!r} (one of {', '.join(SYSTEMS)})")
    return round(point.lat, 7), round(point.lon, 7)


@dataclass(frozen=True)
class Placement:
    """Where a report lands: the community that holds the point, and whether that is not the one
    the report was sent to (then it is routed there, and the routing audited)."""

    community: str | None
    asked: str | None

    @property
    def rerouted(self) -> bool:
        return self.community is not None and self.asked is not None and self.community != self.asked


def place(catalogs, lat: float, lng: float, asked: str | None) -> Placement:
    return Placement(catalogs.community_at(lat, lng), asked)
