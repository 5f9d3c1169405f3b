"""Deploying process versions: a .bpmn or a zipped bundle over HTTP (administrators, no code edits);
activating one and migrating running instances to it (engine/casework/process_versions.py)."""
from flask import Blueprint, g, request

from engine.casework import process_versions
from engine.runtime import bundle as bundles, versions as version_history
from engine.accounts import permissions
from engine.core.errors import InvalidData
from engine.core.ids import MAX_ID, is_record_id
from engine.runtime.versions import describe
from web.auth import services, signed_in
from web.units import items, read, run

bp = Blueprint("processes", __name__, url_prefix="/api/process-versions")


@bp.post("")
@signed_in(permissions.VERSIONS)
def deploy():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidData([{"field": "file", "reason": "attach a .bpmn file or a .zip bundle as multipart field 'file'"}])
    version, created = run(process_versions.deploy, bundles.from_upload(upload.filename, upload.read()))
    # event types (Table A.1 `process`) still naming a process no active version provides
    return {**describe(version), "created": created, "warnings": read(process_versions.unprovided)}, \
        201 if created else 200


@bp.get("")
@signed_in(permissions.VERSIONS)
def index():
    """Every version, newest first per process, with its instances; `?process=` for one process."""
    return items(services().read(lambda s: version_history.listing(s, request.args.get("process") or None)))


@bp.get("/<int:version_id>")
@signed_in(permissions.VERSIONS)
def show(version_id):
    """One version: who, when, hash, its instances, and what changed against the version before."""
    return services().read(lambda s: version_history.detail(s, version_id))


@bp.post("/<int:version_id>/activate")
@signed_in(permissions.VERSIONS)
def activate(version_id):
    """启用 (rollback to an earlier version, or forward again): new events start on it."""
    run(process_versions.activate, version_id)
    return services().read(lambda s: version_history.detail(s, version_id))


@bp.get("/<int:version_id>/migration")
@signed_in(permissions.VERSIONS)
def migration_plan(version_id):
    """迁移预演 (dry run): per running or suspended instance of the process on another version, whether
    it can move to this one and why not, and the armed timers that keep their due times."""
    return read(process_versions.migration_plan, version_id)


@bp.post("/<int:version_id>/migration")
@signed_in(permissions.VERSIONS)
def migrate(version_id):
    """迁移: `{"instances": [ids]}` (default: every instance the dry run says can move), each in its own
    unit of work; one that cannot move is reported with its reasons and left as it was."""
    body = request.get_json(silent=True) or {}
    wanted = body.get("instances") if isinstance(body, dict) else None
    if wanted is not None and (not isinstance(wanted, list) or not all(is_record_id(i) for i in wanted)):
        raise InvalidData([{"field": "instances", "reason": f"a list of instance ids (whole numbers from 1 to {MAX_ID})"}])
    if wanted is None:
        wanted = [i["instance_id"] for i in read(process_versions.migration_plan, version_id)["items"] if i["can_move"]]
    else:
        read(process_versions.target, version_id)          # 404 before anything moves
    results = services().migrate_instances(version_id, wanted, g.user.username)
    return items(read(process_versions.shown, results))
