"""Registration from staff (§5.1, §5.2) through POST /api/events (engine/pool/intake.py): idempotency keys,
coordinates converted to WGS-84, jurisdiction by the community boundary (§7.1 属地)."""
from __future__ import annotations

import prcoords
import pytest
from sqlalchemy import func, select
from sqlalchemy.event import listen, remove

from engine.accounts import privacy
from engine.accounts.users import principal
from engine.core.errors import NotFound
from engine.pool import reading, registration
from engine.store import uow
from engine.store.models import Audit, Event, User
from tests.web.client import REPORT

#: a point of 龙港社区 40 m north of its boundary with 新城社区; its GCJ-02 reading lies ~300 m south,
#: in 新城社区: read as if it were WGS-84 it would land in the wrong community
LONGGANG_WGS = (27.5500, 120.6000)


def count_events(app) -> int:
    svc = app.extensions["eventflow"]
    return svc.read(lambda s: s.scalar(select(func.count()).select_from(Event)))


def stored(app, event_id) -> Event:
    svc = app.extensions["eventflow"]
    return svc.read(lambda s: s.get(Event, event_id))


def test_a_retry_with_the_same_idempotency_key_returns_the_same_event(app, api):
    headers = {**api.headers("grid1"), "Idempotency-Key": "phone-7f3a-0001"}
    first = api.client.post("/api/events", headers=headers, json=REPORT)
    assert first.status_code == 201, first.json
    before = count_events(app)
    again = api.client.post("/api/events", headers=headers, json={**REPORT, "description": "重发"})
    assert again.status_code == 200 and again.json["id"] == first.json["id"]
    assert again.json["description"] == REPORT["description"]              # the first one, unchanged
    assert again.headers["Location"] == f"/api/events/{first.json['id']}"
    assert count_events(app) == before
    assert len([t for t in api.tasks("staff1", first.json["id"]) if t["name"] == "verify"]) == 1   # one process


def test_source_ref_is_the_key_without_a_header_and_keys_belong_to_their_sender(app, api):
    first = api.report(source_ref="巡查日志-0815")
    r = api.post("/api/events", "grid1", json={**REPORT, "source_ref": "巡查日志-0815"})
    assert r.status_code == 200 and r.json["id"] == first["id"]
    other = api.report("staff1", source="committee_patrol", source_ref="巡查日志-0815")   # another sender's key
    assert other["id"] != first["id"]
    r = api.post("/api/events", "grid1", json={**REPORT, "source_ref": "x" * 201})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "source_ref"


def test_a_reports_answer_is_read_in_the_unit_that_starts_its_process(app, api):
    """The short answer is read in the unit that started the process (web/services.py `start_process`): one unit
    fewer than storing, starting and reading. The whole event, a read several times longer, is read in a unit of its
    own, so that no write lock is held for it (SQLite's: one writer at a time). A retry of a report already started
    starts nothing: its answer is read in a unit of its own, and is the same."""
    svc = app.extensions["eventflow"]
    units = []

    def began(connection):
        units.append(1)
    listen(svc.db, "begin", began)
    try:
        for prefer in ("return=minimal", None):
            headers = {**api.headers("grid1"), "Idempotency-Key": f"one-unit-fewer-{prefer}",
                       **({"Prefer": prefer} if prefer else {})}
            units.clear()
            first = api.client.post("/api/events", headers=headers, json=REPORT)
            started = len(units)
            assert first.status_code == 201 and [t["name"] for t in first.json["open_tasks"]] == ["verify"], first.json
            units.clear()
            again = api.client.post("/api/events", headers=headers, json=REPORT)
            assert again.status_code == 200 and again.json == first.json
            # the shared clock read (the simulated one, kept in the database), the token checked (in a read of its
            # own on SQLite; on PostgreSQL it begins the next unit), the report stored, its process started and the
            # answer read; the retry: the clock, the token, the report found, its start found done, its answer read
            sqlite, short = svc.db.dialect.name == "sqlite", prefer is not None
            assert (started, len(units)) == (4 + sqlite - short, 4 + sqlite), prefer
    finally:
        remove(svc.db, "begin", began)


def test_the_short_answer_is_one_read_of_the_event_with_its_open_tasks(app, api):
    """The short answer (`Prefer: return=minimal`) asks once whether the reporter may see the event, with its open
    tasks in the same statement, and takes the event the start's unit holds (engine/pool/reading.py `event_brief`);
    an event the user may not see is refused as not found."""
    svc = app.extensions["eventflow"]
    sent = []

    def statement_sent(conn, cursor, statement, parameters, context, executemany):
        sent.append(" ".join(statement.split()))
    listen(svc.db, "before_cursor_execute", statement_sent)
    try:
        r = api.client.post("/api/events", headers={**api.headers("grid1"), "Prefer": "return=minimal"}, json=REPORT)
    finally:
        remove(svc.db, "before_cursor_execute", statement_sent)
    assert r.status_code == 201 and [t["name"] for t in r.json["open_tasks"]] == ["verify"]
    started = max(i for i, statement in enumerate(sent) if statement.startswith("INSERT INTO process_instance"))
    after = [statement for statement in sent[started:] if statement.startswith("SELECT")]
    assert len(after) == 1 and "work_item" in after[0], after       # no event read again, no second read of its tasks

    def brief_for(username):       # 龙港社区's staff do not see 新城社区's event: refused as not there
        return lambda s: reading.event_brief(svc.command(s, principal(s.scalar(select(User).where(
            User.username == username)))), r.json["id"])
    assert svc.read(brief_for("grid1")) == r.json
    with pytest.raises(NotFound):
        svc.read(brief_for("staff2"))


def test_a_point_in_another_communitys_area_goes_to_that_pool_audited(app, api):
    """A grid worker of 新城社区 reports a point inside 龙港社区: 龙港's staff verify it (§7.1 属地)."""
    event = api.report(location={"lat": 27.58, "lng": 120.60, "address": "龙港大道"})
    assert event["community"] == "lg-longgang"
    assert [t["name"] for t in api.tasks("staff2", event["id"])] == ["verify"]
    assert api.tasks("staff1", event["id"]) == []
    [routed] = [e for e in event["timeline"] if e["action"] == "jurisdiction_routed"]
    assert routed["data"]["sent_to"] == "lg-xincheng" and routed["data"]["community"] == "lg-longgang"
    assert api.event(event["id"], user="grid1")["id"] == event["id"]       # the reporter still follows it


def test_a_point_in_no_community_is_refused_with_the_reason_and_nothing_is_stored(app, api):
    before = count_events(app)
    r = api.post("/api/events", "grid1", json={**REPORT, "location": {"lat": 28.0, "lng": 120.67, "address": "温州"}})
    assert r.status_code == 422
    [error] = r.json["errors"]
    assert error["field"] == "location" and "不在任何社区辖区内" in error["reason"]
    assert count_events(app) == before


def test_gcj02_input_is_converted_and_lands_in_the_right_community(app, api):
    true_lat, true_lng = LONGGANG_WGS
    gcj = prcoords.wgs_gcj(prcoords.Coords(true_lat, true_lng))
    sent = {"lat": gcj.lat, "lng": gcj.lon, "address": "龙港大道南段", "crs": "gcj02"}
    event = api.report("staff2", source="committee_patrol", community="lg-longgang", location=sent)
    assert event["community"] == "lg-longgang"
    row = stored(app, event["id"])
    here = prcoords.Coords(row.lat, row.lng)
    assert here.distance(prcoords.Coords(true_lat, true_lng)) < 1.0       # metres: stored as WGS-84
    assert row.received_crs == "gcj02"
    [reported] = [e for e in event["timeline"] if e["action"] == "reported"]
    assert reported["data"]["location"]["lat"] == gcj.lat                   # the audit keeps what was sent
    # the same numbers taken for WGS-84 lie in 新城社区: this is the shift the conversion prevents
    misread = api.report("staff2", source="committee_patrol", community="lg-longgang",
                         location={"lat": gcj.lat, "lng": gcj.lon, "address": "龙港大道南段"})
    assert misread["community"] == "lg-xincheng"


def test_bd09_is_converted_too_and_an_unknown_system_is_refused(app, api):
    true_lat, true_lng = 27.52, 120.60
    bd = prcoords.wgs_bd(prcoords.Coords(true_lat, true_lng))
    event = api.report(location={"lat": bd.lat, "lng": bd.lon, "address": "新城大道", "crs": "bd09"})
    row = stored(app, event["id"])
    assert prcoords.Coords(row.lat, row.lng).distance(prcoords.Coords(true_lat, true_lng)) < 1.0
    r = api.post("/api/events", "grid1", json={**REPORT, "location": {**REPORT["location"], "crs": "utm"}})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "location.crs"


def test_the_reporters_contact_is_stored_with_the_event(app, api):
    event = api.report(reporter_contact={"name": "王先生", "phone": "13800000000"})
    assert stored(app, event["id"]).reporter_contact == {"name": "王先生", "phone": "13800000000"}
    r = api.post("/api/events", "grid1", json={**REPORT, "reporter_contact": {"phone": "call me"}})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "reporter_contact.phone"


def test_the_community_defaults_to_the_reporters_own(app, api):
    body = {k: v for k, v in REPORT.items() if k != "community"}
    r = api.post("/api/events", "grid1", json=body)
    assert r.status_code == 201 and r.json["community"] == "lg-xincheng"
    r = api.post("/api/events", "city1", json=body)                    # a city user belongs to no community
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "community"


# -- a crash after acceptance loses nothing (issue #5) -----------------------------------------------
def stored_but_not_started(app, key=None):
    """What a request leaves behind when the app stops right after committing the submission: the
    event is stored (its own unit of work), its process never started."""
    from engine.accounts import users
    from engine.store.models import User
    svc = app.extensions["eventflow"]
    grid = svc.read(lambda s: users.principal(s.scalar(select(User).where(User.username == "grid1"))))
    event, created = svc.store_submission(lambda s: registration.report(svc.command(s, grid), REPORT, key))
    assert created
    return event


def test_a_submission_whose_process_never_started_is_started_by_the_sweep(app, api):
    event = stored_but_not_started(app)
    detail = api.event(event.id)
    assert detail["process"] is None and detail["open_tasks"] == []
    assert api.advance("PT59S")["started"] == []               # inside the grace: a request may be starting it
    assert api.advance("PT2S")["started"] == [event.id]
    assert api.task("staff1", event.id, "verify")               # 核实 waits, as for any report
    assert api.advance("PT2M")["started"] == []                 # once


def test_a_retry_of_a_submission_that_stopped_before_its_start_starts_it(app, api):
    event = stored_but_not_started(app, key="phone-crash-0001")
    headers = {**api.headers("grid1"), "Idempotency-Key": "phone-crash-0001"}
    retry = api.client.post("/api/events", headers=headers, json=REPORT)
    assert retry.status_code == 200 and retry.json["id"] == event.id
    assert [t["name"] for t in retry.json["open_tasks"]] == ["verify"]
    again = api.client.post("/api/events", headers=headers, json=REPORT)
    assert again.status_code == 200 and again.json["process"]["instance_id"] == retry.json["process"]["instance_id"]   # one process


def test_an_answer_that_fails_in_the_start_unit_neither_undoes_the_start_nor_fails_it(app, api):
    """The answer read in the start's unit (web/services.py `start_process`, engine/store/uow.py `read_after`) may
    be refused (a domain error) or fail (a fault in the reading code): the process stays started — the event is
    not marked `error`, its first task waits — what the answer noted is dropped (the caller's own read notes it),
    and the caller is told nothing was read (None), to read the answer in a unit of its own."""
    svc = app.extensions["eventflow"]

    def refused(session):
        raise NotFound("这个回答不给看 (the answer is refused)")

    def faulty(session):
        uow.note(session, privacy.record, {"at": svc.env.clock.now(), "actor": "grid1", "event_id": event.id,
                                           "where": "api"})
        raise KeyError("a fault of the reading code")
    for answer in (refused, faulty):
        event = stored_but_not_started(app)
        assert svc.start_process(event.id, "grid1", answer) is None
        assert stored(app, event.id).status == "open" and stored(app, event.id).error is None
        assert api.task("staff1", event.id, "verify")
        assert svc.read(lambda s: s.scalar(select(func.count()).select_from(Audit).where(
            Audit.event_id == event.id, Audit.action == "sensitive_viewed"))) == 0
        assert svc.start_process(event.id, "grid1", lambda session: "read") is None   # started already: nothing read


def test_a_client_that_prefers_the_short_answer_gets_the_number_and_open_tasks(app, api):
    """`Prefer: return=minimal` (RFC 7240; engine/pool/reading.py `event_brief`): 201 with the event's id,
    number, status and open tasks — the same tasks the whole event lists — and `Preference-Applied`; a retry
    with the same key answers 200 the same way; without the preference, or with another, the whole event."""
    short = {**api.headers("grid1"), "Prefer": 'respond-async, return = "minimal"', "Idempotency-Key": "phone-short-1"}
    first = api.client.post("/api/events", headers=short, json=REPORT)
    assert first.status_code == 201 and first.headers["Preference-Applied"] == "return=minimal"
    whole = api.get(f"/api/events/{first.json['id']}", "grid1").json
    assert first.json == {"id": whole["id"], "number": whole["number"], "status": "open", "error": None,
                          "open_tasks": whole["open_tasks"]}
    assert [t["name"] for t in first.json["open_tasks"]] == ["verify"]
    again = api.client.post("/api/events", headers=short, json=REPORT)
    assert again.status_code == 200 and again.json == first.json and again.headers["Location"] == first.headers["Location"]

    for prefer in (None, "return=representation", "return=minimal-ish", "return=\u00e9", "return=representation, return=minimal",
                   'foo="a, return=minimal"'):
        headers = {**api.headers("grid1"), **({"Prefer": prefer} if prefer else {})}
        full = api.client.post("/api/events", headers=headers, json=REPORT)
        assert full.status_code == 201 and "timeline" in full.json and "Preference-Applied" not in full.headers, prefer
