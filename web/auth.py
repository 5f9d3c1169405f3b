"""Bearer-token authentication for every /api endpoint, and the operation rule each one names
(engine/accounts/permissions.py): `eventflow docs` writes the rules into the OpenAPI document as `x-roles`."""
from __future__ import annotations

from functools import wraps

from flask import g, request

from engine.accounts import permissions
from engine.core.errors import InvalidData, Unauthorized
from web.units import services  # noqa: F401 - views import it from here too


def signed_in(rule: permissions.Rule = permissions.SIGNED_IN):
    """Require a valid bearer token, then the operation's rule (403 naming `role` before anything else)."""
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthorized("请先登录 (send Authorization: Bearer <token>, from POST /api/auth/token)",
                                   field="Authorization")
            svc = services()
            g.user = svc.authenticate(token.strip())   # on PostgreSQL inside the request's unit of work
            rule.require(g.user)
            return view(*args, **kwargs)
        wrapper.permission = rule
        return wrapper
    return decorate


def public(view):
    """An operation without a token (sign-in, health, the document, Open311, a device's signed alert)."""
    view.permission = permissions.PUBLIC
    return view


def json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidData([{"field": "(body)", "reason": "expected a JSON object (Content-Type: application/json)"}])
    return body
