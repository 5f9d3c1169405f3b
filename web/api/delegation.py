"""下派 (issue #19): a unit's clerk passes one of the unit's tasks to a sub-unit or a person of its tree, with a
sub-deadline inside the unit's own limit, and takes it back (engine/casework/delegation.py)."""
from flask import Blueprint, request

from engine.accounts import permissions
from engine.casework import delegation
from engine.core.errors import InvalidData
from web.auth import json_body, signed_in
from web.units import read, run

bp = Blueprint("delegation", __name__, url_prefix="/api/tasks")


@bp.get("/<task_id>/delegation")
@signed_in()
def show(task_id):
    """The task's 下派 for whoever may do it; for the unit's own clerk also whom it may be passed to."""
    return read(delegation.for_task, task_id)


@bp.post("/<task_id>/delegate")
@signed_in(permissions.DELEGATE)
def delegate(task_id):
    """下派: to a sub-unit (`to_unit`) or a person (`to_person`) of the unit's tree, until `due_at`."""
    return run(delegation.pass_down, task_id, json_body())


@bp.post("/<task_id>/take-back")
@signed_in(permissions.DELEGATE)
def take_back(task_id):
    """收回: the task comes back to the unit; `reason` optional."""
    body = request.get_json(silent=True)
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise InvalidData([{"field": "(body)", "reason": "expected a JSON object"}])
    return run(delegation.take_back, task_id, body)
