"""Engine tests run the domain without Flask (issue #16): an `env` (engine/wiring.py `Environment`: the
catalogs, the handlers' default registry, a simulated clock) over the session's seeded template database
(tests/conftest.py: processes/ deployed, the demo users created), a session factory, and operations run as
web/units.py runs them — `run(op, *args, user=...)` commits one unit of work, `read(...)` commits nothing,
and `cmd(user)` is a Command (engine/core/command.py) on a session of its own for a quick look.

Nothing in tests/engine imports flask or web/ (test_layers.py checks it)."""
from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest
from sqlalchemy import select

from catalogs import load_catalogs
from engine.accounts.users import Principal, principal
from engine.core.clock import SimulatedClock, parse_instant
from engine.pool.photos import PhotoStore
from engine.store import uow
from engine.store.db import make_engine, make_session_factory
from engine.store.models import User
from engine.wiring import Environment
from handlers.registry import default_registry
from tests.conftest import SIM_START


@pytest.fixture
def clock():
    """Business time, moved only by the test (`clock.set(...)`): no test sleeps."""
    return SimulatedClock(parse_instant(SIM_START))


@pytest.fixture
def sessions(database_url, seeded):
    """A session factory on the test's own copy of the seeded template database."""
    db = make_engine(database_url)
    yield make_session_factory(db)
    db.dispose()


@pytest.fixture
def env(clock, tmp_path, seeded):
    return Environment(load_catalogs(), default_registry(), clock, photos=PhotoStore(tmp_path / "media"))


def load_user(session, username: str) -> Principal:
    """A demo user of the seeded database (engine/accounts/demo.py DEMO_USERS) as the engine sees it."""
    row = session.scalar(select(User).where(User.username == username))
    assert row is not None, f"no user {username!r} in the seeded database"
    return principal(row)


def _as(session, user):
    return load_user(session, user) if isinstance(user, str) else user


@pytest.fixture
def run(env, sessions):
    """`run(op, *args, user=None)`: `op(cmd, *args)` in one write unit of work (retried on a concurrent save),
    `user` a username of the seeded database, a Principal or None (the system's own jobs)."""
    def run(op, *args, user=None, **kwargs):
        return uow.run(sessions, lambda s: op(env.command(s, _as(s, user)), *args, **kwargs))
    return run


@pytest.fixture
def read(env, sessions):
    """`read(op, *args, user=None)`: `op(cmd, *args)` in one read-only unit of work."""
    def read(op, *args, user=None, **kwargs):
        return uow.read(sessions, lambda s: op(env.command(s, _as(s, user)), *args, **kwargs))
    return read


@pytest.fixture
def cmd(env, sessions):
    """`cmd(user=None)`: a Command on a session of its own (closed after the test); the test commits it
    if it writes."""
    opened = []

    def cmd(user=None):
        session = sessions()
        opened.append(session)
        return env.command(session, _as(session, user))
    yield cmd
    for session in opened:
        session.close()


#: ten simulated days of the city through the real engine (engine/simulation.py): reports from TEN_DAYS[1] on
#: with their §9 work — 督办, failed 核查, 到场 off site, 回访 with their ratings, returns, closed events whose
#: limits fell due on another day
TEN_DAYS = {"events": 24, "start": parse_instant("2026-10-01T00:00:00+08:00"),
            "end": parse_instant("2026-10-11T00:00:00+08:00"), "seed": 11}


@pytest.fixture(scope="session")
def _ten_days_made():
    """What `ten_simulated_days` made in this pytest process, per database: an SQLite file, or a PgState."""
    return {}


@pytest.fixture
def ten_simulated_days(database_url, sessions, env, seeded, _ten_days_made, tmp_path_factory):
    """The test's own database holding TEN_DAYS, simulated once per pytest process and database and then copied
    (SQLite: the file by SQLite's backup; PostgreSQL: every row and sequence, tests/conftest.py `PgState`), so
    the tests that read or change such a history do not each replay it (several seconds a replay, simulated
    the same way each time). The Outcome of the run."""
    from engine import simulation
    from tests.conftest import PgState
    kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    db = sessions.kw["bind"]
    if kind not in _ten_days_made:
        outcome = simulation.run(sessions, env, TEN_DAYS["events"], TEN_DAYS["start"], TEN_DAYS["end"],
                                 seed=TEN_DAYS["seed"], scrypt_n=1024)
        if kind == "sqlite":
            copy = tmp_path_factory.mktemp("ten_days") / "ten_days.sqlite3"
            with closing(sqlite3.connect(database_url.removeprefix("sqlite:///"))) as here, \
                    closing(sqlite3.connect(copy)) as there:
                here.backup(there)
            _ten_days_made[kind] = (copy, outcome)
        else:
            _ten_days_made[kind] = (PgState.of(db), outcome)
        return outcome
    made, outcome = _ten_days_made[kind]
    db.dispose()                            # no connection of the test's holds the database meanwhile
    if kind == "sqlite":
        with closing(sqlite3.connect(made)) as there, \
                closing(sqlite3.connect(database_url.removeprefix("sqlite:///"))) as here:
            there.backup(here)
    else:
        made.restore(db, as_replica=True)
    return outcome
