"""A user's ready tasks and completing one, by their own role and scope (engine/casework/tasks.py)."""
from flask import Blueprint, request

from engine.casework import batch, tasks
from engine.core.errors import InvalidData
from web.auth import json_body, signed_in
from web.units import page_asked, read, run, run_each, run_step

bp = Blueprint("tasks", __name__, url_prefix="/api/tasks")


@bp.get("")
@signed_in()
def index():
    """The caller's ready tasks (待办), oldest first, a page at a time: follow `next_cursor` (null on the last)."""
    return read(tasks.ready, page_asked(100, 200)).body()


@bp.get("/<task_id>")
@signed_in()
def show(task_id):
    return read(tasks.detail, task_id)


@bp.post("/<task_id>/complete")
@signed_in()
def complete(task_id):
    data = request.get_json(silent=True)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InvalidData([{"field": "(body)", "reason": "form data must be a JSON object"}])
    return run_step(tasks.complete, task_id, data)


@bp.post("/batch/accept")
@signed_in()
def batch_accept():
    """批量签收 (issue #19): `{"task_ids": [...]}` — each 签收受理 task accepted on its own, in a unit of work of its
    own (audited like any completion); one refused does not stop the others. 200 with which were accepted and
    which refused, and why."""
    accepted, refused = run_each(batch.accept, batch.check_ids(json_body()), batch.refusal)
    return {"accepted": accepted, "refused": refused}


@bp.post("/<task_id>/claim")
@signed_in()
def claim(task_id):
    """认领: take the task on; the others who may do it see whose it is. Its time limit runs on."""
    return run(tasks.claim, task_id)


@bp.post("/<task_id>/release")
@signed_in()
def release(task_id):
    """取消认领: the claimer gives it back."""
    return run(tasks.release, task_id)
