"""Staff accounts over HTTP (issue #6, system_admin): the list, one account created or changed (roles,
scope, active, a new password), and a bulk import from xlsx or CSV."""
from flask import Blueprint, g, jsonify, request

from engine.accounts import permissions
from engine.core.errors import InvalidData
from web.auth import json_body, services, signed_in

bp = Blueprint("users", __name__, url_prefix="/api/users")


@bp.get("")
@signed_in(permissions.USERS)
def index():
    svc = services()
    return jsonify({"items": svc.read(svc.runtime.list_users)})


@bp.post("/import")
@signed_in(permissions.USERS)
def import_users():
    """Multipart `file` (.xlsx or UTF-8 .csv): every row checked, all created or none; initial passwords once."""
    upload = request.files.get("file")
    if upload is None:
        raise InvalidData([{"field": "file", "reason": "请上传 xlsx 或 CSV 文件 (multipart `file`)"}])
    data = upload.read()
    svc = services()
    actor = g.user.username
    created = svc.run(lambda s: svc.runtime.import_users(s, upload.filename, data, svc.settings.scrypt_n, actor))
    return jsonify({"created": created}), 201, {"Cache-Control": "no-store"}   # initial passwords, once


@bp.post("")
@signed_in(permissions.USERS)
def create():
    """新建账号: `{username, password, display_name, roles, community, unit, sensitive_access}`."""
    body = json_body()
    svc = services()
    user = g.user
    return jsonify(svc.run(lambda s: svc.runtime.create_user(s, body, user, svc.settings.scrypt_n))), 201


@bp.patch("/<int:user_id>")
@signed_in(permissions.USERS)
def update(user_id):
    """修改账号: any of display_name, roles, community, unit, sensitive_access, active, password. A change of
    roles, scope, password or state ends the account's tokens and web sessions."""
    body = json_body()
    svc = services()
    user = g.user
    return jsonify(svc.run(lambda s: svc.runtime.update_user(s, user_id, body, user, svc.settings.scrypt_n)))
