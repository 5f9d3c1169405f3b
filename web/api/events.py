"""The event pool over HTTP (§5 sources, §7.1 registration)."""
from flask import Blueprint, g, jsonify, request

from engine.pool import events
from engine.accounts import permissions
from engine.core.clock import parse_instant
from engine.core.errors import InvalidData
from web.api.photos import uploads
from web.auth import json_body, services, signed_in
from web.inputs import parse_json

bp = Blueprint("events", __name__, url_prefix="/api/events")


@bp.post("")
@signed_in(permissions.REPORT)
def create():
    """A report as JSON, or as multipart/form-data: a `report` part (the same JSON) and `photos` files
    (实时照片, §7.1), decoded and checked before anything is stored."""
    svc = services()
    user = g.user
    key = request.headers.get("Idempotency-Key")
    checked = []
    if request.mimetype == "multipart/form-data":
        files = uploads("photos")
        payload = _report_part()
        if files:
            checked = svc.runtime.check_photos(files, "photos")   # a bad one: 422, and no event
    else:
        payload = json_body()

    def report(s):
        event, created = svc.runtime.report(s, payload, user, idempotency_key=key)
        if created and checked:   # the event and its photos in one unit (a retry stores nothing again)
            svc.runtime.attach_report_photos(s, event, checked, user)
        return event, created
    event, created = svc.store_submission(report)     # committed before anything else happens
    svc.start_process(event.id, user.username)           # a retry gets the event it created (and starts it
                                                         # if the first attempt stopped before that)
    body = svc.read(lambda s: svc.runtime.event_detail(s, event.id, user))
    return jsonify(body), 201 if created else 200, {"Location": f"/api/events/{event.id}"}


def _report_part() -> dict:
    """The `report` part of a multipart registration: the JSON a plain registration sends."""
    part = request.files.get("report")
    raw = part.read() if part is not None else request.form.get("report")
    try:
        payload = parse_json(raw, "report") if raw else None
    except (ValueError, UnicodeDecodeError):
        payload = None
    if not isinstance(payload, dict):
        raise InvalidData([{"field": "report", "reason": "multipart 的 report 部分应为 JSON 对象 "
                                                         "(the `report` part must be a JSON object)"}])
    return payload


@bp.get("/<int:event_id>")
@signed_in()
def show(event_id):
    svc = services()
    user = g.user
    return jsonify(svc.view_event(event_id, user))   # a sensitive event's view is audited


@bp.post("/<int:event_id>/withdraw")
@signed_in(permissions.SPEAK_FOR_SOURCE)
def withdraw(event_id):
    """撤单 (§7.1): the reporter (or the community's staff on the caller's behalf) withdraws before closure."""
    reason = json_body().get("reason")
    svc = services()
    user = g.user
    svc.run(lambda s: svc.runtime.withdraw(s, event_id, reason, user))
    return jsonify(svc.read(lambda s: svc.runtime.event_detail(s, event_id, user)))


@bp.post("/<int:event_id>/start")
@signed_in(permissions.ADMINISTER)
def restart(event_id):
    """重新启动: start the process of an event whose start was refused (status `error`)."""
    svc = services()
    user = g.user
    svc.run(lambda s: svc.runtime.restart(s, event_id, user))
    return jsonify(svc.read(lambda s: svc.runtime.event_detail(s, event_id, user)))


def _administer(event_id, action):
    reason = json_body().get("reason")
    svc = services()
    user = g.user
    svc.run(lambda s: action(s, event_id, reason, user))
    return jsonify(svc.read(lambda s: svc.runtime.event_detail(s, event_id, user)))


@bp.post("/<int:event_id>/suspend")
@signed_in(permissions.ADMINISTER)
def suspend(event_id):
    """挂起: `{reason}`; its tasks cannot be completed, its timers wait and its deadlines pause."""
    return _administer(event_id, services().runtime.suspend)


@bp.post("/<int:event_id>/resume")
@signed_in(permissions.ADMINISTER)
def resume(event_id):
    """恢复: `{reason}`; its deadlines and timers move by the suspension and count on."""
    return _administer(event_id, services().runtime.resume)


@bp.post("/<int:event_id>/terminate")
@signed_in(permissions.ADMINISTER)
def terminate(event_id):
    """终止: `{reason}`; open work and timers are cancelled, the event ends `terminated`, its source is told."""
    return _administer(event_id, services().runtime.terminate)


@bp.post("/<int:event_id>/reopen")
@signed_in(permissions.SPEAK_FOR_SOURCE)
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
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
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
    flagged = request.args.get("suspected_duplicate")
    if flagged not in (None, "true", "false"):
        raise InvalidData([{"field": "suspected_duplicate", "reason": "true 或 false (true or false)"}])
    filters["suspected_duplicate"] = flagged == "true"
    user = g.user
    total, items = svc.read(lambda s: svc.runtime.search_events(s, user, filters, page, per_page))
    return jsonify({"total": total, "page": page, "per_page": per_page, "items": items})


@bp.post("/<int:event_id>/comments")
@signed_in()
def comment(event_id):
    """留言: `{text}`; recorded in the timeline and told to whoever has the event's open tasks."""
    body = json_body()
    svc = services()
    user = g.user
    return jsonify(svc.run(lambda s: svc.runtime.comment(s, event_id, body, user))), 201


@bp.post("/<int:event_id>/urge")
@signed_in(permissions.URGE)
def urge(event_id):
    """催办 (§9.1): `{text}`; the community's cadres or the city press whoever has the open tasks."""
    body = json_body()
    svc = services()
    user = g.user
    return jsonify(svc.run(lambda s: svc.runtime.urge(s, event_id, body, user))), 201
