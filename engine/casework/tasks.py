"""A user's ready tasks and completing one (签收, 受理, 办结 … whatever the diagram says): 待办, 已办,
认领 and 取消认领, each an operation of a command (engine/core/command.py) for its user."""
from __future__ import annotations

from sqlalchemy import bindparam, func, select

from engine.accounts import permissions, privacy
from engine.casework import delegation
from engine.runtime import incidents
from engine.casework import record, revisits
from engine.casework.task_forms import check_data
from engine.core.clock import local
from engine.casework import todo as todo_list
from engine.limits.deadlines import describe as describe_deadline
from engine.limits.task_order import OPEN_DEADLINES
from engine.core.errors import Conflict, Forbidden, NotFound
from engine.store import paging
from engine.store.db import PLANNED
from engine.store.models import Audit, Deadline, Event, Instance, WorkItem, completion_of, is_completion
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
            "suspended": suspended,
            # 批量签收 (issue #19): a 签收受理 that may be accepted with others (engine/casework/batch.py)
            "batch_accept": contracts.batch_acceptance(item.form) is not None}


#: 已办's order: the newest completion first, the audit row's id breaking ties
DONE_ORDER = paging.Order("done", Audit.at, Audit.id, descending=True)
#: the API's page, unless the request says (the old answer held up to 200 tasks)
API_PAGE = paging.PageRequest(100)
DONE_PAGE = paging.PageRequest(50)


def ready(cmd, page: paging.PageRequest = API_PAGE, filters: dict | None = None, ids=None) -> paging.Page:
    """A page of the user's ready tasks, red first, then by time left, then those without a limit (engine/casework/
    todo.py), each with its form, its light and its due time (`filters`: todo.FILTERS, checked: 400 naming a bad
    one; `ids`: only these tasks, those of them the user may see: the live inbox, engine/notices/live.py)."""
    session, catalogs = cmd.session, cmd.catalogs
    query = todo_list.query(cmd, todo_list.check(catalogs, filters or {}))
    if ids is not None:
        query = query.where(WorkItem.id.in_(list(ids)))
    now = cmd.now()

    def shown(rows):
        for item, event, version_id, status in rows:
            compiled = cmd.env.specs.get(session, version_id)
            yield {**describe(item, event, compiled.resolved_form(item.form, catalogs), status == "suspended"),
                   **todo_list.times(item, now)}
    return paging.fetch(session, query, todo_list.ORDER, page).map(shown)


def todo(cmd, page: paging.PageRequest = API_PAGE, filters: dict | None = None, ids=None) -> paging.Page:
    """待办: a page of the user's ready tasks, each with the time limit that runs on it (§8: its due time and
    its warning light, green / yellow / red), or None: the earliest open deadline of its event that names it."""
    found = ready(cmd, page, filters, ids)
    ids = {t["event_id"] for t in found.items}
    rows = cmd.session.scalars(select(Deadline).where(Deadline.event_id.in_(ids), Deadline.status.in_(OPEN_DEADLINES),
                                                      Deadline.met_at.is_(None))
                               .order_by(Deadline.due_at, Deadline.id)) if ids else []
    first, now = {}, cmd.now()
    for row in rows:
        first.setdefault((row.event_id, row.task_spec), describe_deadline(row, cmd.catalogs, now))
    return found.map(lambda tasks: [{**t, "deadline": first.get((t["event_id"], t["name"]))} for t in tasks])


def done(cmd, page: paging.PageRequest = DONE_PAGE) -> paging.Page:
    """已办: a page of the tasks this user completed, newest first (from the audit trail), of the events they
    may still see (a cadre no longer designated for sensitive events no longer lists them)."""
    user = cmd.user
    query = (select(Audit, Event.number, Event.status).join(Event, Event.id == Audit.event_id)
             .where(Audit.actor == user.username, is_completion(Audit.action),     # ix_audit_completed_by's
                    permissions.events_of(user, cmd.catalogs)))
    return paging.fetch(cmd.session, query, DONE_ORDER, page).map(lambda rows: [
        {"at": local(a.at), "task": a.task_name, "task_id": a.task_id, "event_id": a.event_id,
         "event_number": number, "event_status": status} for a, number, status in rows])


def count_for(session, user, catalogs) -> int:
    """How many tasks wait for the user (the 待办 badge)."""
    return session.scalar(select(func.count(WorkItem.id)).where(work_items_of(user, catalogs)),
                          execution_options=PLANNED) or 0


#: the work item with its instance and event, for completing it. Hot statements are built once:
#: constructing one costs SQLAlchemy more than SQLite takes to run it (bench/lifecycle.py).
_WORK = (select(WorkItem, Instance, Event).join(Instance, Instance.id == WorkItem.instance_id)
         .join(Event, Event.id == WorkItem.event_id).where(WorkItem.id == bindparam("task_id")))
#: the same, whether the task has an open incident (a completion resolves it: no UPDATE when none), and whether
#: a 下派 of it stands (a completion ends it: no look-up when none)
_WORK_AND_INCIDENT = _WORK.add_columns(incidents.open_for_task(WorkItem.id), delegation.stands_for(WorkItem.id))


def find_for(session, user, catalogs, task_id: str) -> WorkItem:
    """The ready task, if this user may work on it: 409 if it is no longer ready, 404 if it is not
    theirs to see (no hint that another unit's task exists), 403 if they see it but lack the role."""
    return find_work(session, user, catalogs, task_id)[0]


def find_work(session, user, catalogs, task_id: str) -> tuple[WorkItem, Instance, Event]:
    """`find_for` with the task's instance and event, loaded in the same query (completing the task
    needs all three; the caller holds them, so the session's identity map keeps them)."""
    return _find_work(session, user, catalogs, task_id, _WORK)


def _find_work(session, user, catalogs, task_id: str, query) -> tuple:
    found = session.execute(query, {"task_id": task_id}).first()
    if found is None:
        if session.scalar(completion_of(select(Audit.id), task_id)
                          .limit(1)) is not None:
            raise Conflict("该任务已办理或已撤销 (the task is no longer ready)", task_id=task_id)
        raise NotFound(f"task {task_id} does not exist")
    item, instance, event = found[:3]
    if not permissions.may_see_sensitive(user, catalogs, event.type_code, event.reporter):
        raise NotFound(f"task {task_id} does not exist")
    if not delegation.may_do(session, user, catalogs, item):     # its role and scope, or 下派 to them
        if permissions.is_global(user) or event.community == user.community:
            role = next((r["name"] for r in catalogs.get("roles") if r["code"] == item.role), item.role)
            raise Forbidden(f"「{item.title}」须由「{role}」角色办理 (task {item.title} belongs to role {item.role})",
                            field="role")
        raise NotFound(f"task {task_id} does not exist")
    return tuple(found)


def detail(cmd, task_id: str, where: str = "api_task") -> dict:
    """One ready task with its form and what the worker needs to see: the task's process data (the order
    to work on, earlier answers for a rework 重办, co-departments' parts to consolidate) and the record of
    what the earlier steps said, by whom and when, newest first (办理记录, engine/casework/record.py)."""
    session, catalogs = cmd.session, cmd.catalogs
    item, row, event = find_work(session, cmd.user, catalogs, task_id)
    privacy.disclose(session, catalogs, cmd.user, event, cmd.now(), where)
    compiled = cmd.env.specs.get(session, row.version_id)
    body = describe(item, event, compiled.resolved_form(item.form, catalogs), row.status == "suspended")
    body["data"] = cmd.env.instances.task_data(session, row, event, task_id)
    body["record"] = record.newest_first(record.of_event(cmd, event.id))
    context = (body["form"] or {}).get("x-context")
    if context == "whistle_list":     # the 吹哨 form shows the list first
        body["whistle_list"] = whistle_list(catalogs, event)
    elif context == "revisit":        # the 回访 form: whom to ask, how, and what a 不满意 does now
        body["revisit"] = revisits.asking(session, catalogs, cmd.user, event, body["data"].get("revisit_plan"),
                                          cmd.env.revisit_reopens)
    return body


def whistle_list(catalogs, event: Event) -> dict:
    """§7.3.2 吹哨事项清单 of the event's community, as the 吹哨 form shows it before its fields: the listed
    types (their Table A.1 words) and whether the event's own type is one of them (if not, the whistle needs
    a reason and is marked 清单外吹哨: handlers/checks.py `check_whistle_list`)."""
    codes = (catalogs.community(event.community) or {}).get("whistle_list", [])
    labels = {o["value"]: o["label"] for o in catalogs.options("event_types")}
    return {"community": event.community, "event_type": event.type_code,
            "listed": catalogs.whistle_listed(event.community, event.type_code),
            "types": [{"code": code, "label": labels.get(code, code)} for code in codes]}


def complete(cmd, task_id: str, data) -> dict:
    """Complete a ready task with its form data (checked against its form first). If the step fails, the
    answer is 409 `step_failed`, the task stays ready and an incident opens (engine/casework/incidents.py)."""
    session, user = cmd.session, cmd.user
    item, row, event, incident, delegated = _find_work(session, user, cmd.catalogs, task_id, _WORK_AND_INCIDENT)
    _not_claimed_by_another(session, cmd.catalogs, item, user)
    compiled = cmd.env.specs.get(session, row.version_id)
    clean = check_data(item, compiled, cmd.catalogs, data, event=event, session=session)
    try:
        finished = cmd.env.instances.complete_task(session, row, event, task_id, clean, user.username,
                                                   stored_parties=assignee_party(item))
    except incidents.STEP_FAILURES as err:
        raise incidents.task_failure(err, item, row, event, clean, user.username, cmd.catalogs) from err
    if finished is None:
        raise Conflict("该任务已办理或已撤销 (the task is no longer ready)", task_id=task_id)
    if incident:
        incidents.resolve_task(session, task_id, user.username, cmd.now())
    if delegated:
        delegation.finish(cmd, task_id)     # a 下派 that stood is done (issue #19)
    return {"task_id": task_id, "event_id": event.id, "event_status": event.status, "stage": event.stage,
            "next_task": next_task(cmd, row, event, compiled)}


def assignee_party(item: WorkItem) -> set:
    """The party a task's assignee became on its event when the task was made (a unit or a person:
    engine/runtime/instances.py `_sync_work_items`; the tasks of a database older than event_party, by migration
    0046), as a set of (kind, value); none for a community's task. Parties are never removed."""
    value = {"unit": item.unit, "person": item.person}.get(item.assignee_kind)
    return {(item.assignee_kind, value)} if value is not None else set()


#: the ready tasks of one instance, oldest first (built once: see _WORK)
_INSTANCE_WORK = (select(WorkItem).where(WorkItem.instance_id == bindparam("instance_id"))
                  .order_by(WorkItem.created_at, WorkItem.id))


def next_task(cmd, row: Instance, event: Event, compiled) -> dict | None:
    """The ready task of the same event that the same user may do next, as GET /api/tasks lists it (with
    its form), or None: the one a completion answers with, so a client goes on without reading the event
    again. Only a task the user may work on (role and scope, `may_work_on`) and no one else has claimed;
    the user already sees the event (a sensitive one only if designated: `find_work`)."""
    if row.status != "running":        # ended: nothing is ready
        return None
    user = cmd.user
    # the rows as the step left them (their time left among them: engine/limits/task_order.py)
    for item in cmd.session.scalars(_INSTANCE_WORK, {"instance_id": row.id},
                                    execution_options={"populate_existing": True}):
        if may_work_on(user, item, cmd.catalogs) and item.claimed_by in (None, user.username):
            return {**describe(item, event, compiled.resolved_form(item.form, cmd.catalogs)),
                    **todo_list.times(item, cmd.now())}
    return None


def claim(cmd, task_id: str) -> dict:
    """认领: the user takes a ready task on; the others who may do it see whose it is. The task's time limit
    runs on regardless (§8.3: 签收受理 is met when the task is *completed*, not when it is claimed)."""
    item, user = _locked(cmd, task_id), cmd.user
    if item.claimed_by and item.claimed_by != user.username:
        raise Conflict(f"该任务已由 {_claimer(cmd.session, cmd.catalogs, item)} 认领 (already claimed)", task_id=task_id,
                       claimed_by=item.claimed_by)
    if not item.claimed_by:
        item.claimed_by, item.claimed_at = user.username, cmd.now()
        _audit(cmd, item, "task_claimed")
    return {"task_id": item.id, "claimed_by": item.claimed_by, "claimed_at": local(item.claimed_at)}


def release(cmd, task_id: str) -> dict:
    """取消认领: the claimer gives the task back to everyone who may do it."""
    item = _locked(cmd, task_id)
    if item.claimed_by != cmd.user.username:
        raise Conflict("只有认领人可以取消认领 (only the claimer may release it)" if item.claimed_by else
                       "该任务尚未认领 (the task is not claimed)", task_id=task_id, claimed_by=item.claimed_by)
    item.claimed_by = item.claimed_at = None
    _audit(cmd, item, "task_released")
    return {"task_id": item.id, "claimed_by": None, "claimed_at": None}


def _locked(cmd, task_id: str) -> WorkItem:
    """The ready task the user may work on, its row locked until commit (who has claimed it, as of the lock)."""
    item = find_for(cmd.session, cmd.user, cmd.catalogs, task_id)
    cmd.session.execute(select(WorkItem.id).where(WorkItem.id == item.id).with_for_update())
    cmd.session.refresh(item)
    return item


def _audit(cmd, item: WorkItem, action: str) -> None:
    cmd.session.add(Audit(at=cmd.now(), actor=cmd.actor, action=action, event_id=item.event_id,
                          instance_id=item.instance_id, task_id=item.id, task_name=item.title))


def _not_claimed_by_another(session, catalogs, item: WorkItem, user) -> None:
    """A claimed task is completed by its claimer (they may release it first)."""
    if item.claimed_by and item.claimed_by != user.username:
        raise Conflict(f"该任务已由 {_claimer(session, catalogs, item)} 认领 (claimed by someone else)", task_id=item.id,
                       claimed_by=item.claimed_by)


def _claimer(session, catalogs, item: WorkItem) -> str:
    """Who claimed the task, as people read it (陈芳（新城社区）): the refusal names them, never their login."""
    return record.named(session, catalogs, [item.claimed_by])[item.claimed_by]
