"""派单: a whistle order reaches the responsible city department or its local office (§7.3.1, §4.1)."""
from __future__ import annotations

from handlers.registry import REGISTRY


@REGISTRY.operation("dispatch_whistle")
def dispatch_whistle(ctx, task, department, event_type=None, community=None):
    unit = ctx.catalogs.unit(department)
    if unit is None or unit.get("kind") not in ("department", "office"):
        raise ValueError(f"{department!r} is not a city department or local office in the catalog")
    ctx.set_lead_unit(department)
    ctx.notify("unit", department, "whistle_dispatched",
               f"新哨单 {ctx.event.number}：请在时限内签收受理（§8.3）")
    ctx.record("whistle_dispatched", {"lead_unit": department, "event_type": event_type,
                                      "community": community}, task=task)
    return {"lead_unit": department, "lead_unit_name": unit["name"],
            "dispatched_at": ctx.now().isoformat()}
