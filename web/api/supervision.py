"""督办 and 延期 over HTTP (§9.1, §8.4): open supervision records, extension requests and decisions
(engine/limits/supervision.py)."""
from flask import Blueprint, request

from engine.accounts import permissions
from engine.limits import supervision
from web.auth import json_body, signed_in
from web.units import page_asked, read, run

bp = Blueprint("supervision", __name__, url_prefix="/api")


@bp.get("/supervision")
@signed_in()
def records():
    """Open supervision records (missed deadlines), filterable by unit, person, kind, community, status."""
    filters = {name: request.args.get(name) for name in supervision.SUPERVISION_FILTERS}
    return read(supervision.records, filters, page_asked(100, 500)).body()


@bp.post("/deadlines/<int:deadline_id>/extension-requests")
@signed_in(permissions.EXTENSION_REQUEST)
def request_extension(deadline_id):
    return run(supervision.request_extension, deadline_id, json_body()), 201


@bp.get("/extension-requests")
@signed_in()
def extension_requests():
    """延期申请 the caller may see, newest first, a page at a time (follow `next_cursor`)."""
    return read(supervision.extension_requests, request.args.get("status"), page_asked(100, 500)).body()


@bp.post("/extension-requests/<int:request_id>/decision")
@signed_in(permissions.EXTENSION_DECIDE)
def decide(request_id):
    return run(supervision.decide_extension, request_id, json_body())
