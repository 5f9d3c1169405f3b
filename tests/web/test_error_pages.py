"""The error page (issue #20, web/ui/error_pages.py): a page's bad query string, an address that names nothing, a
method a page does not take and an upload too large answer a page in Chinese — the parameter named by its label,
a way back — with the status the error has; only the machine-facing paths (/api/, /open311/) answer JSON. Both
databases, the real app through Flask's test client and the sign-in form."""
from __future__ import annotations

import re

import pytest

from tests.web.test_sensitive import web_session
from tests.web.test_ui_pages import csrf

#: (page, parameter, its label on the page): each a link with a value the page cannot use
BAD_LINKS = [("/dashboard?from=2026/12/01", "from", "开始日期"),
             ("/circular?from=yesterday", "from", "开始日期"),
             ("/circular?to=2026-02-30", "to", "结束日期"),
             ("/circular?first=0", "first", "每类显示条数"),
             ("/dashboard?level=everyone", "level", "统计层级"),
             ("/supervision?status=maybe", "status", "状态"),
             ("/returns?status=maybe", "status", "状态"),
             ("/events?from=8%E6%9C%8810%E6%97%A5", "from", "开始日期"),          # 8月10日
             ("/events?limit=all", "limit", "每页条数"),
             ("/events?cursor=not-a-cursor", "cursor", "翻页位置"),
             ("/monthly-report?month=2026-13", "month", "月份"),
             ("/?light=purple", "light", "预警灯")]
#: what Flask and Werkzeug say in English when nobody handles the error
ENGLISH = ("Bad Request", "Not Found", "Method Not Allowed", "The browser (or proxy)", "requested URL", '{"error"')


def text_of(html: str) -> str:
    """What the page shows: its text, without tags, scripts and attributes."""
    html = re.sub(r"<script.*?</script>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def assert_error_page(r, status: int) -> str:
    html = r.get_data(as_text=True)
    assert r.status_code == status, html[:300]
    assert r.mimetype == "text/html" and '<html lang="zh-CN">' in html and 'data-testid="error-page"' in html
    assert not any(word in html for word in ENGLISH), html
    return html


@pytest.mark.parametrize(("path", "field", "label"), BAD_LINKS)
def test_a_bad_query_string_on_a_page_names_the_parameter_and_offers_a_way_back(app, path, field, label):
    page = web_session(app, "city1")
    html = assert_error_page(page.get(path), 400)
    shown = re.search(rf'<li data-field="{field}">([^<]*)</li>', html)
    assert shown and label in shown.group(1), html                     # 「开始日期」格式应为 2026-12-01（年-月-日）
    assert "请求有误" in html and "链接中的参数有误" in html
    plain = path.split("?")[0]
    assert f'href="{plain}" data-testid="plain"' in html                 # this page without its query string
    assert 'href="/" data-testid="home"' in html                         # 待办
    assert page.get(plain).status_code == 200                            # and that way back works


def test_the_date_message_says_the_format_by_example(app):
    html = assert_error_page(web_session(app, "city1").get("/dashboard?from=2026/12/01"), 400)
    assert "<li data-field=\"from\">「开始日期」格式应为 2026-12-01（年-月-日）</li>" in html


def test_the_page_before_is_offered_when_it_is_this_sites(app):
    page = web_session(app, "city1")
    html = assert_error_page(page.get("/dashboard?to=x", headers={"Referer": "http://localhost/events"}), 400)
    assert 'href="/events" data-testid="back"' in html and "返回上一页" in html       # its path alone
    html = assert_error_page(page.get("/dashboard?to=x", headers={"Referer": "https://evil.example/"}), 400)
    assert "evil.example" not in html and 'data-testid="back"' not in html
    html = assert_error_page(page.get("/dashboard?to=x", headers={"Referer": "javascript://localhost/%0aalert(1)"}), 400)
    assert "javascript" not in html and 'data-testid="back"' not in html          # only http(s) pages


def test_an_unknown_address_answers_the_page_signed_in_or_not(app):
    for path in ("/admin", "/no-such-page", "/events/99999", "/admin/processes/99999"):
        html = assert_error_page(web_session(app, "admin1").get(path), 404)
        assert "找不到该页面" in html and 'data-testid="home"' in html
    html = assert_error_page(app.test_client().get("/no-such-page"), 404)
    assert "找不到该页面" in text_of(html)
    assert 'href="/login" data-testid="login"' in html                      # signed out: a way in
    assert "退出" not in text_of(html)                                       # no one's menu


def test_a_method_a_page_does_not_take_answers_405_with_allow(app):
    page = web_session(app, "city1")
    r = page.post("/dashboard", data={"csrf_token": csrf(page, "/dashboard")})
    html = assert_error_page(r, 405)
    assert {m.strip() for m in r.headers["Allow"].split(",")} >= {"GET"}
    assert "不能这样打开此页面" in html
    r = app.test_client().delete("/report")
    assert_error_page(r, 405)
    assert "POST" in r.headers["Allow"]


def test_an_upload_too_large_for_a_page_answers_413_saying_the_limit(app, settings):
    page = web_session(app, "grid1")
    token = csrf(page, "/report")
    big = b"x" * (settings.max_upload_bytes + 1024)
    r = page.post("/report", data={"csrf_token": token, "description": big.decode()})
    html = assert_error_page(r, 413)
    assert "提交的内容太大" in html and f"{settings.max_upload_bytes / 1024 / 1024:.0f} MB" in html


def test_a_refusal_on_a_page_is_said_in_the_page(app):
    html = assert_error_page(web_session(app, "grid1").get("/admin/users"), 403)
    assert "无权访问" in html


def test_the_api_and_open311_still_answer_json(app, api):
    r = api.get("/api/indicators", "city1", query_string={"from": "2026/12/01", "to": "2026-12-31T00:00:00+08:00"})
    assert r.status_code == 422 and r.is_json and r.json["errors"][0]["field"] == "from"
    r = api.get("/api/no-such-thing", "city1")
    assert r.status_code == 404 and r.is_json and r.json["error"] == "not_found"
    r = api.client.delete("/api/events")
    assert r.status_code == 405 and r.is_json and "GET" in r.headers["Allow"]
    r = api.client.get("/open311/v2/no-such-thing.json")
    assert r.status_code == 404 and r.is_json
    r = api.client.get("/api")
    assert r.status_code == 404 and r.is_json
    r = web_session(app, "city1").get("/events/1/map.json")            # a page's script reads it: JSON too
    assert r.status_code == 404 and r.is_json


def test_english_after_the_language_switch(app):
    page = web_session(app, "city1")
    page.post("/language", data={"csrf_token": csrf(page, "/"), "lang": "en", "next": "/"})
    r = page.get("/dashboard?from=2026/12/01")
    html = r.get_data(as_text=True)
    assert r.status_code == 400 and '<html lang="en">' in html
    assert "“Start date” should be a date such as 2026-12-01 (year-month-day)" in html
    assert "开始日期" not in text_of(html)
    r = page.get("/events?cursor=not-a-cursor")                         # the engine's reason: its English half
    assert "not a cursor this list gave" in r.get_data(as_text=True) and "无效的分页游标" not in r.get_data(as_text=True)
