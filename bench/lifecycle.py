"""Persisted lifecycle throughput of Figure 1's main path through engine/ (no HTTP), beside the same
bundle run purely in memory in the same process. Prints both and the ratio (issue #2: aim ≥ 50 %).

    make bench            # or: python -m bench.lifecycle [--n 200] [--database-url URL]

Persisted = one unit of work per action, as the API does it: register, start, then each of the seven
user tasks (核实, 研判, 吹哨, 签收受理, 处置反馈, 核查, and the 回访 after closure: a grid worker's report) found
in the work-item index, checked against role, scope and form, loaded, run, saved and committed.
In memory = the same parsed spec, script engine and handlers, with no database at all.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import types

from sqlalchemy import event as sqlalchemy_event
from sqlalchemy import bindparam, select
from SpiffWorkflow.util.task import TaskState

from bench.setup import deployed
from engine.casework import lifecycle, tasks
from engine.pool import registration
from engine.runtime import spiff
from engine.store import uow
from engine.core.clock import SHANGHAI, parse_instant
from engine.limits.deadlines import Deadlines
from engine.casework.run_context import RunContext
from engine.store.models import Audit, WorkItem
from engine.runtime.scripting import EventflowScriptEngine
from engine.accounts.users import Principal
from engine.runtime.specs import compile_version

STEPS = [("staff", "verify", {"verdict": "accept"}),
         ("staff", "analyse", {"disposal": "whistle"}),
         ("whistle", "issue_whistle", {"lead_department": "zhifa", "co_departments": [], "on_site": False,
                                        "whistle_reason": "bench"}),
         ("dept", "accept_whistle", {"decision": "accept"}),
         ("dept", "dispose_feedback", {"result_summary": "已处置"}),
         ("whistle", "receive_closure", {"passed": True}),   # 结案接收 (§7.3.3)
         ("staff", "check", {"passed": True, "rating": "满意"}),
         ("staff", "revisit", {"revisit_reached": True, "revisit_rating": "满意"})]
#: a persisted lifecycle's transactions: the report, the start, each task
TRANSACTIONS = 2 + len(STEPS)
#: how a client finds the next task: one query on the work-item index
FIND = select(WorkItem.id).where(WorkItem.event_id == bindparam("event_id"), WorkItem.spec_name == bindparam("name"))
REPORT = {"source": "grid_worker", "type_code": "A05", "description": "bench", "community": "lg-xincheng",
          "location": {"lat": 27.52, "lng": 120.60, "address": "bench"}}
#: what engine.pool.events.initial_data gives the process at its start
START = {"event_id": 1, "event_number": "LG-BENCH", "community": "lg-xincheng", "event_type": "A05",
         "source": "grid_worker", "description": "bench", "location": REPORT["location"], "reporter": "grid1",
         "reopened": False, "matter_code": None, "superior_body": None, "superior_deadline": None,
         "placement_unit": None, "handled_on_spot": False}
USERS = {"grid": Principal(1, "grid1", "grid", frozenset({"grid_worker"}), "lg-xincheng", None),
         "staff": Principal(2, "staff1", "staff", frozenset({"community_staff"}), "lg-xincheng", None),
         "whistle": Principal(3, "whistle1", "whistle", frozenset({"whistle_officer"}), "lg-xincheng", None),
         "dept": Principal(4, "zhifa1", "dept", frozenset({"department_staff"}), None, "zhifa")}


class _Collect:
    """Stands in for the session in the in-memory run: handlers add rows, nothing stores them, and
    their look-ups (reports merged into the event, the channel's callback endpoint) find nothing."""

    def add(self, _row):
        pass

    def execute(self, _statement, _params=None):
        pass

    def scalars(self, _statement, _params=None):
        return []

    def scalar(self, _statement, _params=None):
        return None

    def get(self, _entity, _key):
        return None

    def get_bind(self):
        return types.SimpleNamespace(dialect=types.SimpleNamespace(name="sqlite"))


class _Event:
    id, number, community, reporter, lead_unit, channel = 1, "LG-BENCH", "lg-xincheng", "grid1", None, None
    source, reporter_contact, reopen_count, revisit, transferred_from_id, closed_at = "grid_worker", None, 0, None, None, None


class _MemoryDeadlines(Deadlines):
    """The same due-time arithmetic as the engine's deadlines, without the deadline table."""

    def arm(self, ctx, timer_task, kind, limit=None, start=None, at=None):
        if at:
            return at
        begin = parse_instant(start) if start else ctx.now()
        due, _, _, _ = self.compute(kind, limit, begin, ctx.event.community, "A05")
        return due.astimezone(SHANGHAI).isoformat()


def in_memory(compiled, catalogs, registry, clock, n, serialize=False):
    """serialize=True also writes the instance state out after each action, as any store must: the
    ceiling for a persisted run that keeps one unit of work per action."""
    deadlines = _MemoryDeadlines(catalogs)
    for _ in range(n):
        ctx = RunContext(session=_Collect(), clock=clock, catalogs=catalogs, event=_Event(), instance_id=1,
                         task_meta=compiled.task_meta)
        wf = spiff.Workflow(compiled.spec, compiled.subprocess_specs)
        wf.script_engine = EventflowScriptEngine(ctx, registry, deadlines)
        wf.task_tree.data.update(START)
        wf.do_engine_steps()
        if serialize:
            spiff.dump(wf)
        for _, name, data in STEPS:
            task = [t for t in wf.get_tasks(state=TaskState.READY, manual=True) if t.task_spec.bpmn_id == name][0]
            task.data.update(data)
            task.run()
            wf.do_engine_steps()
            if serialize:
                spiff.dump(wf)
        assert wf.completed


def persisted(factory, env, n, step=None):
    """`n` events walked through STEPS, each action a unit of work. `step` (a timedelta): the simulated
    clock moves that much before each action, so the rows carry distinct times as a working day's do
    (bench/storage.py: PostgreSQL's B-tree deduplication would fold equal keys into one entry)."""
    def tick():
        if step:
            env.clock.set(env.clock.now() + step)

    for _ in range(n):
        tick()
        event, _ = uow.run(factory, lambda s: registration.report(env.command(s, USERS["grid"]), REPORT))
        tick()
        uow.run(factory, lambda s: lifecycle.start(env.command(s, USERS["grid"]), event.id))
        for who, name, data in STEPS:
            user = USERS[who]
            tick()
            task_id = uow.read(factory, lambda s: s.connection().execute(
                FIND, {"event_id": event.id, "name": name}).scalar())
            uow.run(factory, lambda s: tasks.complete(env.command(s, user), task_id, data))
        assert uow.read(factory, lambda s: lifecycle.open_work(env.command(s), event.id)) == []


def bare_commits(db, clock, n):
    """The database's own floor: a lifecycle's transactions (TRANSACTIONS), each writing one audit row, no ORM."""
    table = Audit.__table__
    for _ in range(n):
        for _ in range(TRANSACTIONS):
            with db.begin() as conn:
                conn.execute(table.insert(), {"at": clock.now(), "actor": "bench", "action": "bench"})


def driver_share(db, fn, n):
    """(statements, ms in the database driver) per lifecycle: what the database itself costs, as
    against what the Python around each statement costs (SQLAlchemy, the engine's bookkeeping)."""
    spent, began = [0, 0.0], []

    def before(*_):
        began.append(time.perf_counter())

    def after(*_):
        spent[0] += 1
        spent[1] += time.perf_counter() - began.pop()

    sqlalchemy_event.listen(db, "before_cursor_execute", before)
    sqlalchemy_event.listen(db, "after_cursor_execute", after)
    try:
        fn(n)
    finally:
        sqlalchemy_event.remove(db, "before_cursor_execute", before)
        sqlalchemy_event.remove(db, "after_cursor_execute", after)
    return spent[0] / n, spent[1] * 1000 / n


def rate(fn, n, rounds):
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn(n)
        samples.append(n / (time.perf_counter() - start))
    return statistics.median(samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="lifecycles per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
        db, factory, env, version = deployed(url)
        catalogs, registry, clock = env.catalogs, env.registry, env.clock
        compiled = uow.read(factory, lambda s: compile_version(s.get(type(version), version.id)))

        persisted(factory, env, 5)            # warm up caches and the database
        in_memory(compiled, catalogs, registry, clock, 5)
        mem = rate(lambda n: in_memory(compiled, catalogs, registry, clock, n), args.n, args.rounds)
        dumped = rate(lambda n: in_memory(compiled, catalogs, registry, clock, n, serialize=True),
                      args.n, args.rounds)
        floor = rate(lambda n: bare_commits(db, clock, n), args.n, args.rounds)
        disk = rate(lambda n: persisted(factory, env, n), args.n, args.rounds)
        statements, driver_ms = driver_share(db, lambda n: persisted(factory, env, n), args.n)
        db.dispose()

    print(f"database          {url.split('://')[0]}")
    print(f"lifecycles/round  {args.n} x {args.rounds} rounds (median)")
    print(f"in memory         {mem:8.1f} lifecycles/s  ({1000 / mem:6.2f} ms each)")
    print(f"in memory + dump  {dumped:8.1f} lifecycles/s  ({1000 / dumped:6.2f} ms each, state serialized "
          f"after each of {1 + len(STEPS)} actions: {dumped / mem:.1%} of in memory, the ceiling for any store)")
    print(f"{TRANSACTIONS} bare commits    {floor:8.1f} lifecycles/s  ({1000 / floor:6.2f} ms each: the database's own floor)")
    print(f"persisted         {disk:8.1f} lifecycles/s  ({1000 / disk:6.2f} ms each, {TRANSACTIONS} transactions)")
    print(f"  of which        {statements:8.0f} statements, {driver_ms:.2f} ms inside the database driver; "
          f"the rest is Python (SpiffWorkflow, the dump, SQLAlchemy, checks)")
    best = 1000 / (1000 / dumped + 1000 / floor)
    print(f"best possible     {best / mem:8.1%}  (dump + bare commits, nothing else)")
    print(f"ratio             {disk / mem:8.1%}  (persisted / in memory; aim >= 50 %)")


if __name__ == "__main__":
    main()
