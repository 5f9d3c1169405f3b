"""超期: a response or closure limit passed (§8.3). Machine-only: record it and tell the supervisor
(分管领导) of the responsible unit (§9.1 supervision); never opens a human task."""
from __future__ import annotations

from handlers.registry import REGISTRY


#: the time limits of §8 by stage, in the words staff read
STAGE_WORDS = {"accept": "签收受理", "arrive": "到场", "dispose": "处置反馈", "community_handle": "社区处置",
               "co_accept": "协办签收受理", "co_report": "协办反馈", "superior": "上级交办时限"}


@REGISTRY.operation("record_overdue")
def record_overdue(ctx, task, stage, limit=None, unit=None):
    """`unit`: who was late (a co-operating department, a stationed office); default the lead unit."""
    event = ctx.event
    unit_code = unit or (event.lead_unit if event is not None else None)
    unit = ctx.catalogs.unit(unit_code) if unit_code else None
    words = STAGE_WORDS.get(stage, stage)
    if ctx.recorded("overdue", stage=stage, unit=unit_code):  # e.g. §8.2's deadline watched by two timers
        return {"stage": stage, "limit": limit, "already_recorded": True}
    supervisor = (unit or {}).get("supervisor") or {}
    ctx.record("overdue", {"stage": stage, "limit": limit, "unit": unit_code}, task=task)
    if unit_code:
        ctx.notify("unit", unit_code, "overdue",
                   f"事件 {event.number} 「{words}」已超期（时限 {limit}），请{supervisor.get('title', '分管领导')}"
                   f"{supervisor.get('name', '')}督办（§9.1）")
    elif event is not None:
        ctx.notify("community", event.community, "overdue", f"事件 {event.number} 「{words}」已超期（时限 {limit}）")
    return {"stage": stage, "limit": limit, "at": ctx.now().isoformat()}
