"""待办 as people work it (issue #19): red first, then by time left, the tasks without a limit after them; filtered
by light (红/黄/绿/暂停/无时限), event type, community, source and who has the task; read a page at a time with
every task exactly once; counted per light in the database; and on a map. As the simulated clock moves the
lights change and the order follows; a suspension (挂起) and an extension (§8.4) move a task too. A bad filter
is a 400 naming it, in Chinese. A sensitive event's task (Table A.1 rows 1–3) is on the list, the counts and the
map only of those who may see the event. The real app through HTTP, both databases."""
from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import select

from engine.store.models import Audit
from tests.web.client import REPORT
from tests.web.test_administration import administer
from tests.web.test_deadlines import decide, deadline, request_extension
from tests.web.test_paging import walk
from tests.web.test_sensitive import staff3, web_session



def handled_by_cadre(api, **report) -> dict:
    """A report of 新城社区 given to its cadres to handle (§8.1: the community's own limit for its type)."""
    event = api.report(**report)
    api.complete("staff1", event["id"], "verify", {"verdict": "accept"})
    api.complete("staff1", event["id"], "analyse", {"disposal": "cadre"})
    return event


def unplaced(api, **report) -> int:
    """A grid worker's report with an address and no coordinates: its 分拨定位 task (§7.1) carries no limit
    (§8.1 times 核实 — also the 核实 of a fix made on the spot —, 研判, 吹哨 and 核查: step_limits.json)."""
    r = api.post("/api/events", "grid1", json={**REPORT, "location": {"address": "新城大道与世纪大道交叉口"}, **report})
    assert r.status_code == 201, r.json
    return r.json["id"]


def listed(api, user="staff1", limit=100, **filters) -> list[dict]:
    return walk(api, "/api/tasks", user, limit, **filters)


def order(api, user="staff1", **filters) -> list[tuple[int, str]]:
    """(event id, light) of each task, as 待办 lists them."""
    return [(t["event_id"], t["light"]) for t in listed(api, user, **filters)]


def counts(api, user="staff1", **filters) -> dict:
    r = api.get("/api/tasks/counts", user, query_string=filters)
    assert r.status_code == 200, r.json
    return r.json


def assert_counts_match(api, user="staff1"):
    """The counts per light are the lights of the whole list, and each light's filter lists that many."""
    found = counts(api, user)
    assert found == {light: Counter(t["light"] for t in listed(api, user))[light]
                     for light in ("red", "yellow", "green", "paused", "none")}
    for light, n in found.items():
        assert [t["light"] for t in listed(api, user, light=light)] == [light] * n


def test_red_first_then_by_time_left_as_the_clock_moves(app, api):
    a = handled_by_cadre(api, type_code="A14")                # 09:00, 新城's A14 limit 4 h: due 13:00
    n1 = unplaced(api)                                         # 09:00, 分拨定位: no limit
    api.advance("PT30M")
    b = handled_by_cadre(api)                                  # 09:30, the default 2 h: due 11:30
    api.advance("PT30M")
    c = handled_by_cadre(api, type_code="A13")                # 10:00, A13's 1 h: due 11:00 (黄灯 from 10:40)
    n2 = unplaced(api)                                         # 10:00, no limit
    a, b, c = (e["id"] for e in (a, b, c))
    # by time left, not by age: the newest task is due first; those without a limit after, the oldest first
    assert order(api) == [(c, "green"), (b, "green"), (a, "green"), (n1, "none"), (n2, "none")]
    assert [t["due_at"][11:16] for t in listed(api)[:3]] == ["11:00", "11:30", "13:00"]
    assert_counts_match(api)

    api.advance("PT45M")                                       # 10:45: c past two thirds of its hour
    assert order(api) == [(c, "yellow"), (b, "green"), (a, "green"), (n1, "none"), (n2, "none")]
    api.advance("PT30M")                                       # 11:15: c missed, b past its warning
    assert order(api) == [(c, "red"), (b, "yellow"), (a, "green"), (n1, "none"), (n2, "none")]
    assert_counts_match(api)
    api.advance("PT30M")                                       # 11:45: b missed too; red by how long overdue
    assert order(api) == [(c, "red"), (b, "red"), (a, "yellow"), (n1, "none"), (n2, "none")]
    assert_counts_match(api)

    # 挂起: a's limit stands still, after every running one and before those without a limit; 恢复: back
    n3 = handled_by_cadre(api)["id"]                           # 11:45: due 13:45
    administer(api, "suspend", a)
    assert order(api) == [(c, "red"), (b, "red"), (n3, "green"), (a, "paused"), (n1, "none"), (n2, "none")]
    assert_counts_match(api)
    administer(api, "resume", a)                               # no time passed: due 13:00 again
    assert order(api) == [(c, "red"), (b, "red"), (a, "yellow"), (n3, "green"), (n1, "none"), (n2, "none")]
    # §8.4: a's limit extended past n3's: it moves behind it (and runs green again)
    limit = deadline(api, a, "community_handle")
    asked = request_extension(api, limit["id"])
    decide(api, asked["id"], approve=True, new_due_at=(datetime.fromisoformat(limit["due_at"])
                                                       + timedelta(hours=2)).isoformat())
    assert order(api) == [(c, "red"), (b, "red"), (n3, "green"), (a, "green"), (n1, "none"), (n2, "none")]
    # done: off the list and the counts; the next step, 核查, runs on its own limit (§8.1, step_limits.json:
    # 2 h from the feedback at 11:50, due 13:50): by time left, after n3 (13:45) and before a (15:00)
    api.advance("PT5M")
    api.complete("staff1", c, "handle_by_cadre", {"result_summary": "已清理"})
    assert order(api) == [(b, "red"), (n3, "green"), (c, "green"), (a, "green"), (n1, "none"), (n2, "none")]
    checked = listed(api)[2]
    assert checked["name"] == "check" and checked["due_at"][11:16] == "13:50"
    assert_counts_match(api)


def test_each_filter_lists_only_its_tasks(app, api):
    ordinary = handled_by_cadre(api)["id"]                                        # A05 from a grid worker
    patrol = api.report(user="staff1", source="committee_patrol")["id"]                  # A05 from the committee's patrol
    quick = handled_by_cadre(api, type_code="A13")["id"]
    waiting = unplaced(api, type_code="A13")                                 # 分拨定位: no limit
    assert {t["event_id"] for t in listed(api)} == {ordinary, patrol, quick, waiting}
    assert {t["event_id"] for t in listed(api, type_code="A13")} == {quick, waiting}
    assert {t["event_id"] for t in listed(api, source="committee_patrol")} == {patrol}
    assert {t["event_id"] for t in listed(api, source="grid_worker", type_code="A05")} == {ordinary}
    assert {t["event_id"] for t in listed(api, light="none")} == {waiting}
    assert {t["event_id"] for t in listed(api, light="green")} == {ordinary, patrol, quick}   # patrol: 核实's 30 min
    assert {t["event_id"] for t in listed(api, light="green", type_code="A13")} == {quick}
    assert listed(api, light="red") == [] and listed(api, source="iot_alert") == []
    assert counts(api, type_code="A13") == {"red": 0, "yellow": 0, "green": 1, "paused": 0, "none": 1}
    claimed = api.task("staff1", waiting, "place_in_community")["id"]
    assert api.post(f"/api/tasks/{claimed}/claim", "staff1").status_code == 200
    assert [t["id"] for t in listed(api, status="mine")] == [claimed]
    assert claimed not in {t["id"] for t in listed(api, status="unclaimed")}
    # community: a department clerk with work from two communities picks one
    whistled = api.report()["id"]
    api.whistle_to(whistled)
    longgang = api.report(user="staff2", source="committee_patrol", community="lg-longgang",
                          location={"lat": 27.58, "lng": 120.60, "address": "龙港社区某路口"})["id"]
    api.complete("staff2", longgang, "verify", {"verdict": "accept"})
    api.complete("staff2", longgang, "analyse", {"disposal": "whistle"})
    r = api.post("/api/users", "admin1", json={"username": "whistle2", "password": "whistle-pass-2",
                                               "roles": ["whistle_officer"], "community": "lg-longgang"})
    assert r.status_code == 201, r.json
    token = api.client.post("/api/auth/token", json={"username": "whistle2", "password": "whistle-pass-2"}).json
    api._tokens["whistle2"] = token["token"]
    api.complete("whistle2", longgang, "issue_whistle", {"lead_department": "zhifa", "on_site": False,
                                                         "whistle_reason": "需执法"})
    assert {t["event_id"] for t in listed(api, "zhifa1")} == {whistled, longgang}
    assert {t["event_id"] for t in listed(api, "zhifa1", community="lg-longgang")} == {longgang}
    assert {t["event_id"] for t in listed(api, "zhifa1", community="lg-xincheng")} == {whistled}
    assert counts(api, "zhifa1", community="lg-longgang")["green"] == 1
    features = api.get("/api/tasks/map", "zhifa1", query_string={"community": "lg-longgang"}).json["features"]
    assert [f["properties"]["event_id"] for f in features] == [longgang]


def test_a_bad_filter_is_a_400_naming_it_in_chinese(app, api):
    api.report()
    bad = {"light": ("purple", "预警灯"), "status": ("everyone", "状态"), "source": ("fax", "来源"),
           "type_code": ("Z99", "事件类型"), "community": ("lg-atlantis", "社区")}
    for path in ("/api/tasks", "/api/tasks/counts", "/api/tasks/map"):
        for field, (value, words) in bad.items():
            for sent in (value, value * 100, "红灯"):
                r = api.get(path, "staff1", query_string={field: sent})
                assert r.status_code == 400, (path, field, r.json)
                assert r.json["error"] == "invalid" and [e["field"] for e in r.json["errors"]] == [field], r.json
                assert r.json["errors"][0]["reason"].startswith(words), r.json
            r = api.get(path, "staff1", query_string={field: value + "\x00"})     # the app's rule for every input
            assert r.status_code == 422 and r.json["errors"][0]["field"] == field, r.json
        r = api.get(path, "staff1", query_string={"light": "purple", "source": "fax"})    # each one named
        assert r.status_code == 400 and {e["field"] for e in r.json["errors"]} == {"light", "source"}
        assert api.get(path, "staff1", query_string={"light": "", "type_code": ""}).status_code == 200   # not asked
    page = web_session(app, "staff1")
    for path in ("/?light=purple", "/?view=map&source=fax", "/todo/map.json?community=nowhere"):
        r = page.get(path)
        assert r.status_code == 400, path
    assert "预警灯" in page.get("/?light=purple").get_data(as_text=True)


def test_pages_hold_every_task_exactly_once_in_order(app, api):
    made = []
    for n in range(7):                                        # limits due at different times, and no limits
        made.append(handled_by_cadre(api, type_code=("A13", "A05", "A14")[n % 3])["id"] if n % 2 else unplaced(api))
        api.advance("PT7M")
    api.advance("PT20M")                                      # 10:09: one yellow, two green, none red yet
    whole = listed(api)
    assert sorted(t["event_id"] for t in whole) == sorted(made)
    assert [t["light"] for t in whole] == ["yellow", "green", "green"] + ["none"] * 4
    for limit in (1, 2, 3):
        assert [t["id"] for t in listed(api, limit=limit)] == [t["id"] for t in whole]
    arrived = []

    def arrive(n):                                            # a minute later, a new report: no limit, the newest
        if n <= 2:
            api.advance("PT1M")
            arrived.append(unplaced(api))
    seen = walk(api, "/api/tasks", "staff1", 2, arrive)
    ids = [t["id"] for t in seen]
    assert len(ids) == len(set(ids))                                           # none twice
    assert ids[:len(whole)] == [t["id"] for t in whole]                        # none skipped, in order
    assert [t["event_id"] for t in seen[len(whole):]] == arrived               # the new ones once, at the end
    # under a filter too, and back a page
    first = api.get("/api/tasks", "staff1", query_string={"light": "none", "limit": 2}).json
    second = api.get("/api/tasks", "staff1", query_string={"light": "none", "limit": 2,
                                                            "cursor": first["next_cursor"]}).json
    back = api.get("/api/tasks", "staff1", query_string={"light": "none", "limit": 2,
                                                          "cursor": second["prev_cursor"]}).json
    assert [t["id"] for t in back["items"]] == [t["id"] for t in first["items"]]
    assert {t["light"] for t in first["items"] + second["items"]} == {"none"}


def test_the_page_counts_each_light_in_its_header_and_shows_the_work_on_a_map(app, api):
    late = handled_by_cadre(api, type_code="A13")["id"]
    api.advance("PT1H5M")                                     # its hour is over: red
    running = handled_by_cadre(api)["id"]
    waiting = api.report(location={"lat": 27.525, "lng": 120.605, "address": "新城大道 100 号"})["id"]
    administer(api, "suspend", waiting)                       # 挂起: its 核实's limit stands still
    page = web_session(app, "staff1")
    html = page.get("/").get_data(as_text=True)
    shown = {light: int(n) for light, n in re.findall(r'data-testid="count-(\w+)">(\d+)<', html)}
    assert shown == counts(api) == {"red": 1, "yellow": 0, "green": 1, "paused": 1, "none": 0}
    numbers = re.findall(r'data-event="([^"]+)"', html)
    assert numbers == [api.event(e)["number"] for e in (late, running, waiting)]        # red first
    red = re.search(r'<a href="([^"]+)" class="count" data-light="red"', html).group(1).replace("&amp;", "&")
    html = page.get(red).get_data(as_text=True)
    assert re.findall(r'data-event="([^"]+)"', html) == [api.event(late)["number"]]
    assert 'class="count on" data-light="red"' in html and 'data-testid="total-count">1<' in html
    # the map: the same filters, each task a point at its event's place with its light
    html = page.get("/?view=map&source=grid_worker").get_data(as_text=True)
    assert 'data-testid="tasks-map"' in html and 'class="tasks"' not in html and "leaflet.js" in html
    src = re.search(r'id="tasks-map"[^>]*data-src="([^"]+)"', html.replace("\n", " ")).group(1).replace("&amp;", "&")
    assert "source=grid_worker" in src
    found = page.get(src).json
    assert [(f["properties"]["event_id"], f["properties"]["light"]) for f in found["features"]] == \
        [(late, "red"), (running, "green"), (waiting, "paused")]
    assert found["features"][2]["geometry"] == {"type": "Point", "coordinates": [120.605, 27.525]}
    assert found["more"] == 0 and found["unplaced"] == 0
    assert [a["properties"]["code"] for a in found["areas"]] == ["lg-xincheng"]          # its boundary, to find one's way
    # an address-only report waits for 分拨 (§7.1): listed and counted, not on the map, and the map says so
    r = api.post("/api/events", "grid1", json={**REPORT, "location": {"address": "新城大道与世纪大道交叉口东北角"}})
    assert r.status_code == 201, r.json
    found = page.get("/todo/map.json").json
    assert len(found["features"]) == 3 and found["unplaced"] == 1 and counts(api)["none"] == 1
    assert page.get("/todo/map.json?light=red").json["features"][0]["properties"]["event_id"] == late
    assert api.get("/api/tasks/map", "staff1").json == found


def test_a_sensitive_events_task_is_listed_counted_and_mapped_only_for_those_who_may_see_it(app, api):
    staff3(app)                                               # a cadre of 新城社区, not designated
    ordinary = api.report()["id"]
    secret = api.report(type_code="A03", description="邻里纠纷警情，需社区协调",
                        location={"lat": 27.531, "lng": 120.611, "address": "新城某小区 3 幢"})
    number = secret["number"]
    assert {t["event_id"] for t in listed(api, "staff1")} == {ordinary, secret["id"]}        # designated
    assert {t["event_id"] for t in listed(api, "staff3")} == {ordinary}
    assert {t["event_id"] for t in listed(api, "staff3", type_code="A03")} == set()
    both = {"red": 0, "yellow": 0, "green": 2, "paused": 0, "none": 0}         # two 核实 within their 30 min
    assert counts(api, "staff1") == both and counts(api, "staff3") == {**both, "green": 1}
    assert counts(api, "staff3", type_code="A03") == {**both, "green": 0}
    for user, expected in (("staff1", {ordinary, secret["id"]}), ("staff3", {ordinary})):
        body = api.get("/api/tasks/map", user).json
        assert {f["properties"]["event_id"] for f in body["features"]} == expected
        if user == "staff3":
            text = str(body)
            assert number not in text and "新城某小区" not in text and "120.611" not in text
    hidden = web_session(app, "staff3")
    for path in ("/", "/?view=map", "/todo/map.json", "/?type_code=A03", "/todo/map.json?type_code=A03"):
        text = hidden.get(path).get_data(as_text=True)
        assert number not in text and "邻里纠纷" not in text and "新城某小区" not in text, path
    assert web_session(app, "staff1").get("/todo/map.json").json["features"]
    svc = app.extensions["eventflow"]
    reads = svc.read(lambda s: [(a.actor, a.data["view"]) for a in s.scalars(
        select(Audit).where(Audit.event_id == secret["id"], Audit.action == "sensitive_viewed"))])
    assert ("staff1", "tasks_map") in reads and not [r for r in reads if r[0] == "staff3"]
