"""§9.2 (issue #8): patrol check-ins, a key hazard rectification point reported with before photos,
rectified with after photos and verified, the monthly report of a community from a seeded history, and the
reminder (the month's last working days) and flag (the month closed) for a community without a hazard
point. The real app on both databases and the simulated clock (engine/oversight/hazards.py, engine/oversight/monthly_report.py)."""
from __future__ import annotations

import io
import json
from datetime import datetime, timedelta

from sqlalchemy import select

from engine.store.models import Notification
from tests.web.client import image
from tests.web.test_deadlines import advance_to, now

OCTOBER = {"community": "lg-xincheng", "month": "2026-10"}


def photo(color):
    return (io.BytesIO(image(color=color)), "p.jpg")


def report_hazard(api, user="staff1", **changes):
    hazard = {"title": "新城大道排水沟堵塞", "description": "雨后积水，影响通行", "address": "新城大道 120 号", **changes}
    return api.post("/api/hazards", user, data={"hazard": json.dumps(hazard, ensure_ascii=False),
                                                "before_photos": [photo((120, 80, 60))]},
                    content_type="multipart/form-data")


def test_the_monthly_report_from_a_seeded_history(app, api):
    t0 = now(api)
    assert api.post("/api/patrols", "grid1", json={"grid": "新城一网格", "lat": 27.52, "lng": 120.6}).status_code == 201
    assert api.post("/api/patrols", "staff1", json={"grid": "新城二网格"}).status_code == 201
    closed = api.report()
    api.whistle_to(closed["id"])
    api.close_whistle(closed["id"])
    handled = api.report()
    api.complete("staff1", handled["id"], "verify", {"verdict": "accept"})
    api.complete("staff1", handled["id"], "analyse", {"disposal": "cadre"})
    api.complete("staff1", handled["id"], "handle_by_cadre", {"result_summary": "已处理"})
    api.complete("staff1", handled["id"], "check", {"passed": True, "rating": "满意"})
    late = api.report(type_code="A13")
    api.whistle_to(late["id"])
    advance_to(api, t0 + timedelta(minutes=31))                           # its 签收受理 is missed

    r = report_hazard(api)
    assert r.status_code == 201, r.json
    point = r.json
    assert point["status"] == "reported" and point["month"] == "2026-10" and len(point["before_photos"]) == 1
    r = api.post(f"/api/hazards/{point['id']}/rectify", "staff1",
                 data={"note": "已疏通并加装盖板", "after_photos": [photo((60, 160, 90))]}, content_type="multipart/form-data")
    assert r.status_code == 200 and r.json["status"] == "rectified" and len(r.json["after_photos"]) == 1, r.json
    r = api.post(f"/api/hazards/{point['id']}/verify", "committee1", json={"passed": True, "note": "现场验收合格"})
    assert r.status_code == 200 and r.json["status"] == "verified", r.json
    image_key = r.json["before_photos"][0]
    assert api.get(f"/api/hazards/{point['id']}/photos/{image_key}", "staff1").status_code == 200
    assert api.get(f"/api/hazards/{point['id']}/photos/{image_key}", "staff2").status_code == 403

    r = api.get("/api/monthly-report", "staff1", query_string=OCTOBER)
    assert r.status_code == 200, r.json
    report = r.json
    assert report["events"] == {"received": 3, "closed": 2, "whistled": 2, "whistled_unlisted": 0, "overdue": 1}
    people = {p["username"]: p for p in report["presence"]}
    assert people["grid1"]["patrols"] == 1 and people["staff1"]["patrols"] == 1
    assert people["staff1"]["active_days"] == 1 and people["whistle1"]["active_days"] == 1
    assert report["key_problems"][0] == {"type_code": "A05", "name": "市容环境卫生 · 人行道秩序整治", "count": 2}
    assert [h["status"] for h in report["hazard_points"]] == ["verified"]
    assert report["hazard_month"]["reported"] == 1
    assert api.get("/api/monthly-report", "staff2", query_string=OCTOBER).status_code == 403   # another community


def test_no_hazard_point_is_reminded_on_the_last_working_days_and_flagged_when_the_month_closes(app, api):
    assert report_hazard(api).status_code == 201                          # 新城社区 has its point; 龙港 has none
    advance_to(api, datetime.fromisoformat("2026-10-27T09:00:00+08:00"))   # Tue: not yet the last three
    svc = app.extensions["eventflow"]

    def told(community):
        return svc.read(lambda s: [n.message for n in s.scalars(select(Notification).where(
            Notification.kind == "hazard_reminder", Notification.recipient == community).order_by(Notification.id))])
    assert told("lg-longgang") == []
    advance_to(api, datetime.fromisoformat("2026-10-28T09:00:00+08:00"))   # Wed 28, Thu 29, Fri 30 are the last
    assert len(told("lg-longgang")) == 1 and "2026-10" in told("lg-longgang")[0]
    assert told("lg-xincheng") == []
    advance_to(api, datetime.fromisoformat("2026-10-29T09:00:00+08:00"))
    assert len(told("lg-longgang")) == 1                                  # once
    month = api.get("/api/monthly-report", "city1", query_string={"community": "lg-longgang", "month": "2026-10"}).json
    assert month["hazard_month"]["reminded_at"] and month["hazard_month"]["flagged_at"] is None
    advance_to(api, datetime.fromisoformat("2026-11-02T09:00:00+08:00"))   # October has closed
    month = api.get("/api/monthly-report", "city1", query_string={"community": "lg-longgang", "month": "2026-10"}).json
    assert month["hazard_month"]["flagged_at"] and month["hazard_points"] == []
    mine = api.get("/api/monthly-report", "city1", query_string=OCTOBER).json
    assert mine["hazard_month"]["flagged_at"] is None
    september = api.get("/api/monthly-report", "city1", query_string={"community": "lg-longgang", "month": "2026-09"})
    assert september.json["hazard_month"]["flagged_at"] is None            # a month before the app ran: not flagged


def test_what_is_refused(app, api):
    r = api.post("/api/hazards", "staff1", data={"hazard": json.dumps({"title": "x"})}, content_type="multipart/form-data")
    assert r.status_code == 422 and {e["field"] for e in r.json["errors"]} >= {"title", "description", "address",
                                                                              "before_photos"}
    assert report_hazard(api, user="grid1").status_code == 403
    assert report_hazard(api, community="lg-longgang").status_code == 403     # not their community
    point = report_hazard(api).json
    r = api.post(f"/api/hazards/{point['id']}/verify", "committee1", json={"passed": True, "note": "验收"})
    assert r.status_code == 409                                           # not rectified yet
    r = api.post(f"/api/hazards/{point['id']}/rectify", "staff1", data={"note": "已整改"}, content_type="multipart/form-data")
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "after_photos"
    assert api.post("/api/patrols", "zhifa1", json={"grid": "x"}).status_code == 403
    r = api.post("/api/patrols", "grid1", json={"grid": "一网格", "lat": 27.5})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "lat"


def test_the_printable_monthly_report_and_its_excel_file(app, api):
    from openpyxl import load_workbook
    from tests.web.test_sensitive import web_session
    assert report_hazard(api).status_code == 201
    api.report()
    page = web_session(app, "staff1")
    html = page.get("/monthly-report?month=2026-10").get_data(as_text=True)
    assert "新城社区" in html and "新城大道排水沟堵塞" in html and "人员到位" in html
    r = page.get("/monthly-report.xlsx?month=2026-10")
    assert r.status_code == 200 and "monthly-lg-xincheng-2026-10.xlsx" in r.headers["Content-Disposition"]
    rows = [[c.value for c in row] for row in load_workbook(io.BytesIO(r.data)).active.iter_rows(min_row=2)]
    assert ["事件流转处置", "受理事件", 1] in rows and ["重点隐患整治点", "新城大道排水沟堵塞", "reported"] in rows
    assert page.get("/monthly-report?community=lg-longgang&month=2026-10").status_code == 403
    assert web_session(app, "city1").get("/monthly-report?community=lg-longgang&month=2026-10").status_code == 200


def test_the_monthly_report_as_a_pdf(app, api):
    from pypdf import PdfReader
    from tests.web.test_sensitive import web_session
    assert report_hazard(api).status_code == 201
    r = web_session(app, "staff1").get("/monthly-report.pdf?month=2026-10")
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(r.data)).pages).replace("\n", "")
    assert "新城社区 2026-10 社区月报" in text and "新城大道排水沟堵塞" in text and "人员到位" in text


def test_a_committee_does_not_verify_its_own_point_and_a_refused_rectify_writes_nothing(app, api, settings):
    from pathlib import Path
    point = report_hazard(api, user="committee1").json
    r = api.post(f"/api/hazards/{point['id']}/rectify", "staff2",
                 data={"note": "不是本社区", "after_photos": [photo((1, 2, 3))]}, content_type="multipart/form-data")
    assert r.status_code == 403
    folder = Path(settings.media_dir) / "hazards" / str(point["id"])
    assert sorted(p.name for p in folder.iterdir()) == sorted(point["before_photos"])   # no file of the refused one
    api.post(f"/api/hazards/{point['id']}/rectify", "staff1", data={"note": "已整改", "after_photos": [photo((9, 9, 9))]},
             content_type="multipart/form-data")
    r = api.post(f"/api/hazards/{point['id']}/verify", "committee1", json={"passed": True, "note": "验收"})
    assert r.status_code == 403                                       # it reported the point itself
    assert api.post(f"/api/hazards/{point['id']}/verify", "city1", json={"passed": True, "note": "验收合格"}).status_code == 200
    r = api.post("/api/hazards", "staff1", data={"hazard": json.dumps({"community": ["lg-xincheng"], "title": "x"}),
                                                 "before_photos": [photo((5, 5, 5))]}, content_type="multipart/form-data")
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "community"


def test_a_title_that_looks_like_a_formula_is_text_in_the_excel_file(app, api):
    from openpyxl import load_workbook
    from tests.web.test_sensitive import web_session
    assert report_hazard(api, title='=HYPERLINK("http://evil.example","点击")').status_code == 201
    r = web_session(app, "staff1").get("/monthly-report.xlsx?month=2026-10")
    cells = [c.value for row in load_workbook(io.BytesIO(r.data)).active.iter_rows() for c in row]
    assert "'=HYPERLINK(\"http://evil.example\",\"点击\")" in cells
