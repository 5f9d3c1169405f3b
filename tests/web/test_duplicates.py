"""合并 duplicates across channels through HTTP (issue #5, §5, §7.1): a citizen's Open311 report of the
same matter as a grid worker's open event is flagged for the registrar, who merges it or clears the
flag; a merged report's process ends (its work is cancelled) and it follows the surviving event — its
source hears the survivor's outcome, and Open311 shows the survivor's state. Real app and databases."""
from __future__ import annotations

from sqlalchemy import select

from engine.store.models import Notification
from tests.web.test_open311 import BASE, new_key, reported

NEAR = 0.0009    # about 100 m north


def notes_to(app, recipient):
    svc = app.extensions["eventflow"]
    return svc.read(lambda s: [n.message for n in s.scalars(select(Notification).where(
        Notification.recipient == recipient, Notification.kind == "outcome").order_by(Notification.id))])


def by_number(api, number, user="staff1"):
    r = api.get("/api/events", user, query_string={"number": number})
    assert r.status_code == 200 and r.json["total"] == 1, r.json
    return r.json["items"][0]


def merge(api, user, event_id, into, reason="同一占道经营问题", expect=200):
    r = api.post(f"/api/events/{event_id}/merge", user, json={"into": into, "reason": reason})
    assert r.status_code == expect, r.json
    return r.json


def test_a_citizens_report_of_an_open_matter_is_flagged_merged_and_follows_it(app, api):
    original = api.report()                                            # the grid worker's, on patrol
    citizen = reported(api, new_key(app), lat=str(27.52 + NEAR))       # 随手拍, 100 m away, same type
    dup = by_number(api, citizen["service_request_id"])
    assert dup["duplicate_of_id"] == original["id"]
    detail = api.event(dup["id"])
    assert detail["duplicate_of"]["number"] == original["number"] and 99 < detail["duplicate_of"]["distance_m"] < 101
    assert api.tasks("staff1", dup["id"])                              # its 核实 task waits for the registrar
    queue = api.get("/api/events", "staff1", query_string={"suspected_duplicate": "true"}).json
    assert [e["number"] for e in queue["items"]] == [dup["number"]]
    assert api.get("/api/events", "staff1", query_string={"suspected_duplicate": "yes"}).json["errors"][0]["field"] \
        == "suspected_duplicate"

    body = merge(api, "staff1", dup["id"], original["id"])
    assert (body["status"], body["status_name"], body["merged_into_id"]) == ("merged", "已合并", original["id"])
    assert "并入 " + original["number"] in body["status_reason"]
    assert api.tasks("staff1", dup["id"]) == []                        # its work is cancelled
    assert api.get("/api/events", "staff1", query_string={"suspected_duplicate": "true"}).json["items"] == []
    assert [m["number"] for m in api.event(original["id"])["merged_reports"]] == [dup["number"]]
    assert api.event(original["id"])["suspected_duplicates"] == []

    public = api.client.get(f"{BASE}/requests/{citizen['service_request_id']}.json").json[0]
    # the survivor's stage (engine/channels/stages.py)
    assert public["status"] == "open" and public["status_notes"].startswith(f"已并入 {original['number']} 办理：登记：")

    api.whistle_to(original["id"])
    api.close_whistle(original["id"])
    public = api.client.get(f"{BASE}/requests/{citizen['service_request_id']}.json").json[0]
    assert public["status"] == "closed" and "办结" in public["status_notes"]


def test_a_merged_grid_report_hears_the_survivors_outcome(app, api):
    original = api.report()
    second = api.report("committee1", source="committee_patrol", **{"location": {"lat": 27.52 + NEAR, "lng": 120.60,
                                                                       "address": "新城大道 90 号"}})
    assert second["duplicate_of_id"] == original["id"]
    merge(api, "staff1", second["id"], original["id"])
    assert any(f"{second['number']} 已合并：并入 {original['number']}" in m for m in notes_to(app, "committee1"))
    api.whistle_to(original["id"])
    api.close_whistle(original["id"])
    assert any(f"{second['number']}（已并入 {original['number']}）已办结" in m for m in notes_to(app, "committee1"))
    assert any(f"{original['number']} 已办结" in m for m in notes_to(app, "grid1"))


def test_the_registrar_may_clear_a_flag(api):
    original = api.report()
    again = api.report(**{"location": {"lat": 27.52 + NEAR, "lng": 120.60, "address": "新城大道 90 号"}})
    r = api.post(f"/api/events/{again['id']}/not-duplicate", "staff1", json={"reason": "是另一个摊点"})
    assert r.status_code == 200 and r.json["duplicate_of_id"] is None and r.json["duplicate_of"] is None
    assert api.event(original["id"])["suspected_duplicates"] == []
    r = api.post(f"/api/events/{again['id']}/not-duplicate", "staff1", json={"reason": "再次清除"})
    assert r.status_code == 409


def test_bad_merges_are_refused_naming_the_field(api):
    original = api.report()
    dup = api.report(**{"location": {"lat": 27.52 + NEAR, "lng": 120.60, "address": "新城大道 90 号"}})
    other_type = api.report(type_code="A06")
    r = api.post(f"/api/events/{dup['id']}/merge", "staff1", json={"reason": "x"})
    assert r.status_code == 422 and {e["field"] for e in r.json["errors"]} == {"into", "reason"}
    assert merge(api, "staff1", dup["id"], dup["id"], expect=422)["errors"][0]["field"] == "into"
    assert merge(api, "staff1", dup["id"], 999999, expect=422)["errors"][0]["field"] == "into"
    assert merge(api, "staff1", dup["id"], other_type["id"], expect=422)["errors"][0]["field"] == "into"
    assert merge(api, "grid1", dup["id"], original["id"], expect=403)["field"] == "role"
    assert merge(api, "staff2", dup["id"], original["id"], expect=404)["error"] == "not_found"   # not theirs to see
    merge(api, "staff1", dup["id"], original["id"])
    assert merge(api, "staff1", dup["id"], original["id"], expect=409)["event_status"] == "merged"
    third = api.report(**{"location": {"lat": 27.52 - NEAR, "lng": 120.60, "address": "新城大道 86 号"}})
    assert merge(api, "staff1", third["id"], dup["id"], expect=409)["field"] == "into"    # the merged one is gone
    assert api.event(third["id"])["status"] == "open"


def test_the_radius_and_window_settings_reach_the_engine():
    """EVENTFLOW_DUPLICATE_RADIUS_M / _WINDOW_H become the engine's duplicate window (web/services.py);
    tests/engine/test_duplicates.py shows the window deciding."""
    from datetime import timedelta

    from engine.core.config import Settings
    from web.services import Services
    settings = Settings.from_env(env={"EVENTFLOW_DUPLICATE_RADIUS_M": "50", "EVENTFLOW_DUPLICATE_WINDOW_H": "2"})
    services = Services.build(settings.__class__(**{**settings.__dict__, "database_url": "sqlite://"}))
    assert (services.env.duplicate_window.radius_m, services.env.duplicate_window.within) == (50, timedelta(hours=2))
    services.db.dispose()
