"""Checks that run right after a choice is made, so a choice nobody can act on is refused at once
(422 naming the form field, nothing changes) instead of leaving a task no one will ever see."""
from __future__ import annotations

from handlers import actions
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


#: the fewest characters a reason for a whistle off the community's list may have (§7.3.2)
UNLISTED_REASON_MIN = 2


@REGISTRY.operation("check_whistle_list")
def check_whistle_list(ctx, task, event_type, community, reason=None):
    """§7.3.2 吹哨事项清单: a type the community has on its whistle list is whistled as it is; one off the list
    needs a reason (the whistle form's 吹哨理由), else the whistle is refused naming it; with a reason the
    whistle is marked 清单外吹哨 (an audit row the event, the city's list and the monthly report read)."""
    if ctx.catalogs.whistle_listed(community, event_type):
        return {"listed": True, "reason": None}
    text = reason.strip() if isinstance(reason, str) else ""
    if len(text) < UNLISTED_REASON_MIN:
        row = ctx.catalogs.event_type(event_type) or {}
        name = f"{event_type} {row.get('content', '')}".strip()
        raise InvalidParameter("reason", f"事件类型 {name} 不在本社区吹哨事项清单内（§7.3.2）：请填写吹哨理由，说明为何仍需吹哨"
                                         f"（至少{UNLISTED_REASON_MIN}个字） (this type is not on the community's "
                                         f"whistle list: give a reason of at least {UNLISTED_REASON_MIN} characters)")
    ctx.record(actions.WHISTLE_UNLISTED, {"event_type": event_type, "community": community, "reason": text[:2000]},
               task=task)
    return {"listed": False, "reason": text[:2000]}
