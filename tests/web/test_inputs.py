"""No input gives a 5xx (issue #15 §4): one test for each cause schemathesis found, on SQLite and on
PostgreSQL (PostgreSQL refuses NUL in text and numbers past a 32-bit INTEGER; SQLite numbers past 64
bits), and the document's answer to each for every operation it lists (web/inputs.py, engine/core/ids.py)."""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from engine.runtime import versions as version_history
from engine.pool.events import STATUS_WORDS
from engine.core.ids import MAX_ID
from engine.store.models import Event, Notification
from tests.conftest import PROCESSES
from tests.web.client import REPORT
from tests.web.test_open311 import BASE, FORM, new_key, submit
from tests.web.test_openapi import DOC_PATH, HTTP_METHODS, Checked

NUL_REASON = "NUL"
SURROGATE_REASON = "surrogate"


@pytest.fixture(scope="module")
def doc():
    return json.loads(DOC_PATH.read_text(encoding="utf-8"))


def invalid(response, field, reason, status=422):
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    errors = response.json["errors"]
    assert any(e["field"] == field and reason in e["reason"] for e in errors), errors
    return errors


def raw_json(api, method, path, user, text, headers=None):
    """A body sent as typed (escapes such as \\ud800 reach the server as written)."""
    return api.client.open(path, method=method, data=text.encode(), content_type="application/json",
                           headers={**api.headers(user), **(headers or {})})


def event_count(app) -> int:
    svc = app.extensions["eventflow"]
    return svc.read(lambda s: s.scalar(select(func.count(Event.id))))


# ---------------------------------------------------------------------------------------- ids out of range
def test_an_id_past_the_database_range_in_a_path_is_not_found(api):
    """/api/events/2147483648 broke PostgreSQL (int4), /api/events/9223372036854775808 SQLite."""
    for event_id in (MAX_ID, MAX_ID + 1, 2**63, 2**64, 10**30):
        assert api.get(f"/api/events/{event_id}", "staff1").status_code == 404
        r = api.post(f"/api/events/{event_id}/comments", "staff1", json={"text": "还在占道"})
        assert r.status_code == 404
        # a POST whose path a GET rule shares: still 404, not 405
        r = api.post(f"/api/process-versions/{event_id}/migration", "admin1", json={"instances": []})
        assert r.status_code == 404, r.json


def test_an_id_in_a_body_must_be_a_record_id(api):
    event = api.report()
    for into in (99999999999999999999, MAX_ID + 1, 2**63, 0, -1, True, 1.0, "1", None):
        r = api.post(f"/api/events/{event['id']}/merge", "staff1", json={"into": into, "reason": "重复上报"})
        invalid(r, "into", str(MAX_ID))
    for instances in ([-4603136781085507059712], [MAX_ID + 1], [False], [1.5]):
        r = api.post("/api/process-versions/1/migration", "admin1", json={"instances": instances})
        invalid(r, "instances", str(MAX_ID))


def test_after_id_past_the_range_is_refused(api):
    r = api.get(f"/api/notifications?after_id={MAX_ID + 1}", "staff1")
    invalid(r, "after_id", str(MAX_ID))
    assert api.get(f"/api/notifications?after_id={MAX_ID}", "staff1").status_code == 200


def test_digits_that_are_not_ascii_are_not_a_number(api):
    for number in ("²", "١٢", "１２"):
        invalid(api.get(f"/api/events?page={number}", "staff1"), "page", "whole number")


# ---------------------------------------------------------------------------------------- NUL
def test_nul_in_a_username_is_refused_before_the_database_sees_it(api):
    r = api.client.post("/api/auth/token", json={"username": "staff1\u0000", "password": "x"})
    invalid(r, "username", NUL_REASON)


def test_nul_in_a_query_argument_is_refused_naming_it(api):
    invalid(api.get("/api/events?status=%00", "staff1"), "status", NUL_REASON)
    invalid(api.get("/api/supervision?kind=a%00b", "city1"), "kind", NUL_REASON)
    invalid(api.get("/api/process-versions?process=B%00", "admin1"), "process", NUL_REASON)
    invalid(api.get("/api/events?%00=1", "staff1"), "(query)", NUL_REASON)   # in a name


def test_nul_in_a_comment_a_report_and_a_task_form_is_refused(app, api):
    event = api.report()
    invalid(api.post(f"/api/events/{event['id']}/comments", "staff1", json={"text": "还在\u0000占道"}),
            "text", NUL_REASON)
    invalid(api.post("/api/events", "grid1", json={**REPORT, "location": {**REPORT["location"],
                                                                          "address": "新城\u0000大道"}}),
            "location.address", NUL_REASON)
    task = api.task("staff1", event["id"], "verify")
    invalid(api.post(f"/api/tasks/{task['id']}/complete", "staff1", json={"verdict": "accept", "note": "\u0000"}),
            "note", NUL_REASON)
    invalid(api.post(f"/api/events/{event['id']}/comments", "staff1", json={"te\u0000xt": "还在占道"}),
            "(body) (key 1)", NUL_REASON)
    assert event_count(app) == 1


def test_nul_in_a_path_segment_or_a_header_is_refused(api):
    invalid(api.get("/api/catalogs/event_types%00", "staff1"), "name", NUL_REASON)
    r = api.client.post("/api/events", json=REPORT, headers={**api.headers("grid1"), "Idempotency-Key": "k\u0000"})
    invalid(r, "Idempotency-Key", NUL_REASON)


def test_nul_in_a_multipart_report_part_is_refused(api):
    report = json.dumps({**REPORT, "description": "占道\u0000经营"})
    r = api.post("/api/events", "grid1", data={"report": report}, content_type="multipart/form-data")
    invalid(r, "description", NUL_REASON)
    r = api.post("/api/events", "grid1", data={"report": report.replace("\\u0000", "\u0000")},
                 content_type="multipart/form-data")
    invalid(r, "report", NUL_REASON)


def test_nul_in_a_web_page_form_is_refused(app, api):
    event = api.report()
    r = app.test_client().post(f"/events/{event['id']}/say", data={"action": "comment", "text": "还在\u0000占道"})
    assert r.status_code == 422
    assert "text" in r.get_data(as_text=True) and "NUL" in r.get_data(as_text=True)


def test_nul_in_an_open311_description_is_refused_in_its_own_shape(app, api):
    key = new_key(app)
    r = submit(api, key, description="人行道\u0000被占")
    assert r.status_code == 400
    assert r.json[0]["description"].startswith("description:") and "NUL" in r.json[0]["description"]
    assert event_count(app) == 0


# ---------------------------------------------------------------------------------------- lone surrogates
def test_an_escaped_lone_surrogate_is_refused(app, api):
    event = api.report()
    for escaped in ("\\ud800", "\\udfff", "a\\udc00b"):
        r = raw_json(api, "POST", f"/api/events/{event['id']}/comments", "staff1", f'{{"text": "{escaped}"}}')
        invalid(r, "text", SURROGATE_REASON)
        body = json.dumps({**REPORT, "description": "占道经营 PLACEHOLDER"}).replace("PLACEHOLDER", escaped)
        invalid(raw_json(api, "POST", "/api/events", "grid1", body), "description", SURROGATE_REASON)
        invalid(raw_json(api, "POST", f"/api/events/{event['id']}/comments", "staff1", f'{{"{escaped}": 1}}'),
                "(body) (key 1)", SURROGATE_REASON)
    assert event_count(app) == 1
    # a pair is a character, not a surrogate
    r = raw_json(api, "POST", f"/api/events/{event['id']}/comments", "staff1", '{"text": "占道 \\ud83d\\ude00"}')
    assert r.status_code == 201, r.json


# ---------------------------------------------------------------------------------------- deep JSON
def test_json_nested_too_deep_is_a_bad_request(app, api):
    for body in ("[" * 100000, "[" * 65 + "]" * 65, '{"a":' * 100 + "1" + "}" * 100):
        r = raw_json(api, "POST", "/api/events", "grid1", body)
        assert r.status_code == 400, r.get_data(as_text=True)[:300]
        assert r.json["error"] == "unreadable" and r.json["field"] == "(body)" and "64" in r.json["message"]
        r = api.post("/api/events", "grid1", data={"report": body}, content_type="multipart/form-data")
        assert r.status_code == 400 and r.json["field"] == "report"
    assert event_count(app) == 0


def test_json_64_levels_deep_is_read(api):
    nested = "[" * 63 + "]" * 63          # with the object around it: 64 levels
    event = api.report()
    r = raw_json(api, "POST", f"/api/events/{event['id']}/comments", "staff1", f'{{"text": "还在占道", "x": {nested}}}')
    assert r.status_code != 400 and r.status_code < 500, r.json


def test_numbers_json_does_not_have_are_refused_by_name(api):
    event = api.report()
    for body, field in (('{"text": NaN}', "text"), ('{"text": "还在", "x": [-Infinity]}', "x[0]"),
                        ('{"text": 1e400}', "text")):
        invalid(raw_json(api, "POST", f"/api/events/{event['id']}/comments", "staff1", body), field, "NaN")
    body = '{"source": "grid_worker", "type_code": "A05", "description": "人行道被占道经营", "location": ' \
           '{"lat": NaN, "lng": 120.6, "address": "新城大道"}}'
    invalid(raw_json(api, "POST", "/api/events", "grid1", body), "location.lat", "NaN")


# ---------------------------------------------------------------------------------------- wrong types
USER = {"username": "staff9", "password": "long-enough-1", "display_name": "新城社区 王芳",
        "roles": ["community_staff"], "community": "lg-xincheng"}


def test_an_account_field_of_the_wrong_type_is_refused(api):
    for field, value in (("unit", [None, None]), ("unit", {}), ("community", ["lg-xincheng"]), ("roles", [{}]),
                         ("roles", "community_staff"), ("username", 5)):
        invalid(api.post("/api/users", "admin1", json={**USER, field: value}), field, "")
    staff = next(u for u in api.get("/api/users", "admin1").json["items"] if u["username"] == "staff1")
    for field, value in (("unit", {}), ("community", 7), ("sensitive_access", "yes"), ("roles", [["system_admin"]])):
        r = api.client.patch(f"/api/users/{staff['id']}", json={field: value}, headers=api.headers("admin1"))
        invalid(r, field, "")
    assert api.get("/api/auth/me", "staff1").status_code == 200     # nothing changed: its token still works


def test_a_bad_superior_deadline_is_refused_whatever_the_source(app, api):
    for deadline in ("not a date", "2026-10-09T18:00:00", "9999-01-01T00:00:00+08:00", 20261009):
        r = api.post("/api/events", "grid1", json={**REPORT, "superior_deadline": deadline})
        invalid(r, "superior_deadline", "")
    assert event_count(app) == 0


def test_a_number_where_an_instant_belongs_is_refused(api):
    invalid(api.post("/api/sim/advance", "admin1", json={"to": 20261009}), "to", "")


# ---------------------------------------------------------------------------------------- 405 and Allow
def test_a_method_not_allowed_names_the_allowed_ones(api):
    r = api.client.delete("/api/events")
    assert r.status_code == 405 and {"GET", "POST"} <= {m.strip() for m in r.headers["Allow"].split(",")}
    r = api.client.delete(f"{BASE}/services.json")
    assert r.status_code == 405 and r.headers["Allow"] == "GET, HEAD, OPTIONS"
    r = api.client.put(f"{BASE}/requests.json")
    assert r.status_code == 405 and r.headers["Allow"] == "GET, HEAD, POST, OPTIONS"
    r = api.client.options(f"{BASE}/requests.json")
    assert r.status_code == 200 and r.headers["Allow"] == "GET, HEAD, POST, OPTIONS"
    assert api.client.options(f"{BASE}/no-such-thing.json").status_code == 404


# ---------------------------------------------------------------------------------------- Open311 api_key
def test_an_open311_key_in_the_query_string_is_refused(app, api):
    key = new_key(app)
    r = api.client.post(f"{BASE}/requests.json?api_key={key}", data=FORM)
    assert r.status_code == 400
    assert r.json[0]["description"].startswith("api_key:") and "query string" in r.json[0]["description"]
    r = api.client.post(f"{BASE}/requests.json?api_key={key}", data={**FORM, "api_key": key})
    assert r.status_code == 400                       # even beside a key in the form
    assert event_count(app) == 0
    r = api.client.post(f"{BASE}/requests.json", data=FORM, headers={"X-Api-Key": key})
    assert r.status_code == 201, r.json               # the header carries it
    assert submit(api, key).status_code == 201        # and the form field


# ---------------------------------------------------------------------------------------- the document
def operations(doc):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                yield method, path, op


def concrete(path: str) -> str:
    return re.sub(r"{([^}]+)}", lambda m: "json" if m.group(1) == "fmt" else "1", path)


def test_every_operation_answers_nul_in_its_query_as_documented(app, doc):
    """Whatever operations the document lists (others add theirs): NUL anywhere in the query string is
    refused before the view runs — 422 naming it, or GeoReport's 400 — and the answer is documented."""
    api = Checked(app, doc)
    for method, path, _ in operations(doc):
        status = 400 if path.startswith("/open311/") else 422
        api.call(method, path, f"{concrete(path)}?probe=%00")
        assert (method, path, str(status)) in api.seen, (method, path)


def test_every_json_body_nested_too_deep_is_a_documented_bad_request(app, api, doc):
    """Every operation that takes JSON, called by the system administrator with JSON nested 100 000 deep:
    no 5xx, a documented answer, and 400 wherever the view gets as far as reading its body (an operation
    may refuse the role or the id first)."""
    checked = Checked(app, doc)
    token = api.headers("admin1")["Authorization"].split()[1]
    with_json = [(method, path) for method, path, op in operations(doc)
                 if "application/json" in op.get("requestBody", {}).get("content", {})]
    for method, path in with_json:
        body = checked.call(method, path, concrete(path), token=token, data="[" * 100000,
                            content_type="application/json")
        if (method, path, "400") in checked.seen:
            assert body["field"] == "(body)", (method, path, body)
    read = {(method, path) for method, path, status in checked.seen if status == "400"}
    assert len(read) > len(with_json) // 2, sorted(set(with_json) - read)


def test_the_document_names_every_status_word_and_a_first_versions_form_changes(doc):
    words = doc["components"]["schemas"]["EventSummary"]["properties"]["status_name"]["enum"]
    assert sorted(words) == sorted(STATUS_WORDS.values())
    files = {p.relative_to(PROCESSES).as_posix(): p.read_text(encoding="utf-8") for p in PROCESSES.rglob("*")
             if p.suffix in (".bpmn", ".json")}
    forms = doc["components"]["schemas"]["VersionChanges"]["properties"]["forms"]
    assert set(version_history.changes(None, files)["forms"]) == set(forms["required"])


def test_ids_in_the_document_are_bounded_like_the_database(doc):
    bounded = 0
    for method, path, op in operations(doc):
        for param in op.get("parameters", []):
            if "$ref" in param:
                param = doc["components"]["parameters"][param["$ref"].rsplit("/", 1)[1]]
            if param["in"] == "path" and param["schema"].get("type") == "integer":
                assert param["schema"].get("maximum") == MAX_ID, (method, path, param["name"])
                bounded += 1
    assert bounded > 20


def test_notifications_after_the_newest_id_are_none(app, api):
    api.report()
    svc = app.extensions["eventflow"]
    newest = svc.read(lambda s: s.scalar(select(func.max(Notification.id)))) or 0
    r = api.get(f"/api/notifications?after_id={newest}", "staff1")
    assert r.status_code == 200 and r.json["items"] == []


def test_a_multipart_part_without_a_name_is_no_server_error(api):
    boundary = "b0undary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data\r\n\r\n{{}}\r\n"
            f'--{boundary}\r\nContent-Disposition: form-data; name="x"\r\n\r\na\u0000b\r\n--{boundary}--\r\n')
    r = api.client.post("/api/hazards", data=body.encode(), headers=api.headers("staff1"),
                        content_type=f"multipart/form-data; boundary={boundary}")
    invalid(r, "x", NUL_REASON)


def test_true_is_no_coordinate(app, api):
    r = api.post("/api/patrols", "grid1", json={"grid": "3号网格", "lat": True, "lng": True})
    invalid(r, "lat", "degrees")
    r = api.post("/api/patrols", "grid1", json={"grid": "3号网格", "lat": 27.52, "lng": 120.6})
    assert r.status_code == 201 and r.json["lat"] == 27.52


def test_an_open311_xml_error_shows_control_characters_it_cannot_hold(api):
    r = api.client.get(f"{BASE}/requests.xml?a%10b=x%00")
    assert r.status_code == 400 and r.mimetype == "text/xml"
    assert "a\ufffdb: " in r.get_data(as_text=True)
