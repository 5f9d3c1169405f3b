"""Catalogs: read by any signed-in user (forms and maps need them); the whistle lists, time limits, unit
tree, duty rosters and calendar edited by administrators (engine/accounts/catalog_edits.py)."""
from flask import Blueprint, g, jsonify, request

from engine.accounts import catalog_edits, permissions
from engine.core.errors import InvalidData, NotFound
from web.auth import json_body, services, signed_in

bp = Blueprint("catalogs", __name__, url_prefix="/api/catalogs")


@bp.get("")
@signed_in()
def index():
    return jsonify({"items": services().catalogs.names(), "editable": list(catalog_edits.EDITABLE)})


@bp.get("/<name>")
@signed_in()
def show(name):
    catalogs = services().catalogs
    if name not in catalogs.names():
        raise NotFound(f"no catalog named {name!r}; one of {', '.join(catalogs.names())}", field="name")
    return jsonify(catalogs.get(name))


@bp.put("/<name>")
@signed_in(permissions.CATALOG_EDIT)
def replace(name):
    """The whole catalog as its data file would hold it; checked with everything else in force."""
    document = request.get_json(silent=True)
    if document is None:
        raise InvalidData([{"field": "(body)", "reason": "expected the catalog as JSON (Content-Type: application/json)"}])
    svc = services()
    user = g.user
    return jsonify(svc.edit_catalog(lambda s: catalog_edits.save(
        s, name, document, user, svc.clock.now(), svc.settings.catalog_dir)))


@bp.put("/communities/<code>")
@signed_in(permissions.COMMUNITY_SETTINGS)
def community(code):
    """§7.3.2 吹哨清单 and §8.1 处置时限 of one community: `{whistle_list, time_limits}` (either)."""
    body = json_body()
    svc = services()
    user = g.user
    return jsonify(svc.edit_catalog(lambda s: catalog_edits.save_community(
        s, code, body, user, svc.clock.now(), svc.settings.catalog_dir)))


@bp.get("/<name>/revisions")
@signed_in(permissions.CATALOG_HISTORY)
def revisions(name):
    """修改记录: who changed the catalog, when, and which rows."""
    svc = services()
    return jsonify({"items": svc.read(lambda s: catalog_edits.history(s, name))})
