"""退回 with coded reasons (issue #19): a unit returns an order at 签收受理 with a reason from the catalog
(不属本单位职责, 信息不全, 重复, 其他 — 其他 only with words); the city sees the returns per unit and reason and rules one
unreasonable (不合理退回): it then counts against the unit (不合理退回率) and no longer as the community's misroute
(派错率, and the community's first-time rate). Every count below is worked out by hand, on the simulated clock, and
read both from the tables and from the counts kept per day (the trigger of migration 0032 lists the days a ruling
changes). Both databases.

The history (all on 2026-10-08, every event A05 in 新城社区, reported at 09:00 and whistled at once):
- E1: to 市监局, which returns it (不属本单位职责) at 09:10; re-dispatched (改派) to 执法局, accepted, disposed, checked;
- E2: to 市监局, which returns it (信息不全) at 09:10; re-dispatched to 执法局, accepted, disposed, checked;
- E3: to 执法局, which returns it (其他: words) at 09:10; re-dispatched to 市监局, accepted, disposed, checked;
- E4: to 执法局, accepted, disposed, checked — first time.
So 市监局 had 3 orders (E1 E2, E3's second) and returned 2; 执法局 4 (E1's and E2's second, E3 E4) and returned 1;
新城社区 sent 7 orders, 3 returned; 4 events closed, first time only E4.
"""
from __future__ import annotations

from datetime import timedelta

from engine.oversight import rollups
from tests.web.test_deadlines import advance_to, now
from tests.web.test_sensitive import web_session

DAY = {"from": "2026-10-08T00:00:00+08:00", "to": "2026-10-09T00:00:00+08:00"}
#: the same day less a minute: not whole days, so counted from the tables (engine/oversight/indicators.py)
ODD = {"from": "2026-10-08T00:01:00+08:00", "to": "2026-10-09T00:00:00+08:00"}


def returned(api, user, event_id, code, words="", expect=200):
    task = api.task(user, event_id, "accept_whistle")
    r = api.post(f"/api/tasks/{task['id']}/complete", user,
                 json={"decision": "return", "return_code": code, "return_reason": words})
    assert r.status_code == expect, r.json
    return r.json


def close(api, event_id, unit_user):
    api.complete(unit_user, event_id, "accept_whistle", {"decision": "accept"})
    api.complete(unit_user, event_id, "dispose_feedback", {"result_summary": "已处置"})
    api.receive_closure(event_id)
    api.complete("staff1", event_id, "check", {"passed": True, "rating": "满意"})


def history(api) -> dict:
    t0 = now(api)
    e = {n: api.report(description=f"退回样本 {n}") for n in ("E1", "E2", "E3", "E4")}
    for n, department in (("E1", "shijian"), ("E2", "shijian"), ("E3", "zhifa"), ("E4", "zhifa")):
        api.whistle_to(e[n]["id"], department=department)
    advance_to(api, t0 + timedelta(minutes=10))
    returned(api, "shijian1", e["E1"]["id"], "not_ours", "属占道经营，非市监职责")
    returned(api, "shijian1", e["E2"]["id"], "incomplete")
    returned(api, "zhifa1", e["E3"]["id"], "other", "属食品经营许可事项")
    for n, department in (("E1", "zhifa"), ("E2", "zhifa"), ("E3", "shijian")):
        api.complete("whistle1", e[n]["id"], "redispatch", {"lead_department": department})
    advance_to(api, t0 + timedelta(hours=1))
    for n, unit_user in (("E1", "zhifa1"), ("E2", "zhifa1"), ("E3", "shijian1"), ("E4", "zhifa1")):
        close(api, e[n]["id"], unit_user)
        assert api.event(e[n]["id"])["status"] == "closed"
    return e


def indicator_rows(api, level, period=DAY):
    r = api.get("/api/indicators", "city1", query_string={"level": level, **period})
    assert r.status_code == 200, r.json
    return {item["key"]: item["indicators"] for item in r.json["items"]}


def counts(rows, party, indicator):
    found = rows[party][indicator]
    return found["numerator"], found["denominator"]


def hand_counts(api, period=DAY) -> dict:
    units, communities = indicator_rows(api, "unit", period), indicator_rows(api, "community", period)
    return {"shijian returns": counts(units, "shijian", "return_rate"),
            "shijian unreasonable": counts(units, "shijian", "unreasonable_return_rate"),
            "zhifa returns": counts(units, "zhifa", "return_rate"),
            "zhifa unreasonable": counts(units, "zhifa", "unreasonable_return_rate"),
            "zhifa first time": counts(units, "zhifa", "first_time_rate"),
            "xincheng misroutes": counts(communities, "lg-xincheng", "misroute_rate"),
            "xincheng first time": counts(communities, "lg-xincheng", "first_time_rate"),
            "xincheng return rate": communities["lg-xincheng"]["return_rate"]["value"],
            "zhifa misroute rate": units["zhifa"]["misroute_rate"]["value"]}


BEFORE = {"shijian returns": (2, 3), "shijian unreasonable": (0, 3), "zhifa returns": (1, 4),
          "zhifa unreasonable": (0, 4), "zhifa first time": (1, 3),      # closed led by 执法局: E1 E2 E4
          "xincheng misroutes": (3, 7), "xincheng first time": (1, 4),
          "xincheng return rate": None, "zhifa misroute rate": None}     # each level's own indicators only
#: E1's return ruled unreasonable: 市监局's, not 新城社区's; E1 now closed first time for the community (not
#: for 执法局, whose first-time rate counts every return on the events it led)
AFTER = {**BEFORE, "shijian unreasonable": (1, 3), "xincheng misroutes": (2, 7), "xincheng first time": (2, 4)}


def listing(api, user="city1", **query):
    r = api.get("/api/returns", user, query_string={**DAY, **query})
    assert r.status_code == 200, r.json
    return r.json


def test_a_return_needs_a_coded_reason_and_other_needs_words(app, api):
    event = api.report()
    api.whistle_to(event["id"], department="shijian")
    task = api.task("shijian1", event["id"], "accept_whistle")
    assert {"不属本单位职责", "信息不全", "重复", "其他"} <= {o["title"] for o in task["form"]["properties"]["return_code"]["oneOf"]}
    for body, field in (({"decision": "return", "return_reason": "非本部门职责"}, "return_code"),
                        ({"decision": "return", "return_code": "nope"}, "return_code"),
                        ({"decision": "return", "return_code": "other"}, "return_reason"),
                        ({"decision": "return", "return_code": "other", "return_reason": "   "}, "return_reason")):
        r = api.post(f"/api/tasks/{task['id']}/complete", "shijian1", json=body)
        assert r.status_code == 422 and r.json["errors"][0]["field"] == field, (body, r.json)
    assert api.task("shijian1", event["id"], "accept_whistle")["id"] == task["id"]   # nothing happened
    assert [a for a in api.event(event["id"])["timeline"] if a["action"] == "whistle_returned"] == []
    returned(api, "shijian1", event["id"], "duplicate")                                 # words optional here
    [entry] = [a for a in api.event(event["id"])["timeline"] if a["action"] == "whistle_returned"]
    assert entry["data"] == {"unit": "shijian", "code": "duplicate", "reason": None, "count": 1}
    assert api.task("whistle1", event["id"], "redispatch")                               # 改派 next (§7.3.1)


def test_the_city_rules_a_return_unreasonable_and_the_counts_move_as_counted_by_hand(app, api):
    e = history(api)
    svc = app.extensions["eventflow"]
    assert hand_counts(api) == BEFORE
    svc.run(rollups.refresh)                  # the day's counts kept; from now on read from `tally`
    assert hand_counts(api) == BEFORE == hand_counts(api, ODD)

    summary = api.get("/api/returns/summary", "city1", query_string=DAY).json
    assert [r["code"] for r in summary["reasons"]] == ["not_ours", "incomplete", "duplicate", "other"]
    by_unit = {u["key"]: u for u in summary["units"]}
    assert by_unit["shijian"]["name"] == "市监局" and by_unit["shijian"]["total"] == 2
    assert by_unit["shijian"]["by_reason"] == {"not_ours": 1, "incomplete": 1, "duplicate": 0, "other": 0}
    assert by_unit["zhifa"]["by_reason"] == {"not_ours": 0, "incomplete": 0, "duplicate": 0, "other": 1}
    assert [by_unit[u]["unruled"] for u in ("shijian", "zhifa")] == [2, 1]
    assert summary["totals"]["total"] == 3

    page = listing(api, unit="shijian")
    assert [(r["event_number"], r["reason_name"], r["reason"]) for r in page["items"]] == [
        (e["E2"]["number"], "信息不全", None), (e["E1"]["number"], "不属本单位职责", "属占道经营，非市监职责")]
    assert page["items"][0]["returned_by"] == "市监局 办事员" and page["hidden"] == 0
    e1_return = page["items"][1]["id"]
    assert page["items"][1]["ruling"] is None

    # the city rules E1's return unreasonable: 市监局's fault, not the community's misroute
    r = api.post(f"/api/returns/{e1_return}/ruling", "city1",
                 json={"verdict": "unreasonable", "note": "占道经营涉及食品摊贩，属市监职责"})
    assert r.status_code == 201, r.json
    assert r.json["ruling"]["verdict_name"] == "不合理退回" and r.json["ruling"]["by"] == "市社会治理中心"
    assert hand_counts(api) == AFTER == hand_counts(api, ODD)      # the kept day was listed again by the trigger
    svc.run(rollups.refresh)
    assert hand_counts(api) == AFTER                               # and counted again into `tally`
    ruled = [a for a in api.event(e["E1"]["id"])["timeline"] if a["action"] == "return_ruled"]
    assert [a["data"]["verdict"] for a in ruled] == ["unreasonable"]

    # a reasonable ruling is recorded and moves nothing; a ruling is made once
    e2_return = page["items"][0]["id"]
    assert api.post(f"/api/returns/{e2_return}/ruling", "city1", json={"verdict": "reasonable"}).status_code == 201
    assert hand_counts(api) == AFTER
    again = api.post(f"/api/returns/{e1_return}/ruling", "city1", json={"verdict": "reasonable"})
    assert again.status_code == 409
    by_unit = {u["key"]: u for u in api.get("/api/returns/summary", "city1", query_string=DAY).json["units"]}
    assert (by_unit["shijian"]["unreasonable"], by_unit["shijian"]["reasonable"], by_unit["shijian"]["unruled"]) == (1, 1, 0)
    assert [r["event_number"] for r in listing(api, status="unruled")["items"]] == [e["E3"]["number"]]
    assert [r["event_number"] for r in listing(api, code="other")["items"]] == [e["E3"]["number"]]
    assert [r["event_number"] for r in listing(api, status="unreasonable")["items"]] == [e["E1"]["number"]]


def test_a_ruling_names_what_is_wrong_and_only_the_city_rules(app, api):
    event = api.report()
    api.whistle_to(event["id"], department="shijian")
    returned(api, "shijian1", event["id"], "not_ours")
    [item] = listing(api)["items"]
    path = f"/api/returns/{item['id']}/ruling"
    for body, field in (({}, "verdict"), ({"verdict": "wrong"}, "verdict"), ({"verdict": "unreasonable"}, "note"),
                        ({"verdict": "unreasonable", "note": " "}, "note"),
                        ({"verdict": "reasonable", "note": 5}, "note")):
        r = api.post(path, "city1", json=body)
        assert r.status_code == 422 and r.json["errors"][0]["field"] == field, (body, r.json)
    for user in ("staff1", "shijian1", "admin1"):
        r = api.post(path, user, json={"verdict": "reasonable"})
        assert r.status_code == 403 and r.json["field"] == "role", user
    assert api.get("/api/returns", "staff1", query_string=DAY).status_code == 403
    assert api.post("/api/returns/999999/ruling", "city1", json={"verdict": "reasonable"}).status_code == 404
    assert api.get("/api/returns", "city1", query_string={**DAY, "status": "later"}).status_code == 400
    assert api.get("/api/returns/summary", "city1", query_string={"from": DAY["from"]}).json["errors"][0]["field"] == "to"


def test_a_sensitive_events_return_is_counted_not_shown_to_the_city(app, api):
    """Table A.1 row 3 (警情): 公安局 returns it; the city counts it under 公安局 but neither lists nor rules it."""
    whistle1 = next(u for u in api.get("/api/users", "admin1").json["items"] if u["username"] == "whistle1")
    assert api.client.patch(f"/api/users/{whistle1['id']}", headers=api.headers("admin1"),
                            json={"roles": ["whistle_officer", "community_staff"],   # a designated cadre
                                  "sensitive_access": True}).status_code == 200
    api._tokens.pop("whistle1", None)          # its rights changed: it signs in again
    event = api.report(type_code="A03", description="邻里纠纷警情，需社区协调")
    api.whistle_to(event["id"], department="gongan")
    returned(api, "police1", event["id"], "not_ours", "属民事纠纷，由社区调解")
    summary = api.get("/api/returns/summary", "city1", query_string=DAY).json
    assert {u["key"]: u["total"] for u in summary["units"]} == {"gongan": 1}
    page = listing(api)
    assert page["items"] == [] and page["hidden"] == 1
    [entry] = [a for a in api.event(event["id"], user="staff1")["timeline"] if a["action"] == "whistle_returned"]
    r = api.get("/api/returns", "city1", query_string=DAY)
    assert "民事纠纷" not in r.get_data(as_text=True) and event["number"] not in r.get_data(as_text=True)
    audit_id = app.extensions["eventflow"].read(lambda s: _return_id(s, event["id"]))
    assert api.post(f"/api/returns/{audit_id}/ruling", "city1",
                    json={"verdict": "reasonable"}).status_code == 404
    assert entry["data"]["code"] == "not_ours"


def test_a_department_reads_its_own_returns_and_the_citys_rulings_on_them(app, api):
    """A department's clerk reads the returns their unit made (and those of the units below it), with the
    city's ruling, on the API and the page; not another unit's, and cannot rule."""
    ours, theirs = api.report(), api.report()
    api.whistle_to(ours["id"], department="shijian")
    returned(api, "shijian1", ours["id"], "not_ours")
    api.whistle_to(theirs["id"], department="zhifa")
    returned(api, "zhifa1", theirs["id"], "incomplete")
    [item] = [i for i in listing(api)["items"] if i["event_number"] == ours["number"]]
    assert api.post(f"/api/returns/{item['id']}/ruling", "city1",
                    json={"verdict": "unreasonable", "note": "属市监局职责"}).status_code == 201
    seen = listing(api, "shijian1")
    assert [i["event_number"] for i in seen["items"]] == [ours["number"]]
    assert seen["items"][0]["ruling"]["verdict"] == "unreasonable" and seen["hidden"] == 0
    summary = api.get("/api/returns/summary", "shijian1", query_string=DAY).json
    assert [u["key"] for u in summary["units"]] == ["shijian"] and summary["totals"]["unreasonable"] == 1
    assert listing(api, "shijian1", unit="zhifa")["items"] == []                 # another unit's: none
    assert api.post(f"/api/returns/{item['id']}/ruling", "shijian1", json={"verdict": "reasonable"}).status_code == 403
    page = web_session(app, "shijian1")
    html = page.get("/returns?from=2026-10-08&to=2026-10-08").get_data(as_text=True)
    assert ours["number"] in html and theirs["number"] not in html and "属市监局职责" in html
    assert 'name="verdict"' not in html


def _return_id(session, event_id):
    from sqlalchemy import select

    from engine.store.models import Audit
    return session.scalar(select(Audit.id).where(Audit.event_id == event_id, Audit.action == "whistle_returned"))
