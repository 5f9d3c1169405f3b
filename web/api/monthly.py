"""§9.2 over HTTP (issue #8): patrol check-ins, key hazard rectification points, the monthly report
(engine/oversight/hazards.py, monthly_report.py). Lists and reports are of one community: `?community=`, else
the caller's own (engine/accounts/permissions.py `community_to_read`)."""
from flask import Blueprint, g, request

from engine.oversight import hazards, monthly_report
from engine.accounts import permissions
from engine.core.errors import InvalidData, NotFound
from web.api.photos import photo_response, uploads
from web.auth import json_body, services, signed_in
from web.inputs import parse_json
from web.units import page_asked, read, run

bp = Blueprint("monthly", __name__, url_prefix="/api")


def _community():
    return permissions.community_to_read(g.user, request.args.get("community"))


def _photos(field):
    files = uploads(field)
    return services().env.photos.check(files, field) if files else []


@bp.post("/patrols")
@signed_in(permissions.PATROL)
def check_in():
    """巡查打卡: `{grid, lat?, lng?, note?}` — the caller walked this grid of their community now."""
    body = json_body()
    return run(lambda cmd: hazards.describe_patrol(hazards.check_in(cmd.session, cmd.catalogs, cmd.user, cmd.now(),
                                                                    body))), 201


@bp.get("/patrols")
@signed_in(permissions.COMMUNITY_READ)
def patrols():
    """巡查打卡 records, newest first, a page at a time (follow `next_cursor`)."""
    community, page = _community(), page_asked(100, 500)
    return read(lambda cmd: hazards.list_patrols(cmd.session, community, page=page)).body()


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
    return run(lambda cmd: hazards.describe(hazards.report_with_photos(
        cmd.session, cmd.catalogs, cmd.env.photos, cmd.user, cmd.now(), body, checked))), 201


@bp.post("/hazards/<int:hazard_id>/rectify")
@signed_in(permissions.HAZARD_REPORT)
def rectify_hazard(hazard_id):
    """整改: multipart `note` and `after_photos` files."""
    checked = _photos("after_photos")
    body = {"note": request.form.get("note")}
    return run(lambda cmd: hazards.describe(hazards.rectify_with_photos(
        cmd.session, cmd.env.photos, cmd.user, cmd.now(), hazard_id, body, checked)))


@bp.post("/hazards/<int:hazard_id>/verify")
@signed_in(permissions.HAZARD_VERIFY)
def verify_hazard(hazard_id):
    """验收: `{passed, note}`; not passed sends it back to be rectified again."""
    body = json_body()
    return run(lambda cmd: hazards.describe(hazards.verify(cmd.session, cmd.user, cmd.now(), hazard_id, body)))


@bp.get("/hazards")
@signed_in(permissions.HAZARD_READ)
def list_hazards():
    """重点隐患整治点, newest first, a page at a time (follow `next_cursor`)."""
    community, month, page = _community(), request.args.get("month"), page_asked(100, 500)
    return read(lambda cmd: hazards.list_points(cmd.session, community, month, page=page)).body()


@bp.get("/hazards/<int:hazard_id>/photos/<key>")
@signed_in(permissions.HAZARD_READ)
def hazard_photo(hazard_id, key):
    point = read(lambda cmd: hazards.find(cmd.session, hazard_id))
    if point is None:
        raise NotFound(f"photo {key} does not exist")
    permissions.require_community(g.user, point.community)
    return photo_response(key, *hazards.photo(services().env.photos, point, key))


@bp.get("/monthly-report")
@signed_in(permissions.COMMUNITY_READ)
def report():
    """社区月报 (§9.2) for `?community=…&month=YYYY-MM`."""
    return read(monthly_report.build, _community(), request.args.get("month") or "")
