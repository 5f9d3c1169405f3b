"""Catalogs edited in the app (issue #6, engine/accounts/catalog_edits.py) through the HTTP API: a community's
whistle list (§7.3.2) and time limits (§8.1) by its own staff, the unit tree and supervisors, duty rosters
and the working calendar by a system administrator — validated with everything else in force, stored as
revisions, audited, used at once (routing reads them), and picked up by another app node. A refused
edit changes nothing. Both databases."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from engine.core.errors import Conflict

from tests.web.test_deadlines import advance_to, deadline, declared_difficult, now, told, whistle
from web.services import Services


def put(api, path, user, body, expect=200):
    r = api.client.put(path, headers=api.headers(user), json=body)
    assert r.status_code == expect, r.json
    return r.json


def community(api, code="lg-xincheng"):
    [found] = [f["properties"] for f in api.get("/api/catalogs/communities", "staff1").json["features"]
               if f["properties"]["code"] == code]
    return found


def test_a_communitys_staff_sets_its_time_limits_and_new_events_use_them(app, api):
    before = community(api)
    body = put(api, "/api/catalogs/communities/lg-xincheng", "staff1",
               {"time_limits": {**before["time_limits"], "A05": "PT1H"}})
    assert body["changed"] and body["summary"]["changed"] == ["lg-xincheng: time_limits"]
    assert community(api)["time_limits"]["A05"] == "PT1H"
    event = api.report(type_code="A05")                     # §8.1: the community's own limit for the type
    api.complete("staff1", event["id"], "verify", {"verdict": "accept"})
    api.complete("staff1", event["id"], "analyse", {"disposal": "cadre"})
    row = deadline(api, event["id"], "community_handle")
    assert row["rule"] == "PT1H"
    assert datetime.fromisoformat(row["due_at"]) - datetime.fromisoformat(row["started_at"]) == timedelta(hours=1)
    [revision] = api.get("/api/catalogs/communities/revisions", "admin1").json["items"]
    assert revision["actor"] == "staff1" and revision["summary"]["changed"] == ["lg-xincheng: time_limits"]
    assert len(revision["sha256"]) == 64
    # the same content again is no revision
    again = put(api, "/api/catalogs/communities/lg-xincheng", "staff1",
                {"time_limits": {**before["time_limits"], "A05": "PT1H"}})
    assert again == {"revision": None, "changed": False}


def test_a_whistle_list_naming_no_table_a1_row_or_a_limit_that_is_no_duration_is_refused(app, api):
    before = community(api)
    r = api.client.put("/api/catalogs/communities/lg-xincheng", headers=api.headers("staff1"),
                       json={"whistle_list": ["A05", "Z99"]})
    assert r.status_code == 422, r.json
    assert r.json["errors"][0]["field"] == "whistle_list[1]" and "Z99" in r.json["errors"][0]["reason"]
    r = api.client.put("/api/catalogs/communities/lg-xincheng", headers=api.headers("staff1"),
                       json={"time_limits": {"default": "2 hours"}})
    assert r.status_code == 422 and r.json["errors"][0]["field"].startswith("time_limits"), r.json
    r = api.client.put("/api/catalogs/communities/lg-xincheng", headers=api.headers("staff1"),
                       json={"name": "改名"})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "(body)", r.json
    assert community(api) == before                                      # nothing changed
    assert api.get("/api/catalogs/communities/revisions", "admin1").json["items"] == []


def test_only_the_communitys_own_staff_or_a_system_administrator_edits_it(app, api):
    for user in ("staff2", "grid1", "zhifa1", "city1"):
        r = api.client.put("/api/catalogs/communities/lg-xincheng", headers=api.headers(user),
                           json={"whistle_list": ["A05"]})
        assert r.status_code == 403, (user, r.json)
    put(api, "/api/catalogs/communities/lg-xincheng", "admin1", {"whistle_list": ["A05", "A07"]})
    assert community(api)["whistle_list"] == ["A05", "A07"]
    r = api.client.put("/api/catalogs/communities/nowhere", headers=api.headers("admin1"), json={"whistle_list": []})
    assert r.status_code == 404 and r.json["field"] == "community"
    r = api.client.put("/api/catalogs/units", headers=api.headers("staff1"), json=[])
    assert r.status_code == 403
    r = api.client.put("/api/catalogs/event_types", headers=api.headers("staff1"), json=[])
    assert r.status_code == 403                                   # Table A.1: a system administrator's (issue #19)
    r = api.client.put("/api/catalogs/roles", headers=api.headers("admin1"), json=[])
    assert r.status_code == 404 and r.json["field"] == "name"                 # the roles are the system's own


def test_a_supervisor_edited_in_the_app_is_the_one_told_of_a_miss(app, api):
    units = api.get("/api/catalogs/units", "admin1").json
    for unit in units:
        if unit["code"] == "zhifa":
            unit["supervisor"] = {"name": "周海明", "title": "副局长"}
    body = put(api, "/api/catalogs/units", "admin1", units)
    assert body["summary"] == {"added": [], "removed": [], "changed": ["zhifa"]}
    event = api.report()
    dispatched = whistle(api, event)
    advance_to(api, dispatched + timedelta(minutes=31))                 # 签收受理 missed (§8.3)
    assert any("周海明" in m for m in told(app, "zhifa", "supervise"))
    assert not any("李明华" in m for m in told(app, "zhifa", "supervise"))


def test_a_unit_still_in_use_cannot_be_removed_and_a_roster_names_active_users(app, api):
    units = api.get("/api/catalogs/units", "admin1").json
    r = api.client.put("/api/catalogs/units", headers=api.headers("admin1"),
                       json=[u for u in units if u["code"] != "zhifa"])
    assert r.status_code == 422, r.json
    assert any(e["field"] == "zhifa" or e["field"].startswith("zhifa") or "zhifa" in e["reason"]
               for e in r.json["errors"]), r.json
    rosters = api.get("/api/catalogs/duty_rosters", "admin1").json
    r = api.client.put("/api/catalogs/duty_rosters", headers=api.headers("admin1"),
                       json=[*rosters, {"unit": "zhifa", "date": "2026-10-17", "person": "nobody"}])
    assert r.status_code == 422 and r.json["errors"][0]["field"] == f"[{len(rosters)}].person", r.json
    body = put(api, "/api/catalogs/duty_rosters", "admin1",
               [*rosters, {"unit": "zhifa", "date": "2026-10-17", "person": "zhifa1", "note": "周六值班"}])
    assert body["summary"]["added"] == ["zhifa 2026-10-17"]
    assert api.get("/api/catalogs/units", "admin1").json == units            # the refused edit left it


def test_an_edited_calendar_moves_pending_working_day_deadlines(app, api):
    event = declared_difficult(api)                  # 5 working days: Wed 2026-10-14 17:30
    assert deadline(api, event["id"], "close_difficult")["due_at"] == "2026-10-14T17:30:00+08:00"
    calendar = api.get("/api/catalogs/calendar", "admin1").json
    national_day = [f"2026-10-0{d}" for d in (1, 2, 5, 6, 7)]        # the weekdays off (3rd, 4th: a weekend)
    calendar["years"] = {"2026": {"holidays": ["2026-01-01", *national_day, "2026-10-13"],
                                  "workdays": ["2026-10-10"]}}
    body = put(api, "/api/catalogs/calendar", "admin1", calendar)
    assert body["summary"]["added"] == ["2026"] and body["deadlines_moved"] == 1
    # Fri 9, Sat 10 (调休), Mon 12, Tue 13 now a holiday, Wed 14, Thu 15 → 17:30
    assert deadline(api, event["id"], "close_difficult")["due_at"] == "2026-10-15T17:30:00+08:00"
    bad = {**calendar, "office_hours": {"start": "18:00", "end": "08:30"}}
    r = api.client.put("/api/catalogs/calendar", headers=api.headers("admin1"), json=bad)
    assert r.status_code == 422 and "office_hours" in r.json["errors"][0]["field"], r.json


def overdue_notices(app, event_id, recipient):
    from sqlalchemy import select

    from engine.store.models import Notification
    svc = app.extensions["eventflow"]
    return svc.read(lambda s: [n.message for n in s.scalars(select(Notification).where(
        Notification.recipient == recipient, Notification.kind == "overdue", Notification.event_id == event_id))])


def duty_copies(app, event_id, person="zhifa1"):
    """The 【值班】 copies of overdue notices about one event that reached the person on duty."""
    return [m for m in overdue_notices(app, event_id, person) if m.startswith("【值班】")]


def overdue_accept_at(api, when: datetime) -> dict:
    """A whistle to zhifa dispatched at `when` whose 30-minute accept limit (§8.3, natural time) is missed."""
    advance_to(api, when)
    event = api.report()
    dispatched = whistle(api, event)
    advance_to(api, dispatched + timedelta(minutes=31))
    return event


def test_an_edited_calendar_decides_at_once_who_on_duty_is_told(app, api):
    """The duty-roster copy (值班表) follows the calendar as edited in the app, even after the outbox has
    read the calendar before: a normal Friday made a holiday is out of hours (the person on duty is told),
    a Sunday made a working day is not."""
    rosters = api.get("/api/catalogs/duty_rosters", "admin1").json   # zhifa1 is on duty Sun 2026-10-11
    put(api, "/api/catalogs/duty_rosters", "admin1", [*rosters, {"unit": "zhifa", "date": "2026-10-09",
                                                                 "person": "zhifa1"}])
    thursday = overdue_accept_at(api, now(api))                       # Thu 10-08, office hours: read the calendar
    assert overdue_notices(app, thursday["id"], "zhifa") and duty_copies(app, thursday["id"]) == []
    calendar = api.get("/api/catalogs/calendar", "admin1").json
    national_day = [f"2026-10-0{d}" for d in (1, 2, 5, 6, 7)]
    calendar["years"] = {"2026": {"holidays": ["2026-01-01", *national_day, "2026-10-09"],
                                  "workdays": ["2026-10-10", "2026-10-11"]}}
    put(api, "/api/catalogs/calendar", "admin1", calendar)
    friday = overdue_accept_at(api, datetime.fromisoformat("2026-10-09T10:00:00+08:00"))   # now a holiday
    assert overdue_notices(app, friday["id"], "zhifa")
    assert [m for m in duty_copies(app, friday["id"]) if "【红灯】" in m], overdue_notices(app, friday["id"], "zhifa1")
    sunday = overdue_accept_at(api, datetime.fromisoformat("2026-10-11T10:00:00+08:00"))   # now a working day
    assert overdue_notices(app, sunday["id"], "zhifa") and duty_copies(app, sunday["id"]) == []


def test_another_app_node_picks_up_an_edit(app, api, settings):
    other = Services.build(settings)                 # a second app node on the same database
    try:
        put(api, "/api/catalogs/communities/lg-xincheng", "staff1", {"whistle_list": ["A05"]})
        assert other.catalogs.community("lg-xincheng")["whistle_list"] != ["A05"]
        assert other.refresh_catalogs(force=True) is True
        assert other.catalogs.community("lg-xincheng")["whistle_list"] == ["A05"]
        assert other.refresh_catalogs(force=True) is False                   # nothing newer
        restarted = Services.build(settings)        # and a node that starts later loads it
        assert restarted.catalogs.community("lg-xincheng")["whistle_list"] == ["A05"]
        restarted.db.dispose()
    finally:
        other.db.dispose()
    assert now(api)   # the first node still answers


def test_an_edit_made_since_the_form_was_opened_is_not_overwritten(app, api):
    """Two cadres (or nodes) at once: the second, based on the revision before the first, gets 409; an edit
    of one community keeps another community's edit (it starts from the catalog in force, not memory)."""
    from engine.accounts import catalog_edits
    from engine.accounts.users import Principal
    svc = app.extensions["eventflow"]
    admin = Principal(0, "admin1", "admin1", frozenset({"system_admin"}), None, None)
    base = svc.read(lambda s: catalog_edits.newest_of(s, "communities"))
    put(api, "/api/catalogs/communities/lg-longgang", "staff2", {"whistle_list": ["A02"]})
    stale = svc.catalogs.get("communities")      # what a form opened before that edit would hold
    with pytest.raises(Conflict, match="刷新"):
        svc.edit_catalog(lambda s: catalog_edits.save_community(s, "lg-xincheng", {"whistle_list": ["A05"]}, admin,
                                                                svc.clock.now(), base=base))
    put(api, "/api/catalogs/communities/lg-xincheng", "staff1", {"whistle_list": ["A05"]})
    assert community(api, "lg-longgang")["whistle_list"] == ["A02"]          # the other edit kept
    assert community(api, "lg-xincheng")["whistle_list"] == ["A05"]
    assert stale


def test_a_disabled_user_on_the_roster_does_not_block_other_edits_and_limits_stay_within_a_year(app, api):
    rosters = api.get("/api/catalogs/duty_rosters", "admin1").json
    shijian = [u for u in api.get("/api/users", "admin1").json["items"] if u["username"] == "shijian1"][0]
    assert api.client.patch(f"/api/users/{shijian['id']}", headers=api.headers("admin1"),
                            json={"active": False}).status_code == 200
    put(api, "/api/catalogs/communities/lg-xincheng", "staff1", {"whistle_list": ["A05"]})   # not blocked
    body = put(api, "/api/catalogs/duty_rosters", "admin1", [*rosters, {"unit": "zhifa", "date": "2026-10-18",
                                                                        "person": "zhifa1"}])
    assert body["changed"]                                   # the old row naming shijian1 may stay
    r = api.client.put("/api/catalogs/communities/lg-xincheng", headers=api.headers("staff1"),
                       json={"time_limits": {"default": "PT100000000H"}})
    assert r.status_code == 422 and "year" in r.json["errors"][0]["reason"], r.json


def test_a_community_still_in_use_cannot_be_removed(app, api):
    document = api.get("/api/catalogs/communities", "admin1").json
    document["features"] = [f for f in document["features"] if f["properties"]["code"] != "lg-longgang"]
    r = api.client.put("/api/catalogs/communities", headers=api.headers("admin1"), json=document)
    assert r.status_code == 422 and any(e["field"] == "lg-longgang" for e in r.json["errors"]), r.json
