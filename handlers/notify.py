"""Tell the source the outcome of its report (§7.1 feeds back to the source; §4.3 closed loop)."""
from __future__ import annotations

from handlers.registry import REGISTRY

OUTCOME_WORDS = {"closed": "已办结", "invalid": "经核实不予受理", "returned": "已退回",
                 "transferred": "已转办", "withdrawn": "已撤单"}


@REGISTRY.operation("notify_source")
def notify_source(ctx, task, outcome):
    event = ctx.event
    words = OUTCOME_WORDS.get(outcome, outcome)
    ctx.notify("person", event.reporter, "outcome", f"您上报的事件 {event.number} {words}")
    ctx.record("source_notified", {"outcome": outcome, "reporter": event.reporter}, task=task)
    return {"notified": event.reporter, "outcome": outcome}
