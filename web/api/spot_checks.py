"""§9.3 spot checks over HTTP (issue #8): draw a reproducible sample, record findings, read them."""
from flask import Blueprint, g, jsonify, request

from engine.accounts import permissions
from engine.oversight import spot_checks
from engine.core.clock import parse_instant
from web.auth import json_body, services, signed_in

bp = Blueprint("spot_checks", __name__, url_prefix="/api/spot-checks")


def _instant(body, name):
    raw = body.get(name)
    try:
        return parse_instant(raw) if isinstance(raw, str) and raw else None
    except ValueError:
        return None


@bp.post("")
@signed_in(permissions.SPOT_CHECK)
def draw():
    """`{community, from, to, size, seed?, kind?}` (kind: events that ended in the period, in any way |
    hazards): the seed is recorded (drawn when left out)."""
    body = json_body()
    svc = services()
    user = g.user

    def unit(s):
        check = spot_checks.draw(s, svc.catalogs, user, svc.clock.now(), body.get("community"),
                                 _instant(body, "from"), _instant(body, "to"), body.get("size"), body.get("seed"),
                                 body.get("kind", "events"))
        return svc.runtime.spot_check(s, g.user, check)
    return jsonify(svc.run(unit)), 201


@bp.get("")
@signed_in(permissions.SPOT_CHECK_READ)
def index():
    svc = services()
    community = request.args.get("community")

    def query(s):
        return [svc.runtime.spot_check(s, g.user, c) for c in spot_checks.recent(s, community)]
    return jsonify({"items": svc.read(query)})


@bp.get("/<int:check_id>")
@signed_in(permissions.SPOT_CHECK_READ)
def show(check_id):
    svc = services()

    def query(s):
        return svc.runtime.spot_check(s, g.user, spot_checks.find(s, check_id))
    return jsonify(svc.read(query))


@bp.put("/<int:check_id>/events/<int:event_id>")
@signed_in(permissions.SPOT_CHECK)
def finding(check_id, event_id):
    """`{passed, note}`: the finding on one drawn event."""
    return _record(check_id, event_id, "events")


def _record(check_id, item_id, kind):
    body = json_body()
    svc = services()
    user = g.user
    svc.run(lambda s: spot_checks.record(s, user, svc.clock.now(), check_id, item_id, body, kind))
    return jsonify(svc.read(lambda s: svc.runtime.spot_check(s, g.user, spot_checks.find(s, check_id))))


@bp.put("/<int:check_id>/hazards/<int:hazard_id>")
@signed_in(permissions.SPOT_CHECK)
def hazard_finding(check_id, hazard_id):
    """`{passed, note}`: the finding on one drawn hazard point."""
    return _record(check_id, hazard_id, "hazards")
