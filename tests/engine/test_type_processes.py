"""An event type naming the process its events start (issue #17): Table A.1's optional `process`
(catalogs/README.md). Here A05 names the six-task process of tests/data (six user tasks in sequence, each the
reporter's own); every other type goes on starting Figure 1's community_event. Engine functions on both
databases, no app: the catalogs are the shipped ones with that one row changed (a catalog override)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from catalogs import load_catalogs
from engine.casework import lifecycle, process_versions, tasks
from engine.core.errors import Forbidden, NotFound
from engine.pool import reading
from engine.pool.photos import PhotoStore
from engine.runtime.bundle import Bundle
from engine.store.models import Audit, Event, Instance, ProcessVersion, WorkItem
from engine.wiring import Environment
from handlers.registry import default_registry
from tests.engine.steps import report, reported_and_started, start
from tests.samples import SIX_TASKS, event_types_naming, six_task_files


@pytest.fixture
def named():
    """The process A05's row names (a test parametrizes it to name another)."""
    return SIX_TASKS


@pytest.fixture
def env(clock, tmp_path, seeded, named):
    catalogs = load_catalogs(None, {"event_types": event_types_naming(named)})
    return Environment(catalogs, default_registry(), clock, photos=PhotoStore(tmp_path / "media"))


def deploy_six_tasks(cmd):
    version, _ = process_versions.deploy(cmd, Bundle(six_task_files()), "owner1")
    return version.id


def process_of(read, event_id) -> str:
    return read(lambda cmd: cmd.session.scalar(
        select(ProcessVersion.process_key).join(Instance, Instance.version_id == ProcessVersion.id)
        .where(Instance.event_id == event_id).order_by(Instance.id.desc())))


def work(read, event_id) -> list[tuple]:
    return read(lambda cmd: [(w.spec_name, w.assignee_kind, w.person, w.role) for w in cmd.session.scalars(
        select(WorkItem).where(WorkItem.event_id == event_id))])


def complete(task_id, data=None):
    return lambda cmd: tasks.complete(cmd, task_id, data or {})


def test_an_event_whose_type_names_a_process_starts_it_and_its_tasks_complete_in_turn(run, read):
    run(deploy_six_tasks)
    event_id = reported_and_started(run)                          # A05, by grid1
    assert process_of(read, event_id) == SIX_TASKS
    assert work(read, event_id) == [("step1", "person", "grid1", "grid_worker")]
    timeline = read(lambda cmd: reading.event_detail(cmd, event_id)["timeline"], user="grid1")
    started = [(entry["actor"], entry["data"]) for entry in timeline if entry["action"] == "process_started"]
    assert started == [("grid1", {"process": SIX_TASKS, "version": 1})]
    task_id = read(lambda cmd: cmd.session.scalar(select(WorkItem.id).where(WorkItem.event_id == event_id)))
    for step in range(1, 7):
        done = run(complete(task_id, {"note": f"第{step}步已办"}), user="grid1")
        assert done["task_id"] == task_id
        if step < 6:              # the answer names the next step: the same reporter's
            assert (done["next_task"]["name"], done["next_task"]["title"]) == (f"step{step + 1}", f"第{step + 1}步")
            assert done["event_status"] == "open" and done["stage"] == f"第{step + 1}步"
            task_id = done["next_task"]["id"]
        else:
            assert done["next_task"] is None and done["event_status"] == "closed"
    notes = read(lambda cmd: [a.data["note"] for a in cmd.session.scalars(
        select(Audit).where(Audit.event_id == event_id, Audit.action == "task_completed").order_by(Audit.id))])
    assert notes == [f"第{n}步已办" for n in range(1, 7)]
    # 重启 within the window starts the type's process again, not Figure 1's
    run(lifecycle.reopen, event_id, "同一问题再次投诉", user="grid1")
    assert process_of(read, event_id) == SIX_TASKS and [w[0] for w in work(read, event_id)] == ["step1"]


def test_only_the_reporter_does_the_tasks_of_its_event(run, read):
    run(deploy_six_tasks)
    event_id = reported_and_started(run)
    task_id = read(lambda cmd: cmd.session.scalar(select(WorkItem.id).where(WorkItem.event_id == event_id)))
    with pytest.raises(Forbidden):                 # the community's cadre sees it, but it is a grid worker's
        run(complete(task_id), user="staff1")
    with pytest.raises(NotFound):                  # another community's: not theirs to know of
        run(complete(task_id), user="staff2")
    assert run(complete(task_id), user="grid1")["next_task"]["name"] == "step2"
    assert run(lambda cmd: tasks.ready(cmd).items, user="staff1") == []


def test_the_other_types_start_figure_1(run, read):
    run(deploy_six_tasks)
    event_id = reported_and_started(run, type_code="A07")
    assert process_of(read, event_id) == "community_event" and [w[0] for w in work(read, event_id)] == ["verify"]


def test_a_type_naming_a_process_not_deployed_yet_is_refused_until_it_is(run, read):
    """The report is stored all the same (a source's report is never lost); its start is refused naming
    the catalog row's field, the event waits marked `error`; once the process is deployed, 重新启动."""
    assert run(process_versions.unprovided) == [
        {"field": "event_types.json A05.process",
         "reason": f"没有已启用的版本提供流程「{SIX_TASKS}」，该类事件无法启动 (no active version provides process '{SIX_TASKS}')"}]
    event_id = run(report, user="grid1")
    with pytest.raises(NotFound) as refused:
        run(start, event_id, user="grid1")
    assert refused.value.details == {"field": "event_types.json A05.process"}
    assert refused.value.message.startswith(f"事件类型 A05 指定的流程「{SIX_TASKS}」没有已启用的版本")
    run(lifecycle.mark_failed_start, event_id, refused.value.message)
    run(deploy_six_tasks)
    assert run(process_versions.unprovided) == []
    run(lifecycle.restart, event_id, user="admin1")
    assert read(lambda cmd: cmd.session.get(Event, event_id).status) == "open"
    assert process_of(read, event_id) == SIX_TASKS


@pytest.mark.parametrize("named", ["no_such_process"])
def test_a_key_no_version_provides_names_the_row(run, named):
    run(deploy_six_tasks)
    assert [m["field"] for m in run(process_versions.unprovided)] == ["event_types.json A05.process"]
    event_id = run(report, user="grid1")
    with pytest.raises(NotFound) as refused:
        run(start, event_id, user="grid1")
    assert "「no_such_process」" in refused.value.message and "event_types.json A05.process" in refused.value.message
