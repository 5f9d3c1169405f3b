"""Reading the 考核 (issue #20): why a rate is empty, no score on no data, 环比 against the previous period of equal
length and 排名 among the parties of the same kind — over HTTP (the API and the dashboard page), on a small history
built on the simulated clock, every number worked out by hand below. Both databases.

T0 = 2026-10-08 09:00 (the simulated clock's start). Every event is A05 in 新城社区, whistled (no on-site) to one city
department; its 签收受理 is due 30 minutes and its 处置 24 hours after the dispatch (§8.3); every check passes 满意.

Period A = 10-08 … 10-09, period B = 10-10 … 10-11 (two days each: A is B's previous period).
- A, at T0: E1 to 执法局, accepted at +10m, disposed at +2h (close due 10-09 09:00, met);
            E2 to 市监局, accepted late at +40m (响应超期: one entry of the circular), disposed at +2h.
- B, at 10-10 09:00: E3 to 执法局, accepted late at +40m, disposed at +2h;
                     E4 to 市监局, accepted at +10m, disposed at +2h.
- B, at 10-11 20:00: E5 to 公安局, accepted, disposed and checked within the hour: closed in B, but its close limit is
  due 10-12 20:00, after B — 公安局's B has 处置率 "— 0/0" beside 一次性处置率 100 % (1/1): 本期无到期事件, and no score.

Scores with the default weights (按期处置率 40, 一次性处置率 25, 按时签收率 15, 社区评价满意率 10; 群众满意率 has no 回访
yet, so the others are scaled to 100 by 100/90) and 2 points per circular entry:
- on time everywhere: (40 + 25 + 15 + 10) × 100/90 = 100;
- accepted late: (40 + 25 + 0 + 10) × 100/90 − 2 = 83.33 − 2 = 81.33.
So in A 执法局 100 and 市监局 81.33; in B 执法局 81.33 (环比 −18.67, rank 2 of 2 departments), 市监局 100 (环比 +18.67,
rank 1 of 2), 公安局 无数据，不评分 (no rank). 执法局's 按时签收率 went from 1/1 to 0/1: 环比 −100.0 percentage points.
"""
from __future__ import annotations

from datetime import timedelta

from tests.web.conftest import made_once
from tests.web.test_deadlines import advance_to, now
from tests.web.test_sensitive import web_session

PERIOD_B = {"from": "2026-10-10T00:00:00+08:00", "to": "2026-10-12T00:00:00+08:00"}
PERIOD_A = {"from": "2026-10-08T00:00:00+08:00", "to": "2026-10-10T00:00:00+08:00"}


def _whistled(api, department):
    event = api.report(description=f"考核环比样本 {department}")
    api.whistle_to(event["id"], department=department)
    return event["id"]


def _finish(api, event_id, user):
    api.complete(user, event_id, "dispose_feedback", {"result_summary": "已处置"})
    api.receive_closure(event_id)
    api.complete("staff1", event_id, "check", {"passed": True, "rating": "满意"})


def _two_orders(api, start, on_time: str, late: str) -> dict[str, int]:
    """At `start` one order to 执法局 and one to 市监局: `on_time`'s accepted at +10m, `late`'s at +40m (响应超期),
    both disposed and checked at +2h. {department: event id}."""
    advance_to(api, start)
    made = {department: _whistled(api, department) for department in ("zhifa", "shijian")}
    users = {"zhifa": "zhifa1", "shijian": "shijian1"}
    for department, minutes in ((on_time, 10), (late, 40)):
        advance_to(api, start + timedelta(minutes=minutes))
        api.complete(users[department], made[department], "accept_whistle", {"decision": "accept"})
    advance_to(api, start + timedelta(hours=2))
    for department in ("zhifa", "shijian"):
        _finish(api, made[department], users[department])
    return made


def history(api):
    """The history below, made once per pytest process and database and copied into each test's database after
    (tests/web/conftest.py `made_once`); the five events' ids."""
    return made_once(api, _history)


def _history(api):
    t0 = now(api)
    a = _two_orders(api, t0, on_time="zhifa", late="shijian")
    b = _two_orders(api, t0 + timedelta(days=2), on_time="shijian", late="zhifa")   # 10-10 09:00
    e1, e2, e3, e4 = a["zhifa"], a["shijian"], b["zhifa"], b["shijian"]

    advance_to(api, t0 + timedelta(days=3, hours=11))               # 10-11 20:00
    e5 = _whistled(api, "gongan")
    api.complete("police1", e5, "accept_whistle", {"decision": "accept"})
    _finish(api, e5, "police1")
    for event_id in (e1, e2, e3, e4, e5):
        assert api.event(event_id)["status"] == "closed", event_id
    return e1, e2, e3, e4, e5


def _items(api, path, period, level="unit", user="city1"):
    r = api.get(path, user, query_string={"level": level, **period})
    assert r.status_code == 200, r.json
    return r.json, {item["key"]: item for item in r.json["items"]}


def test_an_empty_rate_says_why_and_no_data_gets_no_score(app, api):
    history(api)
    body, rows = _items(api, "/api/indicators", PERIOD_B)
    gongan = rows["gongan"]["indicators"]
    assert (gongan["disposal_rate"]["value"], gongan["disposal_rate"]["numerator"],
            gongan["disposal_rate"]["denominator"]) == (None, 0, 0)
    assert gongan["disposal_rate"]["reason"] == gongan["on_time_rate"]["reason"] == "本期无到期事件"
    assert gongan["average_handling_hours"]["reason"] == "本期无到期事件"
    assert (gongan["first_time_rate"]["value"], gongan["first_time_rate"]["reason"]) == (1, None)
    assert gongan["return_rate"]["reason"] is None and gongan["return_rate"]["value"] == 0   # one order, not returned
    assert gongan["citizen_satisfaction_rate"]["reason"] == "本期无接通的回访"                # the 回访 are still open
    assert gongan["misroute_rate"]["reason"] == gongan["spot_check_pass_rate"]["reason"] == "本级不考核"

    body, scores = _items(api, "/api/assessment", PERIOD_B)
    assert body["requires"] == ["on_time_rate"]
    assert scores["gongan"]["score"] is None and scores["gongan"]["reason"] == "无数据，不评分"
    assert scores["gongan"]["missing"] == [{"indicator": "on_time_rate", "name": "按期处置率", "reason": "本期无到期事件"}]
    assert scores["gongan"]["rank"] is None and scores["gongan"]["ranked"] == 2
    assert {p["indicator"] for p in scores["gongan"]["parts"]} >= {"first_time_rate"}   # its parts still shown

    page = web_session(app, "city1").get("/dashboard?level=unit&from=2026-10-10&to=2026-10-11").get_data(as_text=True)
    row = page[page.index('data-key="gongan"'):]
    row = row[:row.index("</tr>")]
    assert "无数据，不评分" in row and "按期处置率：本期无到期事件" in row
    assert row.count("本期无到期事件") >= 4                      # 处置率, 按期处置率, 平均处置时长, 延期率
    assert "排名" not in row
    assert "应处置数为 0：处置时限在所选期间内到期的才计入" in page          # the legend says what it means


def test_month_on_month_change_and_rank_among_the_same_kind(app, api):
    history(api)
    body, before = _items(api, "/api/assessment", PERIOD_A)
    assert before["zhifa"]["score"] == 100 and before["shijian"]["score"] == 81.33
    assert body["previous"] == {"from": "2026-10-06T00:00:00+08:00", "to": "2026-10-08T00:00:00+08:00"}

    body, scores = _items(api, "/api/assessment", PERIOD_B)
    assert body["previous"] == {"from": PERIOD_A["from"], "to": PERIOD_A["to"]}
    zhifa, shijian = scores["zhifa"], scores["shijian"]
    assert (zhifa["score"], zhifa["previous_score"], zhifa["change"]) == (81.33, 100, -18.67)
    assert (shijian["score"], shijian["previous_score"], shijian["change"]) == (100, 81.33, 18.67)
    assert (shijian["rank"], zhifa["rank"], zhifa["ranked"]) == (1, 2, 2)
    assert (shijian["previous_rank"], zhifa["previous_rank"]) == (2, 1)
    assert zhifa["kind"] == "department" and zhifa["kind_name"] == "市直部门"

    _, rows = _items(api, "/api/indicators", PERIOD_B)
    accept = rows["zhifa"]["indicators"]["accept_on_time_rate"]
    assert (accept["value"], accept["previous"], accept["change"]) == (0, 1, -100.0)
    assert rows["shijian"]["indicators"]["accept_on_time_rate"]["change"] == 100.0
    assert rows["zhifa"]["indicators"]["on_time_rate"]["change"] == 0.0
    hours = rows["zhifa"]["indicators"]["average_handling_hours"]
    assert (hours["value"], hours["previous"], hours["change"]) == (2, 2, 0)          # from the dispatch, in hours
    assert rows["gongan"]["indicators"]["first_time_rate"]["change"] is None          # nothing of it in A

    _, own = _items(api, "/api/assessment", PERIOD_B, user="zhifa1")                    # a department sees its own
    assert set(own) == {"zhifa"} and own["zhifa"]["rank"] == 2 and own["zhifa"]["ranked"] == 2

    _, people = _items(api, "/api/assessment", PERIOD_B, level="person")
    assert people["shijian1"]["name"] == "市监局 办事员（市监局）"                       # name and unit, never the login
    assert people["shijian1"]["kind"] == "department_staff" and people["shijian1"]["rank"] == 1

    page = web_session(app, "city1").get("/dashboard?level=unit&from=2026-10-10&to=2026-10-11").get_data(as_text=True)
    assert "与上一期 2026-10-08 至 2026-10-09 相比" in page
    row = page[page.index('data-key="zhifa"'):]
    row = row[:row.index("</tr>")]
    assert "排名 2/2" in row and "市直部门" in row and "环比 -18.67" in row and "环比 -100.0 个百分点" in row
    assert page.index('data-key="shijian"') < page.index('data-key="zhifa"') < page.index('data-key="gongan"')


def test_the_previous_period_is_of_equal_length():
    from datetime import datetime
    from engine.core.clock import SHANGHAI
    from engine.oversight.comparison import previous_period

    def day(y, m, d, h=0):
        return datetime(y, m, d, h, tzinfo=SHANGHAI)
    assert previous_period(day(2026, 10, 1), day(2026, 11, 1)) == (day(2026, 9, 1), day(2026, 10, 1))     # a month
    assert previous_period(day(2026, 3, 1), day(2026, 4, 1)) == (day(2026, 2, 1), day(2026, 3, 1))
    assert previous_period(day(2026, 1, 1), day(2026, 4, 1)) == (day(2025, 10, 1), day(2026, 1, 1))       # a quarter
    assert previous_period(day(2026, 10, 1), day(2026, 10, 16)) == (day(2026, 9, 16), day(2026, 10, 1))   # days
    assert previous_period(day(2026, 10, 1, 9), day(2026, 10, 1, 12)) == (day(2026, 10, 1, 6), day(2026, 10, 1, 9))


def test_the_export_carries_the_change_and_the_rank(app, api):
    """The 考核 export (Excel and CSV) has each indicator's 环比 and the score with its 排名 and 环比, in the page's
    order; a party without a score has neither."""
    import csv
    import io

    from openpyxl import load_workbook
    history(api)
    page = web_session(app, "city1")
    query = {"level": "unit", "from": "2026-10-10", "to": "2026-10-11"}
    r = page.get("/dashboard/export.xlsx", query_string=query)
    assert r.status_code == 200
    sheet = [[c.value for c in row] for row in load_workbook(io.BytesIO(r.data)).worksheets[0].iter_rows()]
    header, rows = sheet[0], {row[0]: row for row in sheet[1:]}
    assert [key for key in rows if key in ("shijian", "zhifa", "gongan")] == ["shijian", "zhifa", "gongan"]

    def cell(party, column):
        return rows[party][header.index(column)]
    assert (cell("zhifa", "得分"), cell("zhifa", "排名"), cell("zhifa", "同类参评数"), cell("zhifa", "得分·环比")) == \
        (81.33, 2, 2, -18.67)
    assert (cell("shijian", "排名"), cell("shijian", "得分·环比")) == (1, 18.67)
    assert cell("zhifa", "按时签收率·环比") == -100.0
    assert (cell("gongan", "得分"), cell("gongan", "排名")) == (None, None)          # 无数据，不评分
    text = page.get("/dashboard/export.csv", query_string=query).get_data(as_text=True).lstrip("\ufeff")
    read = list(csv.reader(io.StringIO(text)))
    assert read[0] == header and {row[0]: row[read[0].index("排名")] for row in read[1:]}["zhifa"] == "2"
