"""Sensitive events (issue #6 privacy; Table A.1 rows 1–3: 重点人员、平安建设、警情): among those whose scope
reaches the event, only the police (the type's competent department and the units below it, e.g. the station's
stationed officer) and the cadres the community designated see it, plus its reporter; every view is audited.
Real app on both databases."""
from __future__ import annotations

from sqlalchemy import select

from engine.accounts import users
from engine.store.models import Audit
from tests.conftest import PASSWORD


def staff3(app):
    """A second cadre of 新城社区, not designated."""
    svc = app.extensions["eventflow"]
    svc.run(lambda s: users.create_user(s, svc.catalogs, svc.env.wall_clock, "staff3", PASSWORD,
                                        ["community_staff"], "lg-xincheng", None, "社区干部 三", 1024))


def views(app, event_id):
    svc = app.extensions["eventflow"]
    return svc.read(lambda s: [(a.actor, a.data["view"]) for a in s.scalars(
        select(Audit).where(Audit.event_id == event_id, Audit.action == "sensitive_viewed").order_by(Audit.id))])


def test_a_police_matter_is_seen_by_police_and_designated_cadres_only(app, api):
    staff3(app)
    event = api.report(type_code="A03", description="邻里纠纷警情，需社区协调")
    assert api.event(event["id"], user="staff1")["number"] == event["number"]       # designated cadre
    assert api.event(event["id"], user="stationed1")["number"] == event["number"]   # 新城派出所, under 公安局
    assert api.event(event["id"], user="grid1")["number"] == event["number"]        # its own reporter
    for other in ("staff3", "zhifa1", "city1", "staff2"):
        assert api.get(f"/api/events/{event['id']}", other).status_code == 404, other
    assert event["number"] not in [e["number"] for e in api.get("/api/events", "staff3").json["items"]]
    assert api.tasks("staff3", event["id"]) == [] and api.task("staff1", event["id"], "verify")
    task = api.task("staff1", event["id"], "verify")
    assert api.post(f"/api/tasks/{task['id']}/complete", "staff3", json={"verdict": "accept"}).status_code == 404
    # every read of its content is recorded, whatever the caller: the report's answer, the three views,
    # staff1's task list; none by those refused
    assert views(app, event["id"]) == [("grid1", "api"), ("staff1", "api"), ("stationed1", "api"), ("grid1", "api")]


def test_ordinary_events_are_not_logged_and_stay_visible_to_every_cadre(app, api):
    staff3(app)
    event = api.report()
    assert api.event(event["id"], user="staff3")["number"] == event["number"]
    assert views(app, event["id"]) == []


def test_only_a_communitys_cadre_can_be_designated(app):
    svc = app.extensions["eventflow"]
    import pytest
    from engine.core.errors import InvalidData
    with pytest.raises(InvalidData) as err:
        svc.run(lambda s: users.create_user(s, svc.catalogs, svc.env.wall_clock, "clerk9", PASSWORD,
                                            ["department_staff"], None, "zhifa", None, 1024, True))
    assert err.value.details["errors"][0]["field"] == "sensitive_access"


def web_session(app, username):
    """A signed-in browser session of the web app (the sign-in form with its CSRF token)."""
    import re
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    return client


def test_every_part_of_a_sensitive_event_shown_is_a_logged_view(app, api):
    """Its photo (API and page), map, diagram and whistle order: each view audited, who and where."""
    event = api.report(type_code="A03", description="邻里纠纷警情，需社区协调")
    key = api.photo("grid1", event["id"])
    before = len(views(app, event["id"]))
    assert api.get(f"/api/events/{event['id']}/photos/{key}", "staff1").status_code == 200
    page = web_session(app, "staff1")
    for path in (f"/events/{event['id']}/photos/{key}", f"/events/{event['id']}/map.json",
                 f"/events/{event['id']}/diagram.bpmn"):
        assert page.get(path).status_code == 200, path
    assert views(app, event["id"])[before:] == [("staff1", "api_photo"), ("staff1", "photo"), ("staff1", "map"),
                                                ("staff1", "diagram")]
    other = web_session(app, "zhifa1")                   # not theirs to see: 404, and nothing to log
    assert other.get(f"/events/{event['id']}/map.json").status_code == 404
    assert [who for who, _ in views(app, event["id"])].count("zhifa1") == 0
    ordinary = api.report()
    assert page.get(f"/events/{ordinary['id']}/map.json").status_code == 200
    assert views(app, ordinary["id"]) == []
