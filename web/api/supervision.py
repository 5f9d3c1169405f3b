"""督办 and 延期 over HTTP (§9.1, §8.4): open supervision records, extension requests and decisions."""
from flask import Blueprint, g, jsonify, request

from engine.accounts import permissions
from engine.limits.supervision import SUPERVISION_FILTERS
from web.auth import json_body, services, signed_in

bp = Blueprint("supervision", __name__, url_prefix="/api")


@bp.get("/supervision")
@signed_in()
def supervision():
    """Open supervision records (missed deadlines), filterable by unit, person, kind, community, status."""
    svc = services()
    user = g.user
    filters = {name: request.args.get(name) for name in SUPERVISION_FILTERS}
    return jsonify({"items": svc.read(lambda s: svc.runtime.supervision(s, user, filters))})


@bp.post("/deadlines/<int:deadline_id>/extension-requests")
@signed_in(permissions.EXTENSION_REQUEST)
def request_extension(deadline_id):
    body = json_body()
    svc = services()
    user = g.user
    return jsonify(svc.run(lambda s: svc.runtime.request_extension(s, deadline_id, body, user))), 201


@bp.get("/extension-requests")
@signed_in()
def extension_requests():
    svc = services()
    user = g.user
    status = request.args.get("status")
    return jsonify({"items": svc.read(lambda s: svc.runtime.extension_requests(s, user, status))})


@bp.post("/extension-requests/<int:request_id>/decision")
@signed_in(permissions.EXTENSION_DECIDE)
def decide(request_id):
    body = json_body()
    svc = services()
    user = g.user
    return jsonify(svc.run(lambda s: svc.runtime.decide_extension(s, request_id, body, user)))
