"""A user's ready tasks and completing one, by their own role and scope."""
from flask import Blueprint, g, jsonify, request

from engine.core.errors import InvalidData
from web.auth import services, signed_in

bp = Blueprint("tasks", __name__, url_prefix="/api/tasks")


@bp.get("")
@signed_in()
def index():
    svc = services()
    return jsonify({"items": svc.read(lambda s: svc.runtime.tasks_for(s, g.user))})


@bp.get("/<task_id>")
@signed_in()
def show(task_id):
    svc = services()
    user = g.user
    return jsonify(svc.read(lambda s: svc.runtime.task_detail(s, task_id, user)))


@bp.post("/<task_id>/complete")
@signed_in()
def complete(task_id):
    svc = services()
    data = request.get_json(silent=True)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InvalidData([{"field": "(body)", "reason": "form data must be a JSON object"}])
    user = g.user
    return jsonify(svc.run_step(lambda s: svc.runtime.complete(s, task_id, data, user)))


@bp.post("/<task_id>/claim")
@signed_in()
def claim(task_id):
    """认领: take the task on; the others who may do it see whose it is. Its time limit runs on."""
    svc = services()
    user = g.user
    return jsonify(svc.run(lambda s: svc.runtime.claim(s, task_id, user)))


@bp.post("/<task_id>/release")
@signed_in()
def release(task_id):
    """取消认领: the claimer gives it back."""
    svc = services()
    user = g.user
    return jsonify(svc.run(lambda s: svc.runtime.release(s, task_id, user)))
