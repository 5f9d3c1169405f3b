"""Catalogs: read by any signed-in user (forms and maps need them); the whistle lists, time limits, unit
tree, duty rosters, calendar, escalation ladder and Tables A.1 and B.1 edited by administrators
(engine/accounts/catalog_edits.py)."""
from flask import Blueprint, g, request

from engine.accounts import catalog_edits, permissions
from engine.core.errors import InvalidData, NotFound
from web.auth import json_body, services, signed_in
from web.units import items, page_asked, read

bp = Blueprint("catalogs", __name__, url_prefix="/api/catalogs")


def _edit(save, key: str, document) -> dict:
    """`save` (catalog_edits.save or save_community) of `document` under `key`, by the signed-in user."""
    svc, user = services(), g.user
    return svc.edit_catalog(lambda s: save(s, key, document, user, svc.clock.now(), svc.settings.catalog_dir))


@bp.get("")
@signed_in()
def index():
    return {**items(services().catalogs.names()), "editable": list(catalog_edits.EDITABLE)}


@bp.get("/<name>")
@signed_in()
def show(name):
    catalogs = services().catalogs
    if name not in catalogs.names():
        raise NotFound(f"no catalog named {name!r}; one of {', '.join(catalogs.names())}", field="name")
    return catalogs.get(name)


@bp.put("/<name>")
@signed_in(permissions.CATALOG_EDIT)
def replace(name):
    """The whole catalog as its data file would hold it; checked with everything else in force."""
    document = request.get_json(silent=True)
    if document is None:
        raise InvalidData([{"field": "(body)", "reason": "expected the catalog as JSON (Content-Type: application/json)"}])
    return _edit(catalog_edits.save, name, document)


@bp.put("/communities/<code>")
@signed_in(permissions.COMMUNITY_SETTINGS)
def community(code):
    """§7.3.2 吹哨清单, §8.1 处置时限 and §9.2 网格 of one community: `{whistle_list, time_limits, grids}` (any)."""
    return _edit(catalog_edits.save_community, code, json_body())


@bp.put("/step_limits/<code>")
@signed_in(permissions.COMMUNITY_SETTINGS)
def community_steps(code):
    """§8.1 社区环节时限 of one community: `{event type or "default": {verify, analyse, whistle, check}}`."""
    return _edit(catalog_edits.save_community_steps, code, json_body())


@bp.get("/<name>/revisions")
@signed_in(permissions.CATALOG_HISTORY)
def revisions(name):
    """修改记录: who changed the catalog, when, and which rows; newest first, a page at a time."""
    asked = page_asked(50, 200)
    return read(lambda cmd: catalog_edits.history(cmd.session, name, asked)).body()
