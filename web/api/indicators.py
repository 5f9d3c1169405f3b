"""§8.6 indicators, the §9.1 circular and the assessment score over HTTP (issue #8): every number with its parts."""
from flask import Blueprint, g, jsonify, request

from engine.oversight import indicators
from engine.accounts import permissions
from engine.core.clock import local, parse_instant
from engine.core.errors import InvalidData
from web.auth import services, signed_in

bp = Blueprint("indicators", __name__, url_prefix="/api")
#: who reads indicators: the city, administrators, and the parties themselves (their own rows)


def _instant(name):
    raw = request.args.get(name)
    if not raw:
        raise InvalidData([{"field": name, "reason": "必填：带时区的时间，如 2026-10-01T00:00:00+08:00"}])
    try:
        return parse_instant(raw)
    except ValueError as err:
        raise InvalidData([{"field": name, "reason": str(err)}]) from None


def _level() -> str:
    """`?level=`: community | unit | person (`department` is accepted for `unit`); default unit."""
    level = request.args.get("level", "unit")
    return "unit" if level == "department" else level


@bp.get("/indicators")
@signed_in(permissions.INDICATORS)
def index():
    """`?level=community|unit|person&from=…&to=…` (`department` is accepted for `unit`); the period is [from, to)."""
    level = _level()
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


@bp.get("/circular")
@signed_in(permissions.CIRCULAR)
def circular():
    """通报 (§9.1) for `?from=…&to=…`: units, people and communities with late responses, late feedback and
    poorly handled work, each entry naming the event."""
    start, end = _instant("from"), _instant("to")
    indicators.check_period(start, end)
    svc = services()
    return jsonify(svc.read(lambda s: svc.runtime.circular(s, g.user, start, end)))


@bp.get("/assessment")
@signed_in(permissions.INDICATORS)
def assessment():
    """考核得分 for `?level=…&from=…&to=…`: weights and deduction from the settings, every part shown."""
    from engine.oversight import assessment as assessments
    level = _level()
    start, end = _instant("from"), _instant("to")
    indicators.check_period(start, end)
    svc = services()
    user = g.user
    weights = assessments.parse_weights(svc.settings.assessment_weights)

    def query(session):
        found = assessments.scores(session, svc.catalogs, level, start, end, weights,
                                   svc.settings.assessment_deduction)
        keep = indicators.visible(session, svc.catalogs, user, level, found)
        return [{"key": party, "name": indicators.describe(svc.catalogs, level, party, {})["name"], **found[party]}
                for party in keep]
    return jsonify({"level": level, "from": local(start), "to": local(end), "weights": weights,
                    "deduction": svc.settings.assessment_deduction, "items": svc.read(query)})
