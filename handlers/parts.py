"""协办 and 分工 results: each co-operating department (§7.3.1, Appendix B) or assignee of a superior
assignment (§8.2) reports its own part, kept apart from the others' and consolidated by the lead."""
from __future__ import annotations

from handlers.registry import REGISTRY


@REGISTRY.operation("record_part")
def record_part(ctx, task, unit):
    unit_row = ctx.catalogs.unit(unit) if unit else None
    part = {"unit": unit, "unit_name": (unit_row or {}).get("name", unit),
            "summary": task.data.get("part_summary"), "photos": task.data.get("part_photos") or [],
            "reported_at": ctx.now().isoformat()}
    ctx.record("part_reported", part, task=task)
    return part


@REGISTRY.operation("plan_one_thing")
def plan_one_thing(ctx, task, matter):
    """§5.5, Appendix B: the matter's catalog row gives the co-operating departments and the lead's limit
    (`lead_limit`, from `planned_at`); the joint party committee leads (Table B.1) and may adjust the list
    when it plans the work."""
    row = ctx.catalogs.one_thing_matter(matter)
    if row is None:
        raise ValueError(f"{matter!r} is not an Appendix B matter in the catalog")
    departments = [code for code in row.get("cooperating", []) if ctx.catalogs.unit(code) is not None]
    # the lead's limit for the whole matter runs from now (None: the deadline kind `matter`'s default)
    return {"code": row["code"], "name": row["name"], "co_departments": departments,
            "lead_limit": ctx.catalogs.one_thing_limits(matter).get("lead"), "planned_at": ctx.now().isoformat()}
