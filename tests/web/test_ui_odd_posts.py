"""Never a 5xx from a form (the API's bodies are fuzzed from its OpenAPI document: tests/web/test_schemathesis.py;
the pages' query arguments by tests/web/test_ui_odd_queries.py): every form the web app's pages show a community
worker, a whistle officer, a community cadre, a department clerk, the city's supervisor and an administrator is
posted back with values no one should type — empty, a NUL, 5,000 characters, numbers too large for a float, a
date that does not exist, bytes that are not UTF-8, every field twice, a file where text was asked and text
where a file was — and each answer is below 500. The forms are found by walking the pages each user reaches
from the menu (one page of each kind), so a new form is probed without this test knowing it."""
from __future__ import annotations

import dataclasses
import io
import re
from urllib.parse import quote_from_bytes, urljoin, urlsplit

import lxml.html
import pytest
from werkzeug.datastructures import MultiDict

from engine import jobs
from tests.web.test_deploy import BPMN, bundle_zip, deploy
from tests.web.test_monthly_report import report_hazard
from tests.web.test_notice_channels import csrf
from tests.web.test_published_results import spot_check
from tests.web.test_returns import returned
from tests.web.test_sensitive import web_session

#: what each text field is set to, one value at a time, in every field of the form at once
ODD_VALUES = ("", "\x00", "x" * 5000, "字" * 400, "-1", "1e309", "99999999999999999999999", "2026-13-40T25:61",
              "../../../etc/passwd", "[]", "{\"a\":")
#: bytes that are not UTF-8, sent raw in a urlencoded body
NOT_UTF8 = b"\xff\xfe\xc3"
#: forms not posted in a signed-in walk: signing out, or in again (a failed sign-in ends the session), would
#: end the session the rest of the walk needs; the sign-in form is posted signed out
SKIP = {"/logout", "/login"}
#: the pages a walk starts from, beside the menu's
START = ("/", "/me/notices", "/returns", "/hazards", "/spot-checks", "/admin/users", "/admin/processes",
         "/admin/notices", "/admin/catalogs")
#: one page of each kind: its path with ids, numbers and task keys as N
KIND = re.compile(r"[0-9a-f]{8}-[0-9a-f-]{27}|\d+")
USERS = ("grid1", "whistle1", "staff1", "zhifa1", "city1", "admin1")


@pytest.fixture
def settings(settings):
    """A person's own channel may be a mail address on this machine (as tests/web/test_my_notices.py)."""
    return dataclasses.replace(settings, own_channel_hosts="127.0.0.1")


def forms_on(html: str, base: str):
    """(action, [(name, value)] as a browser would post it, [file field names]) of each POST form in a page."""
    for form in lxml.html.fromstring(html).forms:
        if (form.method or "GET").upper() != "POST":
            continue
        action = urlsplit(urljoin(base, form.get("action") or base))
        files = [i.name for i in form.inputs if getattr(i, "type", None) == "file" and i.name]
        fields = [(name, value if isinstance(value, str) else "") for name, value in form.form_values()]
        named = {n for n, _ in fields}
        fields += [(i.name, "") for i in form.inputs      # the boxes a browser leaves out unticked
                   if getattr(i, "name", None) and i.name not in named and i.name not in files]
        yield action.path + (f"?{action.query}" if action.query else ""), fields, files


def links_on(html: str, base: str):
    for href in lxml.html.fromstring(html).xpath("//a/@href"):
        parts = urlsplit(urljoin(base, href))
        if not parts.netloc or parts.netloc == "localhost":
            yield parts.path


def bodies(fields, files, token):
    """The odd bodies of one form: each odd value in every field, every field twice, nothing but the token,
    bytes that are not UTF-8, a file where each text field was (and text where each file was)."""
    def signed(pairs):
        return [(n, v) for n, v in pairs if n != "csrf_token"] + [("csrf_token", token)]
    texts = [n for n, _ in fields if n != "csrf_token"]
    for value in ODD_VALUES:
        yield "form", signed([(n, value) for n in texts] + [(f, value) for f in files])
    yield "form", signed(fields + fields)
    yield "form", [("csrf_token", token)]
    yield "raw", "&".join([f"csrf_token={token}"] + [f"{quote_from_bytes(n.encode())}={quote_from_bytes(NOT_UTF8)}"
                                                      for n in texts]).encode()
    yield "files", signed(fields) + [(n, (io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\0" * 64), "x.png")) for n in texts]
    yield "files", signed(fields) + [(f, (io.BytesIO(b"not an image"), "..\\..\\a.jpg")) for f in files]


def post(page, action, kind, body):
    if kind == "raw":
        return page.post(action, data=body, content_type="application/x-www-form-urlencoded")
    return page.post(action, data=MultiDict(body), content_type="multipart/form-data" if kind == "files" else None)


def walk(page, starts, most=150, each=3):
    """{path: html} of the pages the user reaches from `starts` by links, at most `each` of a kind (three
    tasks' pages, not every one; but a task of each step the user has, to reach their different forms)."""
    found, queue, kinds = {}, list(starts), {}
    while queue and len(found) < most:
        path = queue.pop(0)
        kind = KIND.sub("N", path)
        if path in found or kinds.get(kind, 0) >= each or path.startswith(("/static", "/api/", "/open311")) \
                or path in SKIP:
            continue
        kinds[kind] = kinds.get(kind, 0) + 1
        answer = page.get(path)
        if answer.status_code == 200 and answer.mimetype == "text/html":
            found[path] = html = answer.get_data(as_text=True)
            queue += links_on(html, path)
    return found


def made(app, api):
    """Something of every kind the forms act on: events at 研判 (claimed) and at 签收受理, a return to rule on,
    a hazard, a spot check, a person's own notice channel, a department's channel with a failed delivery, and
    a second process version (v1 then shows 启用 and 迁移)."""
    events = [api.report() for _ in range(4)]
    api.complete("staff1", events[0]["id"], "verify", {"verdict": "accept"})
    assert api.post(f"/api/tasks/{api.task('staff1', events[0]['id'], 'analyse')['id']}/claim", "staff1").status_code == 200
    r = api.post("/api/notice-channels", "admin1", json={"owner_kind": "unit", "owner": "zhifa", "label": "短信网关",
                                                         "url": "json://127.0.0.1:9/gateway", "categories": ["dispatch"]})
    assert r.status_code == 201, r.json
    api.whistle_to(events[1]["id"])
    svc = app.extensions["eventflow"]
    jobs.send_notices(svc.session_factory, svc.env)             # nothing listens on port 9: failed, to resend
    api.whistle_to(events[2]["id"])
    returned(api, "zhifa1", events[2]["id"], "incomplete")
    assert report_hazard(api).status_code == 201
    spot_check(api, "lg-xincheng")
    r = api.post("/api/me/notice-channels", "grid1", json={"label": "我的邮箱", "url": "mailto://127.0.0.1:9?from=a@eventflow.test&to=b@example.cn&mode=insecure"})
    assert r.status_code == 201, r.json
    r = deploy(api, bundle_zip(BPMN.replace(b"</bpmn:definitions>", b"<!-- v2 --></bpmn:definitions>")), "v2.zip")
    assert r.status_code == 201, r.json


def test_every_form_posted_with_odd_values_answers_below_500(app, api):
    made(app, api)
    failed, statuses, forms = [], {}, set()
    for user in USERS:
        page = web_session(app, user)
        pages = walk(page, START)
        token = csrf(page, "/")
        for path, html in pages.items():
            for action, fields, files in forms_on(html, path):
                kind = (user, KIND.sub("N", action), tuple(sorted({n for n, _ in fields} | set(files))))
                if action.split("?")[0] in SKIP or kind in forms:
                    continue
                forms.add(kind)
                for how, body in bodies(fields, files, token):
                    status = post(page, action, how, body).status_code
                    statuses[status // 100] = statuses.get(status // 100, 0) + 1
                    if status >= 500:
                        failed.append((user, action, how, status))
    anonymous = app.test_client()
    token = csrf(anonymous, "/login")
    for how, body in bodies([("username", ""), ("password", "")], [], token):
        if (status := post(anonymous, "/login", how, body).status_code) >= 500:
            failed.append(("anonymous", "/login", how, status))
    # the walk reached the forms, and their handlers (not all refused before them): taken and refused alike
    assert len({action for _, action, _ in forms}) >= 30, sorted(forms)
    assert statuses.get(3, 0) > 100 and statuses.get(4, 0) > 300, statuses
    assert failed == []
