"""批量签收 (issue #19): a department's clerk accepts several orders at once from 待办 (签收受理, §8.3 within 30
minutes). Each acceptance is its own completion — one unit of work each, audited and timed like any other
(engine/casework/tasks.py `complete`) — and each is accepted or refused on its own: one refused (taken by
someone else, not theirs, no longer waiting, not an acceptance) does not stop the others. The caller runs
`accept` once per task in a unit of its own, and `refusal` for one that was refused, which says why in words
(Chinese first), naming a person by their display name, never their login."""
from __future__ import annotations

import re

from sqlalchemy import select

from engine.accounts import permissions
from engine.casework import tasks
from engine.core import contracts, words
from engine.core.clock import local
from engine.core.errors import Conflict, EventflowError, InvalidData
from engine.store.models import Audit, Event, User, WorkItem, completion_of

#: tasks in one request at most (a page of 待办 is 50)
MAX_TASKS = 50
#: what a task id looks like (SpiffWorkflow's UUIDs): anything else is refused before it reaches a query
TASK_ID = re.compile(r"[0-9A-Za-z-]{1,36}")


def check_ids(body) -> list[str]:
    """`{"task_ids": [...]}`: 1 … MAX_TASKS task ids (422 naming `task_ids`, or the one that is no task id:
    `task_ids.2`); an id given twice is done once, in the order given."""
    ids = body.get("task_ids") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not ids:
        raise InvalidData([{"field": "task_ids", "reason": "请至少选择一件待办 (a list of task ids, at least one)"}])
    if len(ids) > MAX_TASKS:
        raise InvalidData([{"field": "task_ids",
                            "reason": f"一次最多签收 {MAX_TASKS} 件 (at most {MAX_TASKS} tasks at once)"}])
    bad = [i for i, value in enumerate(ids) if not isinstance(value, str) or not TASK_ID.fullmatch(value)]
    if bad:
        raise InvalidData([{"field": f"task_ids.{i}", "reason": "应为任务编号 (a task id)"} for i in bad])
    return list(dict.fromkeys(ids))


def accept(cmd, task_id: str) -> dict:
    """签收受理 one task of the batch: the user's ready task, with a 签收受理 form, completed with its accepting
    answer. Refused as a single completion would be (404 not theirs, 409 no longer ready or claimed by
    another, 403 not their role, 409 suspended, 422 the form wants more) or 409 when it is no acceptance."""
    item, _row, event = tasks.find_work(cmd.session, cmd.user, cmd.catalogs, task_id)
    data = contracts.batch_acceptance(item.form)
    if data is None:
        raise Conflict(f"「{item.title}」不是签收受理，不能批量签收，请逐件办理 (not an acceptance: do it on its own)",
                       task_id=task_id)
    done = tasks.complete(cmd, task_id, data)
    return {**done, "event_number": event.number, "title": item.title}


def refusal(cmd, task_id: str, err: EventflowError) -> dict:
    """Why `accept` refused this task: {task_id, event_number (when the user may know it), error (its code),
    field, reason}: the reason in Chinese words, as the page shows it, naming a person by display name."""
    session, user = cmd.session, cmd.user
    number, reason = None, words.in_language(err.message, "zh")
    item = session.get(WorkItem, task_id)
    seen = item is not None and err.code != "not_found"
    if seen:
        number = session.scalar(select(Event.number).where(Event.id == item.event_id))
    if err.code == "not_found":
        reason = "不是您的待办：任务不存在，或属于其他单位、社区"
    elif isinstance(err, InvalidData):
        reason = "表单还需填写：" + "；".join(words.in_language(e["reason"], "zh")   # each names its field
                                          for e in err.details.get("errors", []))
    elif err.details.get("claimed_by"):
        reason = f"已由{_name(session, err.details['claimed_by'])}认领，只有认领人可以办理"
    elif err.code == "forbidden":
        names = {r["code"]: r["name"] for r in cmd.catalogs.get("roles")}
        reason = f"无权办理：需要「{names[item.role]}」角色" if seen and item.role in names else "无权办理此任务"
    elif err.code == "conflict" and item is None:     # completed (by whom?) or cancelled meanwhile
        done = session.execute(completion_of(select(Audit.actor, Audit.at, Event.number), task_id)
                               .join(Event, Event.id == Audit.event_id)
                               .where(permissions.events_of(user, cmd.catalogs)).limit(1)).first()
        if done is not None:
            number = done.number
            who = "您" if done.actor == user.username else _name(session, done.actor)
            reason = f"已由{who}于 {local(done.at)[11:16]} 办理"
        else:
            reason = "该任务已办理或已撤销"
    return {"task_id": task_id, "event_number": number, "error": err.code, "field": err.details.get("field"),
            "reason": reason}


def _name(session, username: str) -> str:
    """A person as people see them: their display name (never the login)."""
    return session.scalar(select(User.display_name).where(User.username == username)) or "他人"
