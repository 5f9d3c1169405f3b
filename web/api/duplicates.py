"""Duplicates across channels over HTTP (§5, §7.1): the registrar merges a repeated report into the open
event of the same matter, or clears the flag (engine/pool/duplicates.py)."""
from flask import Blueprint

from engine.accounts import permissions
from engine.casework import lifecycle
from web.api.events import answer
from web.auth import json_body, signed_in

bp = Blueprint("duplicates", __name__, url_prefix="/api/events")


@bp.post("/<int:event_id>/merge")
@signed_in(permissions.MERGE)
def merge(event_id):
    """合并: `{into, reason}`; the duplicate's process ends as `merged`, its source is told."""
    return answer(lifecycle.merge, event_id, json_body())


@bp.post("/<int:event_id>/not-duplicate")
@signed_in(permissions.MERGE)
def not_duplicate(event_id):
    """不是重复: `{reason}` clears the flag."""
    return answer(lifecycle.dismiss_duplicate, event_id, json_body())
