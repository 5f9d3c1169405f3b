"""A user's ready tasks and completing one (签收, 受理, 办结 … whatever the diagram says)."""
from __future__ import annotations

from sqlalchemy import bindparam, func, select

from engine.runtime import forms
from engine.accounts import permissions
from engine.pool import photos
from engine.core.clock import local
from engine.limits.deadlines import describe as describe_deadline
from engine.core.errors import Conflict, Forbidden, InvalidData, NotFound
from engine.store.models import Audit, Deadline, Event, Instance, WorkItem
from engine.accounts.permissions import may_work_on, work_items_of
from engine.core import contracts


def describe(item: WorkItem, event: Event, form: dict | None, suspended: bool = False) -> dict:
    return {"id": item.id, "event_id": item.event_id, "event_number": event.number if event else None,
            "name": item.spec_name, "title": item.title, "lane": item.lane, "role": item.role,
            "assignee": {"kind": item.assignee_kind, "community": item.community, "unit": item.unit,
                         "person": item.person},
            "created_at": local(item.created_at), "claimed_by": item.claimed_by,
            "claimed_at": local(item.claimed_at), "form": form,
            # 已挂起: listed, but it cannot be completed until the process is resumed
            "suspended": suspended}


def ready_for(session, user, catalogs, specs, limit: int = 200) -> list[dict]:
    rows = session.execute(select(WorkItem, Event, Instance.version_id, Instance.status)
                           .join(Event, Event.id == WorkItem.event_id)
                           .join(Instance, Instance.id == WorkItem.instance_id)
                           .where(work_items_of(user, catalogs))
                           .order_by(WorkItem.created_at, WorkItem.id).limit(limit))
    result = []
    for item, event, version_id, status in rows:
        compiled = specs.get(session, version_id)
        result.append(describe(item, event, compiled.resolved_form(item.form, catalogs), status == "suspended"))
    return result


#: the work item with its instance and event, for completing it. Hot statements are built once:
#: constructing one costs SQLAlchemy more than SQLite takes to run it (bench/lifecycle.py).
_WORK = (select(WorkItem, Instance, Event).join(Instance, Instance.id == WorkItem.instance_id)
         .join(Event, Event.id == WorkItem.event_id).where(WorkItem.id == bindparam("task_id")))


def find_for(session, user, catalogs, task_id: str) -> WorkItem:
    """The ready task, if this user may work on it: 409 if it is no longer ready, 404 if it is not
    theirs to see (no hint that another unit's task exists), 403 if they see it but lack the role."""
    return find_work(session, user, catalogs, task_id)[0]


def find_work(session, user, catalogs, task_id: str) -> tuple[WorkItem, Instance, Event]:
    """`find_for` with the task's instance and event, loaded in the same query (completing the task
    needs all three; the caller holds them, so the session's identity map keeps them)."""
    found = session.execute(_WORK, {"task_id": task_id}).first()
    if found is None:
        if session.scalar(select(Audit.id).where(Audit.task_id == task_id).limit(1)) is not None:
            raise Conflict("该任务已办理或已撤销 (the task is no longer ready)", task_id=task_id)
        raise NotFound(f"task {task_id} does not exist")
    item, instance, event = found
    if not permissions.may_see_sensitive(user, catalogs, event.type_code, event.reporter):
        raise NotFound(f"task {task_id} does not exist")
    if not may_work_on(user, item, catalogs):
        if permissions.is_global(user) or event.community == user.community:
            raise Forbidden(f"task {item.title} belongs to role {item.role}", field="role")
        raise NotFound(f"task {task_id} does not exist")
    return item, instance, event


def check_data(item: WorkItem, compiled, catalogs, data, event: Event | None = None, session=None) -> dict:
    """The form data with defaults, or InvalidData naming each bad field. With the event, photo fields
    must name photos stored for it (referenced, never copied: engine/pool/photos.py)."""
    if not isinstance(data, dict):
        raise InvalidData([{"field": "(form)", "reason": "form data must be a JSON object"}])
    schema = compiled.resolved_form(item.form, catalogs)
    data = forms.with_defaults(schema, data)
    errors = forms.validate(schema, data)
    if not errors and event is not None:
        errors = photos.unknown_references(session, event, forms.photo_references(schema, data))
    if errors:
        raise InvalidData(errors)
    return data


def with_deadlines(session, tasks: list[dict], catalogs, now) -> list[dict]:
    """Each ready task with the time limit that runs on it (§8: its due time and its warning light,
    green / yellow / red), or None: the earliest open deadline of its event that names the task."""
    ids = {t["event_id"] for t in tasks}
    rows = session.scalars(select(Deadline).where(Deadline.event_id.in_(ids), Deadline.status.in_(("pending", "missed", "paused")),
                                                  Deadline.met_at.is_(None)).order_by(Deadline.due_at)) if ids else []
    first = {}
    for row in rows:
        first.setdefault((row.event_id, row.task_spec), describe_deadline(row, catalogs, now))
    return [{**t, "deadline": first.get((t["event_id"], t["name"]))} for t in tasks]


def done_by(session, user, catalogs, limit: int = 100) -> list[dict]:
    """已办: the tasks this user completed, newest first (from the audit trail), of the events they may still
    see (a cadre no longer designated for sensitive events no longer lists them)."""
    rows = session.execute(select(Audit, Event.number, Event.status).join(Event, Event.id == Audit.event_id)
                           .where(Audit.actor == user.username, Audit.action == contracts.TASK_COMPLETED,
                                  permissions.events_of(user, catalogs))
                           .order_by(Audit.id.desc()).limit(limit))
    return [{"at": local(a.at), "task": a.task_name, "task_id": a.task_id, "event_id": a.event_id,
             "event_number": number, "event_status": status} for a, number, status in rows]


def count_for(session, user, catalogs) -> int:
    """How many tasks wait for the user (the 待办 badge)."""
    return session.scalar(select(func.count(WorkItem.id)).where(work_items_of(user, catalogs))) or 0


def claim(session, user, catalogs, task_id: str, now) -> WorkItem:
    """认领: the user takes a ready task on; the others who may do it see whose it is. The task's time limit
    runs on regardless (§8.3: 签收受理 is met when the task is *completed*, not when it is claimed)."""
    item = find_for(session, user, catalogs, task_id)
    session.execute(select(WorkItem.id).where(WorkItem.id == item.id).with_for_update())
    session.refresh(item)
    if item.claimed_by == user.username:
        return item
    if item.claimed_by:
        raise Conflict(f"该任务已由 {item.claimed_by} 认领 (already claimed)", task_id=task_id, claimed_by=item.claimed_by)
    item.claimed_by, item.claimed_at = user.username, now
    session.add(Audit(at=now, actor=user.username, action="task_claimed", event_id=item.event_id,
                      instance_id=item.instance_id, task_id=item.id, task_name=item.title))
    return item


def release(session, user, catalogs, task_id: str, now) -> WorkItem:
    """取消认领: the claimer gives the task back to everyone who may do it."""
    item = find_for(session, user, catalogs, task_id)
    session.execute(select(WorkItem.id).where(WorkItem.id == item.id).with_for_update())
    session.refresh(item)
    if item.claimed_by != user.username:
        raise Conflict("只有认领人可以取消认领 (only the claimer may release it)" if item.claimed_by else
                       "该任务尚未认领 (the task is not claimed)", task_id=task_id, claimed_by=item.claimed_by)
    item.claimed_by = item.claimed_at = None
    session.add(Audit(at=now, actor=user.username, action="task_released", event_id=item.event_id,
                      instance_id=item.instance_id, task_id=item.id, task_name=item.title))
    return item


def not_claimed_by_another(item: WorkItem, user) -> None:
    """A claimed task is completed by its claimer (they may release it first)."""
    if item.claimed_by and item.claimed_by != user.username:
        raise Conflict(f"该任务已由 {item.claimed_by} 认领 (claimed by someone else)", task_id=item.id,
                       claimed_by=item.claimed_by)
