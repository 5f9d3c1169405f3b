"""Figure 1's first steps through engine functions, for engine tests that need events in a state (no
Flask, no HTTP): each is an operation `op(cmd, ...)` for the `run` fixture (tests/engine/conftest.py).

`report` and `start` do what a report's two units of work do (engine/pool/events.py `register`, then the
process started on the active version). Until engine/facade.py's `report`/`start` are domain functions
of a Command (issue #16), they are spelled out here from the domain modules they call."""
from __future__ import annotations

from sqlalchemy import delete, select

from engine.casework import tasks
from engine.pool import duplicates, events
from engine.runtime.specs import active_version
from engine.store.models import Event, Instance, PendingStart, WorkItem
from tests.samples import REPORT


def report(cmd, **changes) -> int:
    """A report by `cmd.user` (REPORT with `changes`), checked, registered and flagged against open
    events nearby (§7.1 登记); its process is not started. The event's id."""
    payload = {**REPORT, **changes}
    clean = events.check_report(payload, cmd.catalogs, cmd.user)
    event = events.register(cmd.session, clean, cmd.actor, cmd.now(), raw=payload)
    duplicates.flag(cmd.session, event, cmd.env.duplicate_window, cmd.now())
    return event.id


def start(cmd, event_id: int) -> int:
    """Start the stored event's process on the active version; the instance's id."""
    event = cmd.session.get(Event, event_id)
    cmd.session.execute(delete(PendingStart).where(PendingStart.event_id == event_id))
    version = active_version(cmd.session, cmd.env.process_key)
    data = events.initial_data(event, placement_unit=cmd.catalogs.city_authority())
    return cmd.env.instances.start(cmd.session, event, version, data, cmd.actor).id


def complete(cmd, event_id: int, name: str, data: dict) -> str:
    """`cmd.user` completes the event's ready task `name` with form data, checked as the API checks it."""
    task_id = cmd.session.scalar(select(WorkItem.id).where(WorkItem.event_id == event_id, WorkItem.spec_name == name))
    assert task_id is not None, f"event {event_id} has no ready task {name}"
    item, row, event = tasks.find_work(cmd.session, cmd.user, cmd.catalogs, task_id)
    clean = tasks.check_data(item, cmd.env.specs.get(cmd.session, row.version_id), cmd.catalogs, data, event=event,
                             session=cmd.session)
    assert cmd.env.instances.complete_task(cmd.session, row, event, task_id, clean, cmd.actor) is not None
    return event.status


def send(cmd, event_id: int, message: str, payload: dict) -> bool:
    """Deliver a BPMN message (撤单 is `withdraw`) to the event's running process."""
    row = cmd.session.scalar(select(Instance).where(Instance.event_id == event_id))
    return cmd.env.instances.send_message(cmd.session, row, cmd.session.get(Event, event_id), message, payload,
                                          cmd.actor)


def reported_and_started(run, user="grid1", **changes) -> int:
    """A report and its process started, in two units of work as the API does it; the event's id."""
    event_id = run(report, user=user, **changes)
    run(start, event_id, user=user)
    return event_id


def whistled(run, department="zhifa", **changes) -> int:
    """A fresh event walked 核实 → 研判 → 吹哨 (§7.1–§7.3) to `department`: its 30-minute accept limit runs."""
    event_id = reported_and_started(run, **changes)
    run(complete, event_id, "verify", {"verdict": "accept"}, user="staff1")
    run(complete, event_id, "analyse", {"disposal": "whistle"}, user="staff1")
    run(complete, event_id, "issue_whistle", {"lead_department": department, "on_site": False,
                                              "whistle_reason": "社区无法自行处置"}, user="whistle1")
    return event_id
