"""退回 as the city sees it (issue #19, engine/oversight/returns.py): the returns of whistle orders per unit and
coded reason for a period, the returns themselves a page at a time, and the city authority's ruling on one
(不合理退回 counts against the unit, not as the community's misroute)."""
from flask import Blueprint, request

from engine.accounts import permissions
from engine.core.clock import local
from engine.oversight import returns
from web.auth import json_body, signed_in
from web.units import page_asked, period_asked, read, run

bp = Blueprint("returns", __name__, url_prefix="/api/returns")



@bp.get("/summary")
@signed_in(permissions.RETURNS_READ)
def summary():
    """Returns made in `?from=…&to=…` per unit and reason, with how many were ruled unreasonable, reasonable,
    or not yet."""
    start, end = period_asked()
    return read(returns.summary, start, end)


@bp.get("")
@signed_in(permissions.RETURNS_READ)
def index():
    """The returns made in `?from=…&to=…`, newest first, a page at a time (`?unit=&code=&status=&cursor=&limit=`);
    `hidden`: those on events the reader may not see, counted only."""
    start, end = period_asked()
    filters = {"unit": request.args.get("unit") or None, "code": request.args.get("code"),
               "status": request.args.get("status") or None}

    def build(cmd):
        return (returns.listing(cmd, start, end, filters, page_asked(returns.PAGE, returns.PAGE_MAX)),
                returns.hidden(cmd, start, end, filters))
    found, hidden = read(build)
    return found.body(hidden=hidden, **{"from": local(start), "to": local(end)})


@bp.post("/<int:return_id>/ruling")
@signed_in(permissions.RETURN_RULING)
def ruling(return_id):
    """The city authority's ruling on one return: `{"verdict": "unreasonable" | "reasonable", "note": …}`."""
    return run(returns.rule, return_id, json_body()), 201
