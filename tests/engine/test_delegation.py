"""下派 (issue #19) through engine functions (no app), on SQLite and on PostgreSQL: a whistle to 公安局 at 09:00
(签收受理 until 09:30, §8.3) passed by its clerk to 龙港派出所 until 09:15. The sub-deadline's yellow light and
miss fire once each with two app nodes sweeping at once; the work passed down is in the station's 待办 only
while the pass stands; a suspension holds the sub-deadline and moves it with the unit's own limit; a task that
goes otherwise (撤单) ends its pass without a miss."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from engine.casework import administration, delegation, lifecycle, tasks
from engine.core.clock import local
from engine.runtime import sweep
from engine.store.models import Audit, Deadline, Delegation, Notification, WorkItem
from tests.conftest import SIM_START
from tests.engine.steps import swept_by_two_nodes, whistled

START = datetime.fromisoformat(SIM_START)
PCS = "gongan.longgang_pcs"


def after(minutes: int) -> datetime:
    return START + timedelta(minutes=minutes)


def accept_task(read, event_id) -> str:
    return read(lambda cmd: cmd.session.scalar(select(WorkItem.id).where(WorkItem.event_id == event_id,
                                                                         WorkItem.spec_name == "accept_whistle")))


def passed(run, read, minutes=15, **to) -> tuple[int, str]:
    """A fresh whistle to 公安局, its 签收受理 passed down by police1 until `minutes` after 09:00."""
    event_id = whistled(run, department="gongan")
    task_id = accept_task(read, event_id)
    run(delegation.pass_down, task_id, {**(to or {"to_unit": PCS}), "due_at": local(after(minutes))}, user="police1")
    return event_id, task_id


def rows(read, model, *where):
    return read(lambda cmd: list(cmd.session.scalars(select(model).where(*where).order_by(model.id))))




def test_the_sub_deadlines_light_and_miss_fire_once_each_before_the_units_limit(database_url, run, read, clock):
    event_id, _task = passed(run, read)
    swept_by_two_nodes(database_url, after(9))
    assert rows(read, Audit, Audit.event_id == event_id, Audit.action == delegation.WARNED) == []
    swept_by_two_nodes(database_url, after(11))                   # two thirds of the 15 minutes
    swept_by_two_nodes(database_url, after(16))                   # the sub-deadline passed
    swept_by_two_nodes(database_url, after(17))
    actions = [a.action for a in rows(read, Audit, Audit.event_id == event_id,
                                      Audit.action.in_((delegation.WARNED, delegation.MISSED)))]
    assert actions == [delegation.WARNED, delegation.MISSED]
    told = [(n.kind, n.recipient) for n in rows(read, Notification, Notification.event_id == event_id,
                                                Notification.kind.like("delegation%"))]
    assert told == [("delegation_warning", PCS), ("delegation_missed", "gongan"), ("delegation_missed", PCS)]
    [row] = rows(read, Delegation, Delegation.event_id == event_id)
    assert (row.status, row.missed_at, row.warned_at) == ("active", after(16), after(11))
    [limit] = rows(read, Deadline, Deadline.event_id == event_id, Deadline.kind == "accept")
    assert (limit.status, limit.unit, limit.due_at) == ("pending", "gongan", after(30))   # the unit's runs on
    assert delegation.light(row, after(17)) == "red"


def test_work_passed_down_is_in_the_assignees_todo_only_while_the_pass_stands(run, read):
    event_id, task_id = passed(run, read, to_person="pcs1")

    def listed(user):
        return [t["id"] for t in read(tasks.todo, user=user).items if t["event_id"] == event_id]
    assert listed("pcs1") == [task_id] and listed("police1") == [task_id] and listed("zhifa1") == []
    assert read(lambda cmd: tasks.count_for(cmd.session, cmd.user, cmd.catalogs), user="pcs1") == 1   # the badge
    run(delegation.take_back, task_id, {}, user="police1")
    assert listed("pcs1") == [] and listed("police1") == [task_id]


def test_a_suspension_holds_the_sub_deadline_and_moves_it_with_the_units_limit(sessions, env, run, read, clock):
    event_id, _task = passed(run, read)
    clock.set(after(5))
    run(administration.suspend, event_id, "等待上级批复", user="admin1")
    sweep.advance(sessions, env, after(60))                        # held: neither the light nor the miss fires
    assert rows(read, Audit, Audit.event_id == event_id, Audit.action.like("delegation%")) == []
    assert delegation.light(rows(read, Delegation)[0], after(60), suspended=True) == "paused"
    run(administration.resume, event_id, "已批复", user="admin1")   # suspended 55 minutes
    [row] = rows(read, Delegation, Delegation.event_id == event_id)
    [limit] = rows(read, Deadline, Deadline.event_id == event_id, Deadline.kind == "accept")
    assert (row.due_at, limit.due_at) == (after(15 + 55), after(30 + 55))
    sweep.advance(sessions, env, after(15 + 55) - timedelta(seconds=1))
    assert rows(read, Audit, Audit.event_id == event_id, Audit.action == delegation.MISSED) == []
    sweep.advance(sessions, env, after(15 + 55))
    assert len(rows(read, Audit, Audit.event_id == event_id, Audit.action == delegation.MISSED)) == 1


def test_a_pass_whose_task_went_otherwise_ends_without_a_miss(sessions, env, run, read, clock):
    event_id, _task = passed(run, read)
    run(lifecycle.withdraw, event_id, "群众撤回", user="grid1")        # 撤单: the task is gone
    [shown] = read(lambda cmd: delegation.of_event(cmd.session, cmd.catalogs, event_id, cmd.now()))
    assert (shown["status"], shown["light"]) == ("ended", None)      # shown so at once, recorded by the sweep
    sweep.advance(sessions, env, after(20))
    [row] = rows(read, Delegation, Delegation.event_id == event_id)
    assert (row.status, row.missed_at, row.ended_by) == ("ended", None, "system")
    assert rows(read, Notification, Notification.event_id == event_id,
                Notification.kind == "delegation_missed") == []
