"""A user's ready tasks and completing one (签收, 受理, 办结 … whatever the diagram says)."""
from __future__ import annotations

from sqlalchemy import select

from engine import forms, photos
from engine.clock import local
from engine.errors import Conflict, Forbidden, InvalidData, NotFound
from engine.models import Audit, Event, Instance, WorkItem
from engine.scope import may_work_on, work_items_of


def describe(item: WorkItem, event: Event, form: dict | None) -> dict:
    return {"id": item.id, "event_id": item.event_id, "event_number": event.number if event else None,
            "name": item.spec_name, "title": item.title, "lane": item.lane, "role": item.role,
            "assignee": {"kind": item.assignee_kind, "community": item.community, "unit": item.unit,
                         "person": item.person},
            "created_at": local(item.created_at), "form": form}


def ready_for(session, user, catalogs, specs, limit: int = 200) -> list[dict]:
    rows = session.execute(select(WorkItem, Event, Instance.version_id)
                           .join(Event, Event.id == WorkItem.event_id)
                           .join(Instance, Instance.id == WorkItem.instance_id)
                           .where(work_items_of(user, catalogs))
                           .order_by(WorkItem.created_at, WorkItem.id).limit(limit))
    result = []
    for item, event, version_id in rows:
        compiled = specs.get(session, version_id)
        result.append(describe(item, event, compiled.resolved_form(item.form, catalogs)))
    return result


def find_for(session, user, catalogs, task_id: str) -> WorkItem:
    """The ready task, if this user may work on it: 409 if it is no longer ready, 404 if it is not
    theirs to see (no hint that another unit's task exists), 403 if they see it but lack the role."""
    # the instance and the event come in the same query: completing the task needs both (identity map)
    found = session.execute(select(WorkItem, Instance, Event).join(Instance, Instance.id == WorkItem.instance_id)
                            .join(Event, Event.id == WorkItem.event_id).where(WorkItem.id == task_id)).first()
    item = found[0] if found is not None else None
    if item is None:
        if session.scalar(select(Audit.id).where(Audit.task_id == task_id).limit(1)) is not None:
            raise Conflict("该任务已办理或已撤销 (the task is no longer ready)", task_id=task_id)
        raise NotFound(f"task {task_id} does not exist")
    if not may_work_on(user, item, catalogs):
        event = session.get(Event, item.event_id)
        same_scope = event is not None and (user.is_global or event.community == user.community)
        if same_scope:
            raise Forbidden(f"task {item.title} belongs to role {item.role}", field="role")
        raise NotFound(f"task {task_id} does not exist")
    return item


def check_data(item: WorkItem, compiled, catalogs, data, event: Event | None = None, session=None) -> dict:
    """The form data with defaults, or InvalidData naming each bad field. With the event, photo fields
    must name photos stored for it (referenced, never copied: engine/photos.py)."""
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
