"""The role × operation table (issue #15), written once: each API view names its operation rule of
engine/accounts/permissions.py (`web/auth.signed_in(rule)`, `public`); `eventflow docs` writes the rules into the
OpenAPI document (`x-permission`, `x-roles` per operation) and the README's table from that document. A test
regenerates both and fails when either is out of date, and another calls every operation as every role
against the document's `x-roles`."""
from __future__ import annotations

import json
import re
from pathlib import Path

from engine.accounts import permissions
from engine.accounts.users import ROLES

ROOT = Path(__file__).resolve().parent.parent
OPENAPI = ROOT / "web" / "openapi.json"
README = ROOT / "README.md"
HTTP_METHODS = ("get", "put", "post", "patch", "delete")
BEGIN, END = "<!-- roles table: written by `eventflow docs` from web/openapi.json -->", "<!-- end of roles table -->"
#: short column heads for the README (the roles catalog has the Chinese names)
HEADS = {"grid_worker": "网格员", "community_staff": "社区干部", "whistle_officer": "吹哨", "stationed_staff": "下沉",
         "department_staff": "部门", "committee": "联合党委", "city_authority": "市级", "process_admin": "流程管理",
         "system_admin": "系统管理"}


def openapi_path(rule: str) -> str:
    """Flask's `/api/events/<int:event_id>` as OpenAPI's `/api/events/{event_id}`."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def operation_rules(app) -> dict[tuple[str, str], permissions.Rule]:
    """(method, OpenAPI path) → the rule its view names, for every documented route of the app."""
    found = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(("/api/", "/open311/")):
            continue
        view = app.view_functions[rule.endpoint]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found[(method.lower(), openapi_path(rule.rule))] = getattr(view, "permission", None)
    return found


def with_roles(doc: dict, rules: dict) -> dict:
    """The document with each operation's `x-permission` and `x-roles` (in the order of engine/users.ROLES)."""
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method not in HTTP_METHODS:
                continue
            rule = rules.get((method, path))
            if rule is None:
                raise ValueError(f"{method.upper()} {path}: the view names no rule (web/auth.signed_in or public)")
            op["x-permission"] = rule.name
            op["x-roles"] = list(rule.roles)
            if rule is not permissions.PUBLIC and set(rule.roles) != set(ROLES) and "403" not in op["responses"]:
                op["responses"]["403"] = {"$ref": "#/components/responses/ForbiddenRole"}
                op["responses"] = dict(sorted(op["responses"].items()))
    return doc


def roles_table(doc: dict) -> str:
    """The README's table: one row per operation, a column per role (✓ may call it), and what narrows it."""
    lines = ["| operation | " + " | ".join(HEADS[r] for r in ROLES) + " | scope |",
             "|---|" + "---|" * len(ROLES) + "---|"]
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method not in HTTP_METHODS:
                continue
            rule = permissions.RULES.get(op["x-permission"], permissions.PUBLIC)
            if rule is permissions.PUBLIC:
                cells = ["·"] * len(ROLES)
                scope = "no token: " + rule.scope
            else:
                cells = ["✓" if r in op["x-roles"] else "" for r in ROLES]
                scope = rule.scope
            lines.append(f"| `{method.upper()} {path}` | " + " | ".join(cells) + f" | {scope} |")
    return "\n".join(lines)


def render(app) -> tuple[str, str]:
    """(openapi.json text, README text) as `eventflow docs` writes them."""
    doc = with_roles(json.loads(OPENAPI.read_text(encoding="utf-8")), operation_rules(app))
    readme = README.read_text(encoding="utf-8")
    start, end = readme.index(BEGIN) + len(BEGIN), readme.index(END)
    readme = readme[:start] + "\n" + roles_table(doc) + "\n" + readme[end:]
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n", readme


def write(app) -> None:
    document, readme = render(app)
    OPENAPI.write_text(document, encoding="utf-8")
    README.write_text(readme, encoding="utf-8")
