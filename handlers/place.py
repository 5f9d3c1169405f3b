"""分拨定位 (§7.1): a report that gave only an address is placed on the map by a registrar; the point then
decides whose it is, as it would have at registration (属地)."""
from __future__ import annotations

from handlers.registry import REGISTRY


@REGISTRY.operation("place_event")
def place_event(ctx, task, lat, lng, crs="wgs84", address=None):
    """Place the event at (lat, lng) in `crs`; returns the code of the community that holds the point
    (the BPMN puts it in `community`). A point in no community is refused (422 naming the form field)."""
    return ctx.place(lat, lng, crs or "wgs84", address or None, task=task)
