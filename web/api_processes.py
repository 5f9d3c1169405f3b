"""Deploying process versions: a .bpmn or a zipped bundle over HTTP (administrators, no code edits)."""
from flask import Blueprint, g, jsonify, request
from sqlalchemy import func, select

from engine import bundle as bundles
from engine.clock import local
from engine.errors import InvalidData
from engine.models import Instance, ProcessVersion
from web.auth import services, signed_in

bp = Blueprint("processes", __name__, url_prefix="/api/process-versions")
ADMINS = ("process_admin", "system_admin")


def describe(version: ProcessVersion, instances: int | None = None) -> dict:
    body = {"id": version.id, "process_key": version.process_key, "version": version.version,
            "content_hash": version.content_hash, "active": version.active,
            "deployed_at": local(version.deployed_at), "deployed_by": version.deployed_by,
            "user_tasks": sorted(k for k in version.task_meta if not k.startswith("_"))}
    if instances is not None:
        body["instances"] = instances
    return body


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
    def query(session):
        counts = dict(session.execute(select(Instance.version_id, func.count(Instance.id))
                                      .group_by(Instance.version_id)).all())
        rows = session.scalars(select(ProcessVersion).order_by(ProcessVersion.process_key,
                                                               ProcessVersion.version.desc()))
        return [describe(v, counts.get(v.id, 0)) for v in rows]
    return jsonify({"items": services().read(query)})
