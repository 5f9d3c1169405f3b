"""`eventflow serve` for real (issue #17): gunicorn with two workers and the `eventflow worker` process beside
it, started as a deployment starts it, on a fresh database of each kind (one worker process on SQLite too).
One simulated clock is shared by every process (the clock_state row, web/services.py `sync_clock`): an
advance through one gunicorn worker fires §8.3's 30 minutes to accept a whistle (签收受理) and the other
worker sees its effect; a time set in the database by other means is swept by the worker process, not by
an advance. Real sockets, real processes, no mocks; waiting for the processes polls with a deadline."""
from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from json import dumps, loads
from pathlib import Path

import pytest

from engine.core.clock import parse_instant
from engine.store import uow
from engine.store.db import make_engine, make_session_factory
from engine.store.models import ClockState
from tests.conftest import ROOT, SIM_START
from tests.web.client import Api

BOOT_S = 120     # gunicorn's workers and the worker process each build an app
FIRE_S = 60      # the worker sweeps every second


@dataclass
class Response:
    status_code: int
    json: object


class Http:
    """The calls tests/web/client.py's Api makes of Flask's test client, over one keep-alive connection."""

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def open(self, method, path, headers=None, json=None):   # noqa: A002 - Flask's test client's name
        body = None if json is None else dumps(json, ensure_ascii=False).encode()
        headers = {**(headers or {}), **({} if body is None else {"Content-Type": "application/json"})}
        self.conn.request(method, path, body=body, headers=headers)
        answer = self.conn.getresponse()
        data = answer.read()
        assert answer.status < 500, data[:2000]
        is_json = answer.getheader("Content-Type", "").startswith("application/json")
        return Response(answer.status, loads(data) if is_json else None)

    def get(self, path, headers=None, **kw):
        return self.open("GET", path, headers, **kw)

    def post(self, path, headers=None, **kw):
        return self.open("POST", path, headers, **kw)

    def handled_by(self, pids) -> int | None:
        """Which of the gunicorn workers `pids` holds this connection's other end (Linux /proc)."""
        here = self.conn.sock.getsockname()[1]
        inodes = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local, remote = int(fields[1].rsplit(":", 1)[1], 16), int(fields[2].rsplit(":", 1)[1], 16)
                if local == self.port and remote == here:
                    inodes.add(f"socket:[{fields[9]}]")
        for pid in pids:
            fds = Path(f"/proc/{pid}/fd")
            for fd in fds.iterdir():
                try:
                    if os.readlink(fd) in inodes:
                        return pid
                except OSError:
                    continue
        return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _children(pid: int) -> dict[int, str]:
    """The processes whose parent is `pid`, with their command lines."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(text.rsplit(")", 1)[1].split()[1]) == pid:
            found[int(stat.parent.name)] = cmdline
    return found


def _until(what: str, check, seconds: float, server=None):
    """Poll `check` until it answers something true; fail naming `what` past the deadline, or at once if
    the server stopped."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server is not None and server.process.poll() is not None:
            pytest.fail(f"eventflow serve stopped ({server.process.returncode}) waiting for {what}:\n{server.output()}")
        found = check()
        if found:
            return found
        time.sleep(0.05)
    pytest.fail(f"no {what} within {seconds}s:\n{server.output() if server else ''}")


class Server:
    """`python -m web serve` (the `eventflow` command) in a session of its own."""

    def __init__(self, database_url: str, tmp_path: Path):
        self.port, self.log = _free_port(), tmp_path / "serve.log"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "EVENTFLOW_DATABASE_URL": database_url,
               "EVENTFLOW_CLOCK": "simulated", "EVENTFLOW_SIM_START": SIM_START, "EVENTFLOW_SCRYPT_N": "1024",
               "EVENTFLOW_MEDIA_DIR": str(tmp_path / "media"), "EVENTFLOW_WEB_WORKERS": "2",
               "EVENTFLOW_WEB_THREADS": "2", "EVENTFLOW_KEEPALIVE_S": "300", "EVENTFLOW_SWEEP_INTERVAL": "1"}
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "web", "serve", "--port", str(self.port)],
                                            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]

    def healthy(self) -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            conn.request("GET", "/api/health")
            return conn.getresponse().status == 200
        except OSError:
            return False

    def processes(self) -> tuple[list[int], list[int]]:
        """(the gunicorn workers, the eventflow worker)."""
        children = _children(self.process.pid)
        return ([p for p, cmd in children.items() if " worker" not in cmd],
                [p for p, cmd in children.items() if cmd.rstrip().endswith("web worker")])

    def stop(self) -> None:
        """SIGTERM to `serve` alone (as a supervisor stops it): gunicorn stops, and stops the worker process
        before it exits. Whatever is left of the session is killed."""
        children = _children(self.process.pid)
        try:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(90)
            assert self.process.returncode == 0, self.output()
            assert not [pid for pid in children if Path(f"/proc/{pid}").exists()], self.output()
        finally:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(10)


@pytest.fixture
def server(database_url, seeded, tmp_path):
    started = Server(database_url, tmp_path)
    try:
        _until("GET /api/health 200", started.healthy, BOOT_S, started)
        yield started
    finally:
        started.stop()


def _two_workers(server) -> tuple[Http, Http]:
    """Two keep-alive connections held by two different gunicorn workers."""
    def started():
        web, worker = server.processes()
        return web if len(web) == 2 and len(worker) == 1 else None

    web = _until("two gunicorn workers and the worker process", started, BOOT_S, server)
    by_worker = {}

    def another():
        conn = Http(server.port)
        assert conn.get("/api/health").status_code == 200
        by_worker.setdefault(conn.handled_by(web), conn)
        return len(by_worker.keys() - {None}) == 2

    _until("a connection to each gunicorn worker", another, BOOT_S, server)
    return tuple(by_worker[pid] for pid in web)


def _missed(api, event_id) -> list[str]:
    return [a["data"]["kind"] for a in api.event(event_id)["timeline"] if a["action"] == "deadline_missed"]


def test_one_simulated_clock_for_every_process_and_the_worker_fires_timers(server, database_url):
    first, second = _two_workers(server)
    one, other = Api(None, first), Api(None, second)

    event = one.report()
    one.whistle_to(event["id"], department="zhifa")                   # §8.3: 30 minutes to accept
    assert _missed(other, event["id"]) == []
    advanced = one.advance("PT31M")                                   # through one gunicorn worker …
    assert advanced["fired"].get(str(event["id"])), advanced
    now = other.get("/api/sim/now", "admin1").json["now"]             # … the other shares its time …
    assert parse_instant(now) == parse_instant(advanced["now"]) == parse_instant(SIM_START) + timedelta(minutes=31)
    assert _missed(other, event["id"]) == ["accept"]                  # … and sees the missed limit

    late = other.report()
    other.whistle_to(late["id"], department="zhifa")
    assert _missed(one, late["id"]) == []
    db = make_engine(database_url)                                    # time moved in the database alone:
    try:
        uow.run(make_session_factory(db), lambda s: setattr(s.get(ClockState, 1), "now",
                                                            parse_instant(now) + timedelta(minutes=31)))
    finally:
        db.dispose()
    assert _until("the worker process firing the accept timer", lambda: _missed(one, late["id"]), FIRE_S, server) == ["accept"]
    assert other.get("/api/sim/now", "admin1").json["now"] == one.get("/api/sim/now", "admin1").json["now"]
