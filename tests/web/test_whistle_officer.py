"""The whistle officer's two duties of §7.3 through the HTTP API, on the simulated clock (issue #19):

- §7.3.2 吹哨事项清单: a community whistles the types on its own list as they are; a type off the list needs a
  reason (吹哨理由, else 422 naming `whistle_reason`, nothing changes) and is marked 清单外吹哨 on the event; the
  吹哨 form shows the list first; the city lists the unlisted whistles per community for a period, and the
  monthly report counts them.
- §7.3.3 结案接收: every closure of a whistle order reaches the community's whistle officer, who takes it (then
  核查) or sends it back to the department for rework — a 重办 like a failed 核查: not first-time (§8.6),
  处置不到位 in the circular (§9.1), the close limit not restarted (§8.3).

lg-xincheng's list (catalogs/data/communities.geojson) holds A05 (人行道秩序整治) but not A07 (违法张贴小广告)."""
from __future__ import annotations

from datetime import timedelta

from tests.web.test_deadlines import advance_to, deadline, now
from tests.web.test_sensitive import web_session

UNLISTED = "A07"
WHISTLE = {"lead_department": "zhifa", "on_site": False}


def analysed(api, type_code=UNLISTED, description="电线杆上贴满小广告"):
    """A report of `type_code` in lg-xincheng, 核实 and 研判 done: its 吹哨 task waits for the whistle officer."""
    event = api.report(type_code=type_code, description=description)
    api.complete("staff1", event["id"], "verify", {"verdict": "accept"})
    api.complete("staff1", event["id"], "analyse", {"disposal": "whistle"})
    return event


def whistle(api, event_id, data, expect=200):
    task = api.task("whistle1", event_id, "issue_whistle")
    r = api.post(f"/api/tasks/{task['id']}/complete", "whistle1", json=data)
    assert r.status_code == expect, r.json
    return r.json


def unlisted(api, user="city1", **query):
    return api.get("/api/unlisted-whistles", user, query_string=query)


# -- §7.3.2 the whistle list ----------------------------------------------------------------------------
def test_a_whistle_off_the_list_needs_a_reason_is_marked_and_the_city_lists_it(app, api):
    start = now(api)
    event = analysed(api)
    task = api.task("whistle1", event["id"], "issue_whistle")
    shown = api.get(f"/api/tasks/{task['id']}", "whistle1").json["whistle_list"]   # the list first, in the form
    assert shown["listed"] is False and shown["event_type"] == UNLISTED
    assert [t["code"] for t in shown["types"]] == ["A05", "A08", "A11", "A12", "A13", "A18", "A30"]
    assert shown["types"][0]["label"].startswith("A05 市容环境卫生")

    for data in (WHISTLE, {**WHISTLE, "whistle_reason": ""}, {**WHISTLE, "whistle_reason": " 急 "}):
        refused = whistle(api, event["id"], data, expect=422)
        [error] = refused["errors"]
        assert error["field"] == "whistle_reason" and "不在本社区吹哨事项清单内" in error["reason"], error
    detail = api.event(event["id"])                                   # nothing changed: still to be whistled
    assert detail["stage"] == "吹哨" and detail["lead_unit"] is None and detail["whistle_unlisted"] is None
    assert "whistle_dispatched" not in [a["action"] for a in detail["timeline"]]

    api.advance("PT10M")
    whistle(api, event["id"], {**WHISTLE, "whistle_reason": "小广告反复张贴，需执法局集中清理"})
    detail = api.event(event["id"])
    assert detail["lead_unit"] == "zhifa" and detail["stage"] == "签收受理"       # dispatched as any whistle
    mark = detail["whistle_unlisted"]
    assert mark == {"reason": "小广告反复张贴，需执法局集中清理", "at": (start + timedelta(minutes=10)).isoformat(),
                    "by_name": "吹哨人员 张伟"}
    assert [a["data"] for a in detail["timeline"] if a["action"] == "whistle_unlisted"] == [
        {"event_type": UNLISTED, "community": "lg-xincheng", "reason": "小广告反复张贴，需执法局集中清理"}]

    listed = analysed(api, type_code="A05", description="人行道被占道经营")       # on the list: no reason needed
    whistle(api, listed["id"], WHISTLE)
    assert api.event(listed["id"])["whistle_unlisted"] is None

    api.advance("P2D")                                                   # a second one, two days later
    later = analysed(api, description="墙面小广告")
    whistle(api, later["id"], {**WHISTLE, "whistle_reason": "张贴范围大，社区无法清理"})

    period = {"from": start.isoformat(), "to": (start + timedelta(days=1)).isoformat()}
    r = unlisted(api, **period)
    assert r.status_code == 200, r.json
    assert r.json["communities"] == [{"community": "lg-xincheng", "community_name": "新城社区", "count": 1}]
    assert r.json["total"] == 1 and r.json["community"] is None
    [item] = r.json["items"]
    assert (item["event_number"], item["event_type"], item["reason"], item["by_name"]) == (
        event["number"], UNLISTED, "小广告反复张贴，需执法局集中清理", "吹哨人员 张伟")
    assert "小广告" in item["event_type_name"] and "sensitive" not in item
    whole = {"from": start.isoformat(), "to": (start + timedelta(days=3)).isoformat()}
    r = unlisted(api, **whole, limit=1)                                  # newest first, a page at a time
    assert r.json["total"] == 2 and [i["event_number"] for i in r.json["items"]] == [later["number"]]
    r = unlisted(api, **whole, limit=1, cursor=r.json["next_cursor"])
    assert [i["event_number"] for i in r.json["items"]] == [event["number"]] and r.json["next_cursor"] is None

    # a community's people see their own; another community's, or a department, may not look
    assert unlisted(api, "whistle1", **whole).json["total"] == 2
    own = unlisted(api, "staff2", **whole).json
    assert (own["community"], own["total"], own["communities"], own["items"]) == ("lg-longgang", 0, [], [])
    r = unlisted(api, "staff2", community="lg-xincheng", **whole)
    assert r.status_code == 403 and r.json["field"] == "community"
    assert unlisted(api, "zhifa1", **whole).json["field"] == "role"
    r = unlisted(api, community="nowhere", **whole)
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "community"
    r = unlisted(api, **{"from": whole["to"], "to": whole["from"]})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "to"

    # the monthly report counts them among the month's whistles (§9.2), and so do the city's page and the event's
    r = api.get("/api/monthly-report", "staff1", query_string={"month": start.strftime("%Y-%m")})
    assert r.json["events"]["whistled"] == 3 and r.json["events"]["whistled_unlisted"] == 2
    page = web_session(app, "city1").get(f"/unlisted-whistles?from={start.date()}&to={(start + timedelta(days=3)).date()}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and event["number"] in html and "张贴范围大，社区无法清理" in html
    assert "吹哨人员 张伟" in html and "whistle1" not in html
    html = web_session(app, "staff1").get(f"/events/{event['id']}").get_data(as_text=True)
    assert 'data-testid="whistle-unlisted"' in html and "小广告反复张贴，需执法局集中清理" in html


def test_the_whistle_page_offers_the_list_first_and_keeps_what_was_typed_when_refused(app, api):
    event = analysed(api)
    task = api.task("whistle1", event["id"], "issue_whistle")
    page = web_session(app, "whistle1")
    html = page.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert html.index('data-testid="whistle-list"') < html.index('name="lead_department"')   # before the fields
    assert 'data-listed="false"' in html and "不在本社区吹哨事项清单内" in html and "A05 市容环境卫生" in html
    token = html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    r = page.post(f"/tasks/{task['id']}", data={"csrf_token": token, "lead_department": "zhifa", "on_site": "false",
                                                 "whistle_reason": ""})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "不在本社区吹哨事项清单内（§7.3.2）" in html
    assert '<option value="zhifa" selected' in html                      # the choice made is kept
    assert api.task("whistle1", event["id"], "issue_whistle")["id"] == task["id"]
    listed = analysed(api, type_code="A05", description="人行道被占道经营")
    task = api.task("whistle1", listed["id"], "issue_whistle")
    assert 'data-listed="true"' in page.get(f"/tasks/{task['id']}").get_data(as_text=True)


# -- §7.3.3 结案接收 --------------------------------------------------------------------------------------
def test_the_whistle_officer_sends_a_closure_back_and_the_department_redoes_it(app, api):
    start = now(api)
    event = analysed(api, type_code="A05", description="人行道被占道经营")
    whistle(api, event["id"], {**WHISTLE, "whistle_reason": "需执法局处置"})
    api.complete("zhifa1", event["id"], "accept_whistle", {"decision": "accept"})
    advance_to(api, start + timedelta(hours=3))
    api.complete("zhifa1", event["id"], "dispose_feedback", {"result_summary": "已处置"})
    met = deadline(api, event["id"], "close")
    assert met["status"] == "met" and met["due_at"] == (start + timedelta(hours=24)).isoformat()   # 24 h (§8.3)

    # the closure goes to the community's whistle officer, not to 核查 yet
    detail = api.event(event["id"])
    assert detail["stage"] == "结案接收" and [t["name"] for t in detail["open_tasks"]] == ["receive_closure"]
    assert api.tasks("staff1", event["id"]) == [] and api.tasks("zhifa1", event["id"]) == []
    task = api.task("whistle1", event["id"], "receive_closure")
    assert task["title"] == "结案接收" and task["role"] == "whistle_officer"
    assert task["assignee"] == {"kind": "community", "community": "lg-xincheng", "unit": None, "person": None}
    assert api.get(f"/api/tasks/{task['id']}", "whistle1").json["data"]["result_summary"] == "已处置"
    r = api.post(f"/api/tasks/{task['id']}/complete", "whistle1", json={"passed": False})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "receipt_note"     # a reason to send it back
    assert api.post(f"/api/tasks/{task['id']}/complete", "staff1", json={"passed": True}).status_code == 403

    api.receive_closure(event["id"], passed=False, note="只写了已处置，未说明占道摊点如何处理")
    rework = api.task("zhifa1", event["id"], "dispose_rework")          # back to the department (重办)
    assert api.get(f"/api/tasks/{rework['id']}", "zhifa1").json["data"]["receipt_note"] == \
        "只写了已处置，未说明占道摊点如何处理"
    row = deadline(api, event["id"], "close")                           # the same limit runs on, not a new one
    assert row["status"] == "pending" and row["due_at"] == met["due_at"]
    assert api.tasks("staff1", event["id"]) == []

    advance_to(api, start + timedelta(hours=4))
    api.complete("zhifa1", event["id"], "dispose_rework", {"result_summary": "已清理全部占道摊点，恢复通行"})
    assert api.event(event["id"])["stage"] == "结案接收"                   # the redone closure is received again
    api.receive_closure(event["id"])
    assert api.complete("staff1", event["id"], "check", {"passed": True, "rating": "满意"})["event_status"] == "closed"

    # counted as 重办: not first-time (§8.6), 处置不到位 in the circular (§9.1); the rework was on time
    period = {"from": start.isoformat(), "to": (start + timedelta(days=2)).isoformat()}
    r = api.get("/api/indicators", "city1", query_string={"level": "unit", **period})
    zhifa = next(i for i in r.json["items"] if i["key"] == "zhifa")["indicators"]
    assert (zhifa["first_time_rate"]["numerator"], zhifa["first_time_rate"]["denominator"]) == (0, 1)
    assert (zhifa["on_time_rate"]["numerator"], zhifa["on_time_rate"]["denominator"]) == (1, 1)
    r = api.get("/api/circular", "city1", query_string=period)
    [unit] = [u for u in r.json["units"] if u["key"] == "zhifa"]
    [entry] = unit["entries"]["poorly_handled"]
    assert entry["event_number"] == event["number"]
    assert entry["reason"] == "结案接收退回：只写了已处置，未说明占道摊点如何处理（§7.3.3 重办）"
    timeline = [(a["actor"], a["task_name"]) for a in api.event(event["id"])["timeline"] if a["action"] == "task_completed"]
    assert timeline[-4:] == [("whistle1", "结案接收"), ("zhifa1", "重办反馈"), ("whistle1", "结案接收"), ("staff1", "核查")]


def test_a_closure_taken_goes_to_the_check_and_stays_first_time(app, api):
    start = now(api)
    event = analysed(api, type_code="A05", description="人行道被占道经营")
    whistle(api, event["id"], WHISTLE)
    api.close_whistle(event["id"])                                      # 结案接收 taken at once, 核查 passed
    period = {"from": start.isoformat(), "to": (start + timedelta(days=1)).isoformat()}
    r = api.get("/api/indicators", "city1", query_string={"level": "unit", **period})
    zhifa = next(i for i in r.json["items"] if i["key"] == "zhifa")["indicators"]
    assert (zhifa["first_time_rate"]["numerator"], zhifa["first_time_rate"]["denominator"]) == (1, 1)
    assert [u for u in api.get("/api/circular", "city1", query_string=period).json["units"] if u["key"] == "zhifa"] == []
