"""nginx (the Debian package) with TLS in front of `eventflow serve`, configured by deploy/nginx/eventflow.conf
(issue #17): a phone's browser over https:// reads its (emulated) GPS position into the report form, as
only a secure origin may (navigator.geolocation, the camera), and reports an event through two app nodes
on one database; plain HTTP is sent to HTTPS. No mocks: the app nodes, nginx, OpenSSL's certificate and
Debian's Chromium are the real programs (`make test` installs nginx and chromium)."""
from __future__ import annotations

import http.client
import json
import re
import ssl
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.browser.test_browser import ARGS, CHROMIUM, PHONE, photo_bytes
from tests.conftest import _pg_problem, fresh_pg_database
from tests.samples import REPORT
from tests.ops.stack import (HOST, NGINX, AppNode, Nginx, app_env, eventflow_command, free_port, render_site, run,
                             self_signed_certificate)

PASSWORD = "deploy-test-1"
POSITION = {"latitude": 27.5163, "longitude": 120.5526}   # 龙港, on a grid worker's phone


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    """Several app nodes share one PostgreSQL (docs/deploy.md): a database of this test's own on the
    server at 127.0.0.1:5432; where none answers, one SQLite file (one box)."""
    if _pg_problem():
        yield f"sqlite:///{tmp_path_factory.mktemp('db')}/eventflow.sqlite3"
        return
    import os
    with fresh_pg_database(f"eventflow_deploy_{os.getpid()}") as url:
        yield url


@pytest.fixture(scope="module")
def stack(database, tmp_path_factory):
    """The database set up by the commands of docs/deploy.md, two app nodes, nginx in front."""
    if not Path(NGINX).exists():
        pytest.fail("nginx is not installed: run `make test` (it installs the Debian package)")
    tmp = tmp_path_factory.mktemp("deploy")
    env = app_env(database, tmp / "media", EVENTFLOW_PROXIES="1")   # nginx in front, as deploy/eventflow.env.example
    eventflow = eventflow_command()
    run([*eventflow, "init-db"], env)
    run([*eventflow, "deploy"], env)
    run([*eventflow, "demo-data", "--password", PASSWORD], env)
    nodes = [AppNode(env, tmp / f"node{i}.log") for i in (1, 2)]
    try:
        for node in nodes:
            node.wait_ready()
        cert, key = self_signed_certificate(tmp)
        ports = {"http": free_port(), "https": free_port()}
        nginx = Nginx(tmp / "nginx", render_site([n.address for n in nodes], ports["http"], ports["https"], cert, key))
        nginx.check()
        nginx.start()
        try:
            yield {"ports": ports, "nodes": nodes, "nginx": nginx, "cert": cert}
        finally:
            nginx.stop()
    finally:
        for node in nodes:
            node.stop()


def get(port: int, path: str, tls: bool = False) -> http.client.HTTPResponse:
    """One request to nginx on 127.0.0.1 naming the site's host (no redirect followed)."""
    if tls:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE   # self-signed
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=30)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path, headers={"Host": f"{HOST}:{port}"})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def test_plain_http_is_sent_to_https(stack):
    ports = stack["ports"]
    response = get(ports["http"], "/report?x=1")
    assert response.status == 301
    assert response.getheader("Location") == f"https://{HOST}:{ports['https']}/report?x=1"


def test_https_reaches_the_app_nodes_and_serves_static_files_itself(stack):
    ports = stack["ports"]
    health = get(ports["https"], "/api/health", tls=True)
    assert health.status == 200
    assert health.getheader("Strict-Transport-Security") == "max-age=31536000"
    script = get(ports["https"], "/static/report.js", tls=True)
    assert script.status == 200
    assert script.getheader("Cache-Control") == "max-age=3600"   # nginx's `expires 1h`, not the app's answer
    assert script.getheader("Strict-Transport-Security") == "max-age=31536000"
    assert script.getheader("X-Content-Type-Options") == "nosniff"
    assert health.getheader("X-Frame-Options") == "DENY"          # the app's own (web/headers.py), passed on once
    assert health.getheader("Content-Security-Policy") == "default-src 'none'; frame-ancestors 'none'"   # data
    page = get(ports["https"], "/login", tls=True)
    assert page.getheader("Content-Security-Policy").startswith("default-src 'self'; script-src 'self';")
    assert health.getheader("X-Content-Type-Options") == "nosniff"


def test_the_sign_in_throttle_counts_the_address_nginx_saw_not_the_one_a_client_writes(stack):
    """nginx appends the address it saw to X-Forwarded-For; the app (EVENTFLOW_PROXIES=1) reads that last one
    (engine/accounts/sign_in.py): a guesser at 127.0.0.2 is refused whatever it writes in the header, while the
    account's owner at 127.0.0.1 — the address nginx itself connects to the app from — still signs in."""
    def sign_in(source: str, password: str, forwarded: str | None = None) -> tuple[int, dict, str | None]:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE   # self-signed
        conn = http.client.HTTPSConnection("127.0.0.1", stack["ports"]["https"], context=context, timeout=30,
                                           source_address=(source, 0))
        headers = {"Host": f"{HOST}:{stack['ports']['https']}", "Content-Type": "application/json"}
        if forwarded:
            headers["X-Forwarded-For"] = forwarded
        conn.request("POST", "/api/auth/token", json.dumps({"username": "shijian1", "password": password}), headers)
        response = conn.getresponse()
        body = json.loads(response.read())
        conn.close()
        return response.status, body, response.getheader("Retry-After")

    for n in range(5):
        assert sign_in("127.0.0.2", "guess-1234", f"198.51.100.{n}")[0] == 401
    status, body, retry = sign_in("127.0.0.2", PASSWORD, "198.51.100.99")
    assert status == 429 and body["error"] == "too_many_attempts" and retry == str(body["retry_after"])
    assert sign_in("127.0.0.1", PASSWORD)[0] == 200


def test_a_phone_over_https_reads_its_position_and_reports_through_two_nodes(stack):
    ports = stack["ports"]
    base = f"https://{HOST}:{ports['https']}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=[*ARGS, f"--host-resolver-rules=MAP {HOST} 127.0.0.1"])
        try:
            context = browser.new_context(**PHONE, base_url=base, ignore_https_errors=True,
                                          geolocation=POSITION, permissions=["geolocation"])
            refused = []        # what the pages' Content-Security-Policy refused (tests/browser/conftest.py)
            context.on("console", lambda message: "Content Security Policy" in message.text and refused.append(message.text))
            page = context.new_page()
            # typed as http://, the browser lands on https:// (nginx's redirect)
            page.goto(f"http://{HOST}:{ports['http']}/login")
            assert page.url == f"{base}/login"
            page.get_by_label("用户名").fill("grid1")
            page.get_by_label("密码").fill(PASSWORD)
            page.get_by_role("button", name="登录").click()
            expect(page.get_by_role("heading", name=re.compile("待办"))).to_be_visible()
            cookie = next(c for c in context.cookies() if c["name"] == "session")
            assert cookie["secure"]   # EVENTFLOW_SECURE_COOKIES=1 behind TLS

            page.get_by_role("link", name="上报").click()
            assert page.evaluate("window.isSecureContext")
            page.get_by_label("事件类型").select_option("A05")
            page.get_by_label("问题描述").fill("新城大道人行道被占道经营，行人无法通行")
            page.get_by_label("事发地址").fill("龙港市新城大道 88 号")
            page.get_by_role("button", name="获取当前位置").click()
            expect(page.get_by_label("纬度")).to_have_value("27.516300")
            expect(page.get_by_label("经度")).to_have_value("120.552600")
            page.get_by_label("现场照片").set_input_files([{"name": "scene.jpg", "mimeType": "image/jpeg",
                                                          "buffer": photo_bytes()}])
            page.get_by_role("button", name="上报", exact=True).click()
            expect(page.locator("p.flash")).to_contain_text("已上报")
            assert page.url.startswith(f"{base}/events/")
            # the stored location is the phone's, as the event page shows it (sign-in, report and event page
            # went round-robin over both app nodes: one secret key, one database)
            expect(page.locator("body")).to_contain_text("27.5163")

            # the same page straight from an app node over plain HTTP is no secure origin: no GPS there
            direct = context.new_page()
            direct.goto(f"http://{HOST}:{stack['nodes'][0].port}/login")
            assert not direct.evaluate("window.isSecureContext")
            context.close()
            assert refused == []
        finally:
            browser.close()


def _json_request(port: int, method: str, path: str, body: dict | None = None, token: str | None = None,
                  tls: bool = False) -> dict:
    """A JSON request to nginx (tls) or straight to an app node (plain HTTP); its JSON answer."""
    if tls:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=30)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Host": f"{HOST}:{port}", "Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    answer = json.loads(response.read() or b"null")
    conn.close()
    assert response.status < 300, (method, path, response.status, answer)
    return answer


def _events(response):
    """Server-Sent Events as they come through: {"event", "data", "id"} each (comments skipped)."""
    event = {}
    while True:
        line = response.readline()
        if not line:
            return
        line = line.decode("utf-8").rstrip("\n")
        if not line:
            if event:
                yield event
            event = {}
        elif not line.startswith(":"):
            field, _, value = line.partition(": ")
            event[field] = json.loads(value) if field == "data" else value


def _next(events, name: str) -> dict:
    for event in events:
        if event.get("event") == name:
            return event["data"]
    raise AssertionError(f"the stream ended before a {name} event")


def test_the_live_inbox_streams_through_nginx_work_made_on_either_node(stack):
    """A cadre's live stream through nginx (TLS, HTTP/1.1 to gunicorn's gthread workers) hears of work made
    through each app node in turn, the moment it is made: nginx passes each event on unbuffered, and the
    node that made it need not be the node that streams (issue #18)."""
    ports = stack["ports"]
    staff = _json_request(ports["https"], "POST", "/api/auth/token", {"username": "staff1", "password": PASSWORD},
                          tls=True)["token"]
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    conn = http.client.HTTPSConnection("127.0.0.1", ports["https"], context=context, timeout=30)
    conn.request("GET", "/api/live", headers={"Host": f"{HOST}:{ports['https']}", "Authorization": f"Bearer {staff}"})
    response = conn.getresponse()
    assert response.status == 200 and response.getheader("Content-Type").startswith("text/event-stream")
    events = _events(response)
    _next(events, "counts")
    for node in stack["nodes"]:                                      # one of them is not the stream's node
        grid = _json_request(node.port, "POST", "/api/auth/token", {"username": "grid1", "password": PASSWORD})["token"]
        event = _json_request(node.port, "POST", "/api/events", {**REPORT, "description": f"经 {node.address} 上报"},
                              token=grid)
        work = _next(events, "work")
        assert (work["task"]["event_number"], work["task"]["title"]) == (event["number"], "核实")
    conn.close()
