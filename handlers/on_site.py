"""On site: the check-in at 到场 (§8.3) and the community's verification of a report made as handled on the
spot (即知即改). The rules — how far is too far, what a confirmed fix counts as — are the engine's
(engine/casework/arrivals.py, engine/casework/on_spot.py); these reach them through the run context."""
from __future__ import annotations

from handlers.errors import InvalidParameter
from handlers.registry import REGISTRY


@REGISTRY.operation("check_arrival")
def check_arrival(ctx, task, location, unit=None):
    """核对到场位置: the check-in position ({lat, lng}, WGS-84: the 到场 form's `arrival_location`) against the
    event's location; {distance_m, limit_m, far} — `far` past EVENTFLOW_ARRIVAL_FAR_M, flagged on the event and
    in the circular. Nothing is refused for being far."""
    if not isinstance(location, dict) or not all(isinstance(location.get(k), (int, float)) and
                                                 not isinstance(location.get(k), bool) for k in ("lat", "lng")):
        raise InvalidParameter("location", "到场位置应为 {lat, lng} 经纬度 (the position as {lat, lng})")
    return ctx.check_arrival(task, location, unit)


@REGISTRY.operation("record_on_spot")
def record_on_spot(ctx, task, confirmed, note=None):
    """记录核实结果 of 即知即改: `confirmed` true closes it as handled (the reporter's limit met as it began), false
    sends it the normal way and tells the reporter `note`. Returns whether it was confirmed (the diagram keeps it
    in `handled_on_spot`)."""
    if not isinstance(confirmed, bool):
        raise InvalidParameter("confirmed", "应为是或否 (true or false)")
    return ctx.verify_on_spot(task, confirmed, note)
