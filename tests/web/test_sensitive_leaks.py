"""A sensitive event's content reaches nobody who may not see the event (issue #15; Table A.1 rows 1–3).

One history on the simulated clock: a police matter (A03) reported with a marker in its description; the
designated cadre comments, verifies, analyses and urges with the marker, and asks for an extension with it;
a second one is handled by the stationed officer (the marker in the result) and closed; the first runs past
its limit, so warnings, overdue notices, supervision records and circular entries exist; the city draws a
spot check of the community's closed events. Then every GET operation of the OpenAPI document and every page
of the web app (with their Excel, CSV and PDF exports read back) is read as each user refused the event:
neither the marker nor the events' numbers appear anywhere. The same reads as the designated cadre do show
them (the test can fail), and every read of the content by those allowed is audited.
"""
from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.accounts import users
from engine.store.models import Audit
from tests.conftest import PASSWORD
from tests.web.test_sensitive import web_session

DOC = json.loads((Path(__file__).resolve().parents[2] / "web" / "openapi.json").read_text(encoding="utf-8"))
MARK = "ZQX7MARK"
#: users whose scope reaches 新城社区 (or everything) but who may not see a police matter
REFUSED = ("staff3", "whistle1", "committee1", "staff2", "zhifa1", "shijian1", "city1", "owner1", "admin1",
           "grid2")   # grid2 reported a repeat of the police matter: its own report, nothing of the first
PERIOD = {"from": "2026-10-01T00:00:00+08:00", "to": "2026-11-01T00:00:00+08:00"}
#: query strings each GET is read with, besides none at all
QUERIES = {
    "/api/indicators": [{**PERIOD, "level": level} for level in ("community", "unit", "person")],
    "/api/assessment": [{**PERIOD, "level": level} for level in ("community", "unit", "person")],
    "/api/circular": [PERIOD, {**PERIOD, "first": "1"}],
    "/api/circular/entries": [{**PERIOD, "level": level, "party": party, "category": category}
                              for level, party in (("unit", "gongan.xincheng_pcs"), ("person", "stationed1"),
                                                   ("community", "lg-xincheng"))
                              for category in ("late_response", "late_feedback", "poorly_handled", "off_site")],
    "/api/monthly-report": [{"community": "lg-xincheng", "month": "2026-10"}],
    "/api/supervision": [{"status": "all"}],
    "/api/notifications": [{"per_page": "100"}],
    "/api/events": [{"per_page": "100"}, {"community": "lg-xincheng", "per_page": "100"}],
    "/api/extension-requests": [{"status": "pending"}],
    "/dashboard": [{"from": "2026-10-01", "to": "2026-10-31", "level": level} for level in ("community", "unit", "person")],
    "/dashboard/export.<fmt>": [{"from": "2026-10-01", "to": "2026-10-31", "level": level}
                                for level in ("community", "unit", "person")],
    "/circular": [{"from": "2026-10-01", "to": "2026-10-31"}, {"from": "2026-10-01", "to": "2026-10-31", "first": "1"}],
    "/circular/entries": [{"from": "2026-10-01", "to": "2026-10-31", "level": level, "party": party, "category": category}
                          for level, party in (("unit", "gongan.xincheng_pcs"), ("person", "stationed1"),
                                               ("community", "lg-xincheng"))
                          for category in ("late_response", "late_feedback", "poorly_handled", "off_site")],
    "/circular.xlsx": [{"from": "2026-10-01", "to": "2026-10-31"}],
    "/circular.pdf": [{"from": "2026-10-01", "to": "2026-10-31"}],
    "/monthly-report": [{"community": "lg-xincheng", "month": "2026-10"}],
    "/monthly-report.xlsx": [{"community": "lg-xincheng", "month": "2026-10"}],
    "/monthly-report.pdf": [{"community": "lg-xincheng", "month": "2026-10"}],
    "/supervision": [{"status": "all"}],
    # the live inbox from the feed's beginning: every work item and message the history made (issue #18)
    "/api/live": [{"since": "0"}],
    "/live": [{"since": "0"}],
}


def text_of(response) -> str:
    """What a person could read in a response: JSON and HTML as text, spreadsheets cell by cell, PDFs'
    text (pypdf), anything else as bytes decoded leniently."""
    data = response.get_data()
    kind = response.headers.get("Content-Type", "")
    if "spreadsheetml" in kind:
        from openpyxl import load_workbook
        book = load_workbook(io.BytesIO(data), read_only=True)
        return "\n".join(str(cell) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
                         for cell in row if cell is not None)
    if "pdf" in kind:
        from pypdf import PdfReader
        return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)
    return data.decode("utf-8", errors="replace")


def history(app, api) -> dict:
    svc = app.extensions["eventflow"]
    svc.run(lambda s: users.create_user(s, svc.catalogs, svc.env.wall_clock, "staff3", PASSWORD,
                                        ["community_staff"], "lg-xincheng", None, "社区干部 三", 1024))
    svc.run(lambda s: users.create_user(s, svc.catalogs, svc.env.wall_clock, "grid2", PASSWORD,
                                        ["grid_worker"], "lg-xincheng", None, "网格员 二", 1024))
    open_one = api.report(type_code="A03", description=f"{MARK} 邻里纠纷警情，需社区协调")
    repeat = api.report(user="grid2", type_code="A03", description="楼下又在争吵")   # flagged as its duplicate
    assert api.event(repeat["id"], user="staff1")["duplicate_of"]["id"] == open_one["id"]
    key = api.photo("grid1", open_one["id"])
    assert api.post(f"/api/events/{open_one['id']}/comments", "staff1", json={"text": f"留言 {MARK}"}).status_code == 201
    api.complete("staff1", open_one["id"], "verify", {"verdict": "accept", "verify_note": f"核实 {MARK}"})
    api.complete("staff1", open_one["id"], "analyse", {"disposal": "stationed", "stationed_unit": "gongan.xincheng_pcs",
                                                       "analysis_note": f"研判 {MARK}"})
    assert api.post(f"/api/events/{open_one['id']}/urge", "staff1", json={"text": f"催办 {MARK}"}).status_code == 201
    pending = [d for d in api.event(open_one["id"])["deadlines"] if d["status"] == "pending"]
    assert pending, api.event(open_one["id"])["deadlines"]
    r = api.post(f"/api/deadlines/{pending[0]['id']}/extension-requests", "staff1", json={"reason": f"延期 {MARK}"})
    assert r.status_code == 201, r.json

    closed = api.report(type_code="A03", description=f"{MARK} 重点人员走访")
    api.complete("staff1", closed["id"], "verify", {"verdict": "accept"})
    api.complete("staff1", closed["id"], "analyse", {"disposal": "stationed", "stationed_unit": "gongan.xincheng_pcs"})
    api.complete("stationed1", closed["id"], "handle_stationed", {"resolved": True, "stationed_summary": f"已走访 {MARK}"})
    api.complete("staff1", closed["id"], "check", {"passed": False, "check_note": f"重办 {MARK}", "rating": "不满意"})
    api.complete("stationed1", closed["id"], "handle_stationed", {"resolved": True, "stationed_summary": f"已复访 {MARK}"})
    api.complete("staff1", closed["id"], "check", {"passed": True, "rating": "满意"})

    api.advance("P8D")                      # past every limit of the open one: warnings, overdue, 督办
    r = api.post("/api/spot-checks", "city1", json={"community": "lg-xincheng", **PERIOD, "size": 20, "seed": 7})
    assert r.status_code == 201, r.json
    tasks = [t["id"] for t in api.tasks("stationed1") + api.tasks("staff1")]
    return {"events": [open_one, closed, repeat], "key": key, "check": r.json["id"], "tasks": tasks,
            "deadline": pending[0]["id"], "numbers": [open_one["number"], closed["number"]]}


def fill(template: str, made: dict, style: str) -> list[str]:
    """Every concrete path of a template: each event, task and photo of the history."""
    pattern = r"\{(\w+)\}" if style == "openapi" else r"<(?:[^:<>]+:)?(\w+)>"
    values = {"event_id": [str(e["id"]) for e in made["events"]], "task_id": made["tasks"] or ["none"],
              "key": [made["key"]], "check_id": [str(made["check"])], "deadline_id": [str(made["deadline"])],
              "request_id": [str(e["id"]) for e in made["events"]], "fmt": ["json", "xml", "xlsx", "csv"],
              "version_id": ["1"], "code": ["lg-xincheng"], "name": ["communities", "event_types"],
              "hazard_id": ["1"], "user_id": ["1"], "token": ["x"], "path": ["community_event.bpmn"]}
    paths = [template]
    for name in re.findall(pattern, template):
        token = "{" + name + "}" if style == "openapi" else re.search(r"<(?:[^:<>]+:)?" + name + ">", template).group(0)
        paths = [p.replace(token, v, 1) for p in paths for v in values.get(name, ["1"])]
    return paths


def reads(app, api, made, username):
    """(what was read, its text) for every GET of the document and every page, as this user."""
    for template, item in DOC["paths"].items():
        if "get" not in item or template == "/api/openapi.json":   # the document itself: the same for all
            continue
        for path in fill(template, made, "openapi"):
            for query in [{}, *QUERIES.get(template, [])]:
                headers = {} if "x-roles" in item["get"] and not item["get"]["x-roles"] else api.headers(username)
                response = api.client.get(path, headers=headers, query_string=query)
                assert response.status_code < 500, (username, path, query, response.status_code)
                yield f"GET {path} {query}", text_of(response)
    pages = web_session(app, username)
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("ui_") or "GET" not in rule.methods or rule.endpoint == "ui_session.logout":
            continue
        for path in fill(rule.rule, made, "flask"):
            for query in [{}, *QUERIES.get(rule.rule, [])]:
                response = pages.get(path, query_string=query)
                assert response.status_code < 500, (username, path, query, response.status_code)
                yield f"page {path} {query}", text_of(response)


def test_a_sensitive_events_content_reaches_nobody_refused_it(app, api):
    made = history(app, api)
    secrets = [MARK, *made["numbers"]]
    for username in REFUSED:
        for where, text in reads(app, api, made, username):
            for secret in secrets:
                assert secret not in text, f"{username} read {secret!r} in {where}: …{text[max(text.find(secret) - 200, 0):][:400]}…"


def test_the_designated_cadre_reads_it_and_every_read_is_audited(app, api):
    made = history(app, api)
    svc = app.extensions["eventflow"]
    before = svc.read(lambda s: len(list(s.scalars(select(Audit).where(Audit.action == "sensitive_viewed")))))
    found = {secret: [] for secret in (MARK, *made["numbers"])}
    for where, text in reads(app, api, made, "staff1"):
        for secret in found:
            if secret in text:
                found[secret].append(where)
    assert all(found.values()), {k: len(v) for k, v in found.items()}
    assert any("/api/notifications" in w for w in found[MARK])         # the comment and urging reach her
    assert any("/api/extension-requests" in w for w in found[MARK])
    rows = svc.read(lambda s: [(a.actor, a.data["view"]) for a in s.scalars(
        select(Audit).where(Audit.action == "sensitive_viewed").order_by(Audit.id))][before:])
    places = {view for actor, view in rows if actor == "staff1"}
    assert {"api", "api_photo", "event_page", "photo", "map", "diagram", "api_list", "events_page"} <= places, places
    # GET /api/tasks/{id} shows the description and reporter: a read like any other, audited (it was not)
    task = api.tasks("stationed1", made["events"][0]["id"])[0]
    assert MARK in api.get(f"/api/tasks/{task['id']}", "stationed1").get_data(as_text=True)
    assert svc.read(lambda s: s.scalars(select(Audit.data).where(
        Audit.action == "sensitive_viewed", Audit.actor == "stationed1").order_by(Audit.id.desc())).first()) == {"view": "api_task"}


@pytest.fixture
def database_url(request, tmp_path, seeded_sqlite_template):
    """One database is enough here: what is shown does not depend on it (SQLite, seeded for `app`)."""
    import shutil
    path = tmp_path / "eventflow.sqlite3"
    shutil.copy(seeded_sqlite_template, path)
    return f"sqlite:///{path}"


def test_answers_to_writes_tell_nothing_of_it_either(app, api):
    """Naming a sensitive event in a merge, deciding its extension, administering it: the answers carry
    neither its number nor its text for someone refused it."""
    made = history(app, api)
    secret_id = made["events"][0]["id"]
    ordinary = api.report(description="人行道被占道经营")
    r = api.post(f"/api/events/{ordinary['id']}/merge", "staff3", json={"into": secret_id, "reason": "同一问题"})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "into"
    assert MARK not in r.get_data(as_text=True) and made["numbers"][0] not in r.get_data(as_text=True)
    pending = api.get("/api/extension-requests?status=pending", "city1").json["items"]
    assert pending and pending[0]["reason"] != f"延期 {MARK}" and pending[0]["sensitive"] is True
    r = api.post(f"/api/extension-requests/{pending[0]['id']}/decision", "city1", json={"approve": False, "note": "不予延期"})
    assert r.status_code == 200 and MARK not in r.get_data(as_text=True) and r.json["event_id"] is None
    for action in ("suspend", "terminate"):
        r = api.post(f"/api/events/{secret_id}/{action}", "admin1", json={"reason": "测试理由"})
        assert r.status_code == 404 and made["numbers"][0] not in r.get_data(as_text=True)
