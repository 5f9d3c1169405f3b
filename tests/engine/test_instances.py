"""The engine below the API: specs shared per version, instances stored without their spec, the cache
keyed by row version, and the unit of work retrying unrelated concurrent work (real databases)."""
from __future__ import annotations

import json

from sqlalchemy import select, update

from engine.store import uow
from engine.store.models import Event, Instance
from engine.wiring import Environment
from tests.engine.conftest import load_user
from tests.engine.steps import complete, reported_and_started


def test_instances_store_no_spec_and_share_one_parsed_spec(env, sessions, run):
    factory = sessions
    a, b = reported_and_started(run), reported_and_started(run)
    states = uow.read(factory, lambda s: list(s.scalars(select(Instance.state))))
    for state in states:
        stored = json.loads(state)
        assert "spec" not in stored and "subprocess_specs" not in stored
        assert len(state) < 16_000   # the specs it would otherwise carry serialize to about 150 KB
    rows = uow.read(factory, lambda s: list(s.scalars(select(Instance))))
    fresh = Environment(env.catalogs, env.registry, env.clock)   # empty caches: load from rows
    loaded = [uow.read(factory, lambda s, r=r: fresh.instances.load(s, r, None, "t")[0]) for r in rows]
    assert loaded[0].spec is loaded[1].spec                               # parsed once per version
    assert a != b


def test_unrelated_concurrent_work_is_retried_not_refused(database_url, env, sessions, run):
    """Another save of the same instance (a timer, another branch's task) lands between our load and
    our save: our row-version check fails, the unit of work runs again on fresh state and succeeds.
    On PostgreSQL the other save is a real concurrent transaction; SQLite serialises writers (BEGIN
    IMMEDIATE), so there the other save is made inside our transaction after we read the row."""
    factory = sessions
    event_id = reported_and_started(run)
    attempts = []
    bump = update(Instance).where(Instance.event_id == event_id).values(row_version=Instance.row_version + 1)

    def verify(session):
        attempts.append(1)
        if len(attempts) == 1:
            seen = session.scalar(select(Instance).where(Instance.event_id == event_id))  # we read v
            attempts.append(seen)  # (keep it referenced: the identity map holds it weakly)
            if database_url.startswith("postgresql"):
                uow.run(factory, lambda other: other.execute(bump))                 # they commit v+1
            else:
                session.execute(bump, execution_options={"synchronize_session": False})
        complete(env.command(session, load_user(session, "staff1")), event_id, "verify", {"verdict": "accept"})
        return session.get(Event, event_id).stage

    assert uow.run(factory, verify) == "研判"
    assert attempts.count(1) == 2


def test_a_cached_state_is_used_only_for_its_own_row_version(env, sessions, run):
    event_id = reported_and_started(run)
    row = uow.read(sessions, lambda s: s.scalar(select(Instance).where(Instance.event_id == event_id)))
    cached, index = env.instances.cache.take(row.id, row.row_version)
    assert cached is not None                                  # put back after the commit
    assert [t.task_spec.bpmn_id for t in index.ready.values()] == ["verify"]   # with what it is waiting on
    env.instances.cache.put(row.id, row.row_version, cached, index)
    assert env.instances.cache.take(row.id, row.row_version + 1) == (None, None)
