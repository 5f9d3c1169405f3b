"""Every answer of the app, page or API, success or refusal, carries the safe-by-default headers (web/__init__.py
SECURITY_HEADERS): never framed by another site (clickjacking; tests/browser/test_browser.py shows Chromium
refusing such a frame), its type never guessed, only its origin sent on to other sites. A photo keeps its own,
stricter policy (web/api/photos.py), never framed either."""
from __future__ import annotations

from tests.conftest import PASSWORD
from tests.web.test_notice_channels import csrf
from tests.web.test_photos import image

SAFE = {"X-Frame-Options": "DENY", "Content-Security-Policy": "frame-ancestors 'none'",
        "X-Content-Type-Options": "nosniff", "Referrer-Policy": "strict-origin-when-cross-origin"}


def safe(response, **own) -> bool:
    return all(response.headers.get(name) == own.get(name, value) for name, value in SAFE.items())


def test_every_kind_of_answer_carries_them(app, api):
    anyone, page = app.test_client(), app.test_client()
    page.post("/login", data={"csrf_token": csrf(page, "/login"), "username": "staff1", "password": PASSWORD})
    event = api.report("grid1")
    answers = {
        "sign-in page": anyone.get("/login"),
        "sign-in refused": anyone.post("/login", data={"csrf_token": csrf(anyone, "/login"), "username": "x",
                                                        "password": "wrong-1234"}),
        "待办": page.get("/"),
        "event page": page.get(f"/events/{event['id']}"),
        "page not found": page.get("/no-such-page"),
        "API": api.get("/api/tasks", "staff1"),
        "API refusal": anyone.get("/api/tasks"),
        "API not found": api.get("/api/events/999999", "staff1"),
        "health": anyone.get("/api/health"),
        "OpenAPI": anyone.get("/api/openapi.json"),
        "static file": anyone.get("/static/report.js"),
    }
    assert [answers["sign-in page"].status_code, answers["待办"].status_code, answers["API"].status_code,
            answers["API refusal"].status_code, answers["page not found"].status_code] == [200, 200, 200, 401, 404]
    assert [name for name, r in answers.items() if not safe(r)] == []

    key = api.photo("grid1", event["id"], image("PNG", size=(40, 40)), name="scene.png")
    photo = api.get(f"/api/events/{event['id']}/photos/{key}", "grid1")
    assert photo.status_code == 200 and safe(photo, **{"Content-Security-Policy": "default-src 'none'; sandbox; frame-ancestors 'none'"})
