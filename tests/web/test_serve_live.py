"""Live streams under `eventflow serve` for real (issue #18): gunicorn's gthread worker gets a thread for each
stream it may hold on top of the request threads, so with its streams all held it still answers requests; a
stream past the cap says `busy` and ends; a held stream carries the work made meanwhile. And a stream learns
that its client left from the socket itself (`web/live.py` gone), not only at its next heartbeat's write."""
from __future__ import annotations

import http.client
import json
import shutil
import socket

import pytest

from bench.serving import Served
from tests.conftest import PASSWORD, SIM_START
from tests.samples import REPORT
from web.live import gone

BOOT_S = 120


@pytest.fixture
def served(tmp_path, seeded_sqlite_template):
    """One gunicorn worker with one request thread and two live streams (three threads), no worker process."""
    shutil.copy(seeded_sqlite_template, tmp_path / "eventflow.sqlite3")
    server = Served(f"sqlite:///{tmp_path / 'eventflow.sqlite3'}", workers=1, threads=1, worker=False,
                    boot_seconds=BOOT_S, env={"EVENTFLOW_LIVE_STREAMS": "2", "EVENTFLOW_LIVE_POLL_MS": "50",
                                              "EVENTFLOW_CLOCK": "simulated", "EVENTFLOW_SIM_START": SIM_START,
                                              "EVENTFLOW_MEDIA_DIR": str(tmp_path / "media")})
    try:
        yield server
    finally:
        server.stop()


def call(port, method, path, body=None, token=None) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    answer = json.loads(response.read())
    conn.close()
    assert response.status < 300, answer
    return answer


class Held:
    """A stream held open over a socket of its own, its events read as they come."""

    def __init__(self, port, token):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.conn.request("GET", "/api/live", headers={"Authorization": f"Bearer {token}"})
        self.response = self.conn.getresponse()
        assert self.response.status == 200

    def next(self, *names) -> dict | None:
        event = {}
        while True:
            line = self.response.readline()
            if not line:
                return None                                  # the stream ended
            line = line.decode().rstrip("\n")
            if not line:
                if event.get("event") in names:
                    return event
                event = {}
            elif not line.startswith(":"):
                field, _, value = line.partition(": ")
                event[field] = json.loads(value) if field == "data" else value

    def close(self):
        self.conn.close()


def test_streams_take_their_own_threads_and_a_stream_past_the_cap_is_busy(served):
    staff = call(served.port, "POST", "/api/auth/token", {"username": "staff1", "password": PASSWORD})["token"]
    grid = call(served.port, "POST", "/api/auth/token", {"username": "grid1", "password": PASSWORD})["token"]
    assert any("workers × 1 threads + 2 for live streams" in line for line in served.lines if line)
    held = [Held(served.port, staff), Held(served.port, grid)]
    for stream in held:
        assert stream.next("counts")["data"] == {"tasks": 0}
    busy = Held(served.port, staff)
    answer = busy.next("busy")
    assert answer and int(answer["retry"]) >= 15000 and busy.next("counts") is None   # then it ends
    busy.close()
    assert call(served.port, "GET", "/api/health")["status"] == "ok"      # the request thread is free
    event = call(served.port, "POST", "/api/events", REPORT, token=grid)
    assert held[0].next("work")["data"]["task"]["event_number"] == event["number"]
    for stream in held:
        stream.close()


def test_a_stream_knows_its_client_left_from_the_socket():
    server, client = socket.socketpair()
    try:
        assert not gone(server)                                        # open, nothing to read
        client.sendall(b"GET /next HTTP/1.1\r\n")                       # a request after it: no end
        assert not gone(server)
        client.close()
        server.recv(64)                                                 # (what was sent is read first)
        assert gone(server)                                             # the end of the file: gone
    finally:
        server.close()
    assert not gone(None)                                               # no socket known (the test client)
