"""Catalogs, read-only, for any signed-in user (forms and maps need them)."""
from flask import Blueprint, jsonify

from engine.errors import NotFound
from web.auth import services, signed_in

bp = Blueprint("catalogs", __name__, url_prefix="/api/catalogs")


@bp.get("")
@signed_in()
def index():
    return jsonify({"items": services().catalogs.names()})


@bp.get("/<name>")
@signed_in()
def show(name):
    catalogs = services().catalogs
    if name not in catalogs.names():
        raise NotFound(f"no catalog named {name!r}; one of {', '.join(catalogs.names())}", field="name")
    return jsonify(catalogs.get(name))
