"""What the process runtime asks of the standard's domain: the one seam between them (issue #16).

The runtime runs BPMN and keeps its state, work items and timers; it knows nothing of §5–§9. Whoever
builds it (engine/command.py) hands it these, made by the domain:
- `run_context(session, clock, catalogs, event, instance_id, actor, task_meta, new_instance)`: the object service-task
  handlers and diagram code act through (engine/casework/run_context.py). The runtime only calls its
  `record`, `involve` and `write`, reads `armed`, `pending_starts` (events the step created, started after it)
  and `restart` (the data the step's own event starts again with, in a new instance once this one has ended:
  重新办理 after a 不满意 回访), sets `stored_parties` (parties a completed task's assignee already is, not written
  again by `write`), and passes it to handlers. `new_instance`: the instance was made in this step (its
  first), so nothing refers to it yet.
- `limits`: the time limits timers carry (`deadline(kind, limit, start)` in a timer expression;
  engine/limits/deadlines.py). The runtime calls `arm`, `reconcile`, `instance_ended`, `add_tasks` (writes the
  work items it made, with the time left on them), `warn_at`, `compute` (to check a diagram at deploy),
  `catalogs` and `calendar` (`add_working_days`).
- `initial_data(event)`: what a process started for an event (转办's new event) begins with.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class Hooks:
    run_context: Callable[..., Any]
    limits: Any
    initial_data: Callable[[Any], dict]
