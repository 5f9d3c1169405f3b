"""The tile layers of the app's maps (the event page, 待办's map; docs/maps.md): what the settings name, as the
pages' map script (web/static/map_tiles.js) takes it. No tile URL: no layer — the maps still draw the community
boundaries and the points on a blank ground."""
from __future__ import annotations

from markupsafe import escape


def tiles(settings) -> dict:
    """{url, labels, subdomains, key, attribution, maxZoom}, or {} without EVENTFLOW_MAP_TILES. The attribution is
    text (Leaflet would take it as HTML)."""
    if not settings.map_tiles:
        return {}
    raw = settings.map_subdomains or ""
    subdomains = [part.strip() for part in raw.split(",") if part.strip()] if "," in raw else raw
    return {"url": settings.map_tiles, "labels": settings.map_labels or None, "subdomains": subdomains or "abc",
            "key": settings.map_key, "attribution": str(escape(settings.map_attribution or "")),
            "maxZoom": settings.map_max_zoom}


def categories(catalogs) -> list[str]:
    """Table A.1's categories in the catalog's order: the event page's map gives each its own colour."""
    return list(dict.fromkeys(row["category"] for row in catalogs.get("event_types")))
