"""Units of work (engine/store/uow.py): on SQLite a reading unit takes a snapshot and no lock, so pages and
task lists are served while a writer holds the database (writers queue with BEGIN IMMEDIATE)."""
from __future__ import annotations

import shutil
import sqlite3
import threading

from sqlalchemy import func, select

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
