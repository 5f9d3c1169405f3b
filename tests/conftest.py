"""Shared fixtures. Every database test runs twice: on SQLite (a file per test) and on the real
PostgreSQL server at 127.0.0.1:5432 (skipped, with the reason printed, only if none answers)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from engine.config import Settings
from engine.db import init_db, make_engine
from engine.models import Base

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = ROOT / "processes"
SIM_START = "2026-10-08T09:00:00+08:00"
PASSWORD = "test-password-1"
PG_URL = os.environ.get("EVENTFLOW_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_problem() -> str | None:
    try:
        with create_engine(PG_URL).connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as err:  # noqa: BLE001
        return f"no PostgreSQL server answers at {PG_URL}: {type(err).__name__}"
    return None


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_url():
    """A database of this test run's own on the PostgreSQL server (runs in parallel never meet),
    created from the server's `test` database and dropped at the end. None (with the reason) if no
    server answers."""
    problem = _pg_problem()
    if problem:
        yield None, problem
        return
    name = f"eventflow_test_{os.getpid()}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    init_db(engine)
    engine.dispose()
    yield url, None
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "eventflow.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url, problem = request.getfixturevalue("pg_url")
    if problem:
        pytest.skip(problem)
    engine = make_engine(url)
    with engine.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()
    yield url


@pytest.fixture
def settings(database_url, tmp_path):
    """An app's settings: a fresh database, a simulated clock and a media directory of the test's own."""
    return Settings.from_env(env={}, database_url=database_url, clock="simulated", sim_start=SIM_START,
                             scrypt_n=1024, media_dir=str(tmp_path / "media"))
