"""`eventflow serve` for real (issue #17): gunicorn with two workers and the `eventflow worker` process beside
it, started as a deployment starts it, on a fresh database of each kind (one worker process on SQLite too).
One simulated clock is shared by every process (the clock_state row, web/services.py `sync_clock`): an
advance through one gunicorn worker fires §8.3's 30 minutes to accept a whistle (签收受理) and the other
worker sees its effect; a time set in the database by other means is swept by the worker process, not by
an advance; the worker process killed, `serve` starts another that goes on firing. Real sockets, real
processes, no mocks. Nothing sleeps: the test waits on what the processes print (gunicorn booting its
workers, the worker process starting and each sweep that fired), and the deadlines only bound a wait that
would otherwise hang."""
from __future__ import annotations

import http.client
import os
import signal
from dataclasses import dataclass
from datetime import timedelta
from json import dumps, loads
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.core.clock import parse_instant
from engine.store import uow
from engine.store.db import make_engine, make_session_factory
from engine.store.models import ClockState, Instance
from bench.serving import Served, children
from tests.conftest import SIM_START
from tests.web.client import Api

BOOT_S = 120     # gunicorn's workers and the worker process each build an app
FIRE_S = 60      # the worker sweeps every second
#: new connections tried, at the most, before each gunicorn worker holds one
CONNECTIONS = 200


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


class Server(Served):
    """`python -m web serve` (the `eventflow` command) in a session of its own (bench/serving.py), on the
    simulated clock, two gunicorn workers of two threads and the worker process sweeping every second."""

    def __init__(self, database_url: str, tmp_path: Path):
        super().__init__(database_url, workers=2, threads=2, boot_seconds=BOOT_S, env={
            "EVENTFLOW_CLOCK": "simulated", "EVENTFLOW_SIM_START": SIM_START,
            "EVENTFLOW_MEDIA_DIR": str(tmp_path / "media"), "EVENTFLOW_SWEEP_INTERVAL": "1"})

    def wait_for(self, what: str, found, seconds: float):
        """`wait_until`, failing the test naming `what` if the server stops first or nothing comes in time."""
        try:
            return self.wait_until(found, seconds)
        except RuntimeError as err:
            pytest.fail(f"no {what}: {err}")

    def stop(self) -> None:
        """SIGTERM to `serve` alone (as a supervisor stops it): gunicorn stops, and stops the worker process
        before it exits. Whatever is left of the session is killed."""
        found = children(self.process.pid)
        try:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(90)
            assert self.process.returncode == 0, self.output()
            assert not [pid for pid in found if Path(f"/proc/{pid}").exists()], self.output()
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
        started.wait_for("two gunicorn workers and the worker process", _booted, BOOT_S)
        assert Http(started.port).get("/api/health").status_code == 200   # answered once a worker has the app
        yield started
    finally:
        started.stop()


def _booted(lines) -> bool:
    """gunicorn booted two workers and the worker process said it sweeps."""
    return (sum("Booting worker with pid" in line for line in lines) >= 2
            and any(line.startswith("eventflow worker ") and "sweep every" in line for line in lines))


def _two_workers(server) -> tuple[Http, Http]:
    """Two keep-alive connections held by two different gunicorn workers."""
    web, worker = server.processes()
    assert len(web) == 2 and len(worker) == 1, server.output()
    by_worker = {}
    for _ in range(CONNECTIONS):
        conn = Http(server.port)
        assert conn.get("/api/health").status_code == 200
        by_worker.setdefault(conn.handled_by(web), conn)
        if len(by_worker.keys() - {None}) == 2:
            return tuple(by_worker[pid] for pid in web)
    pytest.fail(f"{CONNECTIONS} connections all went to one gunicorn worker:\n{server.output()}")


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
        factory = make_session_factory(db)
        instance = uow.read(factory, lambda s: s.scalar(select(Instance.id).where(Instance.event_id == late["id"])))
        uow.run(factory, lambda s: setattr(s.get(ClockState, 1), "now", parse_instant(now) + timedelta(minutes=31)))
    finally:
        db.dispose()
    server.wait_for("sweep of the worker process firing the accept timer",       # … its own sweep fires it
                    lambda lines: any(f"fired instance {instance}: " in line for line in lines), FIRE_S)
    assert _missed(one, late["id"]) == ["accept"]
    assert other.get("/api/sim/now", "admin1").json["now"] == one.get("/api/sim/now", "admin1").json["now"]

    # the worker process dies (a crash, the OOM killer): `serve` starts another, which goes on firing timers
    (dead,) = server.processes()[1]
    os.kill(dead, signal.SIGKILL)
    server.wait_for("word that the worker process died", lambda lines: any(
        f"eventflow worker {dead} exited" in line for line in lines), FIRE_S)
    again = server.wait_for("another worker process sweeping", lambda lines: [
        line for line in lines if line.startswith("eventflow worker ") and "sweep every" in line
        and not line.startswith(f"eventflow worker {dead}:")], BOOT_S)
    assert len(server.processes()[1]) == 1, again
    third = other.report()
    other.whistle_to(third["id"], department="zhifa")
    db = make_engine(database_url)
    try:
        factory = make_session_factory(db)
        instance = uow.read(factory, lambda s: s.scalar(select(Instance.id).where(Instance.event_id == third["id"])))
        uow.run(factory, lambda s: setattr(s.get(ClockState, 1), "now", s.get(ClockState, 1).now + timedelta(minutes=31)))
    finally:
        db.dispose()
    server.wait_for("the new worker process firing the accept timer",
                    lambda lines: any(f"fired instance {instance}: " in line for line in lines), FIRE_S)
    assert _missed(one, third["id"]) == ["accept"]

    # SIGTERM to the whole process group (a terminal's Ctrl-C, `kill -- -PGID`): the worker process gets it
    # too; its death is gunicorn stopping, not a crash, so no other worker process is started
    sweeping = len([line for line in server.lines if line and "sweep every" in line])
    os.killpg(server.process.pid, signal.SIGTERM)
    server.process.wait(90)
    assert server.process.returncode == 0, server.output()
    lines = [line for line in server.lines if line]
    assert len([line for line in lines if "sweep every" in line]) == sweeping, server.output()
    assert sum("starting another" in line for line in lines) == 1, server.output()    # the SIGKILL's only
