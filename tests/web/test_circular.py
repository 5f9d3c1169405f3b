"""§9.1 circular (通报) and the assessment score (issue #8, engine/oversight/circular.py, engine/oversight/assessment.py), from the
history of tests/web/test_indicators.py, every count worked out by hand:
- 执法局: E2's 签收受理 late (响应超期 1); E2's and E6's 处置反馈 late (反馈不及时 2); E5's 核查 failed (处置不到位 1);
- 市监局: nothing to name.
Score with the default weights (按期处置率 40, 一次性处置率 25, 按时签收率 15, 社区评价满意率 10, 群众满意率 10) and 2
points per entry. Nobody was asked yet (the 回访 after closure are open): 群众满意率 has nothing to count and is left out,
the other weights scaled up to the same 100 (× 100/90):
执法局 (40×0.5 + 25×0.6667 + 15×0.8 + 10×0.6667) × 100/90 − 4×2 = 22.22 + 18.52 + 13.33 + 7.41 − 8 = 53.48;
市监局 (40×1 + 25×0 + 15×1 + 10×1) × 100/90 = 44.44 + 0 + 16.67 + 11.11 = 72.22."""
from __future__ import annotations

from tests.web.test_indicators import PERIOD, history


def test_the_circular_names_who_was_late_or_handled_poorly(app, api):
    e = history(api)
    r = api.get("/api/circular", "city1", query_string=PERIOD)
    assert r.status_code == 200, r.json
    units = {u["key"]: u for u in r.json["units"]}
    zhifa = units["zhifa"]
    assert zhifa["counts"] == {"late_response": 1, "late_feedback": 2, "poorly_handled": 1}
    assert zhifa["supervisor"]["name"] == "李明华" and zhifa["name"] == "执法局"
    assert {x["event_number"] for x in zhifa["entries"]["late_feedback"]} == {e["E2"]["number"], e["E6"]["number"]}
    assert zhifa["entries"]["poorly_handled"][0]["event_number"] == e["E5"]["number"]
    assert "shijian" not in units and r.json["communities"] == []
    people = {p["key"]: p for p in r.json["people"]}
    assert people["zhifa1"]["counts"]["poorly_handled"] == 1      # who did E5's 处置反馈 and 重办
    assert api.get("/api/circular", "zhifa1", query_string=PERIOD).status_code == 403
    r = api.get("/api/circular", "city1", query_string={"from": PERIOD["to"], "to": PERIOD["from"]})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "to"


def test_the_assessment_score_and_its_parts(app, api):
    history(api)
    r = api.get("/api/assessment", "city1", query_string={"level": "unit", **PERIOD})
    assert r.status_code == 200, r.json
    scores = {i["key"]: i for i in r.json["items"]}
    assert r.json["weights"] == {"on_time_rate": 40, "first_time_rate": 25, "accept_on_time_rate": 15,
                                 "satisfaction_rate": 10, "citizen_satisfaction_rate": 10} and r.json["deduction"] == 2
    assert scores["zhifa"]["score"] == 53.48 and scores["zhifa"]["full"] == 100
    assert scores["zhifa"]["deductions"] == {"late_response": 2, "late_feedback": 4, "poorly_handled": 2,
                                             "spot_check_failed": 0}
    assert {p["indicator"]: p["points"] for p in scores["zhifa"]["parts"]} == {
        "on_time_rate": 22.22, "first_time_rate": 18.52, "accept_on_time_rate": 13.33, "satisfaction_rate": 7.41}
    assert scores["shijian"]["score"] == 72.22
    assert set(i["key"] for i in api.get("/api/assessment", "zhifa1",
                                         query_string={"level": "unit", **PERIOD}).json["items"]) == {"zhifa"}


def test_the_printable_circular_its_excel_file_and_the_supervision_board(app, api):
    import io
    from openpyxl import load_workbook
    from tests.web.test_sensitive import web_session
    e = history(api)
    page = web_session(app, "city1")
    html = page.get("/circular?from=2026-10-08&to=2026-10-11").get_data(as_text=True)
    assert "执法局" in html and "李明华" in html and e["E5"]["number"] in html and "反馈不及时 2" in html
    r = page.get("/circular.xlsx?from=2026-10-08&to=2026-10-11")
    assert r.status_code == 200 and "circular-2026-10-08-2026-10-11.xlsx" in r.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(r.data)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert sorted(r[4] for r in rows if r[1] == "zhifa") == ["反馈不及时", "反馈不及时", "响应超期", "处置不到位"]
    board = page.get("/supervision?status=all").get_data(as_text=True)
    assert e["E6"]["number"] in board and e["E2"]["number"] in board
    clerk = web_session(app, "zhifa1")
    assert clerk.get("/circular").status_code == 403
    assert e["E6"]["number"] in clerk.get("/supervision").get_data(as_text=True)     # their own, still open


def test_the_circular_as_a_pdf(app, api):
    import io
    from pypdf import PdfReader
    from tests.web.test_sensitive import web_session
    e = history(api)
    r = web_session(app, "city1").get("/circular.pdf?from=2026-10-08&to=2026-10-11")
    assert r.status_code == 200 and r.mimetype == "application/pdf" and r.data.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(r.data)).pages).replace("\n", "")
    assert "事件处置情况通报" in text and "执法局" in text and "李明华" in text and e["E5"]["number"] in text


def test_the_supervision_board_lists_poorly_handled_work_and_the_dashboard_shows_the_score(app, api):
    from tests.web.test_sensitive import web_session
    e = history(api)
    board = web_session(app, "city1").get("/supervision").get_data(as_text=True)
    assert "处置不到位" in board and e["E5"]["number"] in board and "未清理干净" in board
    assert e["E5"]["number"] not in web_session(app, "shijian1").get("/supervision").get_data(as_text=True)
    html = web_session(app, "city1").get("/dashboard?level=unit&from=2026-10-08&to=2026-10-11").get_data(as_text=True)
    assert "考核得分" in html and ">53.48<" in html and ">72.22<" in html
    assert "社区评价满意率" in html and "群众满意率（回访）" in html       # the two satisfactions, each its own column


def test_spot_checks_in_the_web_app(app, api):
    import random
    from sqlalchemy import select
    from engine.store.models import SpotCheckFinding
    from tests.web.test_sensitive import web_session
    from tests.web.test_ui_pages import csrf
    e = history(api)
    closed = sorted(e[n]["id"] for n in ("E1", "E2", "E3", "E4", "E5"))
    page = web_session(app, "city1")
    r = page.post("/spot-checks", data={"csrf_token": csrf(page, "/spot-checks"), "community": "lg-xincheng",
                                        "kind": "events", "from": "2026-10-08", "to": "2026-10-11", "size": "2",
                                        "seed": "99"})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    html = page.get(r.headers["Location"]).get_data(as_text=True)
    drawn = random.Random(99).sample(closed, 2)
    assert 'data-testid="seed">99<' in html and all(f'data-item="{i}"' in html for i in drawn)
    target = r.headers["Location"]
    r = page.post(target, data={"csrf_token": csrf(page, target), "kind": "events", "item": str(drawn[0]),
                                "passed": "no", "note": "回访群众不满意"})
    assert r.status_code == 302
    svc = app.extensions["eventflow"]
    found = svc.read(lambda s: [(f.event_id, f.passed) for f in s.scalars(select(SpotCheckFinding))])
    assert found == [(drawn[0], False)]
    # §9.3 published (issue #19): the community reads its own draw and finding, without the forms; draws none
    cadre = web_session(app, "staff1")
    listed = cadre.get("/spot-checks").get_data(as_text=True)
    assert target in listed and 'data-testid="draw"' not in listed
    shown = cadre.get(target).get_data(as_text=True)
    assert "回访群众不满意" in shown and 'name="passed"' not in shown
    r = cadre.post("/spot-checks", data={"csrf_token": csrf(cadre, "/spot-checks"), "community": "lg-xincheng",
                                         "kind": "events", "from": "2026-10-08", "to": "2026-10-11", "size": "2"})
    assert r.status_code == 403
    other = web_session(app, "staff2")
    assert target not in other.get("/spot-checks").get_data(as_text=True)
    assert other.get(target).status_code == 403
    assert web_session(app, "grid1").get("/spot-checks").status_code == 403


def test_a_partys_first_entries_and_the_pages_of_the_rest(app, api):
    """Each party's first entries of a category (`?first=`), newest first, and `more`: the cursor of
    /api/circular/entries, whose pages hold the rest; together they are the party's entries (issue #17)."""
    e = history(api)
    r = api.get("/api/circular", "city1", query_string={**PERIOD, "first": "1"})
    assert r.status_code == 200, r.json
    zhifa = {u["key"]: u for u in r.json["units"]}["zhifa"]
    assert r.json["first"] == 1 and r.json["lines"] == sum(sum(p["counts"].values()) for key in
                                                           ("units", "people", "communities") for p in r.json[key])
    assert zhifa["counts"]["late_feedback"] == 2 and len(zhifa["entries"]["late_feedback"]) == 1
    assert zhifa["more"] == {"late_response": None, "late_feedback": zhifa["more"]["late_feedback"], "poorly_handled": None}
    newest = zhifa["entries"]["late_feedback"][0]
    query = {**PERIOD, "level": "unit", "party": "zhifa", "category": "late_feedback"}
    rest = api.get("/api/circular/entries", "city1", query_string={**query, "cursor": zhifa["more"]["late_feedback"]})
    assert rest.status_code == 200, rest.json
    assert [x["event_number"] for x in rest.json["items"]] != [newest["event_number"]]
    assert {newest["event_number"], *(x["event_number"] for x in rest.json["items"])} == {e["E2"]["number"], e["E6"]["number"]}
    assert rest.json["next_cursor"] is None and rest.json["prev_cursor"] is not None
    assert newest["at"] >= rest.json["items"][0]["at"]
    whole = api.get("/api/circular/entries", "city1", query_string={**query, "limit": "1"})
    assert whole.json["items"] == [newest] and whole.json["next_cursor"]
    back = api.get("/api/circular/entries", "city1", query_string={**query, "cursor": rest.json["prev_cursor"]})
    assert back.json["items"] == [newest, *rest.json["items"]]      # back at the start: the first page, full
    # every refusal names its field; only the city and the administrators read it
    for bad, field, status in (({"level": "department"}, "level", 422), ({"category": "late"}, "category", 422),
                               ({"party": ""}, "party", 422), ({"cursor": "x"}, "cursor", 400),
                               ({"limit": "0"}, "limit", 400), ({"to": "2026-10-01"}, "to", 422)):
        r = api.get("/api/circular/entries", "city1", query_string={**query, **bad})
        assert r.status_code == status and r.json["errors"][0]["field"] == field, (bad, r.json)
    r = api.get("/api/circular", "city1", query_string={**PERIOD, "first": "0"})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "first"
    assert api.get("/api/circular/entries", "zhifa1", query_string=query).status_code == 403


def test_the_circular_page_links_to_the_rest_and_the_files_hold_everything(app, api):
    import io
    import re
    from html import unescape
    from openpyxl import load_workbook
    from pypdf import PdfReader
    from tests.web.test_sensitive import web_session
    e = history(api)
    page = web_session(app, "city1")
    html = page.get("/circular?from=2026-10-08&to=2026-10-11&first=1").get_data(as_text=True)
    links = [unescape(h) for h in re.findall(r'data-testid="circular-more" href="([^"]+)"', html)]
    assert len(links) == 1 and "party=zhifa" in links[0] and "category=late_feedback" in links[0]
    rest = page.get(links[0]).get_data(as_text=True)
    assert 'data-testid="circular-entries"' in rest and "执法局" in rest
    shown = {n for n in (e["E2"]["number"], e["E6"]["number"]) if n in rest}
    assert len(shown) == 1 and shown < {n for n in (e["E2"]["number"], e["E6"]["number"]) if n in html} | shown
    assert page.get("/circular?from=2026-10-08&to=2026-10-11&first=x").status_code == 400
    assert page.get("/circular/entries?from=2026-10-08&to=2026-10-11&level=x&party=zhifa&category=late_feedback")\
        .status_code == 400
    assert web_session(app, "zhifa1").get(links[0]).status_code == 403
    # the files: every line, and how many
    r = page.get("/circular.xlsx?from=2026-10-08&to=2026-10-11")
    book = load_workbook(io.BytesIO(r.data))
    rows = list(book.worksheets[0].iter_rows(min_row=2, values_only=True))
    about = {row[0]: row[1] for row in book["说明"].iter_rows(values_only=True)}
    lines = api.get("/api/circular", "city1", query_string=PERIOD).json["lines"]
    assert len(rows) == about["行数"] == int(r.headers["X-Row-Count"]) == lines == 5      # 执法局 4, zhifa1 1
    assert int(r.headers["Content-Length"]) == len(r.data)
    r = page.get("/circular.pdf?from=2026-10-08&to=2026-10-11")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.data)).pages).replace("\n", "")
    assert f"共 {lines} 条" in text and int(r.headers["X-Row-Count"]) == lines
