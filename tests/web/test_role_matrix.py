"""The role × operation table (issue #15): every operation of the OpenAPI document, called as every role and
without a token, answers as its `x-roles` say — a role outside them gets 403 naming `role` before anything
is read; a role inside them never does (its request may still be refused for its scope or its data, with 404
or 422, never 401 or a 5xx); no token gets 401 wherever a token is needed. The table itself is written once
(engine/accounts/permissions.py) and copied by `eventflow docs`: a second test fails when the copies are stale."""
from __future__ import annotations

import json
import shutil

import pytest

from engine.accounts.users import ROLES
from tests.web.test_sensitive_leaks import DOC
from web import apidoc

#: one demo user (engine/accounts/demo.py DEMO_USERS) of each role
USER_OF = {"grid_worker": "grid1", "community_staff": "staff1", "whistle_officer": "whistle1",
           "stationed_staff": "stationed1", "department_staff": "zhifa1", "committee": "committee1",
           "city_authority": "city1", "process_admin": "owner1", "system_admin": "admin1"}
#: path parameters that name nothing (an operation a role may call then answers 404 or 422, not 403)
PARAMS = {"fmt": "json", "code": "lg-nowhere", "name": "no_such_catalog", "key": "0" * 64, "token": "none"}


@pytest.fixture
def database_url(tmp_path, seeded_sqlite_template):
    """What a role may call does not depend on the database: SQLite (seeded, for the `app` fixture)."""
    path = tmp_path / "eventflow.sqlite3"
    shutil.copy(seeded_sqlite_template, path)
    return f"sqlite:///{path}"


def concrete(template: str) -> str:
    out = template
    for name in [p.split("}")[0] for p in template.split("{")[1:]]:
        out = out.replace("{" + name + "}", PARAMS.get(name, "999999"))
    return out


def operations():
    for template, item in DOC["paths"].items():
        for method, op in item.items():
            if method in apidoc.HTTP_METHODS:
                yield method, template, op


def test_every_operation_names_its_roles():
    assert all("x-roles" in op and "x-permission" in op for _m, _t, op in operations())
    assert all(set(op["x-roles"]) <= set(ROLES) for _m, _t, op in operations())
    assert set(USER_OF) == set(ROLES)


def test_every_operation_as_every_role_and_no_token(api):
    problems = []
    for method, template, op in operations():
        path = concrete(template)
        public = op["x-permission"] == "public"
        kwargs = {"json": {}} if method in ("post", "put", "patch") else {}
        anonymous = api.client.open(path, method=method.upper(), **kwargs)
        if anonymous.status_code >= 500 or (not public and anonymous.status_code != 401):
            problems.append(f"no token: {method.upper()} {path} → {anonymous.status_code}")
        if public:
            continue
        for role in ROLES:
            r = api.client.open(path, method=method.upper(), headers=api.headers(USER_OF[role]), **kwargs)
            body = r.get_json(silent=True) or {}
            role_refused = r.status_code == 403 and body.get("field") == "role"
            expected = role in op["x-roles"]
            if r.status_code >= 500 or r.status_code == 401 or role_refused == expected:
                problems.append(f"{role}: {method.upper()} {path} → {r.status_code} {json.dumps(body, ensure_ascii=False)[:160]}"
                                f" (x-roles: {', '.join(op['x-roles'])})")
    assert not problems, "\n".join(problems)


def test_the_tables_are_written_from_the_rules(app):
    """web/openapi.json's x-roles and the README's table are what `eventflow docs` writes from
    engine/accounts/permissions.py and the views' rules (run it after changing a rule)."""
    document, readme = apidoc.render(app)
    assert json.loads(document) == DOC, "web/openapi.json is out of date: run `eventflow docs`"
    assert readme == apidoc.README.read_text(encoding="utf-8"), "README.md's roles table is out of date: run `eventflow docs`"


def test_the_drift_the_issue_measured_is_gone(api):
    """GET /api/sim/now is the city's and administrators'; a system administrator does not merge duplicates;
    a grid worker reads its own community's indicators (and only those)."""
    assert api.get("/api/sim/now", "grid1").status_code == 403
    assert api.get("/api/sim/now", "city1").status_code == 200
    a, b = api.report(), api.report()
    r = api.post(f"/api/events/{b['id']}/merge", "admin1", json={"into": a["id"], "reason": "同一问题重复上报"})
    assert r.status_code == 403 and r.json["field"] == "role"
    api.complete("staff1", a["id"], "verify", {"verdict": "accept"})
    api.complete("staff1", a["id"], "analyse", {"disposal": "cadre"})
    api.advance("P3D")                   # its handling limit falls due: the community has numbers
    period = {"from": "2026-10-01T00:00:00+08:00", "to": "2026-11-01T00:00:00+08:00"}
    everything = api.get("/api/indicators", "city1", query_string={**period, "level": "community"}).json["items"]
    assert "lg-xincheng" in [row["key"] for row in everything], everything
    r = api.get("/api/indicators", "grid1", query_string={**period, "level": "community"})
    assert r.status_code == 200, r.json
    assert r.json["items"] == [row for row in everything if row["key"] == "lg-xincheng"]
    r = api.get("/api/indicators", "grid1", query_string={**period, "level": "person"})
    assert {row["key"] for row in r.json["items"]} <= {"grid1"}
