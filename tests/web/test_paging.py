"""Lists over HTTP a page at a time (issue #17, engine/store/paging.py): 待办 and the pool walked page by page
until `next_cursor` is null, with reports arriving between pages (none repeated, none skipped); every list
refuses a bad `cursor` or `limit` with 400 naming it; a cursor positions and never widens the caller's scope,
and a sensitive event (Table A.1 rows 1–3) stays out of every page of those it is hidden from; the pages'
上一页 / 下一页 links keep the filters. Real app, both databases."""
from __future__ import annotations

import base64
import json
import re
from html import unescape

from tests.web.test_open311 import BASE, new_key, reported
from tests.web.test_sensitive import staff3, web_session


def walk(api, path, user, limit, between=lambda n: None, **args):
    """Every item of a list from its first page to its last (next_cursor null); `between(n)` after page n."""
    seen, cursor, n = [], None, 0
    while True:
        r = api.get(path, user, query_string={**args, "limit": limit, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.json
        assert len(r.json["items"]) <= limit and (r.json["prev_cursor"] is None) == (n == 0)
        seen += r.json["items"]
        cursor, n = r.json["next_cursor"], n + 1
        if cursor is None:
            return seen
        assert r.json["items"], "a page with a next_cursor holds rows"
        between(n)


def test_the_task_list_walked_page_by_page_while_reports_arrive(api):
    for _ in range(5):
        api.report()
    everything = api.get("/api/tasks", "staff1").json
    assert everything["next_cursor"] is None and len(everything["items"]) == 5
    arrived = []

    def arrive(n):                                                      # a minute later, a new report
        if n <= 2:
            api.advance("PT1M")
            arrived.append(api.report())
    seen = walk(api, "/api/tasks", "staff1", 2, arrive)
    ids = [t["id"] for t in seen]
    assert len(ids) == len(set(ids))                                   # none twice
    assert ids[:5] == [t["id"] for t in everything["items"]]           # none skipped, oldest first
    # the new reports' tasks are the newest: they come after the cursor and are read once, at the end
    assert [t["event_id"] for t in seen[5:]] == [e["id"] for e in arrived]


def test_the_pool_walked_page_by_page_while_reports_arrive(api):
    made = [api.report()["id"] for _ in range(7)]
    first = api.get("/api/events", "staff1", query_string={"limit": 3}).json
    assert first["total"] == 7 and first["limit"] == first["per_page"] == 3 and first["page"] == 1
    newer = []
    seen = [e["id"] for e in walk(api, "/api/events", "staff1", 3, lambda n: newer.append(api.report()["id"]))]
    assert len(seen) == len(set(seen)) == 7
    assert seen == made[::-1]                                           # newest first, every one there when it began
    assert not set(newer) & set(seen)                                   # newer than the first page: not in this walk
    # the old page numbers still work for clients that send them (an offset, one page of `per_page`)
    old = api.get("/api/events", "staff1", query_string={"page": 2, "per_page": 3}).json
    assert [e["id"] for e in old["items"]] == sorted(made + newer, reverse=True)[3:6] and old["page"] == 2


def test_going_back_a_page(api):
    for _ in range(5):
        api.report()
    one = api.get("/api/events", "staff1", query_string={"limit": 2}).json
    two = api.get("/api/events", "staff1", query_string={"limit": 2, "cursor": one["next_cursor"]}).json
    back = api.get("/api/events", "staff1", query_string={"limit": 2, "cursor": two["prev_cursor"]}).json
    assert back["items"] == one["items"] and back["prev_cursor"] is None and back["next_cursor"]


#: every list of the API that pages, as whom (the rule each needs)
LISTS = {"/api/tasks": "staff1", "/api/events": "staff1", "/api/notifications": "grid1", "/api/supervision": "staff1",
         "/api/extension-requests": "city1", "/api/incidents": "admin1", "/api/users": "admin1",
         "/api/catalogs/units/revisions": "city1"}


def _forged(name, *keys):
    return base64.urlsafe_b64encode(json.dumps([name, "n", list(keys)]).encode()).decode().rstrip("=")


def test_a_bad_cursor_or_limit_is_a_400_naming_it_on_every_list(api):
    api.report()
    for path, user in LISTS.items():
        for args, field in (({"cursor": "not-a-cursor"}, "cursor"), ({"cursor": "%%%"}, "cursor"),
                            ({"cursor": "x" * 1000}, "cursor"), ({"cursor": _forged("events", "2026")}, "cursor"),
                            ({"limit": "0"}, "limit"), ({"limit": "100000"}, "limit"), ({"limit": "ten"}, "limit")):
            r = api.get(path, user, query_string=args)
            assert r.status_code == 400, (path, args, r.json)
            assert r.json["errors"][0]["field"] == field and r.json["error"] == "invalid", (path, r.json)
            assert re.search("[\u4e00-\u9fff]", r.json["errors"][0]["reason"]), r.json     # said in Chinese too
    # one list's cursor is not another's
    tasks_cursor = api.get("/api/tasks", "staff1", query_string={"limit": 1}).json["prev_cursor"] or \
        _forged("tasks", "2026-10-08T01:00:00+00:00", "x")
    assert api.get("/api/events", "staff1", query_string={"cursor": tasks_cursor}).status_code == 400
    r = api.get("/api/events", "staff1", query_string={"page": 2, "cursor": _forged("events", 5)})
    assert r.status_code == 400 and r.json["errors"][0]["field"] == "page"
    r = api.client.get(f"{BASE}/requests.json", query_string={"cursor": "nope"})
    assert r.status_code == 400 and r.json[0]["description"].startswith("cursor:")
    r = api.client.get(f"{BASE}/requests.json", query_string={"limit": "1001"})
    assert r.status_code == 400 and r.json[0]["description"].startswith("limit:")


def test_a_cursor_positions_and_never_widens_the_scope(app, api):
    mine = [api.report()["id"] for _ in range(3)]                       # 新城社区's
    theirs = api.report(user="staff2", source="committee_patrol", community="lg-longgang",
                        location={"lat": 27.58, "lng": 120.60, "address": "龙港社区某路口"})["id"]
    cursor = api.get("/api/events", "staff1", query_string={"limit": 1}).json["next_cursor"]
    r = api.get("/api/events", "staff2", query_string={"cursor": cursor, "limit": 100})
    assert r.status_code == 200 and [e["id"] for e in r.json["items"]] == []      # staff2's own is newer than it
    assert [e["id"] for e in api.get("/api/events", "staff2").json["items"]] == [theirs]
    forged = _forged("events", 10**9)                                   # made up: positions at the top, no further
    assert {e["id"] for e in api.get("/api/events", "staff2", query_string={"cursor": forged}).json["items"]} == {theirs}
    assert {e["id"] for e in api.get("/api/events", "staff1", query_string={"cursor": forged}).json["items"]} == set(mine)


def test_a_sensitive_event_is_on_no_page_of_those_it_is_hidden_from(app, api):
    staff3(app)                                                         # a cadre of 新城社区, not designated
    api.report()
    hidden = api.report(type_code="A03", description="邻里纠纷警情，需社区协调")
    api.report()
    designated = [e["id"] for e in walk(api, "/api/events", "staff1", 1)]
    assert hidden["id"] in designated
    assert hidden["id"] not in [e["id"] for e in walk(api, "/api/events", "staff3", 1)]
    assert hidden["id"] not in [t["event_id"] for t in walk(api, "/api/tasks", "staff3", 1)]
    just_after = _forged("events", hidden["id"] + 1)                    # a cursor right above it: it is skipped
    r = api.get("/api/events", "staff3", query_string={"cursor": just_after, "limit": 1})
    assert [e["id"] for e in r.json["items"]] == [hidden["id"] - 1]


def test_open311_pages_are_in_the_link_header(app, api):
    key = new_key(app)
    numbers = [reported(api, key)["service_request_id"] for _ in range(3)]
    r = api.client.get(f"{BASE}/requests.json", query_string={"limit": 2})
    assert r.status_code == 200 and [x["service_request_id"] for x in r.json] == numbers[::-1][:2]
    link = re.fullmatch(r'<([^>]+)>; rel="next"', r.headers["Link"]).group(1)
    assert "limit=2" in link and "cursor=" in link
    r = api.client.get(link)
    assert [x["service_request_id"] for x in r.json] == numbers[:1] and 'rel="prev"' in r.headers["Link"]
    assert "Link" not in api.client.get(f"{BASE}/requests.json").headers                     # one page: none
    for name in ("endpoint", "_external", "_anchor", "fmt"):           # url_for's own words stay query arguments
        r = api.client.get(f"{BASE}/requests.json", query_string={"limit": 2, name: "xml"})
        link = re.fullmatch(r'<([^>]+)>; rel="next"', r.headers["Link"]).group(1)
        assert link.startswith(f"{BASE}/requests.json?") and f"{name}=xml" in link and "#" not in link, link


def _links(html: str) -> dict:
    return {rel: unescape(href) for rel, href in re.findall(r'<a rel="(prev|next)" href="([^"]+)"', html)}


def test_the_pages_link_to_the_next_and_previous_page_keeping_the_filters(app, api):
    for _ in range(3):
        api.report()
    page = web_session(app, "staff1")
    html = page.get("/?limit=2&source=grid_worker").get_data(as_text=True)
    assert html.count('class="task light') == 2 and "上一页" not in html and "下一页" in html
    following = _links(html)["next"]
    assert "source=grid_worker" in following and "limit=2" in following
    html = page.get(following).get_data(as_text=True)
    assert html.count('class="task light') == 1 and "上一页" in html and "下一页" not in html
    assert "source=grid_worker" in _links(html)["prev"]
    for path in ("/events", "/done", "/messages", "/supervision"):
        r = page.get(f"{path}?cursor=nonsense")
        assert r.status_code == 400 and "cursor" in r.get_data(as_text=True), path
    html = page.get("/events?limit=2").get_data(as_text=True)
    assert "下一页" in html and page.get(_links(html)["next"]).status_code == 200
    assert page.get("/?limit=51").status_code == 400                   # a page shows at most 50


def test_a_query_argument_named_like_url_fors_own_stays_a_query_argument(app, api):
    """web/ui/__init__.py `page_url`: `?endpoint=` broke the page (500), `?_external=` / `?_scheme=` /
    `?_anchor=` turned the link absolute, foreign or anchored; each is now kept in the links' query string."""
    for _ in range(3):
        api.report()
    page = web_session(app, "staff1")
    for name in ("endpoint", "_external", "_scheme", "_anchor", "_method", "rule", "self", "cursor_x"):
        r = page.get(f"/?limit=2&{name}=javascript&source=grid_worker&source=phone_app")
        assert r.status_code == 200, name
        following = _links(r.get_data(as_text=True))["next"]
        assert following.startswith("/?") and "#" not in following, (name, following)
        assert f"{name}=javascript" in following and "source=grid_worker&source=phone_app" in following
        assert page.get(following).status_code == 200
