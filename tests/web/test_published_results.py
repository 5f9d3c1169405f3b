"""§9.3 results published (issue #19): 市级主管部门…抽查通报 — the circular (§9.1) and the spot checks are read by the
communities and joint party committees they name, each its own lines only (engine/accounts/permissions.py
`circular_parties`, `may_read_spot_check`), with the sensitive-event rules as they are (issue #15); the
monthly report (§9.2) shows a community its spot-check findings and circular lines of the month. The real app
on both databases and the simulated clock.

The history (T0 the simulated start, 2026-10-08): in 新城社区 an A05 handled by the community's cadres and an
A03 (警情流转, sensitive) likewise, in 龙港社区 an A05; none done within its §8.1 limit of 2 hours, so at T0+3h
each is a 反馈不及时 line of its community; and an A05 of 新城 whistled to 执法局 whose 签收受理 is missed (a
line of 执法局, which no community reads)."""
from __future__ import annotations

import io
from datetime import timedelta

from openpyxl import load_workbook

from tests.web.conftest import made_once
from tests.web.test_deadlines import advance_to, now
from tests.web.test_sensitive import web_session

LONGGANG = {"lat": 27.58, "lng": 120.60, "address": "龙港大道 1 号"}
OCTOBER = {"from": "2026-10-01T00:00:00+08:00", "to": "2026-11-01T00:00:00+08:00"}


def handled_by_cadre(api, user, event_id):
    api.complete(user, event_id, "verify", {"verdict": "accept"})
    api.complete(user, event_id, "analyse", {"disposal": "cadre"})


def close_by_cadre(api, user, event_id):
    api.complete(user, event_id, "handle_by_cadre", {"result_summary": "已劝导整改"})
    api.complete(user, event_id, "check", {"passed": True, "rating": "满意"})


def history(api):
    """The history below, made once per pytest process and database and copied into each test's database after
    (tests/web/conftest.py `made_once`); the events as reported."""
    return made_once(api, _history)


def _history(api):
    t0 = now(api)
    e = {"xincheng": api.report(description="新城占道经营"),
         "secret": api.report(type_code="A03", description="新城家暴警情（涉密）"),
         "longgang": api.report("staff2", source="committee_patrol", community="lg-longgang", location=LONGGANG,
                                description="龙港占道经营"),
         "whistled": api.report(description="新城吹哨执法局")}
    handled_by_cadre(api, "staff1", e["xincheng"]["id"])
    handled_by_cadre(api, "staff1", e["secret"]["id"])
    handled_by_cadre(api, "staff2", e["longgang"]["id"])
    api.whistle_to(e["whistled"]["id"])
    advance_to(api, t0 + timedelta(hours=3))          # every §8.1 limit above missed, and 执法局's 签收受理
    return e


def circular(api, user, **query):
    r = api.get("/api/circular", user, query_string={**OCTOBER, **query})
    assert r.status_code == 200, r.json
    return r.json


def named(notice):
    """{(level, party): the event numbers of its lines (None for a 涉密 line)}."""
    return {(level, p["key"]): sorted((x["event_number"] or "涉密") for c in p["entries"].values() for x in c)
            for level in ("units", "people", "communities") for p in notice[level]}


def test_a_community_reads_its_own_circular_lines_and_not_anothers(app, api):
    e = history(api)
    x, s, lg, w = (e[k]["number"] for k in ("xincheng", "secret", "longgang", "whistled"))
    city = named(circular(api, "city1"))
    assert city[("communities", "lg-xincheng")] == sorted([x, "涉密"])    # the city may not see the 警情 either
    assert city[("communities", "lg-longgang")] == [lg] and city[("units", "zhifa")] == [w]

    assert named(circular(api, "staff1")) == {("communities", "lg-xincheng"): sorted([x, s])}   # designated cadre
    assert named(circular(api, "whistle1")) == {("communities", "lg-xincheng"): sorted([x, "涉密"])}
    assert named(circular(api, "committee1")) == {("communities", "lg-xincheng"): sorted([x, "涉密"])}
    assert named(circular(api, "staff2")) == {("communities", "lg-longgang"): [lg]}
    notice = circular(api, "committee1")
    assert notice["units"] == [] and notice["people"] == [] and notice["lines"] == 2
    assert "新城家暴警情" not in str(notice)

    # a page of another party's entries is refused naming the party; its own is read
    query = {**OCTOBER, "level": "community", "party": "lg-longgang", "category": "late_feedback"}
    r = api.get("/api/circular/entries", "staff1", query_string=query)
    assert r.status_code == 403 and r.json["field"] == "party", r.json
    r = api.get("/api/circular/entries", "staff2", query_string=query)
    assert r.status_code == 200 and [i["event_number"] for i in r.json["items"]] == [lg]
    r = api.get("/api/circular/entries", "staff1", query_string={**query, "level": "unit", "party": "zhifa",
                                                                  "category": "late_response"})
    assert r.status_code == 403 and r.json["field"] == "party"
    r = api.get("/api/circular", "grid1", query_string=OCTOBER)
    assert r.status_code == 403 and r.json["field"] == "role"           # published to the community's cadres

    # the page and the Excel file: the same lines, no other party's
    page = web_session(app, "staff2")
    html = page.get("/circular?from=2026-10-01&to=2026-10-31").get_data(as_text=True)
    assert lg in html and x not in html and w not in html and "执法局" not in html
    r = page.get("/circular.xlsx?from=2026-10-01&to=2026-10-31")
    assert r.status_code == 200 and r.headers["X-Row-Count"] == "1"
    rows = [[c.value for c in row] for row in load_workbook(io.BytesIO(r.data)).active.iter_rows(min_row=2)]
    assert [(row[1], row[5]) for row in rows] == [("lg-longgang", lg)]
    r = web_session(app, "committee1").get("/circular.xlsx?from=2026-10-01&to=2026-10-31")
    rows = [[c.value for c in row] for row in load_workbook(io.BytesIO(r.data)).active.iter_rows(min_row=2)]
    assert sorted(row[5] or row[6] for row in rows) == sorted([x, "涉密事件 1 件"])


def spot_check(api, community, size=1):
    r = api.post("/api/spot-checks", "city1", json={"community": community, "from": OCTOBER["from"],
                                                     "to": OCTOBER["to"], "size": size, "seed": 7})
    assert r.status_code == 201, r.json
    return r.json


def test_a_community_reads_its_own_spot_checks_and_not_anothers(app, api):
    e = history(api)
    close_by_cadre(api, "staff1", e["xincheng"]["id"])
    close_by_cadre(api, "staff2", e["longgang"]["id"])
    mine, other = spot_check(api, "lg-xincheng"), spot_check(api, "lg-longgang")
    [item] = mine["items"]
    assert item["event_id"] == e["xincheng"]["id"]
    r = api.client.put(f"/api/spot-checks/{mine['id']}/events/{item['event_id']}", headers=api.headers("city1"),
                       json={"passed": False, "note": "台账照片不全"})
    assert r.status_code == 200, r.json
    r = api.client.put(f"/api/spot-checks/{other['id']}/events/{e['longgang']['id']}", headers=api.headers("city1"),
                       json={"passed": True, "note": "处置规范"})
    assert r.status_code == 200, r.json

    for user in ("staff1", "committee1", "whistle1"):
        r = api.get("/api/spot-checks", user)
        assert r.status_code == 200 and [c["id"] for c in r.json["items"]] == [mine["id"]], (user, r.json)
        assert r.json["items"][0]["items"][0]["finding"]["note"] == "台账照片不全"
        r = api.get(f"/api/spot-checks/{other['id']}", user)
        assert r.status_code == 403 and r.json["field"] == "community", (user, r.json)
    assert api.get(f"/api/spot-checks/{mine['id']}", "staff1").status_code == 200
    r = api.get("/api/spot-checks", "staff1", query_string={"community": "lg-longgang"})
    assert r.status_code == 403 and r.json["field"] == "community"
    assert [c["id"] for c in api.get("/api/spot-checks", "staff2").json["items"]] == [other["id"]]
    assert {c["id"] for c in api.get("/api/spot-checks", "city1").json["items"]} == {mine["id"], other["id"]}
    r = api.post("/api/spot-checks", "staff1", json={"community": "lg-xincheng", "from": OCTOBER["from"],
                                                     "to": OCTOBER["to"], "size": 1})
    assert r.status_code == 403 and r.json["field"] == "role"            # the city draws (§9.3)
    assert api.get("/api/spot-checks", "zhifa1").status_code == 403


def test_the_monthly_report_shows_the_communitys_findings_and_circular_lines(app, api):
    e = history(api)
    close_by_cadre(api, "staff1", e["xincheng"]["id"])
    check = spot_check(api, "lg-xincheng")
    r = api.client.put(f"/api/spot-checks/{check['id']}/events/{e['xincheng']['id']}",
                       headers=api.headers("city1"), json={"passed": False, "note": "台账照片不全"})
    assert r.status_code == 200, r.json
    x, s = e["xincheng"]["number"], e["secret"]["number"]

    r = api.get("/api/monthly-report", "staff1", query_string={"community": "lg-xincheng", "month": "2026-10"})
    assert r.status_code == 200, r.json
    found = r.json["spot_checks"]
    assert (found["checked"], found["passed"]) == (1, 0)
    assert found["items"][0]["event_number"] == x and found["items"][0]["note"] == "台账照片不全"
    assert found["items"][0]["checked_by"] == "市社会治理中心"                # the display name, not the login
    [party] = r.json["circular"]["parties"]
    assert party["key"] == "lg-xincheng" and party["counts"]["late_feedback"] == 2
    assert sorted(line["event_number"] for line in party["lines"]) == sorted([x, s])

    # a reader who may not see the 警情: counted, without its number or text
    r = api.get("/api/monthly-report", "committee1", query_string={"community": "lg-xincheng", "month": "2026-10"})
    [party] = r.json["circular"]["parties"]
    assert party["counts"]["late_feedback"] == 2 and s not in str(r.json) and "新城家暴警情" not in str(r.json)
    assert any(line.get("sensitive") and line["reason"] == "涉密事件 1 件" for line in party["lines"])

    # 龙港's report names none of 新城's lines; 执法局's line is in no community's report
    r = api.get("/api/monthly-report", "staff2", query_string={"community": "lg-longgang", "month": "2026-10"})
    assert r.json["spot_checks"]["items"] == [] and x not in str(r.json)
    assert [p["key"] for p in r.json["circular"]["parties"]] == ["lg-longgang"]

    page = web_session(app, "staff1")
    html = page.get("/monthly-report?community=lg-xincheng&month=2026-10").get_data(as_text=True)
    assert 'data-testid="monthly-spot-checks"' in html and "台账照片不全" in html and x in html and s in html
    assert e["whistled"]["number"] not in html
    book = load_workbook(io.BytesIO(page.get("/monthly-report.xlsx?community=lg-xincheng&month=2026-10").data))
    cells = [[c.value for c in row] for row in book.active.iter_rows(min_row=2)]
    assert ["抽查结果", "合格 / 抽查", "0 / 1"] in cells
    assert any(row[0] == "抽查结果" and row[1] == x and "台账照片不全" in row[2] for row in cells)
    assert any(row[0] == "通报" and x in row[1] for row in cells)
    r = page.get("/monthly-report.pdf?community=lg-xincheng&month=2026-10")
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
