"""Tell the source the outcome of its report (§7.1 feeds back to the source; §4.3 closed loop): the
reporter's notification, and a signed callback where the source's channel has one (engine/channels/callbacks.py)."""
from __future__ import annotations

from handlers.registry import REGISTRY

OUTCOME_WORDS = {"closed": "已办结", "invalid": "经核实不予受理", "returned": "已退回",
                 "transferred": "已转办", "withdrawn": "已撤单", "merged": "已合并",
                 "terminated": "已终止"}   # 终止 by an administrator (engine/casework/administration.py)


@REGISTRY.operation("notify_source")
def notify_source(ctx, task, outcome, reason=None):
    event = ctx.event
    words = OUTCOME_WORDS.get(outcome, outcome)
    if outcome != "transferred":  # the transfer handler already wrote where it went
        ctx.set_status_reason(reason)
    text = f"您上报的事件 {event.number} {words}" + (f"：{reason}" if reason else "")
    ctx.notify("person", event.reporter, "outcome", text)
    for report in ctx.merged_reports():   # reports merged into this event follow it (§7.1)
        if report.reporter:
            ctx.notify("person", report.reporter, "outcome", f"您上报的事件 {report.number}（已并入 {event.number}）"
                       f"{words}" + (f"：{reason}" if reason else ""))
    ctx.call_back(outcome, words, reason)   # channels that cannot poll hear it by a signed callback
    ctx.record("source_notified", {"outcome": outcome, "reporter": event.reporter, "reason": reason}, task=task)
    return {"notified": event.reporter, "outcome": outcome}
