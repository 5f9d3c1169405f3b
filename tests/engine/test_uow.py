"""Units of work (engine/store/uow.py): on SQLite a reading unit takes a snapshot and no lock, so pages and
task lists are served while a writer holds the database (writers queue with BEGIN IMMEDIATE)."""
from __future__ import annotations

import shutil
import sqlite3
import threading

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import sessionmaker

from engine.store import uow
from engine.store.db import make_engine, make_session_factory
from engine.store.models import Audit


def test_a_read_is_served_while_a_writer_holds_the_database(sqlite_template, tmp_path):
    path = tmp_path / "eventflow.sqlite3"
    shutil.copy(sqlite_template, path)
    db = make_engine(f"sqlite:///{path}")
    factory = make_session_factory(db)
    uow.run(factory, lambda s: s.add(Audit(at=func.now(), actor="a", action="before")))

    writer = sqlite3.connect(path, isolation_level=None, timeout=0)
    writer.execute("BEGIN IMMEDIATE")                     # holds the write lock, uncommitted
    writer.execute("INSERT INTO audit (at, actor, action) VALUES ('2026-10-08 01:00:00', 'b', 'during')")
    seen = []
    reader = threading.Thread(target=lambda: seen.append(
        uow.read(factory, lambda s: s.scalar(select(func.count(Audit.id))))))
    reader.start()
    reader.join(timeout=20)          # a read that queued for the lock would wait the busy timeout (30 s)
    try:
        assert seen == [1]           # served at once, from the committed snapshot
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        reader.join()
        db.dispose()


def _prepared_on_server(session) -> int:
    return session.scalar(text("SELECT count(*) FROM pg_prepared_statements"))


def test_a_read_keeps_the_prepared_statements_and_commits_nothing(database_url):
    """On PostgreSQL a read that wrote nothing ends with COMMIT, not ROLLBACK, at which psycopg forgets (and
    deallocates) every statement it prepared, so each request's statements would be planned afresh (issue
    #17: bench/throughput.py); what a read did write is still rolled back."""
    if not database_url.startswith("postgresql"):
        pytest.skip("psycopg's prepared statements: PostgreSQL only")
    db = make_engine(database_url)
    factory = sessionmaker(bind=db, expire_on_commit=False)
    try:
        count = select(func.count(Audit.id)).where(Audit.actor == "x")
        for _ in range(6):          # psycopg prepares a statement once it has run five times on a connection
            uow.read(factory, lambda s: s.scalar(count))
        assert uow.read(factory, _prepared_on_server) >= 1           # still prepared after six reads

        def writes(session):
            session.execute(insert(Audit).values(at=func.now(), actor="x", action="read_that_wrote"))
            return _prepared_on_server(session)
        uow.read(factory, writes)
        assert uow.read(factory, lambda s: s.scalar(count)) == 0        # a write in a read: rolled back
        assert uow.read(factory, lambda s: s.add(Audit(at=func.now(), actor="x", action="orm")) or 0) == 0
        assert uow.read(factory, lambda s: s.scalar(count)) == 0
    finally:
        db.dispose()
