"""The event list as an Excel or CSV file (issue #19, engine/pool/export.py, web/ui/events.py): with the list's
filters it holds exactly the list's events, in the list's order — read back with openpyxl and the csv module —
and says how many (`X-Row-Count`, beside the page's own count); a sensitive event (Table A.1 rows 1–3) is
exported only to one who may see it, and then its read is recorded. Both databases."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

from openpyxl import load_workbook
from sqlalchemy import select

from engine.pool.export import HEADER
from engine.store.models import Audit
from tests.web.test_deadlines import advance_to, now
from tests.web.test_sensitive import web_session

LONGGANG = {"lat": 27.58, "lng": 120.60, "address": "龙港大道 1 号"}


def listed(api, user, **filters):
    """The numbers of the event list (GET /api/events), every page, in order."""
    numbers, cursor = [], None
    while True:
        r = api.get("/api/events", user, query_string={**filters, "limit": 2, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.json
        numbers += [e["number"] for e in r.json["items"]]
        if not (cursor := r.json["next_cursor"]):
            return numbers


def xlsx_rows(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    book = load_workbook(io.BytesIO(response.data))
    sheet = book.worksheets[0]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == HEADER
    about = {row[0].value: row[1].value for row in book["说明"].iter_rows()}
    assert about["行数"] == len(rows) - 1 == int(response.headers["X-Row-Count"])
    return rows[1:]


def csv_rows(response):
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeff")                          # Excel opens the Chinese correctly
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0] == HEADER and len(rows) - 1 == int(response.headers["X-Row-Count"])
    return rows[1:]


def history(api):
    t0 = now(api)
    e = {"a": api.report(description="占道经营一"), "b": api.report(description="=cmd|' /C calc'!A0"),
         "c": api.report(type_code="A07", description="小广告"),
         "secret": api.report(type_code="A03", description="家暴警情（涉密）"),
         "longgang": api.report("staff2", source="committee_patrol", community="lg-longgang", location=LONGGANG,
                                description="龙港占道")}
    advance_to(api, t0 + timedelta(days=1))
    e["d"] = api.report(description="占道经营二（次日）")
    api.complete("staff1", e["a"]["id"], "verify", {"verdict": "invalid", "verify_note": "现场无占道"})
    return e


def test_the_event_list_with_its_filters_in_excel_and_csv_equals_the_list(app, api):
    e = history(api)
    page = web_session(app, "staff1")
    for query in ({}, {"type_code": "A05"}, {"status": "open", "type_code": "A05"}, {"from": "2026-10-09"},
                  {"to": "2026-10-08", "source": "grid_worker"}):
        api_query = {k: v for k, v in query.items() if k not in ("from", "to")}
        if "from" in query:
            api_query["created_from"] = f"{query['from']}T00:00:00+08:00"
        if "to" in query:
            api_query["created_to"] = "2026-10-09T00:00:00+08:00"
        expected = listed(api, "staff1", **api_query)
        html = page.get("/events", query_string=query).get_data(as_text=True)
        assert f"({len(expected)})" in html and f"按当前筛选导出 {len(expected)} 条" in html, query
        assert [row[0] for row in xlsx_rows(page.get("/events/export.xlsx", query_string=query))] == expected, query
        assert [row[0] for row in csv_rows(page.get("/events/export.csv", query_string=query))] == expected, query
    assert listed(api, "staff1", type_code="A05", status="open") == [e["d"]["number"], e["b"]["number"]]

    rows = {row[0]: row for row in xlsx_rows(page.get("/events/export.xlsx"))}
    a = rows[e["a"]["number"]]
    assert a[2] == "专职网格员上报" and a[3] == "A05 市容环境卫生 · 人行道秩序整治" and a[4] == "占道经营一"
    assert a[6] == "新城社区" and a[7] == "不属实/无效" and a[10] == "网格员 李明"     # names, never logins
    assert a[1].startswith("2026-10-08 ") and a[11]                              # reported, ended
    assert rows[e["b"]["number"]][4] == "'=cmd|' /C calc'!A0"                     # never run as a formula
    assert e["longgang"]["number"] not in rows                                  # not 新城's cadre's list
    r = page.get("/events/export.xlsx", query_string={"from": "2026-13-01"})   # the error page, naming 开始日期
    assert r.status_code == 400 and 'data-field="from"' in r.get_data(as_text=True)
    assert page.get("/events/export.pdf").status_code == 404


def test_a_sensitive_event_is_exported_only_to_one_who_may_see_it(app, api):
    e = history(api)
    secret = e["secret"]["number"]
    for user in ("committee1", "city1", "whistle1"):     # they may not see Table A.1 rows 1–3
        page = web_session(app, user)
        expected = listed(api, user)
        assert secret not in expected and expected
        for fmt, read in (("xlsx", xlsx_rows), ("csv", csv_rows)):
            rows = read(page.get(f"/events/export.{fmt}"))
            assert [row[0] for row in rows] == expected, (user, fmt)
            assert "家暴警情" not in str(rows)
        assert secret not in [row[0] for row in xlsx_rows(page.get("/events/export.xlsx?type_code=A03"))]

    svc = app.extensions["eventflow"]
    def exported():
        return svc.read(lambda s: [(a.actor, a.data["view"]) for a in s.scalars(select(Audit).where(
            Audit.event_id == e["secret"]["id"], Audit.action == "sensitive_viewed"))])
    assert ("committee1", "export") not in exported()
    page = web_session(app, "staff1")                 # the community's designated cadre sees it, and its export
    rows = xlsx_rows(page.get("/events/export.xlsx?type_code=A03"))
    assert [(row[0], row[4]) for row in rows] == [(secret, "家暴警情（涉密）")]
    assert ("staff1", "export") in exported()
    # a stationed officer of the 派出所 (the police: the type's competent department) sees it too
    assert secret in [row[0] for row in csv_rows(web_session(app, "stationed1").get("/events/export.csv"))]
