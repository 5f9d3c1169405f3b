"""Growth (issue #17): starts and GET /api/tasks at 100,000 events within 1.2x of an empty database, and an
app worker's RSS within 200 MB.

    python -m bench.growth [--events 100000] [--starts 100] [--touch 3000] [--database-url URL]

One app (web/create_app, test client, HTTP as a client sends it) on a fresh database:
1. empty: GET /api/tasks as staff2 (20 verify tasks of lg-longgang, made by 转办), median of 30; then
   `--starts` reports by grid1 (POST /api/events: register, flag duplicates, start the process), per second.
2. the filler (`--events`, written straight into the tables, as bench/sweep.py does): a year of history —
   95 % closed (instance ended, so no state; 4 audit rows, a met deadline, a notification), 5 % open in the
   last 30 days in other communities (a verify task, a pending deadline and a timer a year away) — over 30
   types (A01–A03 sensitive) and 10 communities, spread over 10 km; then the same two measurements.
3. `--touch` more starts (each a cached instance), then the process's RSS and what the instance cache holds.
"""
from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from bench.setup import analyze, move_sequences
from engine.accounts import demo
from engine.casework import process_versions
from engine.core.config import Settings
from engine.runtime import bundle
from engine.store.db import init_db, make_engine
from engine.store.models import Audit, Deadline, Event, Instance, Notification, Timer, WorkItem
from web import create_app
from web.services import Services

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password-1"
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
    if db.dialect.name == "postgresql":
        analyze(db)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--starts", type=int, default=100)
    parser.add_argument("--touch", type=int, default=3000, help="starts before the RSS is read")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env(env={}, database_url=args.database_url or f"sqlite:///{tmp}/growth.sqlite3",
                                     scrypt_n=1024)
        db = make_engine(settings.database_url)
        init_db(db)
        services = Services.build(settings)
        app = create_app(services=services)
        version, _ = services.run(lambda s: process_versions.deploy(services.command(s),
                                                                    bundle.from_directory(ROOT / "processes"), "bench"))
        for entry in demo.DEMO_USERS:
            services.run(lambda s, e=entry: demo.create(services.command(s), e, PASSWORD, 1024))
        client = app.test_client()
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

        def measure():
            call("staff2", "GET", "/api/tasks")           # warm
            samples = []
            for _ in range(30):
                t0 = time.perf_counter()
                listed = call("staff2", "GET", "/api/tasks")
                samples.append(time.perf_counter() - t0)
            assert len(listed["items"]) == 20, listed
            t0 = time.perf_counter()
            for _ in range(args.starts):
                call("grid1", "POST", "/api/events", REPORT)
            return statistics.median(samples) * 1000, args.starts / (time.perf_counter() - t0)

        for _ in range(10):                       # warm: specs compiled, statements cached
            call("grid1", "POST", "/api/events", REPORT)
        empty_tasks, empty_starts = measure()
        rss_empty = rss_mb()
        t0 = time.perf_counter()
        grow_filler(db, version.id, services.clock.now(), args.events)
        filled = time.perf_counter() - t0
        full_tasks, full_starts = measure()
        for _ in range(args.touch):
            call("grid1", "POST", "/api/events", REPORT)
        cache = services.env.instances.cache
        cached = len(getattr(cache, "_items", ()))
        cached_mb = getattr(cache, "bytes", 0) / 2 ** 20
        rss = rss_mb()
        services.db.dispose()
        db.dispose()

    print(f"database            {settings.database_url.split('://')[0]}")
    print(f"filler              {args.events:,} events in {filled:.1f} s")
    print(f"{'':20}{'empty':>12}{f'{args.events:,} events':>16}{'ratio':>8}")
    print(f"{'GET /api/tasks':20}{empty_tasks:>9.1f} ms{full_tasks:>13.1f} ms{full_tasks / empty_tasks:>7.2f}x"
          f"   (aim <= 1.2x)")
    print(f"{'starts':20}{empty_starts:>10.1f}/s{full_starts:>14.1f}/s{empty_starts / full_starts:>7.2f}x"
          f"   (time per start; aim <= 1.2x)")
    print(f"RSS                 {rss_empty:.0f} MB after the empty round; {rss:.0f} MB after {args.touch} more starts "
          f"(instance cache: {cached} workflows, ~{cached_mb:.0f} MB estimated)   (aim <= 200 MB)")


if __name__ == "__main__":
    main()
