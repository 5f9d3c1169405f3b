"""The live inbox as Server-Sent Events (issue #18): one stream per open page (`GET /live`, the web app's
session cookie) or API client (`GET /api/live`, a bearer token) tells the user what is new for them
(engine/notices/live.py) the moment it is committed on any app node, without a reload.

- **Events.** `work` (a task of theirs made, as 待办 lists it), `done` (a task of theirs gone), `notice` (a
  message to them, as 消息 lists it), `counts` (the 待办 count, ending each pass that moved the cursor), `end` (the session expired,
  was signed out or the account disabled: the stream ends and the page stops listening), `busy` (this
  process holds as many streams as it may: the browser tries again after `retry`). The `counts` that ends a
  pass carries the feed cursor as its `id`: the browser sends it back as `Last-Event-ID` when it reconnects
  and misses nothing in between; a page passes the cursor it was rendered at as `?since=` (and the last one
  it received, when it opens a new stream after a failed one).
- **Every pass checks the token again** (one statement) and reads with the user's scope as the lists do:
  a new pass comes with each wake (engine/store/wakeups.py) and at least every heartbeat.
- **Bounded.** A stream holds a gunicorn thread, so it lives EVENTFLOW_LIVE_STREAM_S (then the browser
  reconnects), at most EVENTFLOW_LIVE_STREAMS at once per process (`eventflow serve` adds that many threads:
  web/serving.py), and a quiet one carries a comment line every EVENTFLOW_LIVE_HEARTBEAT_S so proxies keep it
  open. `X-Accel-Buffering: no` tells nginx to pass each event on at once (deploy/nginx/eventflow.conf)."""
from __future__ import annotations

import json
import logging
import random
import select
import socket
import threading
import time

from flask import Response, copy_current_request_context, current_app, request

from engine.accounts import users
from engine.core.errors import Unauthorized
from engine.notices import live

log = logging.getLogger(__name__)
#: after a stream's normal end the browser reconnects after about this long, milliseconds (spread a little)
RETRY_MS = (1000, 3000)
#: a process with no free stream: try again after this long (spread, so the waiting do not all come back at once)
BUSY_RETRY_MS = (15000, 30000)
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
#: a waiting stream looks this often whether its client has gone (a page left, a tab closed), seconds: its thread
#: and slot are free again at once, not at the next heartbeat's failed write
GONE_CHECK_S = 2.0
#: what an ended session's stream says (the page shows it)
SIGNED_OUT = "登录已过期或已退出，请重新登录 (the session has ended: sign in again)"
BUSY = "实时消息繁忙，稍后自动重连 (too many live streams on this server: it reconnects by itself)"


def sse(event: str | None = None, data=None, id: str | None = None, retry: int | None = None) -> str:  # noqa: A002
    """One Server-Sent Event: its lines and the blank line that ends it (data as one line of JSON)."""
    lines = []
    if retry is not None:
        lines.append(f"retry: {retry}")
    if id is not None:
        lines.append(f"id: {id}")
    if event is not None:
        lines.append(f"event: {event}")
    if data is not None:
        lines.append("data: " + json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    return "\n".join(lines) + "\n\n"


class Streams:
    """This process's live streams: a slot each (at most `EVENTFLOW_LIVE_STREAMS`), and the clock their lives
    and heartbeats are measured by (monotonic seconds; a test moves its own and calls `wakeups.wake()`)."""

    def __init__(self, services):
        self.services = services
        self.limit = services.settings.live_streams
        self._slots = threading.BoundedSemaphore(self.limit) if self.limit > 0 else None
        self._lock = threading.Lock()
        self.open = 0
        self.clock = time.monotonic

    def _take(self) -> bool:
        if self._slots is None or not self._slots.acquire(blocking=False):
            return False
        with self._lock:
            self.open += 1
        return True

    def _give_back(self) -> None:
        with self._lock:
            self.open -= 1
        self._slots.release()

    def respond(self, token: str, since: str | None, since_name: str, show=None) -> Response:
        """The stream for the holder of `token` after the cursor `since` (None: from now), each item passed
        through `show` (the web app adds each entry's HTML). A malformed cursor is refused (422 naming it)
        before anything is streamed."""
        now = self.clock()
        cursor = live.Cursor.parse(since, since_name, now) if since else None
        # the stream runs after the request has ended: `show` (templates, the user's language) in a copy of the
        # request's context, pushed for each call only, never across a yield (a stream may wait a while there)
        stream = self._stream(token, cursor, copy_current_request_context(show) if show else (lambda item: item),
                              request.environ.get("gunicorn.socket") or request.environ.get("werkzeug.socket"))
        return Response(stream, mimetype="text/event-stream", headers=HEADERS)

    def _stream(self, token, cursor, show, client=None):
        if not self._take():
            yield sse("busy", {"message": BUSY}, retry=random.randint(*BUSY_RETRY_MS))
            return
        try:
            with self.services.wakeups.joined() as wakeups:
                yield from self._passes(wakeups, token, cursor, show, client)
        finally:
            self._give_back()

    def _passes(self, wakeups, token, cursor, show, client):
        svc, settings = self.services, self.services.settings
        start = self.clock()
        ends, beat = start + settings.live_stream_seconds, start + settings.live_heartbeat_seconds
        seen, count, sent = wakeups.generation, None, None
        yield sse(retry=random.randint(*RETRY_MS))
        while True:
            now = self.clock()
            try:
                svc.sync_clock()
                svc.refresh_catalogs()
                found, tasks = svc.read(lambda s: self._read(s, token, cursor, now, count is None))
            except Unauthorized:
                yield sse("end", {"reason": "signed_out", "message": SIGNED_OUT})
                return
            except Exception:      # noqa: BLE001 - the database away: the browser reconnects after `retry`
                log.exception("live stream: a pass failed; the client reconnects")
                return
            for item in found.items:
                yield sse(item["kind"], show(item))
            cursor = found.cursor
            if tasks is not None:
                count = tasks
            if cursor.text() != sent:       # the pass ends with the cursor, on the counts (a page keeps both)
                sent = cursor.text()
                yield sse("counts", {"tasks": count}, id=sent)
            if found.more:
                continue
            # until a wake (the next pass), the heartbeat (a comment line, then a pass: the token checked again)
            # or the stream's end, looking every GONE_CHECK_S whether the client has left
            while True:
                now = self.clock()
                if now >= ends:
                    return
                if now >= beat:
                    yield ": ♥\n\n"
                    beat = now + settings.live_heartbeat_seconds
                    break
                before, seen = seen, wakeups.wait(seen, min(beat, ends, now + GONE_CHECK_S) - now)
                if gone(client):
                    return
                if seen != before:
                    break

    def _read(self, session, token, cursor, now, first: bool):
        """One pass in one read unit: the token checked again (401 ends the stream), then what is new, and the
        待办 count when work was made or went (or at the first pass)."""
        svc = self.services
        user = users.authenticate(session, svc.env.wall_clock, token)
        cmd = svc.command(session, user)
        found = live.news(cmd, cursor if cursor is not None else live.position(session, now), now)
        return found, live.task_count(cmd) if (first or found.work_moved) else None


def gone(client) -> bool:
    """Whether the client closed its connection (an end of file waits to be read on the socket the server gave
    the request, gunicorn's or werkzeug's). A request sent after it on the same connection is no end; a socket
    that cannot be peeked at (TLS in gunicorn itself) counts as open: the next heartbeat's write tells."""
    if client is None:
        return False
    try:
        readable, _, _ = select.select([client], [], [], 0)
        return bool(readable) and client.recv(1, socket.MSG_PEEK) == b""
    except ValueError:
        return False
    except OSError:
        return True


def streams() -> Streams:
    return current_app.extensions["eventflow_live"]
