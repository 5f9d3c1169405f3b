"""Tokens, catalogs for signed-in users, the simulated clock and the timer sweep (§8.3 limits)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy.event import listen, remove

from engine.core.clock import SimulatedClock
from engine.core.config import Settings
from tests.web.conftest import build_app


def test_every_api_call_needs_a_valid_token(api):
    assert api.client.get("/api/tasks").status_code == 401
    r = api.client.get("/api/tasks", headers={"Authorization": "Bearer nonsense"})
    assert r.status_code == 401 and r.json["error"] == "unauthorized"
    r = api.client.post("/api/auth/token", json={"username": "grid1", "password": "wrong-password"})
    assert r.status_code == 401 and r.json["field"] == "password"
    assert api.client.get("/api/health").status_code == 200


def test_tokens_expire(app, api):
    svc = app.extensions["eventflow"]
    wall = SimulatedClock(svc.env.wall_clock.now())
    svc.env.wall_clock = wall
    headers = api.headers("staff1")
    assert api.client.get("/api/tasks", headers=headers).status_code == 200
    wall.set(wall.now() + timedelta(seconds=svc.settings.token_ttl_seconds + 1))
    r = api.client.get("/api/tasks", headers=headers)
    assert r.status_code == 401 and "expired" in r.json["message"]


def test_a_token_check_is_its_one_select_and_no_transaction_of_its_own(app, api):
    """Every signed-in request checks its token (web/services.py `authenticate`): one SELECT of the token with its
    user. On SQLite it is sent alone, its own transaction, without a BEGIN or a session around it (they took half
    the check: the floor of bench/peer.py); on PostgreSQL it is the first statement of the request's unit."""
    svc = app.extensions["eventflow"]
    headers = api.headers("staff1")
    sent = []

    def statement_sent(conn, cursor, statement, parameters, context, executemany):
        sent.append(" ".join(statement.split()))
    listen(svc.db, "before_cursor_execute", statement_sent)
    try:
        r = api.client.get("/api/auth/me", headers=headers)
        refused = api.client.get("/api/auth/me", headers={"Authorization": "Bearer nonsense"})
    finally:
        remove(svc.db, "before_cursor_execute", statement_sent)
    assert r.status_code == 200 and r.json["username"] == "staff1"
    assert refused.status_code == 401
    checks = [i for i, statement in enumerate(sent) if "FROM auth_token" in statement]
    assert len(checks) == 2, sent                 # (a simulated clock's read, before each, is a read of its own)
    assert not [i for i in checks if sent[i - 1].startswith("BEGIN")], sent


def test_catalogs_are_served_to_any_signed_in_user(api):
    r = api.get("/api/catalogs/event_types", "grid1")
    assert r.status_code == 200 and len(r.json) == 30
    assert api.get("/api/catalogs/one_thing_matters", "zhifa1").status_code == 200
    r = api.get("/api/catalogs/nope", "grid1")
    assert r.status_code == 404 and r.json["field"] == "name"
    assert api.client.get("/api/catalogs/units").status_code == 401


def test_accept_timer_fires_at_30_minutes_and_records_overdue(api):
    event = api.report()
    api.whistle_to(event["id"], on_site=False)
    assert api.advance("PT29M")["fired"] == {}
    result = api.advance("PT2M")
    assert result["now"] == "2026-10-08T09:31:00+08:00"
    assert list(result["fired"].values()) == [["timer_accept"]]
    detail = api.event(event["id"])
    overdue = [a for a in detail["timeline"] if a["action"] == "overdue"]
    assert overdue and overdue[0]["at"] == "2026-10-08T09:30:00+08:00"   # fired at its own due time
    assert overdue[0]["data"]["stage"] == "accept"
    # machine-only branch: the department's task is still open, nothing new for humans
    assert [t["name"] for t in detail["open_tasks"]] == ["accept_whistle"]
    assert detail["status"] == "open"


def test_on_site_orders_get_one_hour_to_arrive_from_dispatch(api):
    """§8.3 (issue #19): the hour to arrive runs from the dispatch at 09:00, not from the acceptance at
    09:10 — the sweep fires 到场超时 just past 10:00 and records it at its own due time."""
    event = api.report()
    api.whistle_to(event["id"], on_site=True)
    api.advance("PT10M")
    api.complete("zhifa1", event["id"], "accept_whistle", {"decision": "accept"})   # §8.3: 30 min to accept
    assert api.advance("PT49M")["fired"] == {}
    result = api.advance("PT2M")
    assert result["now"] == "2026-10-08T10:01:00+08:00"
    assert list(result["fired"].values()) == [["timer_arrive"]]
    overdue = [a for a in api.event(event["id"])["timeline"] if a["action"] == "overdue"]
    assert [(a["data"]["stage"], a["at"]) for a in overdue] == [("arrive", "2026-10-08T10:00:00+08:00")]


def test_advance_is_refused_under_the_system_clock_and_checks_input(settings, api):
    r = api.post("/api/sim/advance", "admin1", json={"by": "soon"})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "by"
    r = api.post("/api/sim/advance", "admin1", json={"to": "2020-01-01T00:00:00+08:00"})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "to"
    assert api.post("/api/sim/advance", "grid1", json={"by": "PT1M"}).status_code == 403

    system = Settings.from_env(env={}, database_url=settings.database_url, clock="system", scrypt_n=1024)
    from tests.web.client import Api
    app = build_app(system)
    r = Api(app).post("/api/sim/advance", "admin1", json={"by": "PT1M"})
    assert r.status_code == 403 and r.json["field"] == "clock"


def test_simulated_time_survives_a_restart(settings, api):
    api.advance("PT3H")
    restarted = build_app(settings)
    assert restarted.extensions["eventflow"].clock.now().isoformat() == "2026-10-08T04:00:00+00:00"
