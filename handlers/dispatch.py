"""派单: a whistle order reaches the responsible (主办) city department or its local office, and each
co-operating (协办) department gets its own order (§7.3.1, §4.1). The department hears of it from the
escalation ladder's dispatch rung (catalogs/data/escalation.json, engine/limits/escalation.py) when its
limit to accept starts, with the time it must accept by; the handler only records the order."""
from __future__ import annotations

from handlers.errors import InvalidParameter
from handlers.registry import REGISTRY
from handlers import actions


def _department(ctx, department):
    unit = ctx.catalogs.unit(department)
    if unit is None or unit.get("kind") not in ("department", "office", "company"):
        raise ValueError(f"{department!r} is not a city department, local office or company in the catalog")
    return unit


@REGISTRY.operation("dispatch_whistle")
def dispatch_whistle(ctx, task, department, event_type=None, community=None, co_departments=None):
    unit = _department(ctx, department)
    if department in (co_departments or []):  # named on the field that chose the lead (吹哨, 改派, 兜底)
        raise InvalidParameter("department", "该部门已是本哨单的协办部门，不能同时主办 "
                                             "(the lead department cannot also be co-operating)")
    ctx.set_lead_unit(department)
    ctx.involve("unit", department)
    ctx.record(actions.WHISTLE_DISPATCHED, {"lead_unit": department, "event_type": event_type,
                                      "community": community}, task=task)
    return {"lead_unit": department, "lead_unit_name": unit["name"],
            "dispatched_at": ctx.now().isoformat()}


@REGISTRY.operation("dispatch_part")
def dispatch_part(ctx, task, department, event_type=None, community=None, matter=None):
    """协办派单: a co-operating department's own order; the lead unit of the event is unchanged. For a "one
    thing" matter (Appendix B, `matter`) the limits Table B.1 sets for this department come along
    (`accept_limit`, `close_limit`); without them the diagram's §8.3 30 minutes and 24 hours apply."""
    unit = _department(ctx, department)
    ctx.involve("unit", department)
    ctx.record("part_dispatched", {"unit": department, "event_type": event_type, "community": community},
               task=task)
    limits = ctx.catalogs.one_thing_limits(matter, department) if matter else {}
    return {"unit": department, "unit_name": unit["name"], "dispatched_at": ctx.now().isoformat(),
            **{f"{kind}_limit": limits[kind] for kind in ("accept", "close") if kind in limits}}


@REGISTRY.operation("record_return")
def record_return(ctx, task, department, reason=None, code=None):
    """退回: the lead department returns the order with a coded reason (`code`, catalog return_reasons: 不属本单位
    职责, 信息不全, 重复, 其他) and words (`reason`; a reason marked needs_text, 其他, must have them). The count
    decides who acts next: the whistle officer re-dispatches (改派), and after two returns the city authority
    decides who owns it (兜底). The city may later rule the return unreasonable (engine/oversight/returns.py).
    A version deployed before the coded reasons passes no `code`: its return is recorded without one."""
    text = str(reason).strip() if reason is not None else ""
    catalogued = ctx.catalogs.return_reason(code) if code is not None else None
    if code is not None and catalogued is None:
        raise InvalidParameter("code", f"不是退回原因目录中的原因 (not a code of the return_reasons catalog: {code!r})")
    if catalogued is not None and catalogued.get("needs_text") and not text:
        raise InvalidParameter("reason", f"退回原因为“{catalogued['name']}”时须写明理由 (say why in words)")
    count = int((task.data.get("returns") or {}).get("count", 0)) + 1
    authority = ctx.catalogs.city_authority()
    ctx.record(actions.WHISTLE_RETURNED, {"unit": department, "code": code, "reason": text or None, "count": count},
               task=task)
    unit_name = (ctx.catalogs.unit(department) or {}).get("name", department)
    said = "：".join(p for p in ((catalogued or {}).get("name"), text) if p)
    if count >= 2:
        ctx.notify("unit", authority, "owner_needed",
                   f"哨单 {ctx.event.number} 已被退回 {count} 次，请指定承办部门（兜底）")
    else:
        ctx.notify("community", ctx.event.community, actions.WHISTLE_RETURNED,
                   f"哨单 {ctx.event.number} 被{unit_name}退回（{said or '未说明理由'}），请改派")
    return {"count": count, "authority": authority, "last_unit": department}
