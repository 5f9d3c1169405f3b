"""SQLite writers take turns on a file lock beside the database (engine/store/db.py, issue #17): the turn is
held from BEGIN IMMEDIATE until COMMIT or ROLLBACK has been sent, let go when a connection breaks mid-way,
and a writer that cannot get it in time gets SQLite's own "database is locked", not a wait without end."""
from __future__ import annotations

import fcntl
import sqlite3

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from engine.store import db as store_db
from engine.store.db import make_engine


@pytest.fixture
def sqlite_file(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'w.sqlite3'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE x (n INTEGER)")
    yield engine, tmp_path / "w.sqlite3.writers.lock"
    engine.dispose()


def free(lock_path) -> bool:
    with open(lock_path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(handle, fcntl.LOCK_UN)
        return True


def test_the_turn_lasts_from_begin_to_the_commit_sent(sqlite_file):
    engine, lock = sqlite_file
    seen = []

    def next_writer(_conn):         # runs after the engine's own commit listener: the turn has passed
        other = sqlite3.connect(engine.url.database, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")     # the database is free at once: COMMIT went out first
            other.execute("ROLLBACK")
            seen.append("free")
        except sqlite3.OperationalError as err:
            seen.append(str(err))
        finally:
            other.close()
    event.listen(engine, "commit", next_writer)
    with Session(engine) as session:
        session.execute(text("INSERT INTO x VALUES (1)"))
        assert not free(lock)
        session.commit()
        assert free(lock)
    assert seen == ["free"]
    with Session(engine) as session:
        assert session.scalar(text("SELECT count(*) FROM x")) == 1


def test_a_connection_broken_mid_write_lets_go(sqlite_file):
    engine, lock = sqlite_file
    session = Session(engine)
    session.execute(text("INSERT INTO x VALUES (2)"))
    session.connection().invalidate()
    with pytest.raises(Exception):      # noqa: B017 - SQLAlchemy's "can't reconnect until rolled back", or none
        session.execute(text("SELECT 1"))
    session.rollback()
    session.close()
    assert free(lock)


def test_a_writer_that_waits_too_long_is_told_the_database_is_locked(sqlite_file, monkeypatch):
    engine, lock = sqlite_file
    monkeypatch.setattr(store_db, "WRITER_WAIT_S", 0.05)
    with open(lock, "a") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)          # another process's writer holds the turn
        with Session(engine) as session, pytest.raises(OperationalError, match="database is locked"):
            session.execute(text("INSERT INTO x VALUES (3)"))
    assert free(lock)
    with Session(engine) as session:
        session.execute(text("INSERT INTO x VALUES (4)"))
        session.commit()
