"""逐级通知 (issue #18) through the app: the ladder is a catalog (GET/PUT /api/catalogs/escalation, the 管理 page),
checked like the others, stored as revisions; an edit reschedules the rungs waiting after a miss; the city
reads its notice in 消息 with the clause it cites; a unit's 分管领导 may be given an account; the worker
wakes for a waiting rung's due time. The ladder walked rung by rung with two nodes: tests/engine/test_escalation.py."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.store.models import Deadline, Escalation, Instance

from tests.web.client import Api
from tests.web.test_catalog_edits import put
from tests.web.test_deadlines import advance_to, whistle
from tests.web.test_sensitive import web_session
from tests.web.test_ui_pages import csrf
from tests.web.test_worker_wakes import HOUR, wall_clock_app  # noqa: F401 - the wall-clock app fixture, shared


def ladder(api):
    return api.get("/api/catalogs/escalation", "admin1").json


def city_rung(rows):
    return next(r for r in rows if r["code"] == "city")


def messages(api, user, kind):
    return api.get("/api/notifications", user, query_string={"kind": kind}).json["items"]


def test_the_city_reads_its_notice_hours_after_a_miss_that_still_stands(app, api):
    event = api.report()
    dispatched = whistle(api, event)
    [order] = messages(api, "zhifa1", "dispatched")                   # 派单 (§4.1): the ladder's first rung
    assert (order["clause"], order["rung"], order["event_number"]) == ("§4.1", "dispatch", event["number"])
    advance_to(api, dispatched + timedelta(minutes=31))               # missed (§8.3): red, 分管领导
    assert messages(api, "city1", "escalated") == []
    advance_to(api, dispatched + timedelta(hours=4, minutes=30))      # 4 hours past the due time
    [notice] = messages(api, "city1", "escalated")
    assert notice["clause"] == "§9.1" and notice["rung"] == "city" and notice["to"] == {"kind": "unit", "name": "shezhi"}
    assert "请市社会治理中心协调督办" in notice["message"] and "副局长李明华" in notice["message"]
    cited = [(a["action"], entry["rung"], entry["clause"]) for a in api.event(event["id"])["timeline"]
             for entry in (a["data"] or {}).get("rungs", [a["data"]] if a["action"] == "escalated" else [])]
    assert cited == [("deadline_set", "dispatch", "§4.1"), ("deadline_warning", "yellow", "§9.1"),
                     ("deadline_missed", "red", "§9.1"), ("deadline_missed", "leader", "§9.1"),
                     ("escalated", "city", "§9.1")]


def test_the_ladder_is_edited_as_a_catalog_and_its_waiting_rungs_follow(app, api):
    event = api.report()
    dispatched = whistle(api, event)
    advance_to(api, dispatched + timedelta(minutes=31))
    rows = ladder(api)
    city_rung(rows)["after"] = "PT2H"
    body = put(api, "/api/catalogs/escalation", "admin1", rows)
    assert body["summary"] == {"added": [], "removed": [], "changed": ["city"]} and body["escalations_rescheduled"] == 1
    assert city_rung(ladder(api))["after"] == "PT2H"
    [revision] = api.get("/api/catalogs/escalation/revisions", "admin1").json["items"]
    assert revision["actor"] == "admin1"
    advance_to(api, dispatched + timedelta(hours=2, minutes=30))      # now 2 hours past the due time
    assert len(messages(api, "city1", "escalated")) == 1


@pytest.mark.parametrize("change, field, words", [
    (lambda r: r.update(message="事件 {number} {secret}"), "city.message", "unknown placeholder {secret}"),
    (lambda r: r.pop("after"), "city.after", "missed_for needs"),
    (lambda r: r.update(limits=["nonesuch"]), "city.limits[0]", "unknown deadline kind"),
    (lambda r: r.update(notify=["unit:nasa"]), "city.notify[0]", "unknown unit 'nasa'"),
    (lambda r: r.update(message="事件 {number.__class__}"), "city.message", "unknown placeholder"),
])
def test_a_broken_ladder_is_refused_naming_the_rung_and_field(app, api, change, field, words):
    rows = ladder(api)
    change(city_rung(rows))
    r = api.client.put("/api/catalogs/escalation", headers=api.headers("admin1"), json=rows)
    assert r.status_code == 422, r.json
    assert any(e["field"] == field and words in e["reason"] for e in r.json["errors"]), r.json
    assert "after" in city_rung(ladder(api))                          # nothing changed
    r = api.client.put("/api/catalogs/escalation", headers=api.headers("city1"), json=ladder(api))
    assert r.status_code == 403


def test_a_leaders_account_is_set_on_the_unit_and_must_be_a_real_one(app, api):
    units = api.get("/api/catalogs/units", "admin1").json
    zhifa = next(u for u in units if u["code"] == "zhifa")
    zhifa["supervisor"]["username"] = "nobody"
    r = api.client.put("/api/catalogs/units", headers=api.headers("admin1"), json=units)
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "zhifa.supervisor.username", r.json
    zhifa["supervisor"]["username"] = "city1"                         # any active account, for the test
    put(api, "/api/catalogs/units", "admin1", units)
    event = api.report()
    dispatched = whistle(api, event)
    advance_to(api, dispatched + timedelta(minutes=31))
    [notice] = messages(api, "city1", "supervise")
    assert notice["to"] == {"kind": "person", "name": "city1"} and notice["message"].startswith("请副局长李明华督办")


def test_the_ladder_page_edits_the_rungs(app, api):
    admin = web_session(app, "admin1")
    html = admin.get("/admin/catalogs/escalation").get_data(as_text=True)
    assert "市社会治理中心督办" in html and 'value="4"' in html             # PT4H shown in hours
    assert "逐级通知" in admin.get("/admin/catalogs").get_data(as_text=True)
    form = {"csrf_token": csrf(admin, "/admin/catalogs/escalation"), "rungs": "6"}
    for i, rung in enumerate(ladder(api)):
        form.update({f"r{i}.{k}": rung[k] for k in ("code", "name", "trigger", "kind", "clause", "message")})
        form[f"r{i}.notify"] = [w for w in rung["notify"]]
        if rung.get("limits"):
            form[f"r{i}.limits"] = rung["limits"]
        if rung["code"] == "city":
            form[f"r{i}.after"] = "1.5"
            form[f"r{i}.units"] = ["zhifa"]
    r = admin.post("/admin/catalogs/escalation", data=form)
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    city = city_rung(ladder(api))
    assert city["after"] == "PT1H30M" and city["notify"] == ["authority", "duty_officer", "unit:zhifa"]
    assert next(r for r in ladder(api) if r["code"] == "dispatch")["limits"] == ["accept"]
    form["r4.message"] = "事件 {numbr}"
    r = admin.post("/admin/catalogs/escalation", data=form)
    assert r.status_code == 422 and "{numbr} 不是可用的占位符：请只用页面上列出的占位符" in r.get_data(as_text=True)
    assert web_session(app, "city1").get("/admin/catalogs/escalation").status_code == 403


def test_a_new_report_reaches_the_communitys_cadres(app, api):
    event = api.report()
    [notice] = messages(api, "staff1", "new_report")
    assert notice["event_number"] == event["number"] and notice["clause"] == "§4.1"
    assert messages(api, "staff2", "new_report") == []                # another community's cadres
    assert messages(api, "grid1", "new_report") == []




def test_the_worker_wakes_for_a_waiting_rung(wall_clock_app):
    """A rung that fires hours after a miss is a due time the worker's next sweep is brought forward to,
    like a timer's (web/scheduler.py): one indexed read, no polling of missed deadlines."""
    services = wall_clock_app.extensions["eventflow"]
    assert services.next_due_at() is None
    event = Api(wall_clock_app).report()
    Api(wall_clock_app).whistle_to(event["id"])
    soon = services.clock.now() + timedelta(minutes=3)

    def waiting(session):           # as if the miss had been 4 hours ago: the rung falls due in 3 minutes
        deadline = session.scalar(select(Deadline))
        instance = session.scalar(select(Instance.id))
        session.add(Escalation(deadline_id=deadline.id, event_id=deadline.event_id, instance_id=instance,
                               rung="city", due_at=soon, status="pending"))
    services.run(waiting)
    assert services.next_due_at() == soon            # before the yellow light (20 min) and the timer (30 min)
