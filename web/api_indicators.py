"""§8.6 indicators over HTTP (issue #8): each with its numerator, denominator and formula."""
from flask import Blueprint, g, jsonify, request

from engine import indicators
from engine.clock import local, parse_instant
from engine.errors import InvalidData
from web.auth import services, signed_in

bp = Blueprint("indicators", __name__, url_prefix="/api/indicators")
#: who reads indicators: the city, administrators, and the parties themselves (their own rows)
READERS = ("city_authority", "system_admin", "process_admin", "department_staff", "community_staff", "committee")


def _instant(name):
    raw = request.args.get(name)
    if not raw:
        raise InvalidData([{"field": name, "reason": "必填：带时区的时间，如 2026-10-01T00:00:00+08:00"}])
    try:
        return parse_instant(raw)
    except ValueError as err:
        raise InvalidData([{"field": name, "reason": str(err)}]) from None


@bp.get("")
@signed_in(*READERS)
def index():
    """`?level=community|unit|person&from=…&to=…` (`department` is accepted for `unit`); the period is [from, to)."""
    level = request.args.get("level", "unit")
    level = "unit" if level == "department" else level
    start, end = _instant("from"), _instant("to")
    svc = services()
    user = g.user

    def query(session):
        found = indicators.compute(session, level, start, end)
        keep = indicators.visible(session, svc.catalogs, user, level, found)
        return [indicators.describe(svc.catalogs, level, party, found[party]) for party in keep]
    items = svc.read(query)
    return jsonify({"level": level, "from": local(start), "to": local(end), "items": items,
                    "formulas": {k: {"name": n, "formula": f} for k, (n, f) in indicators.INDICATORS.items()}})
