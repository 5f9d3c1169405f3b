"""待办 as it is read (issue #19): the user's ready tasks red first (a missed limit), then by time left, the tasks
without a limit after them (oldest first) — the time left each task carries (engine/limits/task_order.py) read
from one index a page at a time (engine/store/paging.py); filtered by the light (红/黄/绿, 暂停, 无时限), the
event's type, community and source and who has the task in hand; counted per light in the database; and the
same tasks as points on a map.

Every read here starts from the user's own tasks (`work_items_of`: role and scope, and no task of a sensitive
event, Table A.1 rows 1–3, for someone who may not see it), so a filter, a cursor or the map only ever narrows
what the user may see. The API and the page read the same functions (web/api/tasks.py, web/ui/tasks.py).
"""
from __future__ import annotations

from sqlalchemy import and_, func, select

from engine.accounts import privacy
from engine.accounts.permissions import work_items_of
from engine.core.clock import local
from engine.core.errors import InvalidQuery
from engine.limits import task_order
from engine.limits.task_order import LIGHTS, NO_LIMIT
from engine.pool.events import SOURCES
from engine.store import paging
from engine.store.db import PLANNED
from engine.store.models import Event, Instance, WorkItem

#: 待办's order: red first, then the nearest due, then the tasks without a limit, oldest first; the task id last
ORDER = paging.Order("todo", WorkItem.time_rank, WorkItem.time_key, WorkItem.id)
#: the filters: of the task's event (type, source, community), its light, who has it in hand
FILTERS = ("type_code", "source", "community", "light", "status")
#: the status filter: who has the task in hand (`suspended`: its process is suspended, 挂起)
STATUSES = ("unclaimed", "mine", "others", "suspended")
#: the filters' names, as a refusal names them to people
FIELD_NAMES = {"type_code": "事件类型", "source": "来源", "community": "社区", "light": "预警灯", "status": "状态"}
LIGHT_WORDS = {"red": "红灯", "yellow": "黄灯", "green": "绿灯", "paused": "暂停", "none": "无时限"}
STATUS_WORDS = {"unclaimed": "未认领", "mine": "我认领的", "others": "他人认领", "suspended": "已挂起"}
#: the most tasks the map shows (the most urgent first); it says how many more there are
MAP_LIMIT = 1000


def _choices(words: dict) -> str:
    return "、".join(f"{code}（{word}）" for code, word in words.items())


def check(catalogs, asked: dict) -> dict:
    """The filters a request asks for ({name: value}; None or "": not asked), each one checked against what it
    may be — a light, a status, a §5 source, an event type or a community of the catalogs: 400 naming every
    bad one in Chinese, never a query that fails or silently finds nothing."""
    wanted = {name: asked.get(name) or None for name in FILTERS}
    allowed = {"light": (LIGHTS, _choices(LIGHT_WORDS)), "status": (STATUSES, _choices(STATUS_WORDS)),
               "source": (tuple(SOURCES), "、".join(SOURCES))}
    errors = []
    for name, value in wanted.items():
        if value is None:
            continue
        if not isinstance(value, str):
            bad = True
        elif name in allowed:
            bad = value not in allowed[name][0]
        elif name == "type_code":
            bad = catalogs.event_type(value) is None and catalogs.one_thing_matter(value) is None
        else:
            bad = catalogs.community(value) is None
        if bad:
            field = FIELD_NAMES[name]
            reason = (f"{field}应为 {allowed[name][1]} 之一 (one of {', '.join(allowed[name][0])})" if name in allowed
                      else f"{field}不在目录中 (not a {'type' if name == 'type_code' else 'community'} of the catalogs)")
            errors.append({"field": name, "reason": reason})
    if errors:
        raise InvalidQuery(errors)
    return wanted


def _conditions(cmd, filters: dict, light: bool = True) -> tuple[list, bool, bool]:
    """(SQL conditions of the checked `filters`, whether they read the event, whether they read the instance);
    without the light's if not `light` (the counts per light)."""
    found = [getattr(Event, name) == filters[name] for name in ("type_code", "source", "community") if filters.get(name)]
    on_event = bool(found)
    status = filters.get("status")
    if status == "suspended":
        found.append(Instance.status == "suspended")
    elif status:
        found.append(Instance.status != "suspended")
        mine = cmd.user.username
        found.append({"unclaimed": WorkItem.claimed_by.is_(None), "mine": WorkItem.claimed_by == mine,
                      "others": and_(WorkItem.claimed_by.is_not(None), WorkItem.claimed_by != mine)}[status])
    if light and filters.get("light"):
        found.append(task_order.light_is(filters["light"], cmd.now()))
    return found, on_event, bool(status)


def _scoped(cmd, filters: dict, *columns):
    """`columns` of the user's ready tasks with their event and instance, as the filters narrow them."""
    conditions, _, _ = _conditions(cmd, filters)
    return (select(*columns).select_from(WorkItem).join(Event, Event.id == WorkItem.event_id)
            .join(Instance, Instance.id == WorkItem.instance_id)
            .where(work_items_of(cmd.user, cmd.catalogs), *conditions)
            .execution_options(**PLANNED))    # each read of the user's tasks: their scope decides the plan


def query(cmd, filters: dict | None = None):
    """The user's ready tasks (with their event and their instance's version and status), as the filters
    narrow them: what a page of 待办 reads, in ORDER (engine/store/paging.py `fetch`)."""
    return _scoped(cmd, filters or {}, WorkItem, Event, Instance.version_id, Instance.status)


def times(item: WorkItem, now) -> dict:
    """The task's light at `now` and the due time of its limit (None without one), as it carries them."""
    return {"light": task_order.light(item, now),
            "due_at": local(item.time_key) if item.time_rank != NO_LIMIT else None}


def counts(cmd, filters: dict | None = None) -> dict:
    """{light: how many of the user's tasks show it now} for every light — one grouped count in the database,
    under the other filters (so each is what the light's filter would list; a bad one: 400, as `check`)."""
    conditions, on_event, on_instance = _conditions(cmd, check(cmd.catalogs, filters or {}), light=False)
    light = task_order.light_of(cmd.now()).label("light")
    counted = select(light, func.count()).select_from(WorkItem)
    if on_event:
        counted = counted.join(Event, Event.id == WorkItem.event_id)
    if on_instance:
        counted = counted.join(Instance, Instance.id == WorkItem.instance_id)
    rows = dict(cmd.session.execute(counted.where(work_items_of(cmd.user, cmd.catalogs), *conditions).group_by(light),
                                    execution_options=PLANNED).all())
    return {name: rows.get(name, 0) for name in LIGHTS}


def communities(cmd) -> list[str]:
    """The communities of the events behind the user's ready tasks (the page's community filter)."""
    rows = cmd.session.scalars(select(Event.community).distinct().join(WorkItem, WorkItem.event_id == Event.id)
                               .where(work_items_of(cmd.user, cmd.catalogs), Event.community.is_not(None)),
                               execution_options=PLANNED)
    return sorted(rows)


def map_of(cmd, filters: dict | None = None) -> dict:
    """The user's open work as GeoJSON points (WGS-84, each at its event's place, with its light), the most
    urgent MAP_LIMIT first, under the filters; `more`: how many more the map leaves out, `unplaced`: how many
    have no place yet (an address-only report waiting for 分拨); `areas`: the boundaries of their communities (to
    find one's way without map tiles, as on the event page). A sensitive event's task is on it only for those who
    may see the event, as in the list, and each one shown is a recorded read (`disclose`)."""
    filters = check(cmd.catalogs, filters or {})
    placed, unplaced = Event.lat.is_not(None) & Event.lng.is_not(None), Event.lat.is_(None) | Event.lng.is_(None)
    rows = cmd.session.execute(_scoped(cmd, filters, WorkItem, Event).where(placed)
                               .order_by(*ORDER.order_by()).limit(MAP_LIMIT + 1)).all()
    more = 0
    if len(rows) > MAP_LIMIT:
        rows = rows[:MAP_LIMIT]
        more = cmd.session.scalar(_scoped(cmd, filters, func.count(WorkItem.id)).where(placed)) - MAP_LIMIT
    unplaced = cmd.session.scalar(_scoped(cmd, filters, func.count(WorkItem.id)).where(unplaced))
    now, catalogs, features = cmd.now(), cmd.catalogs, []
    for item, event in rows:
        privacy.disclose(cmd.session, catalogs, cmd.user, event, now, "tasks_map")
        kind = catalogs.event_type(event.type_code) or catalogs.one_thing_matter(event.type_code) or {}
        # Table A.1's category (占道经营 …) or Appendix B's matter
        features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [event.lng, event.lat]},
                         "properties": {"task_id": item.id, "title": item.title, "event_id": event.id,
                                        "event_number": event.number, "type_code": event.type_code,
                                        "type_name": kind.get("category") or kind.get("name") or event.type_code,
                                        "address": event.address, **times(item, now)}})
    shown = {event.community for _item, event in rows}
    areas = [{"type": "Feature", "geometry": f["geometry"], "properties": {"code": f["properties"]["code"],
                                                                          "name": f["properties"].get("name")}}
             for f in catalogs.get("communities")["features"] if f["properties"]["code"] in shown]
    return {"type": "FeatureCollection", "features": features, "more": more, "unplaced": unplaced, "areas": areas}
