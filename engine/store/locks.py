"""Locks held across every process and thread on one database: PostgreSQL advisory locks on a connection
of their own, a file lock (flock) beside a SQLite file, a thread lock for an in-memory SQLite database.

`clock`: the simulated clock is moved by one POST /api/sim/advance at a time, in whichever process (a
gunicorn worker, another node) takes the request, and the worker's sweep waits meanwhile
(web/services.py). `worker`: on SQLite one `eventflow worker` only (on PostgreSQL several may run: the
timer rows are claimed with row locks, engine/runtime/sweep.py)."""
from __future__ import annotations

import fcntl
import threading
import zlib
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

CLOCK = "clock"
WORKER = "worker"
_in_memory: dict[str, threading.Lock] = {}
_in_memory_guard = threading.Lock()


@contextmanager
def exclusive(engine, name: str, wait: bool = True):
    """Hold the lock NAME of the database: yields True once held, or False at once when `wait` is False
    and another holds it (the body then runs without it, and should do nothing that needs it)."""
    if engine.dialect.name == "postgresql":
        with _advisory(engine, name, wait) as held:
            yield held
        return
    path = engine.url.database
    if not path or path == ":memory:":
        with _in_memory_guard:
            lock = _in_memory.setdefault(name, threading.Lock())
        held = lock.acquire(blocking=wait)
        try:
            yield held
        finally:
            if held:
                lock.release()
        return
    with open(f"{path}.{name}.lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            held = True
        except BlockingIOError:
            held = False
        try:
            yield held
        finally:
            if held:
                fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _advisory(engine, name: str, wait: bool):
    key = zlib.crc32(f"eventflow:{name}".encode())
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        if wait:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            held = True
        else:
            held = bool(conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}))
        try:
            yield held
        finally:
            if held:
                try:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                except DBAPIError:   # the connection is gone, and its session's locks with it
                    conn.invalidate()


def single_worker(engine):
    """Held by an `eventflow worker` for its life on SQLite (one only: yields False if another runs);
    on PostgreSQL always True (several workers, each timer fired once)."""
    if engine.dialect.name == "postgresql":
        return _always()
    return exclusive(engine, WORKER, wait=False)


@contextmanager
def _always():
    yield True


def for_transaction(session, name: str) -> None:
    """Hold the lock NAME until the session's transaction ends (PostgreSQL: a transaction advisory lock).
    SQLite needs none: its writers take the database's one write lock at BEGIN IMMEDIATE (engine/store/db.py)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(f"eventflow:{name}".encode())})
