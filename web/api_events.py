"""The event pool over HTTP (§5 sources, §7.1 registration)."""
from flask import Blueprint, g, jsonify, request

from engine import events
from engine.clock import parse_instant
from engine.errors import InvalidData
from web.auth import json_body, services, signed_in

bp = Blueprint("events", __name__, url_prefix="/api/events")


@bp.post("")
@signed_in()
def create():
    payload = json_body()
    svc = services()
    user = g.user
    key = request.headers.get("Idempotency-Key")

    def report(s):
        return svc.runtime.report(s, payload, user, idempotency_key=key)
    event, created = svc.store_submission(report)     # committed before anything else happens
    if created:                                          # (a retry gets the event it created, as it is now)
        svc.start_process(event.id, user.username)
    body = svc.read(lambda s: svc.runtime.event_detail(s, event.id, user))
    return jsonify(body), 201 if created else 200, {"Location": f"/api/events/{event.id}"}


@bp.get("/<int:event_id>")
@signed_in()
def show(event_id):
    svc = services()
    user = g.user
    return jsonify(svc.read(lambda s: svc.runtime.event_detail(s, event_id, user)))


@bp.post("/<int:event_id>/withdraw")
@signed_in()
def withdraw(event_id):
    """撤单 (§7.1): the reporter (or the community's staff on the caller's behalf) withdraws before closure."""
    reason = json_body().get("reason")
    svc = services()
    user = g.user
    svc.run(lambda s: svc.runtime.withdraw(s, event_id, reason, user))
    return jsonify(svc.read(lambda s: svc.runtime.event_detail(s, event_id, user)))


@bp.post("/<int:event_id>/reopen")
@signed_in()
def reopen(event_id):
    """重启: a closed event returns to 研判 within the reopen window (a repeat complaint)."""
    reason = json_body().get("reason")
    svc = services()
    user = g.user
    svc.run(lambda s: svc.runtime.reopen(s, event_id, reason, user))
    return jsonify(svc.read(lambda s: svc.runtime.event_detail(s, event_id, user)))


def _int_arg(name, default, low, high):
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise InvalidData([{"field": name, "reason": f"a whole number from {low} to {high}"}])
    return int(raw)


def _instant_arg(name):
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return parse_instant(raw)
    except ValueError as err:
        raise InvalidData([{"field": name, "reason": str(err)}]) from None


@bp.get("")
@signed_in()
def index():
    svc = services()
    page, per_page = _int_arg("page", 1, 1, 10**6), _int_arg("per_page", 20, 1, 100)
    filters = {name: request.args.get(name) for name in events.LIST_FILTERS}
    filters["created_from"], filters["created_to"] = _instant_arg("created_from"), _instant_arg("created_to")
    def query(session):
        total, rows = events.search(session, g.user, svc.catalogs, filters, page, per_page)
        return total, [events.summary(e) for e in rows]
    total, items = svc.read(query)
    return jsonify({"total": total, "page": page, "per_page": per_page, "items": items})
