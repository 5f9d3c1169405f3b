"""Figure 1's first steps through engine functions, for engine tests that need events in a state (no
Flask, no HTTP): each is an operation `op(cmd, ...)` for the `run` fixture (tests/engine/conftest.py).

`report` and `start` are a report's two units of work (engine/pool/registration.py, then
engine/casework/lifecycle.py starts the process on the active version)."""
from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy import select

from catalogs import load_catalogs

from engine.casework import lifecycle, tasks
from engine.pool import registration
from engine.core.clock import SimulatedClock
from engine.runtime import sweep
from engine.store.db import make_engine, make_session_factory
from engine.store.models import Event, Instance, WorkItem
from engine.wiring import Environment
from handlers.registry import default_registry
from tests.samples import REPORT


def report(cmd, **changes) -> int:
    """A report by `cmd.user` (REPORT with `changes`), checked, registered and flagged against open
    events nearby (§7.1 登记); its process is not started. The event's id."""
    event, _created = registration.report(cmd, {**REPORT, **changes})
    return event.id


def start(cmd, event_id: int) -> int:
    """Start the stored event's process on the active version; the instance's id."""
    return lifecycle.start(cmd, event_id).id


def complete(cmd, event_id: int, name: str, data: dict) -> str:
    """`cmd.user` completes the event's ready task `name` with form data, checked as the API checks it."""
    task_id = cmd.session.scalar(select(WorkItem.id).where(WorkItem.event_id == event_id, WorkItem.spec_name == name))
    assert task_id is not None, f"event {event_id} has no ready task {name}"
    return tasks.complete(cmd, task_id, data)["event_status"]


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


def swept_by_two_nodes(database_url, at: datetime, catalogs=None) -> None:
    """Two app nodes — each its own engine objects, connections and simulated clock at `at` — sweep the one
    database at the same moment until nothing is due (engine/runtime/sweep.py `until_idle`, small batches so
    their claims interleave)."""
    start, failures = threading.Barrier(2), []

    def node():
        db = make_engine(database_url)
        try:
            env = Environment(catalogs or load_catalogs(), default_registry(), SimulatedClock(at))
            factory = make_session_factory(db)
            start.wait(60)
            sweep.until_idle(factory, env, limit=2)
        except BaseException as err:  # noqa: BLE001 - reported by the test
            failures.append(err)
        finally:
            db.dispose()
    nodes = [threading.Thread(target=node) for _ in range(2)]
    for thread in nodes:
        thread.start()
    for thread in nodes:
        thread.join(120)
        assert not thread.is_alive()
    assert failures == []
