"""§9.2 over HTTP (issue #8): patrol check-ins, key hazard rectification points, the monthly report."""
from flask import Blueprint, g, jsonify, request

from engine.oversight import hazards, monthly_report
from engine.accounts import permissions
from engine.core.errors import InvalidData, NotFound
from web.api.photos import photo_response, uploads
from web.auth import json_body, services, signed_in
from web.inputs import parse_json

bp = Blueprint("monthly", __name__, url_prefix="/api")




@bp.post("/patrols")
@signed_in(permissions.PATROL)
def check_in():
    """巡查打卡: `{grid, lat?, lng?, note?}` — the caller walked this grid of their community now."""
    body = json_body()
    svc = services()
    user = g.user
    return jsonify(svc.run(lambda s: hazards.describe_patrol(hazards.check_in(s, svc.catalogs, user, svc.clock.now(),
                                                                             body)))), 201


@bp.get("/patrols")
@signed_in(permissions.COMMUNITY_READ)
def patrols():
    svc = services()
    user = g.user
    community = request.args.get("community") or user.community
    permissions.require_community(user, community)

    return jsonify({"items": svc.read(lambda s: hazards.list_patrols(s, community))})


def _photos(field):
    svc = services()
    files = uploads(field)
    return svc.runtime.photos.check(files, field) if files else []


@bp.post("/hazards")
@signed_in(permissions.HAZARD_REPORT)
def report_hazard():
    """重点隐患整治点: multipart `hazard` (JSON: {title, description, address, month?, community?}) and
    `before_photos` files, decoded before anything is stored."""
    checked = _photos("before_photos")
    part = request.form.get("hazard")
    try:
        body = parse_json(part, "hazard") if part else None
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise InvalidData([{"field": "hazard", "reason": "multipart 的 hazard 部分应为 JSON 对象"}])
    svc = services()
    user = g.user

    return jsonify(svc.run(lambda s: hazards.describe(hazards.report_with_photos(
        s, svc.catalogs, svc.runtime.photos, user, svc.clock.now(), body, checked)))), 201


@bp.post("/hazards/<int:hazard_id>/rectify")
@signed_in(permissions.HAZARD_REPORT)
def rectify_hazard(hazard_id):
    """整改: multipart `note` and `after_photos` files."""
    checked = _photos("after_photos")
    body = {"note": request.form.get("note")}
    svc = services()
    user = g.user

    return jsonify(svc.run(lambda s: hazards.describe(hazards.rectify_with_photos(
        s, svc.runtime.photos, user, svc.clock.now(), hazard_id, body, checked))))


@bp.post("/hazards/<int:hazard_id>/verify")
@signed_in(permissions.HAZARD_VERIFY)
def verify_hazard(hazard_id):
    """验收: `{passed, note}`; not passed sends it back to be rectified again."""
    body = json_body()
    svc = services()
    user = g.user
    return jsonify(svc.run(lambda s: hazards.describe(hazards.verify(s, user, svc.clock.now(), hazard_id, body))))


@bp.get("/hazards")
@signed_in(permissions.HAZARD_READ)
def list_hazards():
    svc = services()
    user = g.user
    community = request.args.get("community") or user.community
    permissions.require_community(user, community)
    month = request.args.get("month")
    return jsonify({"items": svc.read(lambda s: hazards.list_points(s, community, month))})


@bp.get("/hazards/<int:hazard_id>/photos/<key>")
@signed_in(permissions.HAZARD_READ)
def hazard_photo(hazard_id, key):
    svc = services()
    user = g.user
    point = svc.read(lambda s: hazards.find(s, hazard_id))
    if point is None:
        raise NotFound(f"photo {key} does not exist")
    permissions.require_community(user, point.community)
    content_type, data = hazards.photo(svc.runtime.photos, point, key)
    return photo_response(key, content_type, data)


@bp.get("/monthly-report")
@signed_in(permissions.COMMUNITY_READ)
def report():
    """社区月报 (§9.2) for `?community=…&month=YYYY-MM`."""
    svc = services()
    user = g.user
    community = request.args.get("community") or user.community
    permissions.require_community(user, community)
    month = request.args.get("month") or ""
    return jsonify(svc.read(lambda s: monthly_report.build(s, svc.catalogs, community, month)))
