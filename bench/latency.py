"""Fire latency after due (issue #4): in a running app — the APScheduler sweep every second on the
wall clock — under a steady load of task completions through the HTTP API, how long after its due time
does each timer fire? Prints p50 / p99 / max; and the latency of the load's own requests (an event read
and a task completion, each signed in with a bearer token), p50 / p99.

    make bench            # or: python -m bench.latency [--timers 200] [--spread 20] [--load 20]

The accept timers of Figure 1 are 30 minutes long; to have them fall due during the run, each whistle is
sent on a clock shifted so that its timer falls due at a planned moment (spread over --spread seconds);
then the clock is shifted so the first falls due a few seconds later, and it runs on at real speed while
a thread completes tasks. Latency = the timer_fired audit time (written by the sweep from the same clock)
minus the timer's due time.
"""
from __future__ import annotations

import argparse
import collections
import statistics
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import event as sqlalchemy_event, select

from engine.casework import process_versions
from engine.runtime import bundle
from engine.accounts import demo
from engine.core.clock import SystemClock
from engine.core.config import Settings
from engine.store.models import Audit, Deadline
from engine.wiring import Environment
from handlers.registry import default_registry
from web import create_app
from web.scheduler import start_sweeper
from web.services import Services

from bench.setup import ROOT

PASSWORD = "bench-password-1"


class ShiftableClock:
    """The wall clock plus an offset the benchmark sets (the app only ever reads now())."""

    simulated = False

    def __init__(self):
        self.offset = timedelta(0)

    def now(self):
        return datetime.now(timezone.utc) + self.offset


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timers", type=int, default=200)
    parser.add_argument("--spread", type=int, default=20, help="seconds over which the timers fall due")
    parser.add_argument("--load", type=int, default=20, help="task completions per second meanwhile")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env(env={}, database_url=args.database_url or f"sqlite:///{tmp}/latency.sqlite3",
                                     scrypt_n=1024, sweep_interval_seconds=1)
        from engine.store.db import init_db, make_engine
        init_db(make_engine(settings.database_url))
        services = Services.build(settings)
        clock = ShiftableClock()
        services.clock = clock
        services.env = Environment(services.catalogs, default_registry(), clock, wall_clock=SystemClock(),
                                   photos=services.env.photos)
        app = create_app(services=services)
        services.run(lambda s: process_versions.deploy(services.command(s), bundle.from_directory(ROOT / "processes"), "bench"))
        for entry in demo.DEMO_USERS:
            services.run(lambda s, e=entry: demo.create(services.command(s), e, PASSWORD, 1024))
        client = app.test_client()
        measuring = threading.Event()
        tokens = {u: client.post("/api/auth/token", json={"username": u, "password": PASSWORD}).json["token"]
                  for u in ("grid1", "staff1", "whistle1")}

        requests = []   # (seconds) of each request of the load, measured while the sweep runs

        def call(user, method, path, body=None):
            started = time.perf_counter()
            r = client.open(path, method=method, json=body, headers={"Authorization": f"Bearer {tokens[user]}"})
            assert r.status_code in (200, 201), r.json
            if measuring.is_set():
                requests.append(time.perf_counter() - started)
            return r.json

        def report():
            return call("grid1", "POST", "/api/events", {"source": "grid_worker", "type_code": "A05",
                        "description": "bench", "community": "lg-xincheng",
                        "location": {"lat": 27.52, "lng": 120.6, "address": "bench"}})

        def complete(user, event_id, name, data):
            task = next(t for t in call(user, "GET", f"/api/events/{event_id}")["open_tasks"] if t["name"] == name)
            call(user, "POST", f"/api/tasks/{task['id']}/complete", data)

        # Each whistle is sent so that its 30-minute accept timer falls due at base + ahead + spread·i/n on
        # the app's clock, however long the setup takes; then the clock is set so the first falls due in
        # `ahead` seconds and runs on at real speed.
        ahead, far = 3.0, 3600.0
        base = datetime.now(timezone.utc)
        for i in range(args.timers):
            due = base + timedelta(seconds=far + args.spread * i / args.timers)
            clock.offset = due - timedelta(minutes=30) - datetime.now(timezone.utc)
            event = report()
            complete("staff1", event["id"], "verify", {"verdict": "accept"})
            complete("staff1", event["id"], "analyse", {"disposal": "whistle"})
            complete("whistle1", event["id"], "issue_whistle", {"lead_department": "zhifa", "on_site": False})
        clock.offset = timedelta(0)
        backlog = [report()["id"] for _ in range(args.load * (args.spread + 10))]
        clock.offset = base + timedelta(seconds=far - ahead) - datetime.now(timezone.utc)
        scheduler = start_sweeper(services)
        stop = threading.Event()
        measuring.set()

        def load():
            while backlog and not stop.is_set():
                started = time.perf_counter()
                complete("staff1", backlog.pop(), "verify", {"verdict": "accept"})
                time.sleep(max(0.0, 1 / args.load - (time.perf_counter() - started)))
        worker = threading.Thread(target=load)
        worker.start()
        time.sleep(ahead + args.spread + 5)
        stop.set()
        worker.join()
        scheduler.shutdown(wait=True)

        reads = []            # a signed-in read alone, the sweep stopped: what a request's round trips cost
        trips = _count_round_trips(services.db)
        for _ in range(300):
            started = time.perf_counter()
            call("staff1", "GET", f"/api/events/{backlog[0] if backlog else 1}")
            reads.append(time.perf_counter() - started)
        trips = {k: v / len(reads) for k, v in trips.items()}

        def measure(session):
            fired = {a.event_id: a.at for a in session.scalars(select(Audit).where(Audit.action == "timer_fired"))}
            due = {d.event_id: d.due_at for d in session.scalars(select(Deadline).where(Deadline.kind == "accept"))}
            return [(fired[e] - due[e].replace(tzinfo=fired[e].tzinfo)).total_seconds() for e in due if e in fired], \
                len(due)
        latencies, armed = services.read(measure)
        services.db.dispose()

    latencies.sort()
    print(f"database        {settings.database_url.split('://')[0]}")
    print(f"timers          {len(latencies)} fired of {armed} armed, due over {args.spread} s; "
          f"sweep every {settings.sweep_interval_seconds} s; load {args.load} completions/s")
    if latencies:
        p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
        print(f"fire latency    p50 {p(0.50) * 1000:7.0f} ms   p99 {p(0.99) * 1000:7.0f} ms   "
              f"max {latencies[-1] * 1000:7.0f} ms   mean {statistics.mean(latencies) * 1000:7.0f} ms")
    requests.sort()
    if requests:
        q = lambda x: requests[min(len(requests) - 1, int(x * len(requests)))]  # noqa: E731
        print(f"request latency p50 {q(0.50) * 1000:7.1f} ms   p99 {q(0.99) * 1000:7.1f} ms   "
              f"({len(requests)} requests of the load: event reads and task completions)")
    reads.sort()
    print(f"event read      p50 {reads[len(reads) // 2] * 1000:7.2f} ms   p90 {reads[int(len(reads) * 0.9)] * 1000:7.2f} ms   "
          f"(GET /api/events/{{id}} × {len(reads)}, one at a time, nothing else running)")
    print(f"round trips     {sum(trips.values()):.1f} per event read: "
          + ", ".join(f"{k} {v:.1f}" for k, v in trips.items() if v))


def _count_round_trips(db) -> collections.Counter:
    """The database round trips from here on, by kind: a pool checkout's ping (pool_pre_ping), BEGIN, each
    statement, COMMIT, ROLLBACK (psycopg sends BEGIN with a transaction's first statement, a ROLLBACK only
    inside one)."""
    trips = collections.Counter()
    if getattr(db.pool, "_pre_ping", False):
        sqlalchemy_event.listen(db.pool, "checkout", lambda *a: trips.update(["ping"]))
    for name in ("begin", "commit", "rollback"):
        sqlalchemy_event.listen(db, name, lambda *a, n=name: trips.update([n]))
    sqlalchemy_event.listen(db, "before_cursor_execute", lambda *a: trips.update(["statement"]))
    return trips


if __name__ == "__main__":
    main()
