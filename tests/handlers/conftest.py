"""Handlers alone, against a run context (engine/casework/run_context.py) on the seeded template database
(tests/conftest.py), without Flask: `call(name, event_id, data={...}, **params)` runs one handler as a
service task's step would — with a real SpiffWorkflow task holding `data` — and stores what it recorded in
one unit of work. The engine fixtures (`env`, `run`, `read` …) are tests/engine's."""
from __future__ import annotations

from pathlib import Path

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.runtime.spiff import make_parser
from engine.store import uow
from engine.store.models import Event
from tests.engine.conftest import clock, cmd, env, read, run, sessions  # noqa: F401 - the engine fixtures

#: a one-service-task process (tests/data/service_call.bpmn): its task `dispatch` is the task handlers get
SERVICE_CALL = Path(__file__).resolve().parents[1] / "data" / "service_call.bpmn"


@pytest.fixture(scope="session")
def service_spec():
    parser = make_parser(validate=False)
    parser.add_bpmn_files([str(SERVICE_CALL)])
    return parser.get_spec("service_call")


@pytest.fixture
def call(env, sessions, service_spec):
    """`reached`: the process has reached its end event `end_done` with this outcome (a called process closed
    the event: what 安排回访 looks for); `instance`: the instance the step is of (for a record that names one).
    Returns (result, ids of the events to start after the step, and ("restart", event id) when the step hands
    its own event to a new instance)."""
    def call(name, event_id=None, data=None, actor="system", reached=None, instance=None, **params):
        def step(session):
            ctx = env.instances.hooks.run_context(session=session, clock=env.clock, catalogs=env.catalogs,
                                                  event=session.get(Event, event_id) if event_id else None,
                                                  instance_id=instance, actor=actor,
                                                  task_meta={"_outcomes": {"end_done": reached}} if reached else None)
            workflow = BpmnWorkflow(service_spec)
            [task] = workflow.get_tasks(spec_name="dispatch")
            if reached:                   # the path to the end event taken, as far as the tree tells
                [end] = workflow.get_tasks(spec_name="end_done")
                while end is not None:
                    end._state, end = TaskState.COMPLETED, end.parent
            task.data.update(data or {})
            result = env.registry.get(name)(ctx, task, **params)
            ctx.write()
            return result, [e.id for e in ctx.pending_starts] + ([("restart", ctx.restart["event_id"])]
                                                                 if ctx.restart else [])
        return uow.run(sessions, step)
    return call
