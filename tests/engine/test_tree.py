"""engine/runtime/tree.py answers as SpiffWorkflow's own iterators would: the same tasks in the same order.
`checked_walks` holds every walk a test makes to it — the questions the engine asks, and on every save every
question it could ask (each state mask, manual or not, each spec name, into called processes or not) — here on
the small processes of tests/data, in tests/engine/test_mechanics.py, and in tests/web/test_spiff_paths.py on
real paths through Figure 1 (called processes, co-departments in parallel, timers that fire, a message)."""
from __future__ import annotations

import json

import pytest
from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.util.task import TaskIterator, TaskState

from engine.runtime import spiff, tree
from tests.conftest import PROCESSES

#: every single state, and the masks SpiffWorkflow and the engine ask with
MASKS = (*(1 << bit for bit in range(9)), TaskState.FINISHED_MASK, TaskState.DEFINITE_MASK,
         TaskState.PREDICTED_MASK, TaskState.NOT_FINISHED_MASK, TaskState.ANY_MASK,
         TaskState.WAITING | TaskState.READY)


def stock(workflow, state=TaskState.ANY_MASK, manual=None, spec_name=None, subprocesses=True) -> list:
    iterator = BpmnTaskIterator if subprocesses else TaskIterator
    return list(iterator(workflow.task_tree, state=state, manual=manual, spec_name=spec_name))


def ids(tasks) -> list:
    return [task.id for task in tasks]


#: the walk itself, whatever `checked_walks` puts in its place (which counts only the engine's own walks)
WALK = tree.walk


def every_question_agrees(workflow) -> int:
    """Each of the instance's workflows (its own and its called processes') asked every question both ways;
    the number of questions."""
    asked = 0
    for flow in (workflow, *workflow.subprocesses.values()):
        for subprocesses in (True, False):
            for state in MASKS:
                for manual in (None, True, False):
                    assert ids(WALK(flow, state, manual, subprocesses=subprocesses)) == \
                        ids(stock(flow, state, manual, subprocesses=subprocesses)), (state, manual, subprocesses)
                    asked += 1
            for name in sorted({task.task_spec.name for task in flow.tasks.values()}):
                assert ids(WALK(flow, spec_name=name, subprocesses=subprocesses)) == \
                    ids(stock(flow, spec_name=name, subprocesses=subprocesses)), name
                asked += 1
    return asked


@pytest.fixture
def checked_walks(monkeypatch):
    """Every walk the engine makes while the test runs is compared with SpiffWorkflow's iterator, and every saved
    state is asked every question both ways and loaded back (as a `Workflow`, its called processes
    `SubWorkflow`s). What it holds: the engine's walks, the questions asked on saves, the called processes
    loaded."""
    checked = {"walks": 0, "questions": 0, "called": 0}
    fast, dump = tree.walk, spiff.dump

    def walk(workflow, state=TaskState.ANY_MASK, manual=None, spec_name=None, subprocesses=True):
        assert ids(fast(workflow, state, manual, spec_name, subprocesses)) == \
            ids(stock(workflow, state, manual, spec_name, subprocesses))
        checked["walks"] += 1
        # then walked again, as the engine walks (lazily: a waiting task's update may change what comes next)
        return fast(workflow, state, manual, spec_name, subprocesses)

    def checked_dump(workflow):
        checked["questions"] += every_question_agrees(workflow)
        written = dump(workflow)
        loaded = spiff.load(written, workflow.spec, workflow.subprocess_specs)     # walked in one pass too
        assert type(loaded) is spiff.Workflow
        assert [type(sub) for sub in loaded.subprocesses.values()] == [spiff.SubWorkflow] * len(workflow.subprocesses)
        checked["called"] += len(loaded.subprocesses)
        return written
    monkeypatch.setattr(tree, "walk", walk)
    monkeypatch.setattr(spiff, "dump", checked_dump)
    return checked


def figure1():
    parser = spiff.make_parser(validate=False)
    parser.add_bpmn_files(sorted(str(p) for p in PROCESSES.glob("*.bpmn")))
    return parser.get_spec("community_event"), parser.get_subprocess_specs("community_event")


def test_a_new_instance_is_asked_every_question_as_spiffworkflow_answers():
    """Before its first step most of the tree is predicted (MAYBE, LIKELY): the masks that reach below
    predicted tasks and those that do not."""
    workflow = spiff.Workflow(*figure1())
    assert len(workflow.tasks) > 5
    assert every_question_agrees(workflow) > 100


def test_an_instance_is_stored_under_spiffworkflows_names():
    """Its JSON names SpiffWorkflow's own classes, as an instance stored before did (and loads back as ours:
    `checked_walks`, on real paths in tests/web/test_spiff_paths.py)."""
    spec, subprocess_specs = figure1()
    workflow = spiff.Workflow(spec, subprocess_specs)
    workflow.task_tree.data.update(event_id=1)
    sub = workflow.create_subprocess(workflow.task_tree, next(iter(subprocess_specs)))
    assert isinstance(sub, spiff.SubWorkflow)
    stored = json.loads(spiff.dump(workflow))
    assert stored["typename"] == "BpmnWorkflow"
    assert {s["typename"] for s in stored["subprocesses"].values()} == {"BpmnSubWorkflow"}


def test_a_tree_deeper_than_the_iterators_limit_is_not_gone_below_there(monkeypatch):
    """TaskIterator goes no deeper than its max_depth; neither does the walk."""
    workflow = spiff.Workflow(*figure1())
    monkeypatch.setattr(tree, "MAX_DEPTH", 2)
    shallow = ids(tree.walk(workflow))
    assert 1 < len(shallow) < len(workflow.tasks)
    assert shallow == ids(BpmnTaskIterator(workflow.task_tree, max_depth=2))
