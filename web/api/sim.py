"""The simulated clock (EVENTFLOW_CLOCK=simulated only): move time forward and fire what fell due. The
clock is shared by every process on the database (web/services.py `advance_clock`): an advance through any
gunicorn worker or node moves it for all, and answers with what fired."""
from datetime import timedelta

from flask import Blueprint, g, jsonify

from catalogs import parse_duration
from engine.accounts import permissions, privacy
from engine import jobs
from engine.core.clock import local, parse_instant
from engine.core.errors import Forbidden, InvalidData
from web.auth import json_body, services, signed_in

bp = Blueprint("sim", __name__, url_prefix="/api/sim")


def _simulated():
    svc = services()
    if not svc.clock.simulated:
        raise Forbidden("the clock is the system clock; set EVENTFLOW_CLOCK=simulated to move it", field="clock")
    return svc


def _duration(text) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError:
        raise InvalidData([{"field": "by", "reason": "an ISO 8601 duration such as PT31M or P1DT2H"}]) from None


@bp.get("/now")
@signed_in(permissions.SIM_CLOCK)
def now():
    svc = services()
    return jsonify({"now": local(svc.clock.now()), "simulated": svc.clock.simulated})


@bp.post("/advance")
@signed_in(permissions.SIM_CLOCK)
def advance():
    svc = _simulated()
    body = json_body()
    if ("by" in body) == ("to" in body):
        raise InvalidData([{"field": "by", "reason": "give exactly one of 'by' (duration) or 'to' (date-time)"}])
    if "by" in body:
        by = _duration(body["by"])

        def target(now):   # the shared clock's time, read under its lock
            return now + by
    else:
        try:
            to = parse_instant(body["to"]) if isinstance(body["to"], str) else None
        except ValueError as err:
            raise InvalidData([{"field": "to", "reason": str(err)}]) from None
        if to is None:
            raise InvalidData([{"field": "to", "reason": "an ISO 8601 date-time with offset"}])

        def target(now):
            if to < now:
                raise InvalidData([{"field": "to", "reason": f"is before now ({local(now)})"}])
            return to
    result = svc.advance_clock(target)
    user = g.user
    errors = svc.read(lambda s: privacy.instance_errors(s, svc.catalogs, user, result.errors))
    return jsonify({"now": local(svc.clock.now()),
                    "fired": {str(k): v for k, v in result.fired.items()},
                    "errors": errors,
                    "started": result.of(jobs.PENDING_STARTS)})
