"""转办 (§7.1): an event outside this community's area goes to the community that holds it, as a
linked event in that community's pool; this one ends as `transferred` (the pair is counted once)."""
from __future__ import annotations

from handlers.errors import InvalidParameter
from handlers.registry import REGISTRY


@REGISTRY.operation("transfer_event")
def transfer_event(ctx, task, community, reason):
    target = ctx.catalogs.community(community)
    if target is None:
        raise InvalidParameter("community", f"没有这个社区 (unknown community {community!r})")
    if community == ctx.event.community:
        raise InvalidParameter("community", "不能转办给本社区 (an event cannot be transferred to its own community)")
    new = ctx.transfer(community, reason)
    ctx.set_status_reason(f"转办至{target['name']}：{reason}")
    ctx.notify("community", community, "transferred_in",
               f"{ctx.event.community} 转办事件 {new.number}，请核实（§7.1）")
    ctx.notify("person", ctx.event.reporter, "outcome",   # §7.1: feed back to the source promptly
               f"您上报的事件 {ctx.event.number} 已转办至{target['name']}（新编号 {new.number}）：{reason}")
    ctx.call_back("transferred", "已转办", f"转办至{target['name']}（新编号 {new.number}）：{reason}")
    ctx.record("transferred", {"to_event": new.number, "to_community": community, "reason": reason}, task=task)
    return {"event_id": new.id, "number": new.number, "community": community}
