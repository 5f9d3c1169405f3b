"""Checks that run right after a choice is made, so a choice nobody can act on is refused at once
(422 naming the form field, nothing changes) instead of leaving a task no one will ever see."""
from __future__ import annotations

from handlers.errors import InvalidParameter
from handlers.registry import REGISTRY


@REGISTRY.operation("check_assignee")
def check_assignee(ctx, task, role, unit=None, person=None, community=None):
    """§7.2 交办: the chosen unit must have `role` staff in the event's community (e.g. a 派出所 that has
    下沉民警 in this community)."""
    param = "unit" if unit is not None else "person"
    if not ctx.can_be_assigned(role, unit=unit, person=person, community=community):
        who = ctx.catalogs.unit(unit)["name"] if unit and ctx.catalogs.unit(unit) else (unit or person)
        raise InvalidParameter(param, f"{who} 在本社区没有可以承办的人员 (nobody with role {role} "
                                      f"there can take this work)")
    return {"role": role, "unit": unit, "person": person}


@REGISTRY.operation("check_assignments")
def check_assignments(ctx, task, assignments, community=None):
    """§8.2 分工: each assignment names exactly one city department (or office) or one community cadre
    of this community, who exists and can do it."""
    checked = []
    for number, item in enumerate(assignments, start=1):
        unit, person = item.get("unit"), item.get("person")
        if bool(unit) == bool(person):
            raise InvalidParameter("assignments", f"第{number}项分工须且只能指定一个承办单位或承办人 "
                                                  f"(item {number}: name one unit or one person)")
        if unit and not ctx.can_be_assigned("department_staff", unit=unit):
            raise InvalidParameter("assignments", f"第{number}项分工：{unit} 没有可以承办的部门人员 "
                                                  f"(item {number}: nobody at {unit} can take it)")
        if person and not ctx.can_be_assigned("community_staff", person=person, community=community):
            raise InvalidParameter("assignments", f"第{number}项分工：{person} 不是本社区的社区干部/社工 "
                                                  f"(item {number}: {person} is not a cadre of this community)")
        checked.append({"unit": unit, "person": person})
    return {"count": len(checked)}
