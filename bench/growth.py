"""Growth (issue #17): starts and GET /api/tasks at 100,000 events within 1.2x of an empty database, and an
app worker's RSS within 200 MB.

    python -m bench.growth [--events 100000] [--starts 100] [--rounds 5] [--touch 3000]
                           [--databases sqlite,postgresql] [--pg-url URL]

On each database, two apps (web/create_app, test client, HTTP as a client sends it) in one process, each on a
fresh database set up alike (processes/ deployed, the demo users, staff2's 20 verify tasks of lg-longgang made
by 转办); one of them then gets the filler (`--events`, written straight into the tables, as bench/sweep.py
does): a year of history — 95 % closed (instance ended, so no state; 4 audit rows, a met deadline, a
notification), 5 % open in the last 30 days in other communities (a verify task, a pending deadline and a
timer a year away) — over 30 types (A01–A03 sensitive) and 10 communities, spread over 10 km.
1. On PostgreSQL both are vacuumed and analyzed (as autovacuum keeps a live database). The two are measured
   in turn, `--rounds` times (empty, filled, filled, empty, …: the box's moods fall on both alike):
   GET /api/tasks as staff2, 10 each a round (medians of all), then `--starts` / `--rounds` reports by grid1
   (POST /api/events: register, flag duplicates, start the process), per second.
2. A process of its own, an app on the filled database alone, makes `--touch` more starts (each a cached
   instance), then reads its RSS and what the instance cache holds: an app worker's memory.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from bench.serving import PASSWORD, PG_URL, SCRYPT_N, pg_database, prepare
from bench.setup import move_sequences
from engine.core.config import Settings
from engine.store.db import make_engine
from engine.store.models import Audit, Deadline, Event, Instance, Notification, Timer, WorkItem
from web import create_app
from web.services import Services

ROOT = Path(__file__).resolve().parent.parent
BATCH = 10_000
TYPES = [f"A{i:02d}" for i in range(1, 31)]
#: lg-longgang's open work is the measured user's own: the filler's open events are elsewhere
COMMUNITIES = ["lg-xincheng", "lg-longgang"] + [f"lg-fill-{i}" for i in range(8)]
REPORT = {"source": "grid_worker", "type_code": "A05", "description": "bench 占道经营", "community": "lg-xincheng",
          "location": {"lat": 27.52, "lng": 120.6, "address": "bench"}}


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def grow_filler(db, version_id: int, now, count: int, seed: int = 17) -> None:
    """`count` events of history, rows only (an ended instance keeps no state; an open one's is never loaded
    here: its task is another community's)."""
    rng = random.Random(seed)
    with db.begin() as conn:
        next_id = (conn.scalar(select(func.max(Event.id))) or 0) + 1
    far = now + timedelta(days=365)
    done = 0
    while done < count:
        n = min(BATCH, count - done)
        events, instances, audits, deadlines, notes, work, timers = [], [], [], [], [], [], []
        for i in range(next_id, next_id + n):
            open_ = rng.random() < 0.05
            created = now - timedelta(seconds=rng.uniform(60, (30 if open_ else 365) * 86400))
            closed = None if open_ else created + timedelta(hours=rng.uniform(1, 72))
            community = rng.choice([c for c in COMMUNITIES if c != "lg-longgang"] if open_ else COMMUNITIES)
            events.append(dict(id=i, number=f"FILL-{i}", source="grid_worker", type_code=rng.choice(TYPES),
                               description="填充事件：路面破损，影响通行", lat=27.50 + rng.random() * 0.09,
                               lng=120.55 + rng.random() * 0.10, address="filler", photos=[], community=community,
                               reporter="grid1", status="open" if open_ else "closed",
                               stage="核实" if open_ else "", created_at=created, closed_at=closed, reopen_count=0,
                               alert_count=1, received_crs="wgs84"))
            instances.append(dict(id=i, event_id=i, version_id=version_id, state="{}" if open_ else "",
                                  serializer_version="1.5", status="running" if open_ else "completed",
                                  row_version=3, updated_at=closed or created))
            audits += [dict(at=created, actor="grid1", action="reported", event_id=i, data={"type_code": "A05"}),
                       dict(at=created, actor="staff1", action="task_completed", event_id=i, instance_id=i,
                            task_id=str(uuid.UUID(int=rng.getrandbits(128))), task_name="核实",
                            data={"verdict": "accept"})]
            if open_:
                task = str(uuid.UUID(int=rng.getrandbits(128)))
                work.append(dict(id=task, instance_id=i, event_id=i, spec_name="verify", title="核实", lane="社区",
                                 role="community_staff", assignee_kind="community", community=community,
                                 form="forms/verify.json", created_at=created,
                                 time_rank=1, time_key=far, warn_at=far))     # the deadline's (待办's order)
                timers.append(dict(instance_id=i, task_id=f"fill-{i}", spec_name="timer_verify", due_at=far))
                deadlines.append(dict(event_id=i, instance_id=i, kind="community_handle", task_spec="verify",
                                      community=community, basis="natural", rule="P1D", started_at=created,
                                      original_due_at=far, due_at=far, warn_at=far, status="pending",
                                      extended=False, extensions=0))
            else:
                audits += [dict(at=closed, actor="staff1", action="task_completed", event_id=i, instance_id=i,
                                task_id=str(uuid.UUID(int=rng.getrandbits(128))), task_name="核查",
                                data={"passed": True, "rating": "满意"}),
                           dict(at=closed, actor="staff1", action="source_notified", event_id=i, instance_id=i,
                                data={"outcome": "closed", "reporter": "grid1"})]
                deadlines.append(dict(event_id=i, instance_id=i, kind="community_handle", task_spec="verify",
                                      community=community, basis="natural", rule="P1D", started_at=created,
                                      original_due_at=created + timedelta(days=1),
                                      due_at=created + timedelta(days=1), warn_at=created + timedelta(hours=20),
                                      status="met", met_at=closed, met_by="staff1", extended=False, extensions=0))
                notes.append(dict(at=closed, event_id=i, recipient_kind="person", recipient="grid1", kind="outcome",
                                  message=f"您上报的事件 FILL-{i} 已办结"))
        with db.begin() as conn:
            for table, rows in ((Event, events), (Instance, instances), (Audit, audits), (Deadline, deadlines),
                                (Notification, notes), (WorkItem, work), (Timer, timers)):
                if rows:                  # one statement per table: every row names the same columns
                    columns = {key for row in rows for key in row}
                    conn.execute(insert(table), [{key: row.get(key) for key in columns} for row in rows])
            move_sequences(conn)
        next_id += n
        done += n


def app_on(url: str):
    """An app on a fresh database at `url`, set up as the measurement needs; (services, call, version id)."""
    version = prepare(url)
    services = Services.build(Settings.from_env(env={}, database_url=url, scrypt_n=SCRYPT_N))
    client = create_app(services=services).test_client()
    tokens = {u: client.post("/api/auth/token", json={"username": u, "password": PASSWORD}).json["token"]
              for u in ("grid1", "staff1", "staff2")}

    def call(user, method, path, body=None):
        r = client.open(path, method=method, json=body, headers={"Authorization": f"Bearer {tokens[user]}"})
        assert r.status_code in (200, 201), (r.status_code, r.json)
        return r.json

    for _ in range(20):                       # staff2's own work: 20 events transferred to lg-longgang
        event = call("grid1", "POST", "/api/events", REPORT)
        task = next(t for t in call("staff1", "GET", f"/api/events/{event['id']}")["open_tasks"])
        call("staff1", "POST", f"/api/tasks/{task['id']}/complete",
             {"verdict": "transfer", "target_community": "lg-longgang", "verify_note": "事发地属龙港社区"})
    for _ in range(10):                       # warm: specs compiled, statements cached
        call("grid1", "POST", "/api/events", REPORT)
    call("staff2", "GET", "/api/tasks")
    return services, call, version.id


def tasks_samples(call, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        listed = call("staff2", "GET", "/api/tasks")
        samples.append(time.perf_counter() - t0)
    assert len(listed["items"]) == 20, listed
    return samples


def starts_time(call, n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        call("grid1", "POST", "/api/events", REPORT)
    return time.perf_counter() - t0


def measure(name: str, empty_url: str, full_url: str, args) -> None:
    empty, full = app_on(empty_url), app_on(full_url)
    db = make_engine(full_url)
    t0 = time.perf_counter()
    grow_filler(db, full[2], full[0].clock.now(), args.events)
    filled = time.perf_counter() - t0
    db.dispose()
    if name == "postgresql":       # both as autovacuum keeps a live database, and it does not start mid-run
        for url in (empty_url, full_url):
            vacuum = make_engine(url)
            with vacuum.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
            vacuum.dispose()
    tasks = {"empty": [], "full": []}
    starts = {"empty": 0.0, "full": 0.0}
    per_round = max(1, args.starts // args.rounds)
    for r in range(args.rounds):
        for side in (("empty", "full") if r % 2 == 0 else ("full", "empty")):
            call = (empty if side == "empty" else full)[1]
            tasks[side] += tasks_samples(call, 10)
            starts[side] += starts_time(call, per_round)
    for services, _, _ in (empty, full):
        services.db.dispose()
    # its own process: an app worker's memory, not this one's with two apps and the filler's garbage
    worker = subprocess.run([sys.executable, "-m", "bench.growth", "--worker-rss", "--touch", str(args.touch)],
                            input=full_url, stdout=subprocess.PIPE, text=True, check=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout.strip()
    e, f = (statistics.median(tasks[side]) * 1000 for side in ("empty", "full"))
    se, sf = (args.rounds * per_round / starts[side] for side in ("empty", "full"))
    print(f"database            {name}")
    print(f"filler              {args.events:,} events in {filled:.1f} s; measured in turn, {args.rounds} rounds, "
          f"{args.rounds * per_round} starts on each")
    print(f"{'':20}{'empty':>12}{f'{args.events:,} events':>16}{'ratio':>8}")
    print(f"{'GET /api/tasks':20}{e:>9.1f} ms{f:>13.1f} ms{f / e:>7.2f}x   (aim <= 1.2x)")
    print(f"{'starts':20}{se:>10.1f}/s{sf:>14.1f}/s{se / sf:>7.2f}x   (time per start; aim <= 1.2x)")
    print(f"RSS                 {worker}   (aim <= 200 MB)")


def worker_rss(url: str, touch: int) -> str:
    """An app worker alone on the filled database: `touch` starts, then its RSS and its instance cache."""
    services = Services.build(Settings.from_env(env={}, database_url=url, scrypt_n=SCRYPT_N))
    client = create_app(services=services).test_client()
    token = client.post("/api/auth/token", json={"username": "grid1", "password": PASSWORD}).json["token"]
    for _ in range(touch):
        r = client.post("/api/events", json=REPORT, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 201, r.json
    cache = services.env.instances.cache
    cached, cached_mb = len(getattr(cache, "_items", ())), getattr(cache, "bytes", 0) / 2 ** 20
    services.db.dispose()
    return (f"{rss_mb():.0f} MB, an app on the filled database after {touch} starts "
            f"(instance cache: {cached} workflows, ~{cached_mb:.0f} MB estimated)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--starts", type=int, default=100, help="on each database, all rounds together")
    parser.add_argument("--rounds", type=int, default=6, help="even: each side goes first as often")
    parser.add_argument("--touch", type=int, default=3000, help="starts before the RSS is read")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=PG_URL, help="a PostgreSQL server (the bench makes its own databases)")
    parser.add_argument("--worker-rss", action="store_true", help=argparse.SUPPRESS)   # the URL on stdin
    args = parser.parse_args()
    if args.worker_rss:
        print(worker_rss(sys.stdin.read().strip(), args.touch))
        return
    databases = set(args.databases.split(","))
    if args.rounds < 1 or not databases or databases - {"sqlite", "postgresql"}:
        parser.error("--rounds is at least 1; --databases names sqlite, postgresql or both")
    if "sqlite" in databases:
        with tempfile.TemporaryDirectory() as tmp:
            measure("sqlite", f"sqlite:///{tmp}/empty.sqlite3", f"sqlite:///{tmp}/full.sqlite3", args)
    if "postgresql" in databases:
        with pg_database("eventflow_bench_growth_empty", args.pg_url) as empty_url, \
                pg_database("eventflow_bench_growth", args.pg_url) as full_url:
            measure("postgresql", empty_url, full_url, args)


if __name__ == "__main__":
    main()
