"""SQLite writers take turns on a file lock beside the database (engine/store/db.py, issue #17): the turn is
held from BEGIN IMMEDIATE until COMMIT or ROLLBACK has been sent, let go when a connection breaks mid-way,
and a writer that cannot get it in time gets SQLite's own "database is locked", not a wait without end. The
turns go in the order the writers came (engine/store/turns.py), and a ticket nobody takes up holds no one up
for long."""
from __future__ import annotations

import fcntl
import sqlite3
import threading

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from engine.store import db as store_db
from engine.store import turns
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


def test_writers_take_their_turns_in_the_order_they_came(sqlite_file, monkeypatch):
    """Six writers queue behind one holding the turn, each after the one before took its ticket: they write in
    that order (left to race for the lock, six would come out in this order once in 720 runs)."""
    engine, _lock = sqlite_file
    monkeypatch.setattr(turns, "STALL_S", 30)     # a slow turn on a busy box passes no one over (tested below)
    taken, real = threading.Semaphore(0), turns.take_ticket

    def take_ticket(queue):
        ticket = real(queue)
        taken.release()
        return ticket
    monkeypatch.setattr(turns, "take_ticket", take_ticket)

    def write(n):
        with Session(engine) as session:
            session.execute(text("INSERT INTO x VALUES (:n)"), {"n": n})
            session.commit()
    holder = Session(engine)
    holder.execute(text("INSERT INTO x VALUES (0)"))
    assert taken.acquire(timeout=10)
    writers = [threading.Thread(target=write, args=(n,)) for n in range(1, 7)]
    for writer in writers:
        writer.start()
        assert taken.acquire(timeout=10)         # its ticket taken before the next comes
    holder.commit()
    holder.close()
    for writer in writers:
        writer.join(timeout=30)
        assert not writer.is_alive()
    with Session(engine) as session:
        assert session.scalars(text("SELECT n FROM x ORDER BY rowid")).all() == [0, 1, 2, 3, 4, 5, 6]


class Clock:
    """The waiter's clock: its naps move it, nothing else does."""

    def __init__(self):
        self.now = 100.0

    def read(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_ticket_nobody_takes_up_is_passed_over_once_the_queue_stalls(tmp_path):
    queue = turns.open_queue(str(tmp_path / "d.sqlite3"))
    dead = turns.take_ticket(queue)                       # a writer that died while it waited
    clock, tried = Clock(), []
    ticket = turns.wait_turn(queue, lambda: tried.append(clock.now) or True, 30, clock=clock.read, sleep=clock.sleep)
    assert ticket == dead + 1
    assert len(tried) == 1 and tried[0] - 100.0 > turns.STALL_S    # not before the queue had stalled
    turns.served(queue, ticket)
    assert turns.serving(queue) == ticket + 1
    clock.now, tried = 500.0, []
    assert turns.wait_turn(queue, lambda: tried.append(clock.now) or True, 30, clock=clock.read,
                           sleep=clock.sleep) == ticket + 1
    assert tried == [500.0]                               # served at once: tried without a nap


def test_a_writer_that_gives_up_its_served_turn_passes_it_on(tmp_path):
    queue = turns.open_queue(str(tmp_path / "g.sqlite3"))
    clock = Clock()
    assert turns.wait_turn(queue, lambda: False, 0.05, clock=clock.read, sleep=clock.sleep) is None
    assert turns.serving(queue) == 1                      # the next ticket is served, not held up


def test_a_writer_that_gives_up_behind_others_serves_no_one_out_of_turn(tmp_path):
    queue = turns.open_queue(str(tmp_path / "b.sqlite3"))
    ahead = turns.take_ticket(queue)                      # served, its writer not yet at the lock
    clock = Clock()
    assert turns.wait_turn(queue, lambda: False, 0.05, clock=clock.read, sleep=clock.sleep) is None
    assert turns.serving(queue) == ahead                  # still the one ahead's turn


def test_a_busy_queue_gives_no_ticket_and_the_writer_races_as_before(tmp_path, monkeypatch):
    """The queue's own lock held elsewhere (a process stopped inside it): no wait without end for it."""
    queue = turns.open_queue(str(tmp_path / "q.sqlite3"))
    monkeypatch.setattr(turns, "QUEUE_WAIT_S", 0.001)
    with open(tmp_path / "q.sqlite3.writers.queue", "rb") as other:
        fcntl.flock(other, fcntl.LOCK_EX)
        clock, got = Clock(), []

        def writer():
            got.append(turns.wait_turn(queue, lambda: True, 30, clock=clock.read, sleep=clock.sleep))
            turns.served(queue, got[0])                   # nothing to serve, and no wait for the lock
            got.append("served")
        thread = threading.Thread(target=writer)
        thread.start()
        thread.join(timeout=10)                           # (a writer waiting on the queue's lock would hang here)
        assert got == [turns.NO_TICKET, "served"]
    assert turns.take_ticket(queue) == 0                  # the queue as it was


def test_a_writer_gives_up_on_what_the_queue_says_then_not_on_what_it_read(tmp_path):
    """The ticket ahead is served and done between the waiter's last look and its giving up: the waiter's own
    ticket, served by then, is passed on."""
    queue = turns.open_queue(str(tmp_path / "r.sqlite3"))
    ahead, clock = turns.take_ticket(queue), Clock()

    def read():
        if clock.now - 100.0 > 0.05 and turns.serving(queue) == ahead:
            turns.served(queue, ahead)                    # the one ahead finishes just then
        return clock.now
    assert turns.wait_turn(queue, lambda: False, 0.05, clock=read, sleep=clock.sleep) is None
    assert turns.serving(queue) == ahead + 2


def test_a_detached_connection_is_reset_without_an_error(sqlite_file, caplog):
    engine, lock = sqlite_file
    with caplog.at_level("ERROR", logger="sqlalchemy.pool"):
        connection = engine.connect()
        connection.connection.detach()
        connection.close()
    assert "Exception during reset" not in caplog.text
    assert free(lock)


def test_a_soft_invalidation_keeps_the_turn_to_the_commit(sqlite_file):
    engine, lock = sqlite_file
    with engine.connect() as connection:
        with connection.begin():
            connection.execute(text("INSERT INTO x VALUES (5)"))
            connection.connection.invalidate(soft=True)   # renewed when it goes back to the pool, not now
            assert not free(lock)
        assert free(lock)


def test_requests_leave_the_write_ahead_log_to_the_workers_checkpoint(sqlite_file):
    """A committing connection copies the WAL into the database only past WAL_PAGES (SQLite's own default is 1,000,
    paid by whichever request's COMMIT crosses it); `checkpoint`, `eventflow worker`'s job every second, copies it
    all without waiting for anyone, and says how much it copied. Nothing for an in-memory database."""
    engine, _ = sqlite_file
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == store_db.WAL_PAGES > 1000
    for n in range(1200):        # more commits than SQLite's default would let by without a checkpoint
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO x VALUES (:n)"), {"n": n})
    [done] = store_db.checkpoint(store_db.make_session_factory(engine))
    assert done["wal_pages"] >= 1200 and done["copied"] == done["wal_pages"]   # none copied on the requests' path
    with engine.connect() as conn:                             # the next writer starts the log again from its head
        conn.exec_driver_sql("INSERT INTO x VALUES (-1)")
        conn.commit()
    [again] = store_db.checkpoint(store_db.make_session_factory(engine))
    assert again["wal_pages"] < 10 and again["copied"] == again["wal_pages"]
    memory = make_engine("sqlite://")
    assert store_db.checkpoint(store_db.make_session_factory(memory)) == []
    memory.dispose()


def test_there_is_no_log_to_copy_on_postgresql(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's own checkpoints need no help")
    engine, sent = make_engine(database_url), []
    event.listen(engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
    assert store_db.checkpoint(store_db.make_session_factory(engine)) == [] and sent == []
    engine.dispose()
