"""Bad input gets a clear error naming the field and reason, and loses nothing."""
from __future__ import annotations

from tests.web.client import REPORT


def test_a_bad_report_names_every_field(api):
    bad = {**REPORT, "source": "fax", "location": {"lat": 200, "address": ""}, "extra": 1}
    del bad["description"]
    r = api.post("/api/events", "grid1", json=bad)
    assert r.status_code == 422
    fields = {e["field"] for e in r.json["errors"]}
    assert {"source", "description", "location.lat", "location.lng", "location.address", "extra"} <= fields
    assert api.get("/api/events", "staff1").json["total"] == 0


def test_unknown_type_and_community_are_named(api):
    r = api.post("/api/events", "city1", json={**REPORT, "type_code": "Z99", "community": "atlantis"})
    assert r.status_code == 422
    assert {e["field"] for e in r.json["errors"]} == {"type_code", "community"}


def test_form_data_is_checked_against_the_form_and_its_catalog_choices(api):
    event = api.report()
    api.complete("staff1", event["id"], "verify", {"verdict": "accept"})
    api.complete("staff1", event["id"], "analyse", {"disposal": "whistle"})
    task = api.task("whistle1", event["id"], "issue_whistle")
    lead = task["form"]["properties"]["lead_department"]
    values = {o["const"] for o in lead["oneOf"]}
    assert {"zhifa", "gongan", "gongan.longgang_pcs"} <= values           # resolved from the catalog
    assert any(o["title"] == "公安局 / 龙港派出所" for o in lead["oneOf"])

    r = api.post(f"/api/tasks/{task['id']}/complete", "whistle1",
                 json={"lead_department": "nasa", "on_site": "yes"})
    assert r.status_code == 422
    errors = {e["field"]: e["reason"] for e in r.json["errors"]}
    assert set(errors) == {"lead_department", "on_site"}
    assert "choices" in errors["lead_department"]
    # nothing moved: the task is still ready for a correct submission
    api.complete("whistle1", event["id"], "issue_whistle", {"lead_department": "zhifa", "on_site": True})


def test_a_completed_task_gives_409(api):
    event = api.report()
    task = api.task("staff1", event["id"], "verify")
    ok = api.post(f"/api/tasks/{task['id']}/complete", "staff1", json={"verdict": "accept"})
    assert ok.status_code == 200
    again = api.post(f"/api/tasks/{task['id']}/complete", "staff1", json={"verdict": "accept"})
    assert again.status_code == 409 and again.json["task_id"] == task["id"]
    assert api.post("/api/tasks/no-such-task/complete", "staff1", json={}).status_code == 404


def test_non_json_bodies_are_refused_clearly(api):
    r = api.client.post("/api/events", headers=api.headers("grid1"), data="hello", content_type="text/plain")
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "(body)"
    r = api.client.post("/api/auth/token", json={"username": "grid1"})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "password"


def test_nan_and_infinity_are_refused_by_name(api):
    """Python's JSON reader takes NaN and Infinity; JSON has no such numbers and a stored instance
    would not give them back, so a form refuses them, naming the field."""
    event = api.report()
    api.whistle_to(event["id"], department="zhifa", on_site=True)
    api.complete("zhifa1", event["id"], "accept_whistle", {"decision": "accept"})
    task = api.task("zhifa1", event["id"], "arrive")
    r = api.post(f"/api/tasks/{task['id']}/complete", "zhifa1",
                 json={"arrival_location": {"lat": float("nan"), "lng": float("inf")},
                       "arrival_photo": api.photo("zhifa1", event["id"]), "on_spot": "solved"})
    assert r.status_code == 422
    fields = {e["field"] for e in r.json["errors"]}
    assert {"arrival_location.lat", "arrival_location.lng"} <= fields
    assert api.task("zhifa1", event["id"], "arrive")["id"] == task["id"]      # nothing moved


def test_a_report_without_a_usable_location_names_it(api):
    for location, field in ((None, "location"), ({"lat": "north", "lng": 120.6, "address": "新城大道"}, "location.lat"),
                            ({"lat": 27.52, "lng": 120.6}, "location.address")):
        r = api.post("/api/events", "grid1", json={**REPORT, "location": location})
        assert r.status_code == 422, location
        assert field in {e["field"] for e in r.json["errors"]}, r.json
    body = {k: v for k, v in REPORT.items() if k != "location"}
    r = api.post("/api/events", "grid1", json=body)
    assert r.status_code == 422 and "location" in {e["field"] for e in r.json["errors"]}
