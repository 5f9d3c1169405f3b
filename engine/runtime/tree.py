"""An instance's task tree asked in one pass (issue #17: about a quarter of a Figure 1 completion's time, profiled, was
SpiffWorkflow walking it).

SpiffWorkflow answers `get_tasks(state=READY)` — asked several times on every engine step — and refreshes its
waiting tasks after every task that completes by walking the whole tree with `TaskIterator`: a task popped off
the front of a list, the list rebuilt, a depth kept in step by climbing parents. `walk` yields the same tasks
in the same order (depth first, a called process's tree before the calling task's children) with the same
rules for where to go down, from a stack. engine/runtime/spiff.py's `Workflow` and `SubWorkflow` use it for
the filters it knows — state, manual, spec name — and leave every other question to SpiffWorkflow's own
iterator. tests/engine/test_tree.py holds the two to the same answers, and `checked_walks` on every step of
the paths tests take through Figure 1."""
from __future__ import annotations

from SpiffWorkflow.util.task import TaskState

_ANY, _PREDICTED, _DEFINITE, _FINISHED = (TaskState.ANY_MASK, TaskState.PREDICTED_MASK, TaskState.DEFINITE_MASK,
                                          TaskState.FINISHED_MASK)
#: TaskIterator's default: a task this deep is not gone below (Figure 1's tree is a few dozen levels). The walk
#: counts a task's true depth; SpiffWorkflow's count, kept by climbing parents, can run one over after a called
#: process whose task has no children (a cancelled call activity): only near this depth could they differ
MAX_DEPTH = 1000
#: the filters `walk` knows; any other (catches_event, lane, updated_ts, skip_subprocesses …) goes to SpiffWorkflow
KNOWN = frozenset({"state", "manual", "spec_name"})


def walk(workflow, state: int = _ANY, manual: bool | None = None, spec_name: str | None = None,
         subprocesses: bool = True):
    """The tasks of `workflow` in `state` (a TaskState mask), as BpmnTaskIterator(workflow.task_tree, …) yields
    them — or, with `subprocesses=False`, as the plain TaskIterator does, not going into called processes.

    Where it goes down, as theirs: below a task whose state is at least the least state the mask can hold
    under it (a predicted task has only predicted children, a definite one no finished children); into a
    called process whenever there is one. Theirs would skip a finished called process when only unfinished
    tasks are asked, but compares a state's number with FINISHED_MASK's, which no single state reaches: copied
    as it is, so neither ever skips one."""
    least = TaskState.MAYBE if state & _PREDICTED else TaskState.FUTURE if state & _DEFINITE else TaskState.COMPLETED
    called = workflow.top_workflow.subprocesses if subprocesses else {}
    skip_finished = state <= _FINISHED
    stack = [(workflow.task_tree, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        task, depth = pop()
        now = task._state
        sub = called.get(task.id) if called else None
        # its children are taken before the task is handed out, as theirs: what the caller then does with it
        # (a waiting task's update) cannot change which children come next, only their states when reached
        if (task._children or sub is not None) and (now >= least or sub is not None) and depth < MAX_DEPTH:
            get = task.workflow.tasks.get
            for child in reversed(task._children):
                push((get(child), depth + 1))
            if sub is not None and not (now >= _FINISHED and skip_finished):
                push((sub.task_tree, depth + 1))
        if now & state and (manual is None or task.task_spec.manual == manual) \
                and (spec_name is None or task.task_spec.name == spec_name):
            yield task
