"""Every answer of the app, page or API, success or refusal, carries the safe-by-default headers (web/headers.py):
never framed by another site (clickjacking; tests/browser/test_browser.py shows Chromium refusing such a frame),
its type never guessed, only its origin sent on to other sites, scripts run from the app's own files only (the
Content-Security-Policy; tests/browser/conftest.py fails any browser test whose pages it refused anything, and
test_browser.py shows it refusing an injected script). A photo keeps its own, stricter policy (web/api/photos.py),
never framed either."""
from __future__ import annotations

import json
import logging

import pytest

from engine.core.config import Settings
from tests.conftest import PASSWORD
from tests.web.test_notice_channels import csrf
from tests.web.test_photos import image

from web.headers import Refusals, policy, tile_source

#: the policy of an app without map tiles, written out: what each directive allows is the point
POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
          "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; manifest-src 'self'; object-src 'none'; "
          "base-uri 'none'; form-action 'self'; frame-ancestors 'none'; report-uri /api/csp-reports")
SAFE = {"X-Frame-Options": "DENY", "Content-Security-Policy": POLICY,
        "X-Content-Type-Options": "nosniff", "Referrer-Policy": "strict-origin-when-cross-origin",
        "Permissions-Policy": "geolocation=(self), camera=(self), microphone=(), payment=(), usb=(), serial=(), hid=()",
        "Cross-Origin-Opener-Policy": "same-origin"}


def safe(response, **own) -> bool:
    return all(response.headers.get(name) == own.get(name, value) for name, value in SAFE.items())


def test_every_kind_of_answer_carries_them(app, api):
    anyone, page = app.test_client(), app.test_client()
    page.post("/login", data={"csrf_token": csrf(page, "/login"), "username": "staff1", "password": PASSWORD})
    event = api.report("grid1")
    pages = {
        "sign-in page": anyone.get("/login"),
        "sign-in refused": anyone.post("/login", data={"csrf_token": csrf(anyone, "/login"), "username": "x",
                                                        "password": "wrong-1234"}),
        "待办": page.get("/"),
        "event page": page.get(f"/events/{event['id']}"),
        "page not found": page.get("/no-such-page"),
        "static file": anyone.get("/static/report.js"),
    }
    data = {                                             # no page: nothing may load or run
        "API": api.get("/api/tasks", "staff1"),
        "API refusal": anyone.get("/api/tasks"),
        "API not found": api.get("/api/events/999999", "staff1"),
        "health": anyone.get("/api/health"),
        "OpenAPI": anyone.get("/api/openapi.json"),
        "Open311": anyone.get("/open311/v2/services.json"),
        "Open311 not found": anyone.get("/open311/v2/nothing.json"),
        "a page's data: the diagram": page.get(f"/events/{event['id']}/diagram.bpmn"),
        "a page's data: the map": page.get(f"/events/{event['id']}/map.json"),
    }
    assert [pages["sign-in page"].status_code, pages["待办"].status_code, data["API"].status_code,
            data["a page's data: the map"].status_code, data["API refusal"].status_code,
            pages["page not found"].status_code] == [200, 200, 200, 200, 401, 404]
    assert [name for name, r in pages.items() if not safe(r)] == []
    assert [name for name, r in data.items()
            if not safe(r, **{"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'"})] == []

    key = api.photo("grid1", event["id"], image("PNG", size=(40, 40)), name="scene.png")
    photo = api.get(f"/api/events/{event['id']}/photos/{key}", "grid1")
    assert photo.status_code == 200 and safe(photo, **{"Content-Security-Policy": "default-src 'none'; sandbox; frame-ancestors 'none'"})


@pytest.mark.parametrize("template, source", [
    ("https://t{s}.tianditu.gov.cn/vec_w/wmts?LAYER=vec&tk={tk}", "https://*.tianditu.gov.cn"),   # docs/maps.md
    ("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png", "https://*.tile.openstreetmap.org"),
    ("http://127.0.0.1:8123/t{s}/vec_w/{z}/{x}/{y}", "http://127.0.0.1:8123"),
    ("HTTPS://Tiles.Example.CN/{z}/{x}/{y}.png", "https://tiles.example.cn"),
    ("//tiles.example.cn/{z}/{x}/{y}.png", "tiles.example.cn"),          # the page's own scheme
    ("https://tiles.{s}.example.cn/{z}", "https:"),                      # CSP has no wildcard there
    ("https://tiles.example.cn;script-src *;/{z}", "https:"),            # nothing but a host reaches the policy
    ("/tiles/{z}/{x}/{y}.png", None),                                    # the app's own origin: 'self'
    (" https://tiles.example.cn/{z}/{x}/{y}.png ", "https://tiles.example.cn"),   # spaces the browser ignores
    ("", None),
])
def test_a_tile_template_allows_its_servers_images(template, source):
    assert tile_source(template) == source


def test_the_policy_allows_the_tile_servers_the_settings_name():
    settings = Settings(map_tiles="https://t{s}.tianditu.gov.cn/vec_w/wmts?tk={tk}",
                        map_labels="https://t{s}.tianditu.gov.cn/cva_w/wmts?tk={tk}")
    directives = dict(part.split(" ", 1) for part in policy(settings).split("; "))
    assert directives["img-src"] == "'self' data: blob: https://*.tianditu.gov.cn"      # named once
    assert directives["script-src"] == "'self'" and directives["connect-src"] == "'self'"
    assert policy(Settings()) == POLICY


def test_what_a_browser_reports_refused_is_said_once_in_the_log(app, caplog):
    """POST /api/csp-reports (the policy's report-uri): each kind of refusal — directive, what was refused, the
    page's path — is said once per process, without the page's query (it may name a person) or another site's
    path; the Reporting API's form is read too; anything else is refused naming the body."""
    browser = app.test_client()
    inline = {"csp-report": {"document-uri": "https://eventflow.example/events/12?q=王五", "blocked-uri": "inline",
                             "effective-directive": "script-src-elem", "violated-directive": "script-src-elem"}}
    elsewhere = [{"type": "csp-violation", "body": {"documentURL": "https://eventflow.example/report",
                                                    "blockedURL": "https://evil.example/steal?data=1",
                                                    "effectiveDirective": "connect-src"}},
                 {"type": "deprecation", "body": {"id": "x"}}]
    caplog.set_level(logging.WARNING, logger="web.headers")
    answers = [browser.post("/api/csp-reports", data=json.dumps(inline), content_type="application/csp-report"),
               browser.post("/api/csp-reports", data=json.dumps(inline), content_type="application/csp-report"),
               browser.post("/api/csp-reports", data=json.dumps(elsewhere), content_type="application/reports+json")]
    assert [r.status_code for r in answers] == [204, 204, 204]
    assert [r.getMessage() for r in caplog.records if r.name == "web.headers"] == [
        "the Content-Security-Policy refused inline (script-src-elem) on /events/12",
        "the Content-Security-Policy refused https://evil.example (connect-src) on /report"]

    for body in (b"not json", b"\xff\xfe", json.dumps({"other": 1}).encode(), b"[1, 2]", b"[" * 100_00 + b"]" * 100_00):
        refused = browser.post("/api/csp-reports", data=body, content_type="application/csp-report")
        assert refused.status_code == 422 and refused.get_json()["errors"][0]["field"] == "(body)", body[:20]
    too_long = browser.post("/api/csp-reports", data=json.dumps({"csp-report": {"blocked-uri": "x" * 70_000}}),
                            content_type="application/csp-report")
    assert too_long.status_code == 413 and too_long.is_json


def test_a_report_says_nothing_that_could_forge_a_log_line_or_leak_a_secret(caplog):
    """Anyone may send a report: what reaches the log is printable ASCII, without the page's query or a name
    and password in the refused URL; a report's first refusals only are read, and past `keep` kinds one line
    says no more are said."""
    caplog.set_level(logging.WARNING, logger="web.headers")
    refusals = Refusals(keep=3)
    forged = {"csp-report": {"document-uri": "https://a.example/events/1\u2028FAKE LINE\n\ud800?who=王五",
                             "blocked-uri": "https://user:secret@evil.example:8443/x?y=1",
                             "effective-directive": "img-src\u202e"}}
    refusals.take(forged)
    assert caplog.records[-1].getMessage() == ("the Content-Security-Policy refused https://evil.example:8443 "
                                               "(img-src\\u202e) on /events/1\\u2028FAKE LINE\\ud800")   # urlsplit drops the \\n
    many = [{"type": "csp-violation", "body": {"documentURL": f"https://a.example/p{i}", "blockedURL": "inline",
                                                "effectiveDirective": "script-src-elem"}} for i in range(50)]
    assert refusals.take(many) == Refusals.PER_REPORT
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1 + 2 + 1 and said[-1].endswith("no more are said until the app restarts")
    refusals.take(many)
    assert len(caplog.records) == 4
