"""Duplicates across channels over HTTP (§5, §7.1): the registrar merges a repeated report into the open
event of the same matter, or clears the flag (engine/pool/duplicates.py)."""
from flask import Blueprint, g, jsonify

from engine.accounts import permissions
from web.auth import json_body, services, signed_in

bp = Blueprint("duplicates", __name__, url_prefix="/api/events")


@bp.post("/<int:event_id>/merge")
@signed_in(permissions.MERGE)
def merge(event_id):
    """合并: `{into, reason}`; the duplicate's process ends as `merged`, its source is told."""
    body = json_body()
    svc = services()
    user = g.user
    svc.run(lambda s: svc.runtime.merge(s, event_id, body, user))
    return jsonify(svc.read(lambda s: svc.runtime.event_detail(s, event_id, user)))


@bp.post("/<int:event_id>/not-duplicate")
@signed_in(permissions.MERGE)
def not_duplicate(event_id):
    """不是重复: `{reason}` clears the flag."""
    body = json_body()
    svc = services()
    user = g.user
    svc.run(lambda s: svc.runtime.dismiss_duplicate(s, event_id, body, user))
    return jsonify(svc.read(lambda s: svc.runtime.event_detail(s, event_id, user)))
