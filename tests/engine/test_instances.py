"""The engine below the API: specs shared per version, instances stored without their spec, the cache
keyed by row version, and the unit of work retrying unrelated concurrent work (real databases)."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select, update

from engine.casework import administration, lifecycle
from engine.core.errors import Conflict
from engine.pool import reading
from engine.store import uow
from engine.runtime import spiff
from engine.runtime.instances import InstanceCache
from engine.store.models import Event, Instance, WorkItem
from engine.wiring import Environment
from tests.engine.conftest import load_user
from tests.engine.steps import complete, reported_and_started, whistled


def test_instances_store_no_spec_and_share_one_parsed_spec(env, sessions, run):
    factory = sessions
    a, b = reported_and_started(run), reported_and_started(run)
    states = uow.read(factory, lambda s: list(s.scalars(select(Instance.state))))
    rows = uow.read(factory, lambda s: list(s.scalars(select(Instance))))
    fresh = Environment(env.catalogs, env.registry, env.clock)   # empty caches: load from rows
    loaded = [uow.read(factory, lambda s, r=r: fresh.instances.load(s, r, None, "t")[0]) for r in rows]
    assert loaded[0].spec is loaded[1].spec                               # parsed once per version
    # what SpiffWorkflow's stock serializer would embed in each row (about 220 KB for Figure 1's diagrams);
    # the task tree alone grows with the diagram too (its timers), so the bound is relative to the specs
    registry = spiff.SERIALIZER.registry
    specs = len(json.dumps({"spec": registry.convert(loaded[0].spec),
                            "subprocess_specs": registry.convert(loaded[0].subprocess_specs)}))
    for state in states:
        stored = json.loads(state)
        assert "spec" not in stored and "subprocess_specs" not in stored
        assert len(state) * 4 < specs, (len(state), specs)
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


def test_an_ended_instance_keeps_no_state_and_its_event_reads_the_same(env, sessions, run, read):
    """Issue #17: once the process ends its task tree is dropped (most of what a closed event stored);
    the detail, timeline and diagram of the event read what is kept elsewhere, from empty caches too,
    and 重启 starts a new instance."""
    event_id = whistled(run)
    run(complete, event_id, "accept_whistle", {"decision": "accept"}, user="zhifa1")
    run(complete, event_id, "dispose_feedback", {"result_summary": "已处置"}, user="zhifa1")
    run(complete, event_id, "receive_closure", {"passed": True}, user="whistle1")    # 结案接收 (§7.3.3)
    assert run(complete, event_id, "check", {"passed": True, "rating": "满意"}, user="staff1") == "closed"
    assert run(complete, event_id, "revisit", {"revisit_reached": True, "revisit_rating": "满意"},
               user="staff1") == "closed"                     # 回访 (issue #18): the process ends after it
    row = read(lambda cmd: cmd.session.scalar(select(Instance).where(Instance.event_id == event_id)))
    assert (row.status, read(lambda cmd: cmd.session.scalar(select(Instance.state).where(Instance.id == row.id)))) \
        == ("completed", "")
    assert env.instances.cache.take(row.id, row.row_version) == (None, None)      # not kept in memory either

    fresh = Environment(env.catalogs, env.registry, env.clock)
    as_staff = lambda op, *args: uow.read(sessions, lambda s: op(fresh.command(s, load_user(s, "staff1")), *args))  # noqa: E731
    detail = as_staff(reading.event_detail, event_id)
    assert detail["process"]["status"] == "completed" and detail["process"]["version"] == 1
    assert detail["open_tasks"] == [] and detail["stage"] == ""
    done = {a["task_name"]: a["data"] for a in detail["timeline"] if a["action"] == "task_completed"}
    assert done["处置反馈"]["result_summary"] == "已处置" and done["核查"]["rating"] == "满意"   # the forms' data
    assert [d["status"] for d in detail["deadlines"]] and all(d["status"] != "open" for d in detail["deadlines"])
    xml, current = as_staff(reading.diagram, event_id)
    assert 'id="community_event"' in xml and current == []
    with pytest.raises(Conflict):                                  # nothing can take a step on it
        uow.read(sessions, lambda s: fresh.instances.load(s, s.get(Instance, row.id), None, "t"))

    run(lifecycle.reopen, event_id, "同一问题再次投诉", user="grid1")
    rows = read(lambda cmd: list(cmd.session.scalars(select(Instance).where(Instance.event_id == event_id)
                                                      .order_by(Instance.id))))
    assert [r.status for r in rows] == ["completed", "running"]
    assert [w.spec_name for w in read(lifecycle.open_work, event_id)] == ["analyse"]


def test_the_instance_cache_is_bounded_by_memory_least_recently_used_first(env, sessions, run):
    """Issue #17: a worker's cache holds at most `max_bytes` of loaded workflows (≈ 2 KB per task)."""
    event_id = reported_and_started(run)
    row = uow.read(sessions, lambda s: s.scalar(select(Instance).where(Instance.event_id == event_id)))
    workflow, index = env.instances.cache.take(row.id, row.row_version)
    weight = InstanceCache.weight(workflow)
    tasks = len(workflow.tasks) + sum(len(sp.tasks) for sp in workflow.subprocesses.values())  # its subprocesses' too
    assert weight == InstanceCache.BYTES_PER_TASK * tasks > 0
    cache = InstanceCache(size=10, max_bytes=2 * weight)
    for instance_id in (1, 2, 3):
        cache.put(instance_id, 1, workflow, index)
    assert len(cache) == 2 and cache.bytes == 2 * weight
    assert cache.take(1, 1) == (None, None)                          # the oldest went first
    assert cache.take(3, 1)[0] is workflow and cache.bytes == weight
    cache.put(2, 2, workflow, index)                                 # a newer version replaces, not adds
    assert len(cache) == 1 and cache.bytes == weight
    assert InstanceCache(max_bytes=weight - 1).put(1, 1, workflow) is None   # too large: not kept at all
    by_count = InstanceCache(size=1)
    by_count.put(1, 1, workflow)
    by_count.put(2, 1, workflow)
    assert len(by_count) == 1 and by_count.take(2, 1)[0] is workflow


def test_a_step_that_ends_several_ready_tasks_drops_each_of_them(env, sessions, run, read):
    """终止 while the lead department and a co-department (§7.3.1 协办) each have a task ready: the one save drops
    every work item the state no longer holds (engine/runtime/instances.py `_sync_work_items`), not only the first."""
    event_id = reported_and_started(run)
    run(complete, event_id, "verify", {"verdict": "accept"}, user="staff1")
    run(complete, event_id, "analyse", {"disposal": "whistle"}, user="staff1")
    run(complete, event_id, "issue_whistle", {"lead_department": "zhifa", "co_departments": ["shijian"],
                                              "on_site": False, "whistle_reason": "社区无法自行处置"}, user="whistle1")
    ready = lambda cmd: sorted(cmd.session.scalars(select(WorkItem.unit).where(WorkItem.event_id == event_id)))  # noqa: E731
    assert read(ready) == ["shijian", "zhifa"]
    run(administration.terminate, event_id, "重复上报，终止办理", user="admin1")
    assert read(ready) == []
