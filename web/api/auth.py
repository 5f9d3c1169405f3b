"""Bearer tokens (engine/accounts/users.py): sign in for one, and who it stands for."""
from flask import Blueprint, g, request

from engine.core.clock import local
from engine.core.errors import InvalidData
from web.auth import json_body, public, services, signed_in

bp = Blueprint("auth", __name__, url_prefix="/api/auth")


@bp.post("/token")
@public
def token():
    body = json_body()
    missing = [{"field": f, "reason": "必填项 (required)"} for f in ("username", "password")
               if not isinstance(body.get(f), str) or not body.get(f)]
    if missing:
        raise InvalidData(missing)
    value, expires = services().sign_in(body["username"], body["password"], request.remote_addr)
    return {"token": value, "token_type": "Bearer", "expires_at": local(expires)}


@bp.get("/me")
@signed_in()
def me():
    return g.user.to_dict()
