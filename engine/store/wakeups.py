"""Waking this process's live streams when the live feed grows (issue #18). One `Wakeups` per app process:
its streams wait on it, and one thread watches the database for all of them —

- PostgreSQL: a connection of its own that LISTENs on `eventflow_live`. The feed's triggers NOTIFY in the
  writer's own transaction (migration 0029) and the server delivers it at commit to every listener, so a
  change made through any app node wakes the streams of every node.
- SQLite (one box): a read of the newest feed id every `poll_seconds` (EVENTFLOW_LIVE_POLL_MS), on the primary
  key's index; a change wakes the streams.

The thread starts with the first stream and ends once no stream has been there for `linger_seconds`. A lost
connection wakes every stream (each reads the feed after its own cursor, so nothing is lost) and is made
again after a pause that doubles, 1 s to 30 s."""
from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager

from sqlalchemy import func, select

from engine.store import uow
from engine.store.models import LiveFeed

log = logging.getLogger(__name__)
#: the NOTIFY channel of migration 0029's triggers
CHANNEL = "eventflow_live"
#: how often the watching thread looks whether it should end, seconds
TICK_S = 0.25
#: how often the listener asks its connection a question, seconds: one that died silently is made again
CHECK_S = 60
MAX_PAUSE_S = 30


def newest_id(session) -> int:
    """The newest feed row's id (0: none), one read of the primary key's index."""
    return session.scalar(select(func.max(LiveFeed.id))) or 0


class Wakeups:
    """Streams wait here (`wait`) for news of the database: `generation` counts the wakes."""

    def __init__(self, db, session_factory, poll_seconds: float = 1.0, linger_seconds: float = 60.0):
        self.db, self.session_factory = db, session_factory
        self.poll_seconds, self.linger_seconds = poll_seconds, linger_seconds
        self.generation = 0
        self._changed = threading.Condition()
        self._lock = threading.Lock()
        self._waiters, self._left_at = 0, time.monotonic()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def wake(self) -> None:
        """Every waiting stream reads the feed again."""
        with self._changed:
            self.generation += 1
            self._changed.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        """Until a wake after generation `seen`, or `timeout` seconds; the generation now."""
        with self._changed:
            if self.generation == seen and timeout > 0:
                self._changed.wait(timeout)
            return self.generation

    @contextmanager
    def joined(self):
        """A stream's life: the watching thread runs while there is one."""
        with self._lock:
            self._waiters += 1
            if self._thread is None:
                self._stop.clear()
                self._thread = threading.Thread(target=self._watch, name="eventflow-live-wakeups", daemon=True)
                self._thread.start()
        try:
            yield self
        finally:
            with self._lock:
                self._waiters -= 1
                self._left_at = time.monotonic()

    @property
    def watching(self) -> bool:
        with self._lock:
            return self._thread is not None

    def stop(self, timeout: float = 10.0) -> None:
        """End the watching thread now (a test's app going away, a process stopping), and wake the streams."""
        with self._lock:
            thread = self._thread
            self._stop.set()
        if thread is not None:
            thread.join(timeout)
        self.wake()

    def _ending(self) -> bool:
        """Whether the thread should end: asked to, or no stream for `linger_seconds` (then it is gone, in one
        step with the check, so a stream that joins next starts another)."""
        with self._lock:
            idle = self._waiters == 0 and time.monotonic() - self._left_at >= self.linger_seconds
            if self._stop.is_set() or idle:
                self._thread = None
                return True
            return False

    def _watch(self) -> None:
        if self.db.dialect.name == "postgresql":
            self._listen()
        else:
            self._poll()

    def _poll(self) -> None:
        last = None
        while not self._ending():
            try:
                newest = uow.read(self.session_factory, newest_id)
            except Exception as err:      # noqa: BLE001 - the database away for a moment: the streams read again
                log.warning("live feed: could not read the newest id (%s)", type(err).__name__)
                newest = None
            if newest != last:     # the first read too: what committed before this thread began
                self.wake()
                last = newest
            self._stop.wait(self.poll_seconds)

    def _listen(self) -> None:
        connection, pause, checked = None, 1, 0.0
        try:
            while not self._ending():
                try:
                    if connection is None:
                        connection = self._connect()
                        self.wake()          # what committed while no one listened
                        pause, checked = 1, time.monotonic()
                    for _notice in connection.notifies(timeout=TICK_S):
                        self.wake()
                    if time.monotonic() - checked > CHECK_S:     # a connection dropped without a word (a
                        connection.execute("SELECT 1")          # firewall's idle timeout) fails here
                        checked = time.monotonic()
                except Exception as err:      # noqa: BLE001 - the server or the network went away: listen again later
                    log.warning("live feed: LISTEN %s lost (%s); again in %ss", CHANNEL, type(err).__name__, pause)
                    connection = self._close(connection)
                    self.wake()
                    self._stop.wait(pause)
                    pause = min(pause * 2, MAX_PAUSE_S)
        finally:
            self._close(connection)

    def _connect(self):
        """A connection of the listener's own, out of the pool (made as the pool makes them), in autocommit:
        LISTEN takes effect at once and the session never holds a transaction open."""
        proxied = self.db.raw_connection()
        proxied.detach()
        connection = proxied.dbapi_connection
        connection.autocommit = True
        connection.execute(f"LISTEN {CHANNEL}")
        return connection

    @staticmethod
    def _close(connection) -> None:
        if connection is not None:
            try:
                connection.close()
            except Exception:      # noqa: BLE001 - closing a broken connection
                pass
        return None
