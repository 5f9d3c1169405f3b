"""The per-test databases of tests/conftest.py: a test that uses the `app` fixture starts from the session's
seeded state — what seeding in its own set-up gave — and on PostgreSQL, where one database serves every
test of the run, nothing a test wrote reaches the next."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from engine.store.models import ClockState, ProcessVersion, User
from tests.conftest import SIM_START, PgState, build_app, make_settings
from tests.web.client import Api
from engine.accounts.demo import DEMO_USERS

NEW_USER = {"username": "clerk9", "password": "another-password-9", "roles": ["department_staff"], "unit": "zhifa"}


def test_a_seeded_database_has_version_1_and_the_demo_users_and_no_saved_time(app, api):
    svc = app.extensions["eventflow"]
    versions = svc.read(lambda s: [(v.id, v.version, v.active, v.deployed_by, v.deployed_at)
                                   for v in s.scalars(select(ProcessVersion))])
    assert versions == [(1, 1, True, "test", datetime.fromisoformat(SIM_START))]
    users = svc.read(lambda s: [(u.id, u.username) for u in s.scalars(select(User).order_by(User.id))])
    assert users == [(number, row[0]) for number, row in enumerate(DEMO_USERS, start=1)]
    assert svc.read(lambda s: s.get(ClockState, 1)) is None
    assert svc.clock.now() == datetime.fromisoformat(SIM_START)
    api.headers("admin1")                                         # the password is PASSWORD
    assert api.post("/api/users", "admin1", json=NEW_USER).json["id"] == len(DEMO_USERS) + 1


def test_a_postgresql_database_is_put_back_whatever_a_test_wrote(pg_url, pg_states, tmp_path):
    url, problem = pg_url
    if problem:
        pytest.skip(problem)
    engine, states = pg_states
    states["seeded"].restore(engine)
    app = build_app(make_settings(url, tmp_path / "media"))
    api = Api(app)
    event = api.report()
    api.advance("PT2H")                                           # the simulated time is saved (ClockState)
    assert api.post("/api/users", "admin1", json=NEW_USER).status_code == 201
    assert PgState.of(engine) != states["seeded"]
    app.extensions["eventflow"].db.dispose()

    states["seeded"].restore(engine)
    assert PgState.of(engine) == states["seeded"]
    again = Api(build_app(make_settings(url, tmp_path / "media")))
    assert again.report()["id"] == event["id"]                    # the sequences went back too
    assert again.post("/api/users", "admin1", json=NEW_USER).json["id"] == len(DEMO_USERS) + 1
    again.app.extensions["eventflow"].db.dispose()

    states["bare"].restore(engine)
    bare = PgState.of(engine)
    assert not any(bare.rows.values())
    assert {(value, called) for _, value, called in bare.sequences} == {(1, False)}
