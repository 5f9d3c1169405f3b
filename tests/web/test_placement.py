"""分拨定位 (issue #5, §7.1): a report that gives an address but no coordinates is registered and then
placed on the map by a registrar — the community's staff when it came to a community's pool, the city's
社会治理中心 when a citizen's hotline report named no community. The point then decides whose it is
(属地), as at registration. Real app, databases and BPMN; the clock is the simulated one."""
from __future__ import annotations

import prcoords

from tests.web.client import REPORT
from tests.web.test_open311 import BASE, assert_error, event_count, new_key, submit

ADDRESS_ONLY = {**REPORT, "location": {"address": "新城大道与世纪大道交叉口东北角"}}
XINCHENG, LONGGANG = (27.52, 120.60), (27.58, 120.60)


def place(api, user, event_id, task, lat, lng, expect=200, **extra):
    return api.complete(user, event_id, task, {"place_lat": lat, "place_lng": lng, **extra}, expect=expect)


def test_an_address_only_report_is_placed_by_the_communitys_registrar(api):
    r = api.post("/api/events", "grid1", json=ADDRESS_ONLY)
    assert r.status_code == 201, r.json
    event = r.json
    assert event["location"] == {"lat": None, "lng": None, "address": ADDRESS_ONLY["location"]["address"]}
    assert event["community"] == "lg-xincheng" and event["stage"] == "分拨定位"
    assert "awaiting_placement" in [t["action"] for t in api.event(event["id"])["timeline"]]
    assert [t["name"] for t in api.tasks("grid1", event["id"])] == []          # a registrar's task, not the reporter's

    place(api, "staff1", event["id"], "place_in_community", *XINCHENG, place_address="新城大道 90 号")
    placed = api.event(event["id"])
    assert placed["location"] == {"lat": 27.52, "lng": 120.60, "address": "新城大道 90 号"}
    assert placed["community"] == "lg-xincheng" and placed["stage"] == "核实"
    assert api.task("staff1", event["id"], "verify")                          # Figure 1 goes on as usual


def test_a_point_in_another_community_moves_the_event_to_its_pool(api):
    event = api.post("/api/events", "grid1", json=ADDRESS_ONLY).json
    place(api, "staff1", event["id"], "place_in_community", *LONGGANG)
    moved = api.event(event["id"], user="staff2")
    assert moved["community"] == "lg-longgang"
    routed = [t for t in moved["timeline"] if t["action"] == "jurisdiction_routed"]
    assert routed and routed[0]["data"]["sent_to"] == "lg-xincheng"
    assert api.task("staff2", event["id"], "verify") and api.tasks("staff1", event["id"]) == []


def test_map_coordinates_are_converted_and_a_point_outside_every_community_is_refused(api):
    event = api.post("/api/events", "grid1", json=ADDRESS_ONLY).json
    r = place(api, "staff1", event["id"], "place_in_community", 27.0, 120.0, expect=422)
    assert r["errors"][0]["field"] == "place_lat" and "不在任何社区" in r["errors"][0]["reason"]
    assert api.event(event["id"])["location"]["lat"] is None                  # nothing changed
    gcj = prcoords.wgs_gcj(prcoords.Coords(*XINCHENG))
    place(api, "staff1", event["id"], "place_in_community", gcj.lat, gcj.lon, place_crs="gcj02")
    location = api.event(event["id"])["location"]
    assert abs(location["lat"] - 27.52) < 1e-5 and abs(location["lng"] - 120.60) < 1e-5


def test_half_a_coordinate_is_refused_naming_the_missing_one(api):
    r = api.post("/api/events", "grid1", json={**REPORT, "location": {"lat": 27.52, "address": "新城大道"}})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "location.lng"


def test_a_hotline_report_with_only_an_address_is_placed_by_the_city(app, api):
    key = new_key(app, "hotline_12345")
    r = submit(api, key, lat=None, long=None, address_string="龙港市新城大道 88 号北侧人行道")
    assert r.status_code == 201, r.data.decode()
    receipt = r.json[0]
    assert "市社会治理中心" in receipt["service_notice"] and "分拨" in receipt["service_notice"]
    number = receipt["service_request_id"]
    public = api.client.get(f"{BASE}/requests/{number}.json").json[0]
    assert public["agency_responsible"] == "市社会治理中心" and public["lat"] is None
    found = api.get("/api/events", "city1", query_string={"number": number}).json["items"][0]
    assert found["community"] is None
    assert api.get("/api/events", "staff1", query_string={"number": number}).json["total"] == 0   # no pool yet
    assert api.event(found["id"], user="city1")["contact_masked"] is False      # the city may call to place it

    place(api, "city1", found["id"], "place_by_city", *XINCHENG)
    assert api.event(found["id"])["community"] == "lg-xincheng"
    assert api.event(found["id"], user="city1")["contact_masked"] is True       # in a pool: its community's
    assert api.event(found["id"], user="staff1")["contact_masked"] is False
    assert api.task("staff1", found["id"], "verify")
    public = api.client.get(f"{BASE}/requests/{number}.json").json[0]
    assert public["agency_responsible"] == "新城社区"
    assert public["status_notes"] == "分拨定位：已定位至新城社区，待核实（§7.1）"   # its latest stage (engine/channels/stages.py)


def test_open311_still_wants_a_place(app, api):
    key = new_key(app)
    assert_error(submit(api, key, lat=None, long=None, address_string=None), 400, "lat")
    assert_error(submit(api, key, long=None), 400, "long")                   # half a point is not an address
    assert event_count(app) == 0


def test_once_placed_a_report_may_be_flagged_as_a_duplicate(api):
    original = api.report()
    event = api.post("/api/events", "grid1", json=ADDRESS_ONLY).json
    assert event["duplicate_of_id"] is None                                   # nothing to compare without a place
    place(api, "staff1", event["id"], "place_in_community", 27.5205, 120.60)  # about 55 m from the original
    assert api.event(event["id"])["duplicate_of"]["number"] == original["number"]
