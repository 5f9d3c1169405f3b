"""Staff accounts over HTTP (issue #6, system_admin): the list, one account created or changed (roles,
scope, active, a new password), and a bulk import from xlsx or CSV (engine/accounts/users.py,
engine/accounts/user_import.py)."""
from flask import Blueprint, request

from engine.accounts import permissions, user_import, users
from engine.core.errors import InvalidData
from web.auth import json_body, services, signed_in
from web.units import page_asked, read, run

bp = Blueprint("users", __name__, url_prefix="/api/users")


@bp.get("")
@signed_in(permissions.USERS)
def index():
    """The accounts by username, a page at a time (follow `next_cursor`)."""
    return read(users.list_accounts, page_asked(200, 500)).body()


@bp.post("/import")
@signed_in(permissions.USERS)
def import_users():
    """Multipart `file` (.xlsx or UTF-8 .csv): every row checked, all created or none; initial passwords once."""
    upload = request.files.get("file")
    if upload is None:
        raise InvalidData([{"field": "file", "reason": "请上传 xlsx 或 CSV 文件 (multipart `file`)"}])
    created = run(user_import.import_users, upload.filename, upload.read(), services().settings.scrypt_n)
    return {"created": created}, 201, {"Cache-Control": "no-store"}   # initial passwords, once


@bp.post("")
@signed_in(permissions.USERS)
def create():
    """新建账号: `{username, password, display_name, roles, community, unit, sensitive_access}`."""
    return run(users.create_account, json_body(), services().settings.scrypt_n), 201


@bp.patch("/<int:user_id>")
@signed_in(permissions.USERS)
def update(user_id):
    """修改账号: any of display_name, roles, community, unit, sensitive_access, active, password. A change of
    roles, scope, password or state ends the account's tokens and web sessions."""
    return run(users.update_account, user_id, json_body(), services().settings.scrypt_n)
