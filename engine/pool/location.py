"""Where an event is (§7.1 登记: location), and whose it is (属地 jurisdiction).

Coordinates are stored as WGS-84. Most Chinese map SDKs and hotline geocoders give GCJ-02 (Baidu's
give BD-09); mixing them shifts a point by hundreds of metres, enough to put it in the neighbouring
community. A source declares its system (`crs`), and the point is converted with prcoords (the exact
iterative inverse, not the one-step approximation).

Jurisdiction (the community whose boundary holds the point) is engine/pool/intake.py's, over
`catalogs.community_at` (shapely, catalogs/data/communities.geojson). Distances (a duplicate report's,
a photo's from its event) are geodesic on the WGS-84 ellipsoid (pyproj).
"""
from __future__ import annotations

import prcoords
from pyproj import Geod

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


_GEOD = Geod(ellps="WGS84")


def distance_m(lat1, lng1, lat2, lng2) -> float:
    """Geodesic distance between two WGS-84 points on the ellipsoid, metres (pyproj)."""
    return abs(_GEOD.inv(lng1, lat1, lng2, lat2)[2])
