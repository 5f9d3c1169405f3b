"""流程异常 over HTTP (issue #15): the incidents of failed steps, and retrying one after the cause was fixed
(engine/casework/incidents.py). Process and system administrators only."""
from flask import Blueprint, request

from engine.casework import incidents
from engine.accounts import permissions
from web.auth import signed_in
from web.units import page_asked, read, run_step

bp = Blueprint("incidents", __name__, url_prefix="/api/incidents")


@bp.get("")
@signed_in(permissions.INCIDENTS)
def index():
    """`?version_id=`, `?event_id=`, `?status=open|resolved|all` (open unless said), newest first, a page
    at a time (follow `next_cursor`)."""
    return read(incidents.search, incidents.check_filters(request.args), page_asked(100, 500)).body()


@bp.post("/<int:incident_id>/retry")
@signed_in(permissions.INCIDENTS)
def retry(incident_id):
    """重试: the failed step again — resolved, or 409 step_failed with the failure counted."""
    return run_step(incidents.retry, incident_id)
