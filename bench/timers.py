"""How late timers fire among many open instances, under the production server (issue #17): `eventflow
serve` on PostgreSQL, whose `eventflow worker` runs the sweep every second on the wall clock. Aim: every
timer fires ≤ 1 s after its due time with 1,000,000 open instances.

    make bench            # or: python -m bench.timers [--sizes 10000,100000] [--due 300] [--spread 20]
    python -m bench.timers --sizes 10000,100000,1000000       # the full size (seeding 1M takes minutes)

For each size, in one database that grows:
1. the open instances: one real event walked through engine/ (报告, 核实, 研判, 吹哨: waiting at 签收受理,
   its §8.3 30-minute accept timer weeks away) is copied in bulk by SQL (INSERT … SELECT over
   generate_series) with new ids — its event, instance state, timer row, deadline and work item —
   as a real engine walk at a few hundred a second would take an hour for 1M;
2. the EXPLAIN of every statement an idle sweep runs (the timer query and the jobs'), to show each reads
   through an index, not the whole table;
3. `--due` real events walked the same way on a clock set back so that their accept timers fall due
   over `--spread` seconds from a few seconds ahead (real time); the server's worker fires them. Late =
   when the bench first saw the timer_fired row (it looks every 0.02 s) minus the due time: an upper bound,
   at most a look's interval and one query above the truth (the row's own time is the worker's clock, in
   whole seconds: engine/core/clock.py); p50 / p99 / max, and the worker process's RSS while it fires.
   The events are armed on whole seconds, as the server's clock gives them, so each due time is one.
"""
from __future__ import annotations

import argparse
import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import event as sqlalchemy_event, func, select, text

from bench.latency import ShiftableClock
from bench.serving import Served, pg_database, prepare, rss_mb
from bench.setup import analyze, move_sequences
from bench.sweep import arm_due
from catalogs import load_catalogs
from engine.core.clock import SystemClock
from engine.runtime import sweep
from engine.store import uow
from engine.store.db import make_engine, make_session_factory
from engine.store.models import Audit, Deadline, Event, Instance, Timer, WorkItem
from engine.wiring import Environment
from handlers.registry import default_registry

BATCH = 100_000
#: the tables whose rows a copy of the template's open instance is made of, and what changes per copy (g:
#: the copy's number, from generate_series); other columns are copied as they are
COPIES = [(Event, "id = :event", {"id": "CAST(:base_event AS integer) + g", "number": "'T-' || g", "intake_key": "NULL",
                                   "public_token": "NULL"}),
          (Instance, "id = :instance", {"id": "CAST(:base_instance AS integer) + g", "event_id": "CAST(:base_event AS integer) + g"}),
          (Timer, "instance_id = :instance", {"id": None, "instance_id": "CAST(:base_instance AS integer) + g"}),
          (Deadline, "instance_id = :instance", {"id": None, "instance_id": "CAST(:base_instance AS integer) + g",
                                                 "event_id": "CAST(:base_event AS integer) + g"}),
          (WorkItem, "instance_id = :instance", {"id": "'copy-' || g", "instance_id": "CAST(:base_instance AS integer) + g",
                                                 "event_id": "CAST(:base_event AS integer) + g"})]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def engine_parts(url: str, clock):
    db = make_engine(url)
    return db, make_session_factory(db), Environment(load_catalogs(), default_registry(), clock)


def template(factory, env) -> tuple[int, int]:
    """(event id, instance id) of one real open instance whose timer and deadline are weeks away (the run
    is over long before)."""
    env.clock.offset = timedelta(days=20)
    arm_due(factory, env, 1)
    return uow.read(factory, lambda s: s.execute(select(Instance.event_id, Instance.id)
                                                 .order_by(Instance.id.desc()).limit(1)).one())


def grow(db, event_id: int, instance_id: int, have: int, want: int, report) -> None:
    """Copies of the template's rows until `want` copies exist, BATCH per transaction."""
    with db.connect() as conn:   # copy g gets the id base + g: after every row there is now
        base_event = conn.scalar(select(func.max(Event.id))) - have
        base_instance = conn.scalar(select(func.max(Instance.id))) - have
    done = have
    while done < want:
        hi = min(want, done + BATCH)
        with db.begin() as conn:
            for table, where, changes in COPIES:
                columns = [c.name for c in table.__table__.columns if not (c.name in changes and changes[c.name] is None)]
                values = ", ".join(changes.get(c) or f"t.{c}" for c in columns)
                conn.execute(text(f"INSERT INTO {table.__tablename__} ({', '.join(columns)}) SELECT {values} "
                                  f"FROM {table.__tablename__} t CROSS JOIN "
                                  f"generate_series(CAST(:lo AS integer), CAST(:hi AS integer)) AS g WHERE t.{where}"),
                             {"lo": done + 1, "hi": hi, "event": event_id, "instance": instance_id,
                              "base_event": base_event, "base_instance": base_instance})
            move_sequences(conn, ("event", "process_instance", "timer", "deadline"))
        done = hi
        report(done)


def explain_sweep(db, factory, env) -> list[tuple[str, str, float]]:
    """(statement, the plan's scans, ms) of every SELECT an idle sweep runs (EXPLAIN ANALYZE, rolled back)."""
    seen = []

    def keep(_conn, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))
    sqlalchemy_event.listen(db, "before_cursor_execute", keep)
    try:
        sweep.sweep(factory, env)
        uow.read(factory, sweep.next_timer)      # what the worker reads after each sweep (web/scheduler.py)
    finally:
        sqlalchemy_event.remove(db, "before_cursor_execute", keep)
    plans = []
    with db.connect() as conn:
        for statement, parameters in dict((statement, parameters) for statement, parameters in seen).items():
            lines = [row[0] for row in conn.exec_driver_sql(f"EXPLAIN ANALYZE {statement}", parameters)]
            conn.rollback()
            scans = [line.strip().lstrip("-> ").split("  (")[0] for line in lines
                     if "Scan" in line and " on " in line]
            took = next((float(line.split(":")[1].split()[0]) for line in lines if line.startswith("Execution Time")), 0.0)
            plans.append((" ".join(statement.split())[:90], "; ".join(scans) or "(no table scan)", took))
    return plans


def arm_soon(factory, env, count: int, first_due: datetime, spread: float) -> dict[int, tuple[datetime, float]]:
    """`count` real events whose accept timers fall due from `first_due` over `spread` seconds: each walked
    on the clock set 30 minutes before its due time. event id → (the timer's due time, when it was armed
    (time.time()))."""
    armed = {}
    for i in range(count):
        env.clock.offset = first_due + timedelta(seconds=spread * i / count) - timedelta(minutes=30) - utcnow()
        [event_id] = arm_due(factory, env, 1)
        due = uow.read(factory, lambda s, e=event_id: s.scalar(
            select(Timer.due_at).join(Instance, Instance.id == Timer.instance_id).where(Instance.event_id == e)))
        armed[event_id] = (due, time.time())
    return armed


#: how often the bench looks for the fired timers (s)
LOOK_S = 0.02


class WholeSeconds(ShiftableClock):
    """The bench's clock for arming, in whole seconds as the server's own (engine/core/clock.py SystemClock):
    a timer falls due on a whole second, as it does there."""

    def now(self):
        return super().now().replace(microsecond=0)


def fired(factory, event_ids) -> set[int]:
    return set(uow.read(factory, lambda s: s.scalars(
        select(Audit.event_id).where(Audit.action == "timer_fired", Audit.event_id.in_(list(event_ids))))))


def measure(server: Served, factory, env, due: int, spread: float, seconds_each: float) -> dict:
    """Arm `due` timers to fall due a few seconds ahead (after the arming: `seconds_each` per event, measured)
    over `spread` seconds; wait until the worker fired them all (or a minute after the last is due)."""
    ahead = 3 + due * seconds_each * 1.3
    armed = arm_soon(factory, env, due, utcnow() + timedelta(seconds=ahead), spread)
    [worker] = server.processes()[1]
    last_due = max(d for d, _ in armed.values())
    rss, seen, looks = [rss_mb(worker)], {}, 0
    while len(seen) < len(armed) and utcnow() < last_due + timedelta(seconds=60):
        time.sleep(LOOK_S)
        looks += 1
        if looks % 25 == 0:
            rss.append(rss_mb(worker))
        found = fired(factory, [e for e in armed if e not in seen])
        looked = utcnow()            # after the read: each row it found was there before this time
        for event_id in found:
            seen[event_id] = looked
    late = sorted((seen[e] - d).total_seconds() for e, (d, _) in armed.items() if e in seen)
    unfair = sum(1 for d, made in armed.values() if made > d.timestamp() - 1)   # armed less than 1 s before due
    return {"late": late, "armed": len(armed), "unfair": unfair, "rss": rss}


def pct(values, q):
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="open instances, growing (1000000: the aim)")
    parser.add_argument("--due", type=int, default=300, help="timers that fall due at each size")
    parser.add_argument("--spread", type=float, default=20, help="seconds over which they fall due")
    parser.add_argument("--database", default="eventflow_bench_timers")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    rows = []
    with pg_database(args.database, keep=args.keep) as url:
        prepare(url)
        db, factory, env = engine_parts(url, WholeSeconds())
        event_id, instance_id = template(factory, env)
        started = time.perf_counter()
        arm_due(factory, env, 5)                                   # warm: the spec compiled, statements cached
        seconds_each = (time.perf_counter() - started) / 5
        server = Served(url, workers=1, threads=2)
        try:
            have = 0
            for size in sizes:
                started = time.perf_counter()
                grow(db, event_id, instance_id, have, size,
                     lambda n: print(f"  {n:>9,} open instances copied ({time.perf_counter() - started:5.0f} s)",
                                     flush=True) if n % 500_000 == 0 or n == size else None)
                have, seeded = size, time.perf_counter() - started
                analyze(db)
                plans = explain_sweep(db, factory, Environment(env.catalogs, env.registry, SystemClock()))
                result = measure(server, factory, env, args.due, args.spread, seconds_each)
                late = result["late"]
                rows.append((size, seeded, result, plans))
                print(f"  {size:>9,} open: {len(late)}/{result['armed']} fired, late p50 {pct(late, .5):.3f} s, "
                      f"p99 {pct(late, .99):.3f} s, max {late[-1] if late else float('nan'):.3f} s; worker RSS "
                      f"max {max(result['rss']):.0f} MB", flush=True)
        finally:
            server.stop()
            db.dispose()

    print("database            postgresql; `eventflow serve` (1 gunicorn worker) with `eventflow worker`, sweep every 1 s")
    print(f"timers              {args.due} accept timers (§8.3, 30 min) due over {args.spread:g} s at each size")
    print(f"{'open instances':>16} {'seeded in':>10} {'fired':>8} {'late p50':>9} {'p99':>8} {'max':>8} {'worker RSS':>11}")
    for size, seeded, result, _ in rows:
        late = result["late"]
        print(f"{size:>16,} {seeded:>8.0f} s {len(late):>4}/{result['armed']:<3} {pct(late, .5):>8.3f}s "
              f"{pct(late, .99):>7.3f}s {late[-1] if late else float('nan'):>7.3f}s {max(result['rss']):>8.0f} MB"
              + (f"   ({result['unfair']} armed < 1 s before due)" if result["unfair"] else ""))
    size, _, _, plans = rows[-1]
    print(f"an idle sweep's reads at {size:,} open instances (EXPLAIN ANALYZE):")
    for statement, scans, took in plans:
        print(f"  {took:7.3f} ms  {scans}\n              {statement}")
    late = rows[-1][2]["late"]
    met = bool(late) and len(late) == rows[-1][2]["armed"] and late[-1] <= 1.0
    print(f"aim: every timer <= 1 s late at {size:,} open instances — {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
