"""On site (issue #19): the 到场 check-in against the event's location (§8.3; engine/casework/arrivals.py) and
即知即改 — a problem fixed on the spot, reported with its after photos, verified by the community and counted
handled and first time (engine/casework/on_spot.py). Through the HTTP API and the pages on the simulated clock,
both databases.

The check-ins: two of 执法局's on-site orders of a grid worker's report at (27.52, 120.60); zhifa1 checks in
1 km north of the one and 100 m north of the other (points from pyproj's geodesic, as the engine measures). The
first is flagged on the event and named in the circular (§9.1 到场位置偏离, against 执法局 and zhifa1); the second is
not. A police matter (Table A.1 row 3) checked in far is counted in the circular as 「涉密事件 1 件」 for the city,
without its number.

即知即改, every report of 新城社区 on 10-08 (T0 = 09:00), all A05:
- S1: grid1 fixed it, after photo only; staff1 confirms at T0+30m → closed;
- S2: stationed1 (新城派出所) fixed it, before and after photos; confirmed at T0+40m → closed;
- S3: grid1 says fixed; staff1 finds it is not (rejected, the reason told to grid1) → the normal way: 核实 属实,
  研判 社区干部处置, 处置 at T0+1h30m, 核查 通过 → closed;
- R4: grid1's ordinary report: 社区干部处置, 核查 不通过 (重办), again, 核查 通过 → closed.
By hand, for [10-08, 10-14):
- 新城社区 (the community's own obligations: no unit, no person): due S1 (the fix: met as reported), S3 and R4
  (社区干部处置) = 3, handled 3, on time 3 → 处置率 3/3, 按期处置率 3/3; closed S1 S2 S3 R4 = 4, first time S1 S2 S3
  = 3 (R4 reworked) → 一次性处置率 3/4;
- 新城派出所 (S2's fix is its officer's): due 1, handled 1, on time 1;
- grid1: due 1 (S1), handled 1, closed 1 first 1; stationed1: the same for S2; staff1: due 2 (S3, R4), handled 2,
  closed 2, first 1.
"""
from __future__ import annotations

import io
import json
import re
from dataclasses import replace
from datetime import timedelta

from openpyxl import load_workbook
from pyproj import Geod
from sqlalchemy import func, select

from engine.accounts import users
from engine.store.models import Event, Photo
from tests.conftest import PASSWORD, build_app
from tests.web.client import REPORT, image
from tests.web.test_deadlines import advance_to, now
from tests.web.test_revisit import counts, rows
from tests.web.test_sensitive import web_session

PERIOD = {"from": "2026-10-08T00:00:00+08:00", "to": "2026-10-14T00:00:00+08:00"}
#: the same days, not as whole days: counted from the tables, not from the counts kept per day
ODD_PERIOD = {"from": "2026-10-07T23:59:59+08:00", "to": "2026-10-14T00:00:00+08:00"}
AT = REPORT["location"]


def north(metres: float) -> dict:
    """The point `metres` due north of the report's location, on the WGS-84 ellipsoid."""
    lng, lat, _ = Geod(ellps="WGS84").fwd(AT["lng"], AT["lat"], 0, metres)
    return {"lat": lat, "lng": lng}


def on_site_order(api, event_id, department="zhifa", unit_user="zhifa1", officer="whistle1"):
    """核实 → 研判 吹哨 → 吹哨 (现场类) → 签收受理: the lead department's 到场 is next."""
    api.complete("staff1", event_id, "verify", {"verdict": "accept"})
    api.complete("staff1", event_id, "analyse", {"disposal": "whistle"})
    api.complete(officer, event_id, "issue_whistle", {"lead_department": department, "on_site": True,
                                                      "whistle_reason": "需现场处置"})
    api.complete(unit_user, event_id, "accept_whistle", {"decision": "accept"})


def arrive(api, event_id, where, unit_user="zhifa1"):
    key = api.photo(unit_user, event_id)
    return api.complete(unit_user, event_id, "arrive", {"arrival_location": where, "arrival_photo": key,
                                                        "on_spot": "solved"})


def circular(api, user="city1", **query):
    r = api.get("/api/circular", user, query_string={**PERIOD, **query})
    assert r.status_code == 200, r.json
    return r.json


def party(found, level, key):
    return next((p for p in found[level] if p["key"] == key), None)


# -- 到场 check-in -------------------------------------------------------------------------------------------
def test_an_arrival_1_km_away_is_flagged_on_the_event_and_in_the_circular_and_100_m_is_not(app, api):
    far, near = (api.report(description=f"到场核验样本 {n}")["id"] for n in ("甲", "乙"))
    for event_id in (far, near):
        on_site_order(api, event_id)
    api.advance("PT20M")
    assert arrive(api, far, north(1000))["next_task"]["name"] == "dispose_feedback"    # the work goes on
    arrive(api, near, north(100))

    detail = api.event(far)
    [check] = detail["arrival_checks"]
    assert check["far"] is True and detail["arrival_far"] is True
    assert abs(check["distance_m"] - 1000) < 0.5 and check["limit_m"] == 300
    assert (check["unit"], check["unit_name"], check["person"], check["person_name"]) == \
        ("zhifa", "执法局", "zhifa1", "执法局 办事员")
    assert check["reason"] == "到场定位距事件位置 1000 米，超过 300 米（§8.3 到场）"
    assert check["checked_at"] == "2026-10-08T09:20:00+08:00"
    checked = [a for a in detail["timeline"] if a["action"] == "arrival_checked"]
    assert [a["data"]["far"] for a in checked] == [True] and checked[0]["task_name"] == "核对到场位置"
    other = api.event(near)
    [check] = other["arrival_checks"]
    assert check["far"] is False and other["arrival_far"] is False and abs(check["distance_m"] - 100) < 0.5
    assert check["reason"] == "到场定位距事件位置 100 米（300 米以内）"

    page = web_session(app, "staff1")                       # the event page says it
    html = page.get(f"/events/{far}").get_data(as_text=True)
    assert "到场位置偏离" in html and "1000 米，超过 300 米" in html and "执法局 办事员" in html
    html = page.get(f"/events/{near}").get_data(as_text=True)
    assert "到场核验" in html and "到场位置偏离" not in html

    numbers = {api.event(e)["number"]: e for e in (far, near)}
    found = circular(api)                                   # §9.1: against the unit and who checked in
    zhifa, zhifa1 = party(found, "units", "zhifa"), party(found, "people", "zhifa1")
    assert zhifa["counts"]["off_site"] == 1 and zhifa1["counts"]["off_site"] == 1
    assert found["categories"]["off_site"] == "到场位置偏离"
    [entry] = zhifa["entries"]["off_site"]
    assert numbers[entry["event_number"]] == far and entry["kind"] == "arrival"
    assert entry["reason"] == "到场定位距事件位置 1000 米，超过 300 米（§8.3 到场）"
    listed = [e["event_id"] for p in found["units"] + found["people"] + found["communities"]
              for e in p["entries"]["off_site"]]
    assert near not in listed and listed == [far, far]
    r = api.get("/api/circular/entries", "city1", query_string={**PERIOD, "level": "person", "party": "zhifa1",
                                                                "category": "off_site"})
    assert r.status_code == 200 and [e["event_id"] for e in r.json["items"]] == [far]
    r = api.get("/api/circular/entries", "city1", query_string={**PERIOD, "level": "community",
                                                                "party": "lg-xincheng", "category": "off_site"})
    assert r.status_code == 200 and r.json["items"] == []           # never a community's
    scores = {i["key"]: i for i in api.get("/api/assessment", "city1",
                                           query_string={"level": "unit", **PERIOD}).json["items"]}
    assert scores["zhifa"]["deductions"]["off_site"] == 2            # EVENTFLOW_ASSESSMENT_DEDUCTION each

    city = web_session(app, "city1")                        # the page and the file list it too
    html = city.get("/circular", query_string={"from": "2026-10-08", "to": "2026-10-13"}).get_data(as_text=True)
    far_number = next(n for n, e in numbers.items() if e == far)
    near_number = next(n for n, e in numbers.items() if e == near)
    assert f"到场位置偏离：{far_number}" in html and near_number not in html
    sheet = city.get("/circular.xlsx", query_string={"from": "2026-10-08", "to": "2026-10-13"})
    rows = [row for ws in load_workbook(io.BytesIO(sheet.get_data()), read_only=True).worksheets
            for row in ws.iter_rows(values_only=True)]
    assert [(r[0], r[1], r[4], r[5]) for r in rows if len(r) > 5 and r[4] == "到场位置偏离"] == \
        [("单位", "zhifa", "到场位置偏离", far_number), ("个人", "zhifa1", "到场位置偏离", far_number)]


def test_the_distance_is_a_setting(settings, seeded):
    """EVENTFLOW_ARRIVAL_FAR_M: with 2000 m the same 1 km check-in is not far."""
    app = build_app(replace(settings, arrival_far_m=2000))
    try:
        from tests.web.client import Api
        api = Api(app)
        event_id = api.report()["id"]
        on_site_order(api, event_id)
        arrive(api, event_id, north(1000))
        [check] = api.event(event_id)["arrival_checks"]
        assert check["far"] is False and check["limit_m"] == 2000
        assert party(circular(api), "units", "zhifa") is None
    finally:
        app.extensions["eventflow"].db.dispose()


def test_a_sensitive_events_far_arrival_is_counted_without_its_number(app, api):
    svc = app.extensions["eventflow"]
    svc.run(lambda s: users.create_user(s, svc.catalogs, svc.env.wall_clock, "whistle9", PASSWORD,
                                        ["community_staff", "whistle_officer"], "lg-xincheng", None, "吹哨员 九", 1024,
                                        True))
    event_id = api.report(type_code="A03", description="邻里纠纷警情，需民警到场")["id"]
    on_site_order(api, event_id, department="gongan", unit_user="police1", officer="whistle9")
    arrive(api, event_id, north(1000), unit_user="police1")
    number = api.event(event_id, user="police1")["number"]
    assert api.event(event_id, user="police1")["arrival_far"] is True       # the police see it on the event

    found = circular(api)                                   # the city may not see a police matter
    gongan = party(found, "units", "gongan")
    assert gongan["counts"]["off_site"] == 1
    assert gongan["entries"]["off_site"] == [{"event_id": None, "event_number": None, "kind": None,
                                              "reason": "涉密事件 1 件", "at": None, "sensitive": True}]
    assert party(found, "people", "police1") is None                      # gathered without a name
    assert party(found, "people", None)["counts"]["off_site"] == 1
    assert number not in json.dumps(found, ensure_ascii=False)
    r = api.get("/api/circular/entries", "city1", query_string={**PERIOD, "level": "unit", "party": "gongan",
                                                                "category": "off_site"})
    assert r.status_code == 200 and r.json["items"] == []
    city = web_session(app, "city1")
    for path in ("/circular", "/circular.xlsx", "/circular.pdf"):
        text = city.get(path, query_string={"from": "2026-10-08", "to": "2026-10-13"}).get_data()
        assert number.encode() not in text, path
    html = city.get("/circular", query_string={"from": "2026-10-08", "to": "2026-10-13"}).get_data(as_text=True)
    assert "涉密事件 1 件" in html


# -- 即知即改 ------------------------------------------------------------------------------------------------
def report_fixed(api, user="grid1", after=1, before=0, expect=201, **changes):
    """A multipart report made as handled on the spot, with `after` and `before` photos."""
    report = {**REPORT, "handled_on_spot": True, "on_spot_summary": "已当场清理占道摊位", **changes}
    data = {"report": json.dumps(report, ensure_ascii=False),
            "after_photos": [(io.BytesIO(image(color=(10 * n, 200, 90))), f"after{n}.jpg") for n in range(after)],
            "before_photos": [(io.BytesIO(image(color=(200, 10 * n, 90))), f"before{n}.jpg") for n in range(before)]}
    r = api.client.post("/api/events", headers=api.headers(user), data=data)
    assert r.status_code == expect, r.json
    return r.json


def test_handled_on_the_spot_is_verified_closed_and_counted_handled_and_first_time(app, api):
    t0 = now(api)
    s1 = report_fixed(api, description="即知即改 S1")
    assert s1["status"] == "open" and s1["on_spot_state"] == "reported"
    assert [t["name"] for t in s1["open_tasks"]] == ["verify_on_spot"] and s1["stage"] == "核实（即知即改）"
    assert s1["on_spot"]["state_name"] == "即知即改，待社区核实" and s1["on_spot"]["by_name"] == "网格员 李明"
    assert len(s1["on_spot"]["after_photos"]) == 1 and s1["on_spot"]["before_photos"] == []
    assert s1["on_spot"]["after_photos"][0] in {p["key"] for p in s1["photo_files"]}
    s2 = report_fixed(api, user="stationed1", before=1, source="committee_patrol", description="即知即改 S2")
    assert s2["on_spot"]["unit"] == "gongan.xincheng_pcs" and s2["on_spot"]["unit_name"] == "新城派出所"
    assert len(s2["on_spot"]["before_photos"]) == 1
    s3 = report_fixed(api, description="即知即改 S3")
    r4 = api.report(description="普通上报 R4")
    task = api.task("staff1", s1["id"], "verify_on_spot")
    assert task["title"] == "核实（即知即改）" and task["assignee"]["community"] == "lg-xincheng"
    notes = [n["message"] for n in api.get("/api/notifications", "staff1").json["items"]]
    assert any("已即知即改，请核实处置结果" in n and s1["number"] in n for n in notes)

    advance_to(api, t0 + timedelta(minutes=30))
    done = api.complete("staff1", s1["id"], "verify_on_spot", {"on_spot_confirmed": True})
    assert done["event_status"] == "closed" and done["next_task"] is None
    detail = api.event(s1["id"])
    assert detail["status"] == "closed" and detail["closed_at"] == "2026-10-08T09:30:00+08:00"
    assert detail["on_spot"]["state"] == "confirmed" and detail["on_spot"]["verified_by_name"] == "社区干部 陈芳"
    assert detail["revisit"] is None and detail["process"]["status"] == "completed"     # its reporter fixed it
    verified, fix = sorted(detail["deadlines"], key=lambda d: d["kind"] != "verify")
    assert (verified["kind"], verified["status"], verified["due_at"]) == \
        ("verify", "missed", "2026-10-08T09:30:00+08:00")   # §8.1: its 核实 is timed too; done as its 30 min ran out
    assert (fix["kind"], fix["status"], fix["started_at"], fix["met_at"], fix["due_at"]) == \
        ("community_handle", "met", "2026-10-08T09:00:00+08:00", "2026-10-08T09:00:00+08:00",
         "2026-10-08T11:00:00+08:00")
    assert fix["unit"] is None and fix["person"] is None and fix["community"] == "lg-xincheng"
    assert [a["action"] for a in detail["timeline"] if a["action"].startswith("on_spot")] == \
        ["on_spot_reported", "on_spot_confirmed"]
    advance_to(api, t0 + timedelta(minutes=40))
    api.complete("staff1", s2["id"], "verify_on_spot", {"on_spot_confirmed": True})
    [fix] = [d for d in api.event(s2["id"])["deadlines"] if d["kind"] == "community_handle"]
    assert fix["unit"] == "gongan.xincheng_pcs" and fix["status"] == "met"

    # S3: not fixed — a rejection needs its reason, then the normal way; the reporter hears why
    bad = api.complete("staff1", s3["id"], "verify_on_spot", {"on_spot_confirmed": False}, expect=422)
    assert [e["field"] for e in bad["errors"]] == ["on_spot_note"]
    went = api.complete("staff1", s3["id"], "verify_on_spot", {"on_spot_confirmed": False,
                                                               "on_spot_note": "摊位仍在，未清理到位"})
    assert went["event_status"] == "open" and went["next_task"]["name"] == "verify"
    detail = api.event(s3["id"])
    assert detail["on_spot"]["state"] == "rejected" and detail["on_spot"]["note"] == "摊位仍在，未清理到位"
    # the report itself counts nothing then: the limits are the 核实s' own (§8.1, step_limits.json), this one's
    # (missed: 40 min) and the normal 核实's (running)
    assert sorted((d["kind"], d["status"]) for d in detail["deadlines"]) == [("verify", "missed"), ("verify", "pending")]
    told = [n["message"] for n in api.get("/api/notifications", "grid1").json["items"]]
    assert any("即知即改未通过核实" in n and "摊位仍在，未清理到位" in n for n in told)
    api.complete("staff1", s3["id"], "verify", {"verdict": "accept"})
    api.complete("staff1", s3["id"], "analyse", {"disposal": "cadre"})
    advance_to(api, t0 + timedelta(hours=1, minutes=30))
    api.complete("staff1", s3["id"], "handle_by_cadre", {"result_summary": "已清理"})
    assert api.complete("staff1", s3["id"], "check", {"passed": True, "rating": "满意"})["event_status"] == "closed"
    # R4: an ordinary report, reworked once
    api.complete("staff1", r4["id"], "verify", {"verdict": "accept"})
    api.complete("staff1", r4["id"], "analyse", {"disposal": "cadre"})
    api.complete("staff1", r4["id"], "handle_by_cadre", {"result_summary": "已处置"})
    api.complete("staff1", r4["id"], "check", {"passed": False, "check_note": "未清理干净", "rating": "不满意"})
    api.complete("staff1", r4["id"], "handle_by_cadre", {"result_summary": "已重新处置"})
    assert api.complete("staff1", r4["id"], "check", {"passed": True, "rating": "满意"})["event_status"] == "closed"

    svc = app.extensions["eventflow"]
    for refresh in (False, True):             # while the days are listed dirty, and once counted into the rows
        if refresh:
            from engine.oversight import rollups
            svc.run(rollups.refresh)
        for period in (PERIOD, ODD_PERIOD):   # the counts kept per day, and the tables themselves
            xincheng = rows(api, "community", period)["lg-xincheng"]
            assert counts(xincheng["disposal_rate"]) == (3, 3) and counts(xincheng["on_time_rate"]) == (3, 3)
            assert counts(xincheng["first_time_rate"]) == (3, 4)
            assert counts(rows(api, "unit", period)["gongan.xincheng_pcs"]["disposal_rate"]) == (1, 1)
            people = rows(api, "person", period)
            for who, handled, first in (("grid1", (1, 1), (1, 1)), ("stationed1", (1, 1), (1, 1)),
                                        ("staff1", (2, 2), (1, 2))):
                assert counts(people[who]["disposal_rate"]) == handled, who
                assert counts(people[who]["on_time_rate"]) == handled, who
                assert counts(people[who]["first_time_rate"]) == first, who

    page = web_session(app, "staff1")                         # the event page shows the fix and its check
    html = page.get(f"/events/{s2['id']}").get_data(as_text=True)
    assert "即知即改，社区已核实办结" in html and "新城派出所" in html and "处置前" in html
    assert len(re.findall(r'alt="处置后"', html)) == 1 and len(re.findall(r'alt="处置前"', html)) == 1


def test_without_after_photos_it_is_refused_naming_the_field(app, api):
    svc = app.extensions["eventflow"]

    def stored():
        return svc.read(lambda s: (s.scalar(select(func.count()).select_from(Event)),
                                   s.scalar(select(func.count()).select_from(Photo))))
    before = stored()
    refused = report_fixed(api, after=0, before=1, expect=422)
    english = "handled on the spot: attach at least one photo taken after the fix, as the multipart part after_photos"
    assert refused["errors"] == [{"field": "after_photos", "reason": f"即知即改须附处置后照片，至少1张 ({english})",
                                  "reason_zh": "即知即改须附处置后照片，至少1张", "reason_en": english}]   # and apart (#20)
    r = api.post("/api/events", "grid1", json={**REPORT, "handled_on_spot": True})       # JSON alone: none can come
    assert r.status_code == 422 and [e["field"] for e in r.json["errors"]] == ["after_photos"]
    r = api.post("/api/events", "grid1", json={**REPORT, "handled_on_spot": True, "description": "x"})
    assert r.status_code == 422 and {e["field"] for e in r.json["errors"]} == {"description", "after_photos"}
    refused = report_fixed(api, handled_on_spot=False, expect=422)    # photos of a fix go with a fix
    assert {e["field"] for e in refused["errors"]} == {"after_photos", "on_spot_summary"}
    refused = report_fixed(api, user="staff1", source="committee_patrol", expect=403)   # a cadre does not report so
    assert refused["field"] == "handled_on_spot"
    assert stored() == before                                 # nothing stored

    page = web_session(app, "grid1")                          # the 上报 page: asked for, refused, what was typed kept
    html = page.get("/report").get_data(as_text=True)
    assert 'name="handled_on_spot"' in html and 'name="after_photos"' in html
    assert 'name="handled_on_spot"' not in web_session(app, "staff1").get("/report").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    form = {"csrf_token": token, "source": "grid_worker", "type_code": "A05", "description": "路口占道经营已劝离",
            "address": "新城大道 88 号", "lat": "27.52", "lng": "120.60", "handled_on_spot": "1",
            "on_spot_summary": "已劝离摊主并清扫"}
    r = page.post("/report", data=form)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "即知即改须附处置后照片，至少1张" in html
    assert "路口占道经营已劝离" in html and "已劝离摊主并清扫" in html and 'value="新城大道 88 号"' in html
    assert re.search(r'name="handled_on_spot" value="1" checked', html)
    assert stored() == before
    r = page.post("/report", data={**form, "after_photos": (io.BytesIO(image()), "after.jpg")})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    event = api.event(int(r.headers["Location"].rsplit("/", 1)[1]))
    assert event["on_spot"]["state"] == "reported" and event["on_spot"]["summary"] == "已劝离摊主并清扫"
    assert len(event["on_spot"]["after_photos"]) == 1 and [t["name"] for t in event["open_tasks"]] == ["verify_on_spot"]
