"""Peer comparison (issue #17): eventflow against spiff-arena's backend, the nearest open-source BPMN
application, on the same process and load, over HTTP, in one run, interleaved A B A B, on SQLite and on
PostgreSQL.

    python -m bench.peer [--instances 30] [--rounds 3] [--databases sqlite,postgresql]
                         [--kit ../shared/peers/spiff-arena] [--kit-dir ~/.cache/eventflow/spiff-arena]

The process: six user tasks in sequence, each the starter's own — spiff-arena's `perf:six-user-tasks`
(the peer kit's make_models.py: one lane, every task the initiator's) and eventflow's
tests/data/six_user_tasks.bpmn (lane 网格员, assignee person:reporter), which event type A05 starts here:
its Table A.1 row names the process (`process`, catalogs/README.md) in a copy of the catalogs.

The load, the peer kit's six_tasks.py on spiff-arena and its mirror here on eventflow: C clients, each a
thread with one keep-alive HTTP/1.1 connection, share the work of each phase.
- start: N instances. spiff-arena: create + run synchronously (two calls); eventflow: a grid worker's report
  (POST /api/events: registered, flagged against open reports nearby, its process started; the answer names
  the first task: the client asks for the short answer, `Prefer: return=minimal`, as a phone app that
  reports and goes on does — the event's id, number, status and open tasks, not the whole event with its
  timeline; spiff-arena's run answers its instance, not its history). Afterwards each instance waits at step 1.
- complete: six rounds; round k completes every instance's k-th task (spiff-arena: PUT /v1.0/tasks/…;
  eventflow: POST /api/tasks/{id}/complete); each answer names the next task. 6 × N completions.
- not timed: signing in, spiff-arena's look-up of each first task, and the final check that every instance
  ended (spiff-arena `complete`, eventflow's event `closed`).
- eventflow's floor, after its run and apart from its rates: as many signed-in requests that only check their
  token (GET /api/auth/me) as it made completions, on the same connections; the report says how much of a
  completion and of a start is that floor (with one client, from the rates: 1 / rate is each one's mean time),
  and how much own work each rate aim leaves above it.
Rates are completions (starts) over the phases' wall time, summed over the rounds; p50 and p99 are
client-side, nearest rank, per run, and the median over the rounds is shown (six_tasks.py prints no single
latencies to pool).

Servers, each as deployed by its own defaults: eventflow `eventflow serve` (gunicorn, EVENTFLOW_WEB_WORKERS
× EVENTFLOW_WEB_THREADS, with `eventflow worker` beside it, the system clock); spiff-arena the kit's
server.sh (one uvicorn worker with its in-process scheduler). Each database fresh for each application. The
kit is installed into --kit-dir (outside the repository) by its setup.sh when missing; if the kit is absent
or fails to set up, this says so and prints eventflow's numbers alone.

Aims (issue #17), reported as met or NOT met with the margin: eventflow completes tasks ≥ 20× as fast as
spiff-arena, starts instances ≥ 8× as fast, and a completion's p99 stays < 50 ms with 4 clients — on both
databases.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.setup import ROOT
from catalogs.loader import DATA_DIR
from engine.core.config import Settings
from tests.ops.stack import AppNode, app_env, eventflow_command, free_port, run as run_command

KIT = Path(os.environ.get("EVENTFLOW_PEER_KIT", ROOT.parent / "shared" / "peers" / "spiff-arena"))
KIT_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "eventflow" / "spiff-arena"
KIT_FILES = ("setup.sh", "server.sh", "six_tasks.py", "make_models.py")
PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
#: the six-task process and the type whose events start it in the bench's catalogs
PROCESS, TYPE = "six_user_tasks", "A05"
TASKS = 6
PASSWORD = "bench-password-1"
USER = "grid1"
CLIENTS = (1, 4)
#: (aim, factor): eventflow's completions and starts per second against spiff-arena's
RATE_AIMS = (("completions", 20.0), ("starts", 8.0))
P99_AIM_MS, P99_AIM_CLIENTS = 50.0, 4
#: the settings of eventflow's server taken from the caller's environment (the others are the defaults)
SHAPE = ("EVENTFLOW_WEB_WORKERS", "EVENTFLOW_WEB_THREADS", "EVENTFLOW_KEEPALIVE_S")


@dataclass
class Run:
    """One load run of one application: what six_tasks.py prints, and its mirror here."""

    starts: int = 0
    start_wall: float = 0.0
    start_p50: float | None = None
    start_p99: float | None = None
    completions: int = 0
    complete_wall: float = 0.0
    complete_p50: float | None = None
    complete_p99: float | None = None
    errors: int = 0
    error_kinds: dict = field(default_factory=dict)
    samples: list = field(default_factory=list)
    ended: dict = field(default_factory=dict)
    #: eventflow's floor: as many signed-in requests that do nothing but check their token as there were
    #: completions (GET /api/auth/me), on the same connections; none for spiff-arena
    floor_requests: int = 0
    floor_wall: float = 0.0
    floor_p50: float | None = None


# -- eventflow's side: the mirror of six_tasks.py --------------------------------------------------------
class Connection:
    """One keep-alive HTTP/1.1 connection; opened again once if the server closed it while idle."""

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)

    def call(self, method: str, path: str, token: str, body=None, headers=None) -> tuple[int, dict | None]:
        headers = {"Authorization": f"Bearer {token}", **(headers or {})}
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body, ensure_ascii=False).encode(), "application/json"
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=data, headers=headers)
                answer = self.conn.getresponse()
                raw = answer.read()
                break
            except (http.client.RemoteDisconnected, http.client.CannotSendRequest, BrokenPipeError,
                    ConnectionResetError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
                if attempt == 2:
                    raise
        try:
            return answer.status, json.loads(raw)
        except ValueError:
            return answer.status, {"raw": raw[:300].decode("utf-8", "replace")}


def nearest_rank(values: list[float], p: int) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, -(-p * len(ordered) // 100) - 1)]


def shared(items, connections, work) -> tuple[list[float], float]:
    """`work(connection, item)` over the items, one thread per connection taking the next item; (the
    latencies it returned, wall seconds)."""
    pending, lock, latencies = list(items)[::-1], threading.Lock(), []

    def client(connection):
        mine = []
        while True:
            with lock:
                if not pending:
                    break
                item = pending.pop()
            latency = work(connection, item)
            if latency is not None:
                mine.append(latency)
        with lock:
            latencies.extend(mine)
    threads = [threading.Thread(target=client, args=(c,)) for c in connections]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, time.perf_counter() - started


def drive_eventflow(port: int, token: str, instances: int, clients: int, rng: random.Random) -> Run:
    """N reports of type A05 by the grid worker, then six rounds of completing each one's next task."""
    connections = [Connection(port) for _ in range(clients)]
    result, lock, started = Run(), threading.Lock(), []

    def error(kind, status, body):
        with lock:
            key = f"{kind}:{status}"
            result.error_kinds[key] = result.error_kinds.get(key, 0) + 1
            if len(result.samples) < 5:
                result.samples.append(f"{key} {json.dumps(body, ensure_ascii=False)[:300]}")

    # spread over lg-xincheng, so that some reports (not all) are flagged as repeating an open one nearby
    reports = [{"source": "grid_worker", "type_code": TYPE, "description": f"bench peer 人行道被占道经营 {i}",
                "community": "lg-xincheng", "location": {"lat": round(rng.uniform(27.505, 27.545), 6),
                                                         "lng": round(rng.uniform(120.575, 120.615), 6),
                                                         "address": "bench"}} for i in range(instances)]

    def start(connection, report):
        t0 = time.perf_counter()
        status, body = connection.call("POST", "/api/events", token, report, {"Prefer": "return=minimal"})
        latency = time.perf_counter() - t0
        if status != 201 or body.get("status") != "open":
            error("start", status, body)
            return None
        first = [t["id"] for t in body["open_tasks"] if t["name"] == "step1"]
        if not first:
            error("no-first-task", status, body)
            return None
        with lock:
            started.append({"event": body["id"], "task": first[0], "done": 0})
        return latency

    def complete(connection, instance):
        t0 = time.perf_counter()
        status, body = connection.call("POST", f"/api/tasks/{instance['task']}/complete", token, {})
        latency = time.perf_counter() - t0
        instance["task"] = None
        if status != 200:
            error("complete", status, body)
            return None
        instance["done"] += 1
        if instance["done"] < TASKS:
            if not body.get("next_task"):
                error("no-next-task", status, body)
            else:
                instance["task"] = body["next_task"]["id"]
        return latency

    def check(connection, instance):
        status, body = connection.call("GET", f"/api/events/{instance['event']}", token)
        ended = body.get("status") if status == 200 else f"http-{status}"
        with lock:
            result.ended[ended] = result.ended.get(ended, 0) + 1

    start_latencies, result.start_wall = shared(reports, connections, start)
    complete_latencies = []
    for _ in range(TASKS):
        latencies, wall = shared([i for i in started if i["task"]], connections, complete)
        complete_latencies += latencies
        result.complete_wall += wall
    shared(started, connections, check)
    floor(connections, token, len(complete_latencies), result, error)
    for connection in connections:
        connection.conn.close()
    result.starts, result.completions = len(start_latencies), len(complete_latencies)
    result.start_p50, result.start_p99 = (ms(nearest_rank(start_latencies, p)) for p in (50, 99))
    result.complete_p50, result.complete_p99 = (ms(nearest_rank(complete_latencies, p)) for p in (50, 99))
    result.errors = sum(result.error_kinds.values())
    return result


def floor(connections, token: str, requests: int, result: Run, error) -> None:
    """What any signed-in request costs on this server and box, measured in the same run as the completions:
    GET /api/auth/me checks the bearer token (a read of the token and its user) and answers the user — HTTP,
    gunicorn, Flask, the token check and a JSON answer, and nothing else. A completion's time above it is
    what its own work costs."""
    def me(connection, _):
        t0 = time.perf_counter()
        status, body = connection.call("GET", "/api/auth/me", token)
        latency = time.perf_counter() - t0
        if status != 200:
            error("floor", status, body)
            return None
        return latency
    latencies, result.floor_wall = shared(range(requests), connections, me)
    result.floor_requests, result.floor_p50 = len(latencies), ms(nearest_rank(latencies, 50))


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


class Eventflow:
    """`eventflow serve` on a fresh database, set up as an operator does: init-db, the processes deployed
    (Figure 1 and the six-task bundle), the demo accounts, the catalogs checked (A05 names the process)."""

    name = "eventflow"

    def __init__(self, database_url: str, where: Path):
        self.where = where
        catalogs = where / "catalogs"
        shutil.copytree(DATA_DIR, catalogs)
        rows = json.loads((catalogs / "event_types.json").read_text(encoding="utf-8"))
        next(row for row in rows if row["code"] == TYPE)["process"] = PROCESS
        (catalogs / "event_types.json").write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
        bundle = where / "six_user_tasks.zip"
        with zipfile.ZipFile(bundle, "w") as archive:
            archive.write(ROOT / "tests" / "data" / "six_user_tasks.bpmn", "six_user_tasks.bpmn")
            archive.write(ROOT / "tests" / "data" / "forms" / "note.json", "forms/note.json")
        # the server's shape may be set from outside: EVENTFLOW_WEB_WORKERS=1 python -m bench.peer
        shape = {name: os.environ[name] for name in SHAPE if name in os.environ}
        self.env = app_env(database_url, where / "media", EVENTFLOW_CATALOG_DIR=str(catalogs), **shape)
        self.env.pop("EVENTFLOW_SECURE_COOKIES")           # plain HTTP on 127.0.0.1 (bearer tokens, no cookies)
        command = eventflow_command()
        for args in (["init-db"], ["deploy", str(ROOT / "processes")], ["deploy", str(bundle)],
                     ["demo-data", "--password", PASSWORD], ["load-catalogs"]):
            run_command([*command, *args], self.env)
        self.node = AppNode(self.env, where / "serve.log")
        self.node.wait_ready(timeout=120)
        self.port = self.node.port
        wait_for(f"http://127.0.0.1:{self.port}/api/health", self.node.log)
        connection = Connection(self.port)
        status, body = connection.call("POST", "/api/auth/token", "", {"username": USER, "password": PASSWORD})
        assert status == 200, body
        self.token = body["token"]
        connection.conn.close()
        self.rng = random.Random(17)
        settings = Settings.from_env(env=self.env)
        self.describe = (f"eventflow serve: gunicorn {settings.web_workers} workers × {settings.web_threads} "
                         f"threads, with eventflow worker (its sweep every {settings.sweep_interval_seconds} s)")

    def load(self, instances: int, clients: int) -> Run:
        return drive_eventflow(self.port, self.token, instances, clients, self.rng)

    def stop(self):
        self.node.stop()


def wait_for(url: str, log: Path, seconds: float = 120) -> None:
    """Until `url` answers 200 (a server that said it listens may not yet have a worker booted)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"no answer from {url} within {seconds:.0f} s; log: {log}")
        time.sleep(0.2)


# -- spiff-arena's side: the peer kit ---------------------------------------------------------------------
class KitProblem(Exception):
    """The peer kit is absent or could not be set up or run: the bench goes on with eventflow alone."""


def kit_python() -> str:
    """An interpreter the kit can use (3.10–3.12: spiff-arena-common's pin), PYTHON first."""
    seen = []
    for name in (os.environ.get("PYTHON"), "python3.12", "python3.11", "python3.10", "python3"):
        path = shutil.which(name) if name else None
        if not path or path in seen:
            continue
        seen.append(path)
        version = subprocess.run([path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                 capture_output=True, text=True).stdout.strip()
        if version in ("3.10", "3.11", "3.12"):
            return path
    raise KitProblem("no Python 3.10–3.12 found for spiff-arena (set PYTHON=python3.X)")


class Spiff:
    """spiff-arena's backend from the peer kit on a fresh database: setup.sh (the first time it installs
    everything into the kit directory), server.sh start, six_tasks.py for each load."""

    name = "spiff-arena"

    def __init__(self, kit: Path, kit_dir: Path, python: str, database: str, pg_url: str | None):
        self.kit, self.kit_dir = kit, kit_dir
        kit_dir.mkdir(parents=True, exist_ok=True)
        if database == "sqlite":
            db_args = ["sqlite"]
            for leftover in (kit_dir / "instance").glob("db_local_development.sqlite3*"):
                leftover.unlink()                            # a fresh database: setup.sh makes it again
        else:
            db_args = ["pg", pg_url]
        log = kit_dir / "bench-setup.log"
        with open(log, "a") as out:
            out.write(f"==== {time.strftime('%Y-%m-%d %H:%M:%S')} setup.sh {' '.join(db_args)}\n")
            out.flush()
            done = subprocess.run(["bash", str(kit / "setup.sh"), str(kit_dir), *db_args], stdout=out,
                                  stderr=subprocess.STDOUT, env={**os.environ, "PYTHON": python})
        if done.returncode != 0:
            tail = "".join(log.read_text(errors="replace").splitlines(True)[-15:])
            raise KitProblem(f"setup.sh failed (exit {done.returncode}); the end of {log}:\n{tail}")
        self.port = free_port()
        started = subprocess.run(["bash", str(kit / "server.sh"), "start", str(kit_dir), str(self.port), *db_args],
                                 capture_output=True, text=True)
        if started.returncode != 0 or not started.stdout.strip().isdigit():
            raise KitProblem(f"server.sh start failed: {started.stderr.strip()[-1500:]}")
        self.pid = started.stdout.strip()
        self.describe = "the kit's server.sh: uvicorn 1 worker, in-process scheduler"

    def load(self, instances: int, clients: int) -> Run:
        done = subprocess.run([sys.executable, str(self.kit / "six_tasks.py"), "--port", str(self.port),
                               "--instances", str(instances), "--clients", str(clients)],
                              capture_output=True, text=True)
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if not lines:
            raise KitProblem(f"six_tasks.py printed no result (exit {done.returncode}): {done.stderr.strip()[-1500:]}")
        out = json.loads(lines[-1])
        return Run(out["starts"], out["start_wall_s"], out["start_p50_ms"], out["start_p99_ms"], out["completions"],
                   out["complete_wall_s"], out["complete_p50_ms"], out["complete_p99_ms"], out["errors"],
                   out["error_kinds"], out["error_samples"], out["end_status"])

    def stop(self):
        subprocess.run(["bash", str(self.kit / "server.sh"), "stop", self.pid], capture_output=True, text=True)


# -- databases ----------------------------------------------------------------------------------------------
def pg_database(server_url: str, name: str, drivername: str) -> str:
    """A new, empty PostgreSQL database `name` (dropped first if left over); its URL for `drivername`."""
    admin = create_engine(make_url(server_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server_url).set(drivername=drivername, database=name).render_as_string(hide_password=False)


def drop_pg_database(server_url: str, name: str) -> None:
    admin = create_engine(make_url(server_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def pg_problem(server_url: str) -> str | None:
    try:
        engine = create_engine(make_url(server_url).set(drivername="postgresql+psycopg"))
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as err:  # noqa: BLE001 - any failure: no PostgreSQL here
        return f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
    return None


# -- the run --------------------------------------------------------------------------------------------------
def measure(database: str, args, peer_ok: bool, say) -> tuple[dict, list[str], str | None]:
    """Both applications on fresh databases of one kind, loaded in turn (eventflow, spiff-arena, …) for
    each round and number of clients. ({(app, clients): [Run]}, descriptions, why the peer is missing)."""
    runs: dict = {}
    apps, peer_missing, dropped = [], None if peer_ok else args.peer_missing, []
    with tempfile.TemporaryDirectory(prefix="bench-peer-") as tmp:
        try:
            if database == "sqlite":
                eventflow_url, spiff_url = f"sqlite:///{tmp}/eventflow.sqlite3", None
            else:
                eventflow_url = pg_database(args.pg_url, "bench_peer_eventflow", "postgresql+psycopg")
                dropped.append("bench_peer_eventflow")
            say(f"{database}: setting up eventflow")
            apps.append(Eventflow(eventflow_url, Path(tmp)))
            if peer_missing is None:
                try:
                    if database != "sqlite":
                        spiff_url = pg_database(args.pg_url, "bench_peer_spiff", "postgresql")
                        dropped.append("bench_peer_spiff")
                    say(f"{database}: setting up spiff-arena (kit directory {args.kit_dir})")
                    apps.append(Spiff(args.kit, args.kit_dir, args.python, database, spiff_url))
                except KitProblem as err:
                    peer_missing = f"spiff-arena could not be set up: {err}"
            # round 0 warms up: every gunicorn worker compiles the specs, caches fill, connections open
            plan = [(0, 4, 8)] + [(r, c, args.instances) for r in range(1, args.rounds + 1) for c in CLIENTS]
            for round_, clients, instances in plan:
                for app in list(apps):
                    say(f"{database}: {f'round {round_}/{args.rounds}' if round_ else 'warming up'}, "
                        f"{clients} client(s): {app.name}")
                    try:
                        done = app.load(instances, clients)
                    except KitProblem as err:
                        peer_missing = f"spiff-arena stopped working: {err}"
                        apps.remove(app)
                        app.stop()
                        runs = {k: v for k, v in runs.items() if k[0] != app.name}
                        continue
                    if round_:
                        runs.setdefault((app.name, clients), []).append(done)
            descriptions = [f"{app.name}: {app.describe}" for app in apps]
        finally:
            for app in apps:
                app.stop()
            for name in dropped:
                drop_pg_database(args.pg_url, name)
    return runs, descriptions, peer_missing


@dataclass
class Summary:
    completions_per_s: float
    starts_per_s: float
    complete_p50: float | None
    complete_p99: float | None
    start_p50: float | None
    start_p99: float | None
    errors: int
    not_ended: int
    floor_per_s: float | None = None
    floor_p50: float | None = None


def summarize(runs: list[Run], ended_word: str) -> Summary:
    def median(values):
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None
    starts = sum(r.starts for r in runs)
    completions = sum(r.completions for r in runs)
    expected = sum(sum(r.ended.values()) for r in runs)
    floor_wall = sum(r.floor_wall for r in runs)
    return Summary(completions / sum(r.complete_wall for r in runs), starts / sum(r.start_wall for r in runs),
                   median(r.complete_p50 for r in runs), median(r.complete_p99 for r in runs),
                   median(r.start_p50 for r in runs), median(r.start_p99 for r in runs),
                   sum(r.errors for r in runs), expected - sum(r.ended.get(ended_word, 0) for r in runs),
                   sum(r.floor_requests for r in runs) / floor_wall if floor_wall else None,
                   median(r.floor_p50 for r in runs))


def report(database: str, runs: dict, descriptions: list[str], peer_missing: str | None, args) -> list[tuple]:
    """Print one database's table; the aims' verdicts as (aim, text, met)."""
    print(f"\n{database}")
    for line in descriptions:
        print(f"  {line}")
    if peer_missing:
        print("  spiff-arena: NOT measured — " + peer_missing.strip().replace("\n", "\n      "))
    head = f"  {'':24}{'completions/s':>14}{'starts/s':>10}{'complete p50/p99 ms':>22}{'start p50/p99 ms':>20}  errors"
    print(head)
    summaries = {}
    for clients in CLIENTS:
        for app, word in (("eventflow", "closed"), ("spiff-arena", "complete")):
            if (app, clients) not in runs:
                continue
            s = summaries[(app, clients)] = summarize(runs[(app, clients)], word)
            label = f"{app:12}{clients} client{'s' if clients > 1 else ''}"
            print(f"  {label:24}{s.completions_per_s:>14.1f}"
                  f"{s.starts_per_s:>10.1f}{fmt(s.complete_p50):>11}/{fmt(s.complete_p99):<10}"
                  f"{fmt(s.start_p50):>9}/{fmt(s.start_p99):<10}  {s.errors}"
                  + (f" ({s.not_ended} not ended)" if s.not_ended else ""))
            if s.floor_per_s:
                print(f"  {'  floor (GET /api/auth/me)':24}{s.floor_per_s:>14.1f}{'':10}{fmt(s.floor_p50):>11}")
            for r in runs[(app, clients)]:
                for sample in r.samples[:2]:
                    print(f"      error: {sample}")
        ours, theirs = summaries.get(("eventflow", clients)), summaries.get(("spiff-arena", clients))
        if ours and theirs:
            print(f"  {'ratio eventflow/spiff':24}{ours.completions_per_s / theirs.completions_per_s:>13.1f}×"
                  f"{ours.starts_per_s / theirs.starts_per_s:>9.1f}×"
                  f"{ratio(theirs.complete_p50, ours.complete_p50):>11}/{ratio(theirs.complete_p99, ours.complete_p99):<10}"
                  f"{ratio(theirs.start_p50, ours.start_p50):>9}/{ratio(theirs.start_p99, ours.start_p99):<10}"
                  f"  (latencies: spiff-arena's ÷ eventflow's)")
    verdicts = []
    for what, factor in RATE_AIMS:
        aim = f"{what} ≥ {factor:.0f}× spiff-arena's"
        if not all(("spiff-arena", clients) in summaries for clients in CLIENTS):
            verdicts.append((aim, "not judged (no spiff-arena numbers)", None))
            continue
        parts, met_all = [], True
        for clients in CLIENTS:
            ours, theirs = summaries[("eventflow", clients)], summaries[("spiff-arena", clients)]
            got = getattr(ours, f"{what}_per_s") / getattr(theirs, f"{what}_per_s")
            met = got >= factor
            met_all = met_all and met
            parts.append(f"{clients} client(s) {got:.1f}× " + (f"met (by {got - factor:.1f}×)" if met else
                                                               f"NOT met (short by {factor - got:.1f}×, "
                                                               f"{100 * (factor - got) / factor:.0f} %)"))
        verdicts.append((aim, "; ".join(parts), met_all))
    ours = summaries.get(("eventflow", P99_AIM_CLIENTS))
    if ours and ours.complete_p99 is not None:
        p99 = ours.complete_p99
        met = p99 < P99_AIM_MS
        verdicts.append((f"completion p99 < {P99_AIM_MS:.0f} ms, {P99_AIM_CLIENTS} clients",
                         f"{p99:.1f} ms " + (f"met ({P99_AIM_MS - p99:.1f} ms to spare)" if met else
                                             f"NOT met ({p99 - P99_AIM_MS:.1f} ms over, {p99 / P99_AIM_MS:.1f}× the aim)"),
                         met))
    print("  aims")
    for aim, words, _ in verdicts:
        print(f"    {aim:36}{words}")
    for line in room_left(summaries):
        print(f"    {line}")
    return verdicts


def room_left(summaries: dict) -> list[str]:
    """What each rate aim leaves a completion and a start, one client, against the floor measured in the same
    run. With one client a rate is one operation after another, so 1 / rate is the mean time of each, the
    client's own share included, and the same of the floor: at 20× (8×) spiff-arena's rate a completion (a
    start) may take 1 / (20 × its rate), of which the floor's mean goes to any signed-in request at all."""
    ours, theirs = summaries.get(("eventflow", 1)), summaries.get(("spiff-arena", 1))
    if not ours or not ours.floor_per_s:
        return []
    floor = 1000 / ours.floor_per_s
    lines = []
    for what, factor in RATE_AIMS:
        one, took = what[:-1], 1000 / getattr(ours, f"{what}_per_s")
        line = (f"one client: a {one} takes {took:.2f} ms (mean), {floor:.2f} ms of it the floor: "
                f"its own work {took - floor:.2f} ms")
        if theirs:
            rate = getattr(theirs, f"{what}_per_s")
            budget = 1000 / (factor * rate)
            line += (f"; {factor:.0f}× spiff-arena's {rate:.1f}/s leaves {budget:.2f} ms a {one}, "
                     f"{budget - floor:.2f} ms of own work ({100 * (budget - took) / (took - floor):+.0f} %)")
        lines.append(line)
    return lines


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def ratio(theirs: float | None, ours: float | None) -> str:
    return "-" if not theirs or not ours else f"{theirs / ours:.1f}×"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=30, help="instances per run (six completions each)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each application per number of clients")
    parser.add_argument("--databases", default="sqlite,postgresql", help="sqlite, postgresql or both")
    parser.add_argument("--pg-url", default=PG_URL, help="a PostgreSQL server (the bench makes its own databases)")
    parser.add_argument("--kit", type=Path, default=KIT, help="the spiff-arena peer kit (setup.sh, server.sh, six_tasks.py)")
    parser.add_argument("--kit-dir", type=Path, default=KIT_DIR, help="where the kit is installed (outside the repository)")
    parser.add_argument("--no-peer", action="store_true", help="eventflow alone")
    args = parser.parse_args()
    if args.instances < 1 or args.rounds < 1:
        parser.error("--instances and --rounds must be at least 1")
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    if not set(databases) <= {"sqlite", "postgresql"}:
        parser.error("--databases: sqlite, postgresql or both")
    args.kit_dir = args.kit_dir.expanduser().resolve()
    if args.kit_dir == ROOT or ROOT in args.kit_dir.parents:
        parser.error("--kit-dir must be outside the repository")

    def say(line):
        print(f"[{time.strftime('%H:%M:%S')}] {line}", file=sys.stderr, flush=True)

    args.peer_missing = "--no-peer" if args.no_peer else None
    if args.peer_missing is None:
        missing = [f for f in KIT_FILES if not (args.kit / f).is_file()]
        if missing:
            args.peer_missing = f"the peer kit is absent ({args.kit}: no {', '.join(missing)})"
    if args.peer_missing is None:
        try:
            args.python = kit_python()
        except KitProblem as err:
            args.peer_missing = str(err)
    problem = pg_problem(args.pg_url) if "postgresql" in databases else None
    load_before = os.getloadavg()
    print("peer comparison (issue #17): six user tasks in sequence over HTTP, eventflow against spiff-arena "
          "(spiff-arena d7678cf, the peer kit), one run, interleaved")
    print(f"{args.instances} instances per run ({TASKS * args.instances} completions), {args.rounds} rounds, "
          f"clients {' and '.join(map(str, CLIENTS))}; rates summed over the rounds, latencies the median of "
          f"the rounds' p50 / p99 (client-side, nearest rank)")
    print("a start: spiff-arena creates and runs an instance (two calls); eventflow registers a grid worker's "
          "report of type A05, flags it against open reports nearby and starts the process its type names, "
          "answering the short form (Prefer: return=minimal: the id, number, status and open tasks)")
    print(f"machine: {os.cpu_count()} cores, load average {load_before[0]:.2f} at the start")
    if args.peer_missing:
        print(f"spiff-arena: NOT measured — {args.peer_missing}; eventflow's numbers alone")
    verdicts = {}
    for database in databases:
        if database == "postgresql" and problem:
            print(f"\npostgresql: NOT measured — no server answers at {args.pg_url} ({problem})")
            continue
        runs, descriptions, peer_missing = measure(database, args, args.peer_missing is None, say)
        verdicts[database] = report(database, runs, descriptions, peer_missing, args)
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")
    if verdicts:
        print("aims, on every database measured")
        for index, (aim, _, _) in enumerate(next(iter(verdicts.values()))):
            states = {db: v[index][2] for db, v in verdicts.items()}
            overall = ("not judged" if None in states.values() or len(states) < len(databases) else
                       "met" if all(states.values()) else "NOT met")
            words = ", ".join(f"{db} {'not judged' if met is None else 'met' if met else 'NOT met'}"
                              for db, met in states.items())
            print(f"  {aim:36}{overall} ({words})")

if __name__ == "__main__":
    main()
