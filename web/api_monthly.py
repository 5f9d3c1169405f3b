"""§9.2 over HTTP (issue #8): patrol check-ins, key hazard rectification points, the monthly report."""
import json

from flask import Blueprint, g, jsonify, request
from sqlalchemy import select

from engine import hazards, monthly_report
from engine.errors import Forbidden, InvalidData, NotFound
from engine.models import HazardPoint, Patrol
from engine.users import GLOBAL_ROLES
from web.api_photos import photo_response, uploads
from web.auth import json_body, services, signed_in

bp = Blueprint("monthly", __name__, url_prefix="/api")


def _community_scope(user, community):
    """The city and administrators see every community; a community's people their own."""
    if set(user.roles) & GLOBAL_ROLES:
        return
    if not community or community != user.community:
        raise Forbidden("只能查看本社区 (only your own community)", field="community")


@bp.post("/patrols")
@signed_in(*hazards.PATROLLERS)
def check_in():
    """巡查打卡: `{grid, lat?, lng?, note?}` — the caller walked this grid of their community now."""
    body = json_body()
    svc = services()
    user = g.user
    return jsonify(svc.run(lambda s: hazards.describe_patrol(hazards.check_in(s, svc.catalogs, user, svc.clock.now(),
                                                                             body)))), 201


@bp.get("/patrols")
@signed_in()
def patrols():
    svc = services()
    user = g.user
    community = request.args.get("community") or user.community
    _community_scope(user, community)

    def query(s):
        stmt = select(Patrol).order_by(Patrol.at.desc()).limit(500)
        if community:
            stmt = stmt.where(Patrol.community == community)
        return [hazards.describe_patrol(p) for p in s.scalars(stmt)]
    return jsonify({"items": svc.read(query)})


def _photos(field):
    svc = services()
    files = uploads(field)
    return svc.runtime.photos.check(files, field) if files else []


@bp.post("/hazards")
@signed_in(*hazards.REPORTERS)
def report_hazard():
    """重点隐患整治点: multipart `hazard` (JSON: {title, description, address, month?, community?}) and
    `before_photos` files, decoded before anything is stored."""
    checked = _photos("before_photos")
    part = request.form.get("hazard")
    try:
        body = json.loads(part) if part else None
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise InvalidData([{"field": "hazard", "reason": "multipart 的 hazard 部分应为 JSON 对象"}])
    svc = services()
    user = g.user

    def unit(s):
        point = hazards.report(s, svc.catalogs, user, svc.clock.now(), body, ["pending"] if checked else [])
        point.before_photos = svc.runtime.photos.store_under(f"hazards/{point.id}", checked)
        return hazards.describe(point)
    return jsonify(svc.run(unit)), 201


@bp.post("/hazards/<int:hazard_id>/rectify")
@signed_in(*hazards.REPORTERS)
def rectify_hazard(hazard_id):
    """整改: multipart `note` and `after_photos` files."""
    checked = _photos("after_photos")
    body = {"note": request.form.get("note")}
    svc = services()
    user = g.user

    def unit(s):
        hazards.may_rectify(s, user, hazard_id)                      # before any file is written
        keys = svc.runtime.photos.store_under(f"hazards/{hazard_id}", checked) if checked else []
        return hazards.describe(hazards.rectify(s, user, svc.clock.now(), hazard_id, body, keys))
    return jsonify(svc.run(unit))


@bp.post("/hazards/<int:hazard_id>/verify")
@signed_in(*hazards.VERIFIERS)
def verify_hazard(hazard_id):
    """验收: `{passed, note}`; not passed sends it back to be rectified again."""
    body = json_body()
    svc = services()
    user = g.user
    return jsonify(svc.run(lambda s: hazards.describe(hazards.verify(s, user, svc.clock.now(), hazard_id, body))))


@bp.get("/hazards")
@signed_in()
def list_hazards():
    svc = services()
    user = g.user
    community = request.args.get("community") or user.community
    _community_scope(user, community)
    month = request.args.get("month")

    def query(s):
        stmt = select(HazardPoint).order_by(HazardPoint.id.desc()).limit(500)
        if community:
            stmt = stmt.where(HazardPoint.community == community)
        if month:
            stmt = stmt.where(HazardPoint.month == month)
        return [hazards.describe(p) for p in s.scalars(stmt)]
    return jsonify({"items": svc.read(query)})


@bp.get("/hazards/<int:hazard_id>/photos/<key>")
@signed_in()
def hazard_photo(hazard_id, key):
    svc = services()
    user = g.user
    point = svc.read(lambda s: s.get(HazardPoint, hazard_id))
    if point is None or key not in (point.before_photos or []) + (point.after_photos or []):
        raise NotFound(f"photo {key} does not exist")
    _community_scope(user, point.community)
    data = svc.runtime.photos.read_under(f"hazards/{hazard_id}", key)
    content_type = "image/png" if key.endswith(".png") else "image/webp" if key.endswith(".webp") else "image/jpeg"
    return photo_response(key, content_type, data)


@bp.get("/monthly-report")
@signed_in()
def report():
    """社区月报 (§9.2) for `?community=…&month=YYYY-MM`."""
    svc = services()
    user = g.user
    community = request.args.get("community") or user.community
    _community_scope(user, community)
    month = request.args.get("month") or ""
    return jsonify(svc.read(lambda s: monthly_report.build(s, svc.catalogs, community, month)))
