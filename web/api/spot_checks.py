"""§9.3 spot checks over HTTP (issue #8, engine/oversight/spot_checks.py): draw a reproducible sample, record
findings, read them."""
from flask import Blueprint, request

from engine.accounts import permissions
from engine.oversight import spot_checks
from engine.core.clock import parse_instant
from web.auth import json_body, signed_in
from web.units import items, read, run

bp = Blueprint("spot_checks", __name__, url_prefix="/api/spot-checks")


def _instant(body, name):
    raw = body.get(name)
    try:
        return parse_instant(raw) if isinstance(raw, str) and raw else None
    except ValueError:
        return None


def _draw(cmd, body):
    check = spot_checks.draw(cmd, body.get("community"), _instant(body, "from"), _instant(body, "to"),
                             body.get("size"), body.get("seed"), body.get("kind", "events"))
    return spot_checks.view(cmd, check)


@bp.post("")
@signed_in(permissions.SPOT_CHECK)
def draw():
    """`{community, from, to, size, seed?, kind?}` (kind: events that ended in the period, in any way |
    hazards): the seed is recorded (drawn when left out)."""
    return run(_draw, json_body()), 201


@bp.get("")
@signed_in(permissions.SPOT_CHECK_READ)
def index():
    return items(read(spot_checks.recent, request.args.get("community")))


@bp.get("/<int:check_id>")
@signed_in(permissions.SPOT_CHECK_READ)
def show(check_id):
    return read(spot_checks.show, check_id)


@bp.put("/<int:check_id>/events/<int:event_id>")
@signed_in(permissions.SPOT_CHECK)
def finding(check_id, event_id):
    """`{passed, note}`: the finding on one drawn event."""
    return _record(check_id, event_id, "events")


@bp.put("/<int:check_id>/hazards/<int:hazard_id>")
@signed_in(permissions.SPOT_CHECK)
def hazard_finding(check_id, hazard_id):
    """`{passed, note}`: the finding on one drawn hazard point."""
    return _record(check_id, hazard_id, "hazards")


def _record(check_id, item_id, kind):
    run(spot_checks.record, check_id, item_id, json_body(), kind)
    return read(spot_checks.show, check_id)
