"""超期: a time limit of §8 passed. Machine-only (never opens a human task): the step the BPMN shows
at the end of a timer's branch, recorded in the event's timeline once per limit and unit.

Who is told, and the supervision record (督办, §9.1) naming the unit and person, come from the
deadline record the timer was armed with (engine/limits/deadlines.py), so they happen once however many
timers watch the same limit.
"""
from __future__ import annotations

from handlers.registry import REGISTRY


@REGISTRY.operation("record_overdue")
def record_overdue(ctx, task, stage, limit=None, unit=None, community=None):
    """`stage`: the deadline kind (accept, close …); `unit`: who was late (a co-operating department, a
    stationed office); default the lead unit — unless `community` says the community itself was late (its
    own task: 回访)."""
    event = ctx.event
    unit_code = unit or (event.lead_unit if event is not None and not community else None)
    if ctx.recorded("overdue", stage=stage, unit=unit_code):  # e.g. §8.2's deadline watched by two timers
        return {"stage": stage, "limit": limit, "already_recorded": True}
    name = (ctx.catalogs.deadline_kind(stage) or {}).get("name", stage)
    data = {"stage": stage, "name": name, "limit": limit, "unit": unit_code}
    if community:
        data["community"] = community
    ctx.record("overdue", data, task=task)
    return {"stage": stage, "limit": limit, "at": ctx.now().isoformat()}
