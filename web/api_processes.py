"""Deploying process versions: a .bpmn or a zipped bundle over HTTP (administrators, no code edits)."""
from flask import Blueprint, g, jsonify, request

from engine import bundle as bundles
from engine import version_history
from engine.errors import InvalidData
from engine.version_history import describe
from web.auth import services, signed_in

bp = Blueprint("processes", __name__, url_prefix="/api/process-versions")
ADMINS = ("process_admin", "system_admin")


@bp.post("")
@signed_in(*ADMINS)
def deploy():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidData([{"field": "file", "reason": "attach a .bpmn file or a .zip bundle as multipart field 'file'"}])
    data, name = upload.read(), upload.filename
    if name.lower().endswith(".zip"):
        bundle = bundles.from_zip(data, name)
    elif name.lower().endswith(".bpmn"):
        bundle = bundles.from_bpmn(name, data)
    else:
        raise InvalidData([{"field": "file", "reason": f"{name!r} is neither .bpmn nor .zip"}])
    svc = services()
    actor = g.user.username
    version, created = svc.run(lambda s: svc.runtime.deploy(s, bundle, actor))
    return jsonify({**describe(version), "created": created}), 201 if created else 200


@bp.get("")
@signed_in(*ADMINS)
def index():
    """Every version, newest first per process, with its instances; `?process=` for one process."""
    process = request.args.get("process") or None
    return jsonify({"items": services().read(lambda s: version_history.listing(s, process))})


@bp.get("/<int:version_id>")
@signed_in(*ADMINS)
def show(version_id):
    """One version: who, when, hash, its instances, and what changed against the version before."""
    return jsonify(services().read(lambda s: version_history.detail(s, version_id)))


@bp.post("/<int:version_id>/activate")
@signed_in(*ADMINS)
def activate(version_id):
    """启用 (rollback to an earlier version, or forward again): new events start on it."""
    svc = services()
    user = g.user
    svc.run(lambda s: version_history.activate(s, version_id, user, svc.clock.now()))
    return jsonify(svc.read(lambda s: version_history.detail(s, version_id)))
