"""The process runtime's mechanics on the small processes of tests/data (engine/runtime/instances.py with
the domain's hooks, through engine/wiring.py), on both databases, without Flask: a timer fires at its due
time by the injected clock (no sleeps), a message cancels the work it interrupts, the work-item and timer
indexes follow the state at every step, a gateway follows what a script computed, and a failing script or
handler names its element. Figure 1's own paths are tests/web's."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from engine.core.clock import parse_instant
from engine.core.errors import HandlerError
from engine.pool import events
from engine.runtime import deploy
from engine.runtime.bundle import Bundle
from engine.runtime.instances import ProcessError
from engine.store.models import Audit, Event, Instance, Notification, PendingStart, Timer, WorkItem
from tests.conftest import SIM_START
from tests.engine.steps import report
from tests.engine.test_spiff import checked_dumps  # noqa: F401 - the fixture
from tests.engine.test_tree import checked_walks  # noqa: F401 - the fixture

DATA = Path(__file__).resolve().parents[1] / "data"
T0 = parse_instant(SIM_START)


def bundle(name: str) -> Bundle:
    """A process of tests/data with the form its user tasks share."""
    return Bundle({f"{name}.bpmn": (DATA / f"{name}.bpmn").read_bytes(),
                   "forms/note.json": (DATA / "forms" / "note.json").read_bytes()})


def started(run, name: str, **data) -> int:
    """Deploy tests/data/<name>.bpmn and start it for a fresh event (REPORT's task data, with `data`);
    the instance's id."""
    event_id = run(report, user="grid1")

    def start(cmd):
        version, _ = deploy.deploy(cmd.session, bundle(name), cmd.catalogs, cmd.env.registry, cmd.clock, "test",
                                   cmd.env.limits)
        event = cmd.session.get(Event, event_id)
        cmd.session.execute(delete(PendingStart).where(PendingStart.event_id == event_id))
        return cmd.env.instances.start(cmd.session, event, version.id, {**events.initial_data(event), **data}, "grid1").id
    return run(start)


def on_instance(method, instance_id, *args):
    """An operation calling `Instances.<method>(session, row, event, *args)` on the stored instance."""
    def op(cmd):
        row = cmd.session.get(Instance, instance_id)
        return getattr(cmd.env.instances, method)(cmd.session, row, cmd.session.get(Event, row.event_id), *args)
    return op


def state(read, instance_id) -> dict:
    """What the indexes hold for the instance (ready user tasks, waiting timers and their due times), its
    status and its event's."""
    def look(cmd):
        row = cmd.session.get(Instance, instance_id)
        return {"work": sorted(cmd.session.scalars(select(WorkItem.spec_name).where(WorkItem.instance_id == instance_id))),
                "timers": sorted((t.spec_name, t.due_at.replace(tzinfo=T0.tzinfo) if t.due_at.tzinfo is None
                                  else t.due_at) for t in cmd.session.scalars(
                                      select(Timer).where(Timer.instance_id == instance_id))),
                "instance": row.status, "event": cmd.session.get(Event, row.event_id).status}
    return read(look)


def at(clock, **delta) -> None:
    clock.set(T0 + timedelta(**delta))


def test_a_boundary_timer_fires_at_its_due_time_by_the_injected_clock(run, read, clock, checked_dumps, checked_walks):
    instance = started(run, "task_timer")
    assert state(read, instance) == {"work": ["handle"], "timers": [("handle_late", T0 + timedelta(minutes=30))],
                                     "instance": "running", "event": "open"}
    at(clock, minutes=29, seconds=59)
    assert run(on_instance("fire_timers", instance)) == []                 # a second early: nothing
    assert state(read, instance)["work"] == ["handle"]
    at(clock, minutes=30)
    assert run(on_instance("fire_timers", instance)) == ["handle_late"]
    assert state(read, instance) == {"work": [], "timers": [], "instance": "completed", "event": "closed"}
    assert len(checked_dumps) == 2           # every running save as SpiffWorkflow's own; the ended one keeps none
    assert checked_walks["walks"] > 5        # every walk of the tree as SpiffWorkflow's iterators (test_tree.py)
    assert read(lambda cmd: cmd.session.scalar(select(Instance.state).where(Instance.id == instance))) == ""


def test_completing_the_task_takes_its_timer_out_of_the_index(run, read):
    instance = started(run, "task_timer")
    task_id = read(lambda cmd: cmd.session.scalar(select(WorkItem.id).where(WorkItem.instance_id == instance)))
    assert run(on_instance("complete_task", instance, task_id, {"note": "已办"}, "staff1")) is not None
    assert state(read, instance) == {"work": [], "timers": [], "instance": "completed", "event": "closed"}
    assert read(lambda cmd: cmd.session.scalar(select(Audit.data).where(Audit.action == "task_completed"))) == \
        {"note": "已办"}


def test_a_message_cancels_the_work_and_its_timer(run, read, checked_dumps, checked_walks):
    """撤单 (§7.1) as the `withdraw` message: the interrupting boundary event ends the open task and the
    timer beside it; a message nothing waits for changes nothing."""
    instance = started(run, "message_catch")
    before = state(read, instance)
    assert before["work"] == ["handle"] and before["timers"] == [("handle_late", T0 + timedelta(hours=2))]
    version = read(lambda cmd: cmd.session.get(Instance, instance).row_version)
    assert run(on_instance("send_message", instance, "merge", {}, "grid1")) is False
    assert read(lambda cmd: cmd.session.get(Instance, instance).row_version) == version and state(read, instance) == before
    assert run(on_instance("send_message", instance, "withdraw", {"reason": "问题已自行解决", "by": "grid1"}, "grid1"))
    assert state(read, instance) == {"work": [], "timers": [], "instance": "completed", "event": "withdrawn"}
    received = read(lambda cmd: cmd.session.scalar(select(Audit.data).where(Audit.action == "message_received")))
    assert received == {"message": "withdraw", "reason": "问题已自行解决", "by": "grid1"}
    assert len(checked_dumps) == 1                     # the start's; the ended instance keeps no state
    assert checked_walks["walks"] > 5


@pytest.mark.parametrize("description, after", [("人行道被占道经营，影响通行", {"work": ["handle"], "event": "open"}),
                                                ("占道", {"work": [], "event": "invalid"})], ids=["long", "short"])
def test_the_gateway_follows_what_the_script_computed(run, read, description, after):
    instance = started(run, "script_gateway", description=description)
    seen = state(read, instance)
    assert {"work": seen["work"], "event": seen["event"]} == after and seen["timers"] == []


def test_a_failing_script_names_its_element_and_stores_nothing(run, read):
    with pytest.raises(ProcessError) as failed:
        started(run, "script_gateway", description=None)                   # len(None)
    assert failed.value.details["element"] == "score" and "TypeError" in failed.value.message
    assert read(lambda cmd: cmd.session.scalar(select(Instance.id))) is None   # the unit of work rolled back


def test_an_intermediate_timer_waits_for_the_injected_clock(run, read, clock):
    instance = started(run, "intermediate_timer")
    assert state(read, instance) == {"work": [], "timers": [("wait", T0 + timedelta(hours=2))],
                                     "instance": "running", "event": "open"}
    at(clock, hours=1)
    assert run(on_instance("fire_timers", instance)) == []
    at(clock, hours=2, seconds=1)
    assert run(on_instance("fire_timers", instance)) == ["wait"]
    assert state(read, instance) == {"work": [], "timers": [], "instance": "completed", "event": "closed"}


def test_a_service_task_calls_its_handler_in_the_same_unit_of_work(run, read):
    """dispatch_whistle (handlers/dispatch.py, §7.3.1) through its run context: the event's lead unit and the
    audit row are written with the step; its result lands in task data. (The unit hears of the order from
    the escalation ladder when its limit starts, not from the handler: tests/engine/test_escalation.py.)"""
    instance = started(run, "service_call", department="zhifa")
    assert state(read, instance)["work"] == ["handle"]

    def written(cmd):
        event = cmd.session.get(Event, cmd.session.get(Instance, instance).event_id)
        notes = [(n.recipient_kind, n.recipient, n.kind) for n in cmd.session.scalars(select(Notification))]
        audits = [a.action for a in cmd.session.scalars(select(Audit).where(Audit.instance_id == instance))]
        return event.lead_unit, notes, audits
    # 流程启动 is the instance's own (started_at, started_by: migration 0040), not a row of the trail
    assert read(written) == ("zhifa", [("community", "lg-xincheng", "new_report")],   # the report's, §4.1
                             ["whistle_dispatched"])
    task_id = read(lambda cmd: cmd.session.scalar(select(WorkItem.id).where(WorkItem.instance_id == instance)))
    data = read(on_instance("task_data", instance, task_id))
    assert data["dispatch"]["lead_unit"] == "zhifa" and data["dispatch"]["lead_unit_name"]


def test_a_failing_handler_names_itself_and_its_element(run, read):
    with pytest.raises(HandlerError) as failed:
        started(run, "service_call", department="nowhere")                 # not a department of the catalog
    assert failed.value.details == {"handler": "dispatch_whistle", "element": "dispatch"}
    assert "ValueError: 'nowhere' is not a city department" in failed.value.message
    assert read(lambda cmd: cmd.session.scalar(select(Instance.id))) is None
