"""web/openapi.json: a well-formed OpenAPI 3.1 document that describes exactly the app's /api routes.

No database is needed: create_app builds the url_map without touching the tables.
"""
from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from engine.runtime import bundle
from engine.accounts import users
from engine.casework import process_versions
from engine.core.config import Settings
from engine.store.db import init_db
from engine.pool.events import EVENT_SCHEMA, LIST_FILTERS, SOURCES
from engine.accounts.users import ROLES
from web import create_app

ROOT = Path(__file__).resolve().parents[2]
DOC_PATH = ROOT / "web" / "openapi.json"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
#: methods Flask adds to every rule by itself
IMPLICIT = {"HEAD", "OPTIONS"}
#: the only operations that need no bearer token
PUBLIC = {("post", "/api/auth/token"), ("get", "/api/health"), ("get", "/api/openapi.json"),
          ("post", "/api/csp-reports"),   # browsers send what a page's policy refused (web/headers.py)
          ("get", "/api/health/worker"),  # for a monitor, as /api/health
          ("post", "/api/alerts"),   # a device signs its alert instead (engine/channels/devices.py)
          # GeoReport v2 (docs/open311.md): public reads; a submission carries its channel's api_key
          *{("get", f"/open311/v2/{p}.{{fmt}}") for p in ("services", "services/{code}", "requests",
                                                          "requests/{request_id}", "tokens/{token}",
                                                          "servicerequestupdates")},
          ("post", "/open311/v2/requests.{fmt}"), ("post", "/open311/v2/servicerequestupdates.{fmt}")}
#: Open311's catch-all answers unknown paths in GeoReport's error shape: not an operation to document
UNDOCUMENTED_ENDPOINTS = {"open311.unknown"}


@pytest.fixture(scope="module")
def doc() -> dict:
    return json.loads(DOC_PATH.read_text(encoding="utf-8"))


@pytest.fixture
def flask_app(tmp_path):
    app = create_app(Settings.from_env(env={}, database_url=f"sqlite:///{tmp_path}/t.sqlite3"))
    yield app
    app.extensions["eventflow"].db.dispose()


def operations(doc):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                yield path, method, op


def resolve(doc, ref: str):
    assert ref.startswith("#/"), f"external or malformed $ref {ref!r}"
    node = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"$ref {ref!r} does not resolve"
        node = node[part]
    return node


def deref(doc, node):
    while isinstance(node, dict) and "$ref" in node:
        node = resolve(doc, node["$ref"])
    return node


def all_refs(node, where="#"):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield where, value
            else:
                yield from all_refs(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from all_refs(value, f"{where}/{i}")


def reaches(doc, node, target: str) -> bool:
    """Does `node` refer to `target`, directly or through other $refs (allOf: [Error, …])?"""
    seen, todo = set(), [ref for _, ref in all_refs(node)]
    while todo:
        ref = todo.pop()
        if ref == target:
            return True
        if ref not in seen:
            seen.add(ref)
            todo.extend(r for _, r in all_refs(resolve(doc, ref)))
    return False


def app_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", *UNDOCUMENTED_ENDPOINTS) or not rule.rule.startswith(("/api/", "/open311/v2/")):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - IMPLICIT:
            routes.add((method.lower(), path))
    return routes


def strip_annotations(schema):
    """A schema without the words (description, title, examples, a pattern's `x-hint` …), for comparing
    constraints."""
    if isinstance(schema, dict):
        return {k: strip_annotations(v) for k, v in schema.items()
                if k not in ("description", "title", "example", "examples", "x-hint")}
    if isinstance(schema, list):
        return [strip_annotations(v) for v in schema]
    return schema


def inline_refs(doc, schema):
    if isinstance(schema, dict):
        if "$ref" in schema:
            return inline_refs(doc, resolve(doc, schema["$ref"]))
        return {k: inline_refs(doc, v) for k, v in schema.items()}
    if isinstance(schema, list):
        return [inline_refs(doc, v) for v in schema]
    return schema


# ---------------------------------------------------------------------------------------- structure
def test_header(doc):
    assert re.fullmatch(r"3\.1\.\d+", doc["openapi"])
    assert doc["info"]["title"] == "eventflow"
    assert doc["info"]["version"] == "0.1.0"
    assert {"url": "/"}.items() <= doc["servers"][0].items()
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        **doc["components"]["securitySchemes"]["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert isinstance(doc["paths"], dict) and doc["paths"]


def test_every_operation_is_complete(doc):
    seen_ids = set()
    for path, method, op in operations(doc):
        where = f"{method.upper()} {path}"
        assert path.startswith(("/api/", "/open311/v2/")), where
        assert op.get("operationId"), f"{where} has no operationId"
        assert op["operationId"] not in seen_ids, f"{where}: duplicate operationId {op['operationId']}"
        seen_ids.add(op["operationId"])
        assert op.get("summary") and op.get("description"), f"{where} needs a summary and a description"
        assert "**Roles:**" in op["description"], f"{where} does not say which roles may call it"
        assert op.get("responses"), f"{where} has no responses"
        for status, response in op["responses"].items():
            assert status == "default" or re.fullmatch(r"[1-5][0-9][0-9]", status), f"{where}: status {status}"
            assert deref(doc, response).get("description"), f"{where} {status} has no description"
        assert any(s.startswith("2") for s in op["responses"]), f"{where} has no success response"
        for name in re.findall(r"{([^}]+)}", path):
            params = [deref(doc, p) for p in op.get("parameters", []) + doc["paths"][path].get("parameters", [])]
            assert any(p["in"] == "path" and p["name"] == name and p.get("required") is True for p in params), \
                f"{where}: path parameter {name} is not declared as required"
        for requirement in op.get("security", doc.get("security", [])):
            for scheme in requirement:
                assert scheme in doc["components"]["securitySchemes"], f"{where}: unknown scheme {scheme}"


def test_every_ref_resolves(doc):
    refs = list(all_refs(doc))
    assert refs
    for where, ref in refs:
        assert isinstance(ref, str), where
        resolve(doc, ref)


def test_component_schemas_are_json_schema_2020_12(doc):
    for name, schema in doc["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema)  # raises, naming the keyword, if malformed
        assert name


def test_errors_use_the_error_shape(doc):
    error = doc["components"]["schemas"]["Error"]
    assert {"error", "message"} <= set(error["required"])
    assert {"errors", "field", "file", "element", "line", "reason", "handler", "task_id"} <= set(error["properties"])
    for path, method, op in operations(doc):
        # GeoReport v2 has its own error shape (docs/open311.md)
        error_ref = "#/components/schemas/GeoReportErrors" if path.startswith("/open311/") else \
            "#/components/schemas/Error"
        for status, response in op["responses"].items():
            # the health checks' 503 is their report, for a monitor
            if status.startswith(("4", "5")) and (method, path, status) not in {("get", "/api/health", "503"),
                                                                                ("get", "/api/health/worker", "503")}:
                schema = deref(doc, response)["content"]["application/json"]["schema"]
                assert reaches(doc, schema, error_ref), f"{method.upper()} {path} {status} is not an Error"


# ---------------------------------------------------------------------------------------- the app
def test_every_route_is_documented_and_nothing_else(doc, flask_app):
    routes = app_routes(flask_app)
    documented = {(method, path) for path, method, _ in operations(doc)}
    assert routes, "the app has no /api routes"
    assert sorted(routes - documented) == [], "routes missing from web/openapi.json"
    assert sorted(documented - routes) == [], "documented operations the app does not serve"


def test_authentication_matches_the_views(doc, flask_app):
    """A view wrapped by signed_in() needs the bearer token and may answer 401; the others need none."""
    views = flask_app.view_functions
    for rule in flask_app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint in UNDOCUMENTED_ENDPOINTS \
                or not rule.rule.startswith(("/api/", "/open311/v2/")):   # the web app's pages use a session
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        secured = hasattr(views[rule.endpoint], "__wrapped__")
        for method in rule.methods - IMPLICIT:
            op = doc["paths"][path][method.lower()]
            security = op.get("security", doc.get("security", []))
            if secured:
                assert (method.lower(), path) not in PUBLIC
                assert {"bearerAuth": []} in security, f"{method} {path} must require bearerAuth"
                assert "401" in op["responses"], f"{method} {path} must document 401"
            else:
                assert (method.lower(), path) in PUBLIC
                assert security == [], f"{method} {path} needs no token and must say so (security: [])"


def test_bodies_that_can_be_too_large_document_413(doc):
    for path, method, op in operations(doc):
        if "requestBody" in op:
            assert "413" in op["responses"], f"{method.upper()} {path}"
            assert "422" in op["responses"], f"{method.upper()} {path}"


def test_served_document_is_this_file(doc, flask_app):
    response = flask_app.test_client().get("/api/openapi.json")
    assert response.status_code == 200
    assert response.get_json() == doc


# ---------------------------------------------------------------------------------------- drift
def test_event_report_matches_the_engine_schema(doc):
    body = doc["paths"]["/api/events"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert strip_annotations(inline_refs(doc, body)) == strip_annotations(EVENT_SCHEMA)


def test_enums_match_the_engine(doc):
    schemas = doc["components"]["schemas"]
    assert sorted(schemas["EventSource"]["enum"]) == sorted(SOURCES)
    for clause in ("§5.1", "§5.2", "§5.3", "§5.4", "§5.5", "§5.6"):
        assert clause in schemas["EventSource"]["description"]
    assert schemas["RoleCode"]["enum"] == list(ROLES)


def test_event_list_parameters(doc):
    op = doc["paths"]["/api/events"]["get"]
    params = {p["name"]: p for p in (deref(doc, p) for p in op["parameters"])}
    assert set(params) == set(LIST_FILTERS) | {"created_from", "created_to", "page", "per_page", "suspected_duplicate",
                                               "cursor", "limit"}
    assert all(p["in"] == "query" and not p.get("required") for p in params.values())
    assert params["per_page"]["schema"]["maximum"] == params["limit"]["schema"]["maximum"] == 100
    assert params["page"]["deprecated"] and params["per_page"]["deprecated"]   # keyset pages (issue #17)


def test_task_completion_documents_conflict_and_process_failures(doc):
    op = doc["paths"]["/api/tasks/{task_id}/complete"]["post"]
    assert {"200", "401", "403", "404", "409", "422", "500"} <= set(op["responses"])
    failure = json.dumps(inline_refs(doc, op["responses"]["409"]), ensure_ascii=False)
    assert "step_failed" in failure and "incident_id" in failure and "handler" in failure   # issue #15


def test_incidents_are_documented_for_administrators(doc):
    listing, retry = doc["paths"]["/api/incidents"]["get"], doc["paths"]["/api/incidents/{incident_id}/retry"]["post"]
    for op in (listing, retry):
        assert "**Roles:** process_admin, system_admin." in op["description"] and "403" in op["responses"]
    params = {p["name"]: p for p in (deref(doc, p) for p in listing["parameters"])}
    assert set(params) == {"version_id", "event_id", "status", "cursor", "limit"}
    from engine.casework.incidents import STATUSES
    assert params["status"]["schema"]["enum"] == [*STATUSES, "all"]
    assert "description" not in doc["components"]["schemas"]["Incident"]["properties"]   # no content


def test_deploy_documents_upload_and_outcomes(doc):
    op = doc["paths"]["/api/process-versions"]["post"]
    upload = op["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert deref(doc, upload)["required"] == ["file"]
    assert {"200", "201", "400", "403", "422"} <= set(op["responses"])
    rejected = inline_refs(doc, deref(doc, op["responses"]["400"])["content"]["application/json"]["schema"])
    assert "deploy_rejected" in json.dumps(rejected)


# ---------------------------------------------------------------------------------------- real answers
PASSWORD = "openapi-pw-1"


@pytest.fixture
def seeded_app(tmp_path):
    """A real app on a fresh SQLite file: processes/ deployed, a few users, a simulated clock."""
    settings = Settings.from_env(env={}, database_url=f"sqlite:///{tmp_path}/seeded.sqlite3", clock="simulated",
                                 sim_start="2026-10-08T09:00:00+08:00", scrypt_n=1024)
    app = create_app(settings)
    svc = app.extensions["eventflow"]
    init_db(svc.db)
    svc.run(lambda s: process_versions.deploy(svc.command(s), bundle.from_directory(ROOT / "processes"), "test"))
    for name, roles, community, unit in [("grid1", ["grid_worker"], "lg-xincheng", None),
                                         ("staff1", ["community_staff"], "lg-xincheng", None),
                                         ("staff2", ["community_staff"], "lg-longgang", None),
                                         ("police1", ["department_staff"], None, "gongan"),
                                         ("admin1", ["system_admin"], None, None)]:
        svc.run(lambda s, n=name, r=roles, c=community, u=unit: users.create_user(
            s, svc.catalogs, svc.env.wall_clock, n, PASSWORD, r, c, u, n, 1024))
    yield app
    svc.db.dispose()


class Checked:
    """A test client whose every answer must be documented: its status listed for the operation and
    its JSON valid against the documented schema."""

    def __init__(self, app, doc):
        self.client, self.doc = app.test_client(), doc
        self.registry = Registry().with_resource("urn:openapi", Resource(contents=doc, specification=DRAFT202012))
        self.seen = set()

    def call(self, method, template, path=None, token=None, headers=None, **kwargs):
        headers = {**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
        response = self.client.open(path or template, method=method.upper(), headers=headers, **kwargs)
        op = self.doc["paths"][template][method]
        status = str(response.status_code)
        where = f"{method.upper()} {path or template} → {status} {response.get_data(as_text=True)[:300]}"
        assert status in op["responses"], f"undocumented status: {where}"
        schema = deref(self.doc, op["responses"][status])["content"]["application/json"]["schema"]
        if "$ref" in schema:
            schema = {"$ref": schema["$ref"].replace("#", "urn:openapi#", 1)}
        problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                    for e in Draft202012Validator(schema, registry=self.registry).iter_errors(response.get_json())]
        assert not problems, f"{where}: {problems[:5]}"
        self.seen.add((method, template, status))
        return response.get_json()

    def token(self, username):
        return self.call("post", "/api/auth/token", json={"username": username, "password": PASSWORD})["token"]


def test_real_answers_match_the_document(doc, seeded_app):
    api = Checked(seeded_app, doc)
    api.call("post", "/api/auth/token", json={"username": "grid1", "password": "wrong-password"})
    api.call("post", "/api/auth/token", json={})
    grid, staff, other, police, admin = (api.token(u) for u in ("grid1", "staff1", "staff2", "police1", "admin1"))
    api.call("get", "/api/auth/me", token=grid)
    api.call("get", "/api/auth/me")

    report = {"source": "grid_worker", "type_code": "A07", "description": "人行道占道经营", "community": "lg-xincheng",
              "location": {"lat": 27.52, "lng": 120.60, "address": "新城路 1 号"}, "photos": ["p1.jpg"]}
    event = api.call("post", "/api/events", token=grid, json=report)
    brief = api.call("post", "/api/events", token=grid, json=report, headers={"Prefer": "return=minimal"})
    assert set(brief) == {"id", "number", "status", "error", "open_tasks"}
    api.call("post", "/api/events", token=grid, json={"source": "fax", "location": {"lat": "north"}})
    api.call("post", "/api/events", token=grid, json={**report, "community": "lg-longgang"})
    api.call("post", "/api/events", token=police, json=report)
    api.call("get", "/api/events", "/api/events?status=open&source=grid_worker&per_page=5", token=grid)
    api.call("get", "/api/events", "/api/events?per_page=101", token=grid)
    api.call("get", "/api/events", "/api/events?created_from=2026-10-01", token=grid)
    api.call("get", "/api/events/{event_id}", f"/api/events/{event['id']}", token=grid)
    api.call("get", "/api/events/{event_id}", f"/api/events/{event['id']}", token=other)

    tasks = api.call("get", "/api/tasks", token=staff)["items"]
    assert tasks, "registering an event should give the community a task (核实 §7.1)"
    complete = f"/api/tasks/{tasks[0]['id']}/complete"
    api.call("post", "/api/tasks/{task_id}/complete", complete, token=staff, json=[1])
    api.call("post", "/api/tasks/{task_id}/complete", complete, token=other, json={})
    api.call("post", "/api/tasks/{task_id}/complete", complete, token=grid, json={})
    api.call("post", "/api/tasks/{task_id}/complete", "/api/tasks/no-such-task/complete", token=staff, json={})

    api.call("get", "/api/process-versions", token=admin)
    api.call("get", "/api/process-versions", token=grid)
    api.call("post", "/api/process-versions", token=admin,
             data={"file": (io.BytesIO((ROOT / "processes" / "community_event.bpmn").read_bytes()), "p.bpmn")})
    api.call("post", "/api/process-versions", token=admin, data={"file": (io.BytesIO(b"<x/>"), "p.txt")})

    names = api.call("get", "/api/catalogs", token=grid)["items"]
    for name in [*names, "no_such_catalog"]:
        api.call("get", "/api/catalogs/{name}", f"/api/catalogs/{name}", token=grid)

    api.call("get", "/api/sim/now", token=grid)    # the city and administrators only: 403
    api.call("post", "/api/sim/advance", token=admin, json={"by": "P1DT2H"})
    api.call("post", "/api/sim/advance", token=admin, json={"by": "PT1M", "to": "2030-01-01T00:00:00+08:00"})
    api.call("post", "/api/sim/advance", token=grid, json={"by": "PT1M"})
    api.call("get", "/api/health")

    api.call("get", "/api/incidents", "/api/incidents?status=all", token=admin)
    api.call("get", "/api/incidents", "/api/incidents?status=nope", token=admin)
    api.call("get", "/api/incidents", token=grid)
    api.call("post", "/api/incidents/{incident_id}/retry", "/api/incidents/1/retry", token=admin)

    statuses = {status for _, _, status in api.seen}
    assert {"200", "201", "400", "401", "403", "404", "422"} <= statuses
