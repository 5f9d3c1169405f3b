"""The event page's map (issue #20, engine/pool/event_map.py) over HTTP: the community boundary, the point, the 到场
check-in with its distance, and the neighbours — the other open events nearby, by type — with Table A.1's sensitive
rows 1–3 kept from whoever may not see them: a sensitive neighbour's words (its description, number, type) never
reach them, not even as a point; those who may see it get it, and the read is recorded. Both databases.

Around the event E (A05, 新城社区, at the report's point): N1 A05 380 m away, S a 警情 (A03, sensitive) 150 m away, F
an A05 2.3 km away (beyond the 1,000 m), W an A05 120 m away but withdrawn (撤单: not open)."""
from __future__ import annotations

from sqlalchemy import select

from engine.store.models import Audit
from tests.web.client import REPORT
from tests.web.test_on_site import arrive, north
from tests.web.test_sensitive import staff3, web_session

SECRET = "邻里纠纷警情，线索人住三号楼"


def _at(lat, lng):
    return {**REPORT["location"], "lat": lat, "lng": lng}


def neighbourhood(api):
    e = api.report(description="地图样本 本事件")["id"]
    n1 = api.report(description="地图样本 附近占道", location=_at(27.5234, 120.6005))["id"]
    s = api.report(user="stationed1", source="committee_patrol", type_code="A03", description=SECRET,
                   location=_at(27.5213, 120.6005))["id"]
    f = api.report(description="地图样本 远处", location=_at(27.54, 120.61))["id"]
    w = api.report(description="地图样本 已撤单", location=_at(27.5210, 120.6003))["id"]
    api.withdraw("grid1", w)
    return e, n1, s, f, w


def kinds(body, kind):
    return [f for f in body["features"] if f["properties"]["kind"] == kind]


def test_the_map_has_the_boundary_the_point_the_check_in_and_the_open_neighbours_by_type(app, api):
    e, n1, s, f, w = neighbourhood(api)
    from tests.web.test_on_site import on_site_order
    on_site_order(api, e)
    arrive(api, e, north(120))                                  # 到场, 120 m north of the event

    r = api.get(f"/api/events/{e}/map", "staff1")            # a designated cadre: sees the 警情 too
    assert r.status_code == 200, r.json
    body = r.json
    [area] = kinds(body, "community")
    assert area["properties"]["name"] == "新城社区" and area["geometry"]["type"] == "Polygon"
    [point] = kinds(body, "event")
    assert point["geometry"]["coordinates"] == [REPORT["location"]["lng"], REPORT["location"]["lat"]]
    [check] = kinds(body, "arrival")
    assert abs(check["properties"]["distance_m"] - 120) < 0.5 and check["properties"]["far"] is False
    assert check["properties"]["unit_name"] == "执法局" and check["properties"]["person_name"] == "执法局 办事员"
    assert "person" not in check["properties"]                 # a name, never the login
    near = {p["properties"]["event_id"]: p["properties"] for p in kinds(body, "neighbour")}
    assert list(near) == [s, n1]                               # nearest first; not F (too far), not W (withdrawn)
    assert near[n1]["type_name"] == "市容环境卫生" and near[s]["type_name"] == "警情流转"
    assert 370 < near[n1]["distance_m"] < 395 and body["neighbours"] == 2 and body["radius_m"] == 1000
    assert near[s]["description"] == SECRET
    views = app.extensions["eventflow"].read(lambda session: [(a.actor, a.data["view"]) for a in session.scalars(
        select(Audit).where(Audit.event_id == s, Audit.action == "sensitive_viewed"))])
    assert ("staff1", "map_neighbours") in views               # the read is recorded, as any other

    page = web_session(app, "staff1").get(f"/events/{e}/map.json")      # the page's map: the same features
    assert page.status_code == 200 and page.json["features"] == body["features"]


def test_a_sensitive_neighbour_never_reaches_who_may_not_see_it(app, api):
    staff3(app)                                                # a cadre of 新城社区, not designated
    e, n1, s, f, w = neighbourhood(api)
    api.whistle_to(e)                                          # 执法局's clerk sees E through its order
    for user, expected in (("staff3", [n1]), ("grid1", [n1]), ("zhifa1", []), ("city1", [n1]),
                           ("stationed1", [s, n1])):
        r = api.get(f"/api/events/{e}/map", user)
        assert r.status_code == 200, (user, r.json)
        text = r.get_data(as_text=True)
        near = [p["properties"]["event_id"] for p in kinds(r.json, "neighbour")]
        assert near == expected, user
        if s not in expected:
            assert SECRET not in text and "警情" not in text and "A03" not in text, user
            assert str(r.json["neighbours"]) == str(len(expected))          # not even counted
            coordinates = [f["geometry"]["coordinates"] for f in r.json["features"]]
            assert [120.6005, 27.5213] not in coordinates, user         # not even a point
    page = web_session(app, "staff3").get(f"/events/{e}/map.json").get_data(as_text=True)
    assert SECRET not in page and "警情" not in page
    assert api.get(f"/api/events/{s}/map", "staff3").status_code == 404   # its own map: not theirs to see
    assert api.get(f"/api/events/{w}/map", "staff2").status_code == 404   # another community's event
