"""Timer sweep cost as open instances grow (issue #4): 100 due timers among 10k, 100k and 1M open
instances must cost about the same (1M within 1.5x of 10k), because the sweep reads only the due rows
of the indexed timer table.

    make bench            # or: python -m bench.sweep [--sizes 10000,100000,1000000] [--database-url URL]

Each size: the filler (open instances whose timers are due a year later, written straight into the
tables) grows to the size; then 100 real events walk 核实 → 研判 → 吹哨 through engine/ and arm their
30-minute accept timers; the clock moves past them and one sweep fires all 100. Printed: the sweep's
wall time (median of the rounds), an empty sweep's time, and the ratio to the first size.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import timedelta

from sqlalchemy import func, insert, select

from bench.setup import analyze, deployed, move_sequences
from engine.casework import lifecycle, tasks
from engine.pool import registration
from engine.runtime import sweep
from engine.store import uow
from engine.store.models import Event, Instance, Timer
from engine.accounts.users import Principal

REPORT = {"source": "grid_worker", "type_code": "A05", "description": "bench", "community": "lg-xincheng",
          "location": {"lat": 27.52, "lng": 120.60, "address": "bench"}}
USERS = {"grid": Principal(1, "grid1", "grid", frozenset({"grid_worker"}), "lg-xincheng", None),
         "staff": Principal(2, "staff1", "staff", frozenset({"community_staff"}), "lg-xincheng", None),
         "whistle": Principal(3, "whistle1", "whistle", frozenset({"whistle_officer"}), "lg-xincheng", None)}
STEPS = [("staff", "verify", {"verdict": "accept"}), ("staff", "analyse", {"disposal": "whistle"}),
         ("whistle", "issue_whistle", {"lead_department": "zhifa", "on_site": False})]
BATCH = 20_000


def grow_filler(db, version_id: int, now, have: int, want: int) -> None:
    """Open instances with a timer a year away: rows only (their state is never loaded by a sweep)."""
    far = now + timedelta(days=365)
    with db.begin() as conn:
        next_event = (conn.scalar(select(func.max(Event.id))) or 0) + 1
    while have < want:
        n = min(BATCH, want - have)
        ids = range(next_event, next_event + n)
        with db.begin() as conn:
            conn.execute(insert(Event), [dict(id=i, number=f"FILL-{i}", source="grid_worker", type_code="A05",
                                              description="filler", lat=27.5, lng=120.6, address="filler",
                                              photos=[], community="lg-xincheng", reporter="grid1", status="open",
                                              stage="签收受理", created_at=now, reopen_count=0) for i in ids])
            conn.execute(insert(Instance), [dict(id=i, event_id=i, version_id=version_id, state="{}",
                                                 serializer_version="1.4", status="running", row_version=1,
                                                 updated_at=now) for i in ids])
            conn.execute(insert(Timer), [dict(instance_id=i, task_id=f"fill-{i}", spec_name="timer_accept",
                                              due_at=far) for i in ids])
            move_sequences(conn)
        next_event += n
        have += n
    if db.dialect.name == "postgresql":
        analyze(db)


def arm_due(factory, env, count: int) -> list[int]:
    """`count` events walked 核实 → 研判 → 吹哨 at the clock's time: their 30-minute accept timers run. Their ids."""
    ids = []
    for _ in range(count):
        event, _ = uow.run(factory, lambda s: registration.report(env.command(s, USERS["grid"]), REPORT))
        # (start_pending: a worker running beside it may start a submission stored on an earlier clock first)
        uow.run(factory, lambda s: lifecycle.start_pending(env.command(s, USERS["grid"]), event.id))
        for who, name, data in STEPS:
            task_id = uow.read(factory, lambda s: next(w.id for w in lifecycle.open_work(env.command(s), event.id)
                                                       if w.spec_name == name))
            uow.run(factory, lambda s: tasks.complete(env.command(s, USERS[who]), task_id, data))
        ids.append(event.id)
    return ids


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--due", type=int, default=100, help="due timers per sweep")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/sweep.sqlite3"
        db, factory, env, version = deployed(url)
        clock = env.clock
        have, rows = 0, []
        for size in sizes:
            started = time.perf_counter()
            grow_filler(db, version.id, clock.now(), have, size)
            have = size
            filled = time.perf_counter() - started
            fire_times, empty_times = [], []
            for _ in range(args.rounds):
                arm_due(factory, env, args.due)
                clock.set(clock.now() + timedelta(minutes=31))
                t0 = time.perf_counter()
                result = sweep.sweep(factory, env, limit=args.due * 2)
                fire_times.append(time.perf_counter() - t0)
                assert sum(len(v) for v in result.fired.values()) == args.due and not result.errors, result
                t0 = time.perf_counter()
                sweep.sweep(factory, env)
                empty_times.append(time.perf_counter() - t0)
            rows.append((size, statistics.median(fire_times), statistics.median(empty_times), filled))
            print(f"  {size:>9,} open instances ready (filler {filled:5.1f} s)", flush=True)
        db.dispose()

    print(f"database            {url.split('://')[0]}")
    print(f"due per sweep       {args.due}  ({args.rounds} rounds, median)")
    print(f"{'open instances':>16} {f'sweep ({args.due} due)':>16} {'per timer':>10} {'empty sweep':>12} {'vs first':>9}")
    base = rows[0][1]
    for size, fire, empty, _ in rows:
        print(f"{size:>16,} {fire * 1000:>13.1f} ms {fire * 1000 / args.due:>7.2f} ms {empty * 1000:>9.2f} ms "
              f"{fire / base:>8.2f}x")
    print(f"aim: the largest within 1.5x of the first — {'met' if rows[-1][1] <= 1.5 * base else 'NOT met'}")


if __name__ == "__main__":
    main()
