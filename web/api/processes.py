"""Deploying process versions: a .bpmn or a zipped bundle over HTTP (administrators, no code edits)."""
from flask import Blueprint, g, jsonify, request

from engine.runtime import bundle as bundles
from engine.runtime import instance_migration as migration, versions as version_history
from engine.accounts import permissions, privacy
from engine.core.errors import InvalidData
from engine.core.ids import MAX_ID, is_record_id
from engine.runtime.versions import describe
from web.auth import services, signed_in

bp = Blueprint("processes", __name__, url_prefix="/api/process-versions")


@bp.post("")
@signed_in(permissions.VERSIONS)
def deploy():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidData([{"field": "file", "reason": "attach a .bpmn file or a .zip bundle as multipart field 'file'"}])
    bundle = bundles.from_upload(upload.filename, upload.read())
    svc = services()
    actor = g.user.username
    version, created = svc.run(lambda s: svc.runtime.deploy(s, bundle, actor))
    return jsonify({**describe(version), "created": created}), 201 if created else 200


@bp.get("")
@signed_in(permissions.VERSIONS)
def index():
    """Every version, newest first per process, with its instances; `?process=` for one process."""
    process = request.args.get("process") or None
    return jsonify({"items": services().read(lambda s: version_history.listing(s, process))})


@bp.get("/<int:version_id>")
@signed_in(permissions.VERSIONS)
def show(version_id):
    """One version: who, when, hash, its instances, and what changed against the version before."""
    return jsonify(services().read(lambda s: version_history.detail(s, version_id)))


@bp.post("/<int:version_id>/activate")
@signed_in(permissions.VERSIONS)
def activate(version_id):
    """启用 (rollback to an earlier version, or forward again): new events start on it."""
    svc = services()
    user = g.user
    svc.run(lambda s: version_history.activate(s, version_id, user.username, svc.clock.now()))
    return jsonify(svc.read(lambda s: version_history.detail(s, version_id)))


@bp.get("/<int:version_id>/migration")
@signed_in(permissions.VERSIONS)
def migration_plan(version_id):
    """迁移预演 (dry run): per running or suspended instance of the process on another version, whether
    it can move to this one and why not, and the armed timers that keep their due times."""
    svc = services()
    return jsonify(svc.read(lambda s: migration.dry_run(s, svc.runtime.specs, version_id,
                                                        redact=privacy.redactor(s, svc.catalogs, g.user))))


@bp.post("/<int:version_id>/migration")
@signed_in(permissions.VERSIONS)
def migrate(version_id):
    """迁移: `{"instances": [ids]}` (default: every instance the dry run says can move), each in its own
    unit of work; one that cannot move is reported with its reasons and left as it was."""
    body = request.get_json(silent=True) or {}
    wanted = body.get("instances") if isinstance(body, dict) else None
    if wanted is not None and (not isinstance(wanted, list) or not all(is_record_id(i) for i in wanted)):
        raise InvalidData([{"field": "instances", "reason": f"a list of instance ids (whole numbers from 1 to {MAX_ID})"}])
    svc = services()
    actor = g.user.username
    if wanted is None:
        plan = svc.read(lambda s: migration.dry_run(s, svc.runtime.specs, version_id, redact=privacy.redactor(s, svc.catalogs, g.user)))
        wanted = [i["instance_id"] for i in plan["items"] if i["can_move"]]
    else:
        svc.read(lambda s: migration.target_of(s, version_id))          # 404 before anything moves
    results = svc.migrate_instances(version_id, wanted, actor)
    return jsonify({"items": svc.read(lambda s: privacy.redact_items(s, svc.catalogs, g.user, results))})
