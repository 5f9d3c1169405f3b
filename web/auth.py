"""Bearer-token authentication and role checks for every /api endpoint."""
from __future__ import annotations

from functools import wraps

from flask import current_app, g, request

from engine import users
from engine.errors import Forbidden, InvalidData, Unauthorized


def services():
    return current_app.extensions["eventflow"]


def signed_in(*roles):
    """Require a valid bearer token; with roles, require one of them."""
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthorized("send Authorization: Bearer <token> (POST /api/auth/token)",
                                   field="Authorization")
            svc = services()
            g.user = svc.read(lambda s: users.authenticate(s, svc.runtime.wall_clock, token.strip()))
            if roles and not g.user.roles & set(roles):
                raise Forbidden(f"this needs one of the roles {', '.join(roles)}", field="role")
            return view(*args, **kwargs)
        return wrapper
    return decorate


def json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidData([{"field": "(body)", "reason": "expected a JSON object (Content-Type: application/json)"}])
    return body
