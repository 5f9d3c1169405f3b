"""Handlers alone, against a run context (engine/casework/run_context.py) on the seeded template database
(tests/conftest.py), without Flask: `call(name, event_id, data={...}, **params)` runs one handler as a
service task's step would — with a real SpiffWorkflow task holding `data` — and stores what it recorded in
one unit of work. The engine fixtures (`env`, `run`, `read` …) are tests/engine's."""
from __future__ import annotations

from pathlib import Path

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

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
    def call(name, event_id=None, data=None, actor="system", **params):
        def step(session):
            ctx = env.instances.hooks.run_context(session=session, clock=env.clock, catalogs=env.catalogs,
                                                  event=session.get(Event, event_id) if event_id else None,
                                                  instance_id=None, actor=actor, task_meta=None)
            [task] = BpmnWorkflow(service_spec).get_tasks(spec_name="dispatch")
            task.data.update(data or {})
            result = env.registry.get(name)(ctx, task, **params)
            ctx.write()
            return result, [e.id for e in ctx.pending_starts]
        return uow.run(sessions, step)
    return call
