"""回访 after closure (issue #18; engine/casework/revisits.py) on a small process of its own, without Flask, on
both databases: tests/data/revisit_call.bpmn calls revisit_handling.bpmn (one task, then an end event with the
outcome `closed`), then 安排回访 → 回访 (its timer `deadline("revisit")`: the catalog's default 3 working days) →
记录回访结果 → 重新办理. What it shows: the event is closed while the 回访 runs on; who is asked; a 不满意 with its
cause hands the event to a new instance of the same process (the runtime's `restart`) as many times as the
setting allows; a 回访 left undone is missed like any limit and 督办 opens for the community.
Figure 1 itself, over HTTP: tests/web/test_revisit.py."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from catalogs import load_catalogs
from engine.casework import revisits
from engine.casework.tasks import complete as complete_task
from engine.core.clock import parse_instant
from engine.limits.deadlines import DeadlineError
from engine.pool import events, reading
from engine.pool.photos import PhotoStore
from engine.runtime import deploy
from engine.runtime.bundle import Bundle
from engine.runtime.specs import active_version
from engine.store import uow
from engine.store.models import Audit, Deadline, Event, Instance, PendingStart, Revisit, Supervision, WorkItem
from engine.wiring import Environment
from handlers.registry import default_registry
from tests.conftest import PROCESSES, SIM_START
from tests.engine.conftest import load_user
from tests.engine.steps import report

DATA = Path(__file__).resolve().parents[1] / "data"
UNSATISFIED = {"revisit_reached": True, "revisit_rating": "不满意", "revisit_words": "还是有人摆摊",
               "revisit_cause": "晚上摊点又回来了"}


def the_bundle() -> Bundle:
    return Bundle({"revisit_call.bpmn": (DATA / "revisit_call.bpmn").read_bytes(),
                   "revisit_handling.bpmn": (DATA / "revisit_handling.bpmn").read_bytes(),
                   "forms/note.json": (DATA / "forms" / "note.json").read_bytes(),
                   "forms/revisit.json": (PROCESSES / "forms" / "revisit.json").read_bytes()})


def started(run, user="grid1", **changes) -> int:
    """A report by `user` (REPORT with `changes`) whose process is revisit_call (deployed first); its id."""
    run(lambda cmd: deploy.deploy(cmd.session, the_bundle(), cmd.catalogs, cmd.env.registry, cmd.clock, "test",
                                  cmd.env.limits))
    event_id = run(report, user=user, **changes)

    def start(cmd):
        event = cmd.session.get(Event, event_id)
        cmd.session.execute(delete(PendingStart).where(PendingStart.event_id == event_id))
        cmd.env.instances.start(cmd.session, event, active_version(cmd.session, "revisit_call"),
                                events.initial_data(event), user)
    run(start)
    return event_id


@pytest.fixture
def begin(run):
    return lambda user="grid1", **changes: started(run, user, **changes)


def do(run, event_id, name, data, user="staff1") -> str:
    def op(cmd):
        task_id = cmd.session.scalar(select(WorkItem.id).where(WorkItem.event_id == event_id,
                                                               WorkItem.spec_name == name))
        assert task_id is not None, f"event {event_id} has no ready task {name}"
        return complete_task(cmd, task_id, data)["event_status"]
    return run(op, user=user)


def look(read, event_id) -> dict:
    def op(cmd):
        s = cmd.session
        event = s.get(Event, event_id)
        return {"status": event.status, "revisit": event.revisit, "reopens": event.reopen_count,
                "closed": event.closed_at is not None,
                "work": sorted(s.scalars(select(WorkItem.spec_name).where(WorkItem.event_id == event_id))),
                "instances": [r.status for r in s.scalars(select(Instance).where(Instance.event_id == event_id)
                                                          .order_by(Instance.id))],
                "revisits": [(r.round, r.status, r.rating, r.reopened) for r in s.scalars(
                    select(Revisit).where(Revisit.event_id == event_id).order_by(Revisit.id))]}
    return read(op)


def test_closed_then_asked_a_dissatisfied_reporter_reopens_it_once(run, read, begin):
    event_id = begin()
    assert do(run, event_id, "rh_handle", {"note": "已处置"}) == "closed"
    # closed as soon as the called process ended there; the 回访 runs on in the same instance
    assert look(read, event_id) == {"status": "closed", "revisit": "open", "reopens": 0, "closed": True,
                                    "work": ["rc_ask"], "instances": ["running"], "revisits": [(0, "open", None, False)]}
    limit = read(lambda cmd: cmd.session.scalar(select(Deadline).where(Deadline.event_id == event_id,
                                                                       Deadline.kind == "revisit")))
    assert (limit.rule, limit.basis, limit.community, limit.unit) == ("P3D", "working", "lg-xincheng", None)

    assert do(run, event_id, "rc_ask", UNSATISFIED) == "open"
    # 重新办理: this instance ended, a new one of the same process started with `reopened`
    after = look(read, event_id)
    assert after["status"] == "open" and after["reopens"] == 1 and not after["closed"] and after["revisit"] is None
    assert after["instances"] == ["completed", "running"] and after["work"] == ["rh_handle"]
    assert after["revisits"] == [(0, "done", "不满意", True)]
    # the timeline: 安排回访 and the answers, read from the 回访's row (the trail keeps no row of its own for
    # them: bytes per closed event), then the 重新办理 they led to and the new instance, in that order
    timeline = read(lambda cmd: reading.event_detail(cmd, event_id)["timeline"], user="staff1")
    said = [(entry["action"], entry["actor"], entry["data"]) for entry in timeline
            if entry["action"] in ("revisit_opened", "revisit_recorded", "reopened", "process_started")]
    assert [(action, actor) for action, actor, _ in said] == [
        ("process_started", "grid1"), ("revisit_opened", "system"), ("revisit_recorded", "staff1"),
        ("reopened", "staff1"), ("process_started", "staff1")]
    assert said[1][2] == {"round": 0}
    # 安排回访 before the 时限开始 of the 回访 it opened, at the same moment
    order = [(entry["action"], (entry["data"] or {}).get("kind")) for entry in timeline]
    assert order.index(("revisit_opened", None)) < order.index(("deadline_set", "revisit"))
    assert said[2][2] == {"reached": True, "contact_result": "已接通", "rating": "不满意",
                          "cause": "晚上摊点又回来了", "reopen": True, "words": "还是有人摆摊", "round": 0, "via": "task"}
    assert said[3][2] == {"reason": "晚上摊点又回来了", "count": 1, "by": "revisit"}
    assert read(lambda cmd: cmd.session.scalar(select(func.count()).select_from(Audit).where(
        Audit.event_id == event_id, Audit.action.in_(("revisit_opened", "revisit_recorded"))))) == 0
    second = read(lambda cmd: cmd.session.scalars(select(Instance).where(Instance.event_id == event_id)
                                                  .order_by(Instance.id.desc())).first().id)
    data = read(lambda cmd: cmd.env.instances.task_data(cmd.session, cmd.session.get(Instance, second),
                                                        cmd.session.get(Event, event_id),
                                                        cmd.session.scalar(select(WorkItem.id).where(
                                                            WorkItem.instance_id == second))))
    assert data["reopened"] is True
    # the revisit limit of the first round was met when it was done; nothing of it waits
    assert read(lambda cmd: [d.status for d in cmd.session.scalars(select(Deadline).where(
        Deadline.event_id == event_id, Deadline.kind == "revisit"))]) == ["met"]

    # closed again, asked again: a second 不满意 is only recorded (EVENTFLOW_REVISIT_REOPENS = 1)
    assert do(run, event_id, "rh_handle", {"note": "再次处置"}) == "closed"
    assert do(run, event_id, "rc_ask", UNSATISFIED) == "closed"
    final = look(read, event_id)
    assert final["instances"] == ["completed", "completed"] and final["work"] == [] and final["revisit"] == "done"
    assert final["revisits"] == [(0, "done", "不满意", True), (1, "done", "不满意", False)]


def test_the_number_of_reopenings_is_a_setting(sessions, clock, tmp_path, seeded):
    env = Environment(load_catalogs(), default_registry(), clock, photos=PhotoStore(tmp_path / "media"),
                      revisit_reopens=2)

    def run(op, *args, user=None, **kw):
        return uow.run(sessions, lambda s: op(env.command(s, load_user(s, user) if user else None), *args, **kw))

    def read(op):
        return uow.read(sessions, lambda s: op(env.command(s)))
    event_id = started(run)
    for _ in range(2):
        do(run, event_id, "rh_handle", {"note": "已处置"})
        assert do(run, event_id, "rc_ask", UNSATISFIED) == "open"
    do(run, event_id, "rh_handle", {"note": "已处置"})
    assert do(run, event_id, "rc_ask", UNSATISFIED) == "closed"
    assert [r[3] for r in look(read, event_id)["revisits"]] == [True, True, False]


def test_satisfied_or_not_reached_ends_it_and_the_words_are_kept(run, read, begin):
    event_id = begin()
    do(run, event_id, "rh_handle", {"note": "已处置"})
    assert do(run, event_id, "rc_ask", {"revisit_reached": False, "revisit_contact": "无人接听"}) == "closed"
    assert look(read, event_id)["revisits"] == [(0, "done", None, False)]
    row = read(reading.event_detail, event_id, user="staff1")["revisits"][0]     # as the event page shows it
    assert row["reached"] is False and row["contact_result"] == "无人接听" and row["recorded_by"] == "staff1"
    other = begin()
    do(run, other, "rh_handle", {"note": "已处置"})
    assert do(run, other, "rc_ask", {"revisit_reached": True, "revisit_rating": "基本满意",
                                     "revisit_words": "基本解决了"}) == "closed"
    row = read(reading.event_detail, other, user="staff1")["revisits"][0]
    assert (row["rating"], row["words"], row["contact_result"], row["via"]) == ("基本满意", "基本解决了", "已接通", "task")


def test_nobody_to_ask_no_revisit(run, read, begin):
    """A device's alert, a 'one thing' matter, a superior's assignment, or a citizen without a phone or an
    e-mail address: closed, and the process ends there."""
    event_id = begin(user="committee1", source="one_thing", type_code="B01")
    do(run, event_id, "rh_handle", {"note": "已处置"})
    assert look(read, event_id) == {"status": "closed", "revisit": None, "reopens": 0, "closed": True, "work": [],
                                    "instances": ["completed"], "revisits": []}

    def reachable(cmd, **changes):
        event = Event(source="citizen", reporter="open311:hotline_12345", **changes)
        return revisits.reachable(cmd.session, event)
    assert read(lambda cmd: reachable(cmd, reporter_contact={"name": "王"})) is None
    assert read(lambda cmd: reachable(cmd, reporter_contact={"phone": "13800001111"})) == "phone"
    assert read(lambda cmd: reachable(cmd, reporter_contact={"email": "a@example.com"})) == "email"
    for source in ("iot_alert", "superior", "one_thing"):
        assert read(lambda cmd, s=source: revisits.reachable(cmd.session, Event(source=s))) is None
    for source in ("grid_worker", "committee_patrol"):
        assert read(lambda cmd, s=source: revisits.reachable(cmd.session, Event(source=s))) == "account"
    # a citizen's report transferred to another community (转办, §7.1) is asked by the contact it came with
    first = run(report, user="grid1")
    run(lambda cmd: setattr(cmd.session.get(Event, first), "reporter_contact", {"phone": "13800002222"}))
    assert read(lambda cmd: reachable(cmd, transferred_from_id=first)) == "phone"


def test_a_revisit_not_done_in_three_working_days_is_missed(run, read, begin, clock):
    event_id = begin()                                      # Thursday 2026-10-08 09:00
    do(run, event_id, "rh_handle", {"note": "已处置"})
    due = read(lambda cmd: cmd.session.scalar(select(Deadline.due_at).where(Deadline.event_id == event_id,
                                                                            Deadline.kind == "revisit")))
    assert due.astimezone(clock.now().tzinfo).isoformat() == "2026-10-12T09:30:00+00:00"   # 17:30 +08:00
    clock.set(due + timedelta(minutes=1))

    def fire(cmd):
        row = cmd.session.scalar(select(Instance).where(Instance.event_id == event_id))
        return cmd.env.instances.fire_timers(cmd.session, row, cmd.session.get(Event, event_id))
    assert run(fire) == ["rc_ask_late"]
    missed = read(lambda cmd: cmd.session.scalar(select(Deadline).where(Deadline.event_id == event_id,
                                                                        Deadline.kind == "revisit")))
    assert missed.status == "missed"
    sup = read(lambda cmd: cmd.session.scalar(select(Supervision).where(Supervision.event_id == event_id)))
    assert (sup.kind, sup.community, sup.unit, sup.status) == ("revisit", "lg-xincheng", None, "open")
    overdue = read(lambda cmd: cmd.session.scalar(select(Audit.data).where(Audit.event_id == event_id,
                                                                          Audit.action == "overdue")))
    assert overdue["stage"] == "revisit" and overdue["unit"] is None and overdue["community"] == "lg-xincheng"
    assert look(read, event_id)["work"] == ["rc_ask"]      # non-interrupting: still to be done
    do(run, event_id, "rc_ask", {"revisit_reached": True, "revisit_rating": "满意"})
    done = read(lambda cmd: cmd.session.get(Deadline, missed.id))
    assert done.status == "missed" and done.met_at is not None   # done late: the miss stays, 督办 closes
    assert read(lambda cmd: cmd.session.get(Supervision, sup.id).status) == "closed"


def test_the_revisit_limit_comes_from_the_catalog(env):
    start = parse_instant(SIM_START)
    due, basis, rule, _ = env.limits.compute("revisit", None, start)
    assert (rule, basis, due.isoformat()) == ("P3D", "working", "2026-10-12T09:30:00+00:00")
    assert env.limits.compute("revisit", "P1D", start)[2] == "P1D"        # the diagram may still say
    with pytest.raises(DeadlineError, match="default_limit"):
        env.limits.compute("close", None, start)                          # no default: the diagram must say


def test_a_trail_written_before_keeps_its_own_revisit_rows_once():
    """Trails written before the 回访 was read from its row (bytes per closed event) keep their own
    revisit_opened / revisit_recorded rows: the timeline does not say them twice, for that instance's round
    only — a later instance's 回访 of the same round is read from its row."""
    from datetime import datetime, timezone
    from types import SimpleNamespace as Row

    at = datetime(2026, 10, 8, 1, 0, tzinfo=timezone.utc)
    trail = [Row(action="revisit_opened", instance_id=1, data={"how": "account", "round": 0, "reopens_left": 1}),
             Row(action="revisit_recorded", instance_id=1, data={"round": 0, "rating": "满意"})]
    rows = [Row(instance_id=1, round=0, opened_at=at, recorded_at=at, recorded_by="staff1", reached=True,
                contact_result="已接通", rating="满意", cause=None, reopened=False, words=None, via="task"),
            Row(instance_id=2, round=0, opened_at=at, recorded_at=None, recorded_by=None, reached=None,
                contact_result=None, rating=None, cause=None, reopened=False, words=None, via=None)]
    assert [(action, instance) for _, _, action, _, instance in revisits.timeline(rows, trail)] == [
        ("revisit_opened", 2)]


def test_the_timeline_puts_a_revisit_before_the_limit_it_started_at_the_same_second():
    """安排回访 and the 时限开始 of its 回访 fall in one second (one step): the opening first; the answers before
    the 重新办理 and the next instance they led to, then the new 研判's 时限开始 — as the steps happened."""
    from datetime import datetime, timedelta, timezone
    from types import SimpleNamespace as Row

    t = datetime(2026, 10, 8, 1, 0, tzinfo=timezone.utc)
    later = t + timedelta(minutes=5)

    def audit(at, action, instance, task_name=None):
        return Row(at=at, actor="staff1", action=action, instance_id=instance, task_id=None, task_name=task_name,
                   data={})
    trail = [audit(t, "task_completed", 1, "核查"), audit(later, "task_completed", 1, "回访"),
             audit(later, "reopened", 1), audit(later, "process_started", 2)]
    derived = [(t, "system", "deadline_set", {"kind": "revisit"}, None),
               (later, "system", "deadline_set", {"kind": "analyse"}, None),
               (t, "system", "revisit_opened", {"round": 0}, 1),
               (later, "staff1", "revisit_recorded", {"round": 0}, 1)]
    said = [(entry["action"], entry["task_name"] or entry["data"].get("kind")) for entry in
            reading._timeline(trail, derived, {})]
    assert said == [("task_completed", "核查"), ("revisit_opened", None), ("deadline_set", "revisit"),
                    ("task_completed", "回访"), ("revisit_recorded", None), ("reopened", None),
                    ("process_started", None), ("deadline_set", "analyse")]


def test_the_timeline_puts_each_instances_start_before_its_rows_on_a_frozen_clock():
    """流程启动 read from the instance (migration 0040): before its own rows and a later instance's of the same
    moment, after the report; the 重新办理's new instance after the 回访 that led to it."""
    from datetime import datetime, timezone
    from types import SimpleNamespace as Row

    t = datetime(2026, 10, 8, 1, 0, tzinfo=timezone.utc)

    def audit(action, instance, task_name=None):
        return Row(at=t, actor="staff1", action=action, instance_id=instance, task_id=None, task_name=task_name,
                   data={})
    trail = [audit("reported", None), audit("task_completed", 1, "核实"), audit("task_completed", 1, "回访"),
             audit("reopened", 1), audit("task_completed", 2, "研判")]
    derived = [(t, "grid1", "process_started", {"process": "p", "version": 1}, 1),
               (t, "staff1", "process_started", {"process": "p", "version": 1}, 2),
               (t, "staff1", "revisit_recorded", {"round": 0}, 1),
               (t, "system", "deadline_set", {"kind": "verify"}, None)]
    said = [(entry["action"], entry["task_name"] or entry["data"].get("kind") or entry["actor"]) for entry in
            reading._timeline(trail, derived, {})]
    assert said == [("reported", "staff1"), ("process_started", "grid1"), ("task_completed", "核实"),
                    ("task_completed", "回访"), ("revisit_recorded", "staff1"), ("reopened", "staff1"),
                    ("process_started", "staff1"), ("task_completed", "研判"), ("deadline_set", "verify")]
