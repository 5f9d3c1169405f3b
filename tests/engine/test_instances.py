"""The engine below the API: specs shared per version, instances stored without their spec, the cache
keyed by row version, and the unit of work retrying unrelated concurrent work (real databases)."""
from __future__ import annotations

import json

from sqlalchemy import select, update

from catalogs import load_catalogs
from engine.casework import lifecycle, process_versions, tasks
from engine.pool import registration
from engine.runtime import bundle
from engine.store import uow
from engine.core.clock import SimulatedClock, parse_instant
from engine.store.db import make_engine, make_session_factory
from engine.store.models import Instance
from engine.facade import Runtime
from engine.accounts.users import Principal
from handlers.registry import default_registry
from tests.conftest import PROCESSES, SIM_START
from tests.web.client import REPORT

GRID = Principal(1, "grid1", "grid", frozenset({"grid_worker"}), "lg-xincheng", None)
STAFF = Principal(2, "staff1", "staff", frozenset({"community_staff"}), "lg-xincheng", None)


def make_runtime(database_url):
    db = make_engine(database_url)
    factory = make_session_factory(db)
    runtime = Runtime(load_catalogs(), default_registry(), SimulatedClock(parse_instant(SIM_START)))
    uow.run(factory, lambda s: process_versions.deploy(runtime.env.command(s), bundle.from_directory(PROCESSES), "test"))
    return db, factory, runtime


def start_event(factory, runtime):
    event, _ = uow.run(factory, lambda s: registration.report(runtime.env.command(s, GRID), REPORT))
    uow.run(factory, lambda s: lifecycle.start(runtime.env.command(s, GRID), event.id))
    return event


def test_instances_store_no_spec_and_share_one_parsed_spec(database_url):
    db, factory, runtime = make_runtime(database_url)
    a, b = start_event(factory, runtime), start_event(factory, runtime)
    states = uow.read(factory, lambda s: list(s.scalars(select(Instance.state))))
    for state in states:
        stored = json.loads(state)
        assert "spec" not in stored and "subprocess_specs" not in stored
        assert len(state) < 16_000   # the specs it would otherwise carry serialize to about 150 KB
    rows = uow.read(factory, lambda s: list(s.scalars(select(Instance))))
    fresh = Runtime(runtime.catalogs, runtime.registry, runtime.clock)   # empty caches: load from rows
    loaded = [uow.read(factory, lambda s, r=r: fresh.instances.load(s, r, None, "t")[0]) for r in rows]
    assert loaded[0].spec is loaded[1].spec                               # parsed once per version
    assert a.id != b.id
    db.dispose()


def test_unrelated_concurrent_work_is_retried_not_refused(database_url):
    """Another save of the same instance (a timer, another branch's task) lands between our load and
    our save: our row-version check fails, the unit of work runs again on fresh state and succeeds.
    On PostgreSQL the other save is a real concurrent transaction; SQLite serialises writers (BEGIN
    IMMEDIATE), so there the other save is made inside our transaction after we read the row."""
    db, factory, runtime = make_runtime(database_url)
    event = start_event(factory, runtime)
    task_id = uow.read(factory, lambda s: tasks.ready(runtime.env.command(s, STAFF))[0]["id"])
    attempts = []
    bump = update(Instance).where(Instance.event_id == event.id).values(row_version=Instance.row_version + 1)

    def complete(session):
        attempts.append(1)
        if len(attempts) == 1:
            seen = session.scalar(select(Instance).where(Instance.event_id == event.id))  # we read v
            attempts.append(seen)  # (keep it referenced: the identity map holds it weakly)
            if database_url.startswith("postgresql"):
                uow.run(factory, lambda other: other.execute(bump))                 # they commit v+1
            else:
                session.execute(bump, execution_options={"synchronize_session": False})
        return tasks.complete(runtime.env.command(session, STAFF), task_id, {"verdict": "accept"})

    result = uow.run(factory, complete)
    assert attempts.count(1) == 2 and result["stage"] == "研判"
    db.dispose()


def test_a_cached_state_is_used_only_for_its_own_row_version(database_url):
    db, factory, runtime = make_runtime(database_url)
    event = start_event(factory, runtime)
    row = uow.read(factory, lambda s: s.scalar(select(Instance).where(Instance.event_id == event.id)))
    cached, index = runtime.instances.cache.take(row.id, row.row_version)
    assert cached is not None                                  # put back after the commit
    assert [t.task_spec.bpmn_id for t in index.ready.values()] == ["verify"]   # with what it is waiting on
    runtime.instances.cache.put(row.id, row.row_version, cached, index)
    assert runtime.instances.cache.take(row.id, row.row_version + 1) == (None, None)
    db.dispose()
