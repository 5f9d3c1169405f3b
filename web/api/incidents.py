"""流程异常 over HTTP (issue #15): the incidents of failed steps, and retrying one after the cause was fixed
(engine/casework/incidents.py). Process and system administrators only."""
from flask import Blueprint, g, jsonify, request

from engine.casework import incidents
from engine.accounts import permissions
from web.auth import services, signed_in

bp = Blueprint("incidents", __name__, url_prefix="/api/incidents")


@bp.get("")
@signed_in(permissions.INCIDENTS)
def index():
    """`?version_id=`, `?event_id=`, `?status=open|resolved|all` (open unless said), newest first."""
    filters = incidents.check_filters(request.args)
    svc = services()
    user = g.user
    return jsonify({"items": svc.read(lambda s: svc.runtime.list_incidents(s, user, filters))})


@bp.post("/<int:incident_id>/retry")
@signed_in(permissions.INCIDENTS)
def retry(incident_id):
    """重试: the failed step again — resolved, or 409 step_failed with the failure counted."""
    svc = services()
    user = g.user
    return jsonify(svc.run_step(lambda s: svc.runtime.retry_incident(s, incident_id, user)))
