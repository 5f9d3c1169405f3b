"""回访 after closure (§4.3 效果反馈, §8.6; 12345 practice): the diagram's three machine steps around the
community's 回访 task. The rules — who can be asked, how many times a 不满意 reopens the event — are the
engine's (engine/casework/revisits.py); these reach them through the run context."""
from __future__ import annotations

from handlers.registry import REGISTRY


@REGISTRY.operation("plan_revisit")
def plan_revisit(ctx, task):
    """安排回访: `needed` when the called process closed the event and its reporter can be asked (a citizen
    with a phone or e-mail, a grid worker, a patrol member); then also `how`, `round`, `reopens_left`."""
    return ctx.plan_revisit(task)


@REGISTRY.operation("record_revisit")
def record_revisit(ctx, task):
    """记录回访结果: reached or not, 满意/基本满意/不满意, the reporter's words (the 回访 form's answers);
    `reopen` when a 不满意 with its cause reopens the event (within the setting's limit)."""
    return ctx.record_revisit(task)


@REGISTRY.operation("reopen_event")
def reopen_event(ctx, task, reason):
    """重新办理: the event opens again, back to 研判 in a new instance; `count`: its reopenings so far."""
    return ctx.reopen(task, reason)
