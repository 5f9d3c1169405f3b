"""Whose work is it? Roles and scope (a community and/or a unit of the unit tree).

A user with a unit sees the work of that unit and of every unit below it (a 公安局 clerk sees the
work of its 派出所); a task assigned to a named person is that person's alone (§8.2).
"""
from __future__ import annotations

from sqlalchemy import and_, false, or_

from engine.models import WorkItem
from engine.privacy import work_item_filter


def units_within(catalogs, unit: str | None) -> list[str]:
    if not unit:
        return []
    return [u["code"] for u in catalogs.get("units") if catalogs.is_within(u["code"], unit)]


def may_work_on(user, item: WorkItem, catalogs) -> bool:
    if item.role not in user.roles:
        return False
    if item.assignee_kind == "community":
        return item.community is not None and item.community == user.community
    if item.assignee_kind == "unit":
        return bool(user.unit) and catalogs.is_within(item.unit, user.unit)
    return item.person == user.username


def work_items_of(user, catalogs):
    """SQL condition on WorkItem: the ready tasks this user may see and complete."""
    scope = [and_(WorkItem.assignee_kind == "person", WorkItem.person == user.username)]
    if user.community:
        scope.append(and_(WorkItem.assignee_kind == "community", WorkItem.community == user.community))
    if user.unit:
        scope.append(and_(WorkItem.assignee_kind == "unit", WorkItem.unit.in_(units_within(catalogs, user.unit))))
    if not user.roles:
        return false()
    # Table A.1 rows 1–3 only for the police and designated cadres (engine/privacy.py)
    return and_(WorkItem.role.in_(sorted(user.roles)), or_(*scope), work_item_filter(user, catalogs))
