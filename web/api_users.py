"""Staff accounts over HTTP (issue #6): the list, and a bulk import from xlsx or CSV (system_admin)."""
from flask import Blueprint, jsonify, request

from engine.errors import InvalidData
from web.auth import services, signed_in

bp = Blueprint("users", __name__, url_prefix="/api/users")


@bp.get("")
@signed_in("system_admin")
def index():
    svc = services()
    return jsonify({"items": svc.read(svc.runtime.list_users)})


@bp.post("/import")
@signed_in("system_admin")
def import_users():
    """Multipart `file` (.xlsx or UTF-8 .csv): every row checked, all created or none; initial passwords once."""
    upload = request.files.get("file")
    if upload is None:
        raise InvalidData([{"field": "file", "reason": "请上传 xlsx 或 CSV 文件 (multipart `file`)"}])
    data = upload.read()
    svc = services()
    created = svc.run(lambda s: svc.runtime.import_users(s, upload.filename, data, svc.settings.scrypt_n))
    return jsonify({"created": created}), 201
