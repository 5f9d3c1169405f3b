"""下派 (issue #19, a department's own organisation): a unit's whistle order comes to the whole unit (签收受理,
到场, 处置反馈 …: the task's assignee is the unit). Its clerk passes one task down to a sub-unit of the unit's
tree (中队, 所: catalogs/data/units.json) or a person of it, with a sub-deadline that lies inside the unit's
own limit, and may take it back (收回). While passed down, the assignee sees the task in 待办 and may complete
it (engine/accounts/permissions.py `work_items_of`, `may_work_on`); the unit's own people still see and do it.

The sub-deadline is the unit's own organisation, not a limit of the standard: it has its yellow light and its
miss, each once, fired by a job beside the timer sweep from the row's own times (like the escalation
ladder's rungs); its miss is told to the unit (engine/notices/outbox.py `notify`) and shown on the event and
the task while the unit's own limit still runs. The unit's limit (§8.3) is untouched: it is met or missed as
before and counts for the unit in §8.6's indicators, whoever did the work. Every pass, take-back, warning
and miss is audited (who passed to whom, when, until when).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from fractions import Fraction

from sqlalchemy import and_, bindparam, exists, or_, select

from engine.accounts import permissions, privacy
from engine.core.clock import SHANGHAI, local, parse_instant
from engine.core.errors import Conflict, InvalidData, NotFound
from engine.notices.outbox import notify
from engine.pool.events import add_parties
from engine.store.models import Audit, Deadline, Delegation, Event, Instance, User, WorkItem, completion_of

#: audit actions (the event's timeline names them: web/ui/__init__.py ACTION_WORDS)
PASSED, TAKEN_BACK, WARNED, MISSED = "task_delegated", "delegation_taken_back", "delegation_warning", "delegation_missed"
#: the words of a delegation's status
STATUS_WORDS = {"active": "下派中", "taken_back": "已收回", "done": "已办理", "ended": "任务已结束"}
#: the share of the window after which the yellow light shows, when the task has no limit of its own to
#: take it from (deadline_kinds.json `warn_share` otherwise)
WARN_SHARE = Fraction(2, 3)
NOTE_MAX = 500
#: the open limits of a task (a met or superseded one no longer runs)
OPEN_LIMITS = ("pending", "paused", "missed")

_ACTIVE = select(Delegation).where(Delegation.task_id == bindparam("task_id"), Delegation.status == "active")
_WORK = (select(WorkItem, Instance, Event).join(Instance, Instance.id == WorkItem.instance_id)
         .join(Event, Event.id == WorkItem.event_id).where(WorkItem.id == bindparam("task_id")))
#: standing delegations but a suspended instance's (they wait for its resumption, moved by it); an ended
#: instance's are found too, and end
_RUNNING = (select(Delegation).join(Instance, Instance.id == Delegation.instance_id)
            .where(Delegation.status == "active", Instance.status != "suspended"))


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value


def _when(value: datetime) -> str:
    """A time as staff read it: 2026-10-08 10:30 (Asia/Shanghai)."""
    return _utc(value).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


# -- reading -------------------------------------------------------------------------------------------------
def active(session, task_id: str) -> Delegation | None:
    """The task's 下派 that stands, if any."""
    return session.scalar(_ACTIVE, {"task_id": task_id})


def stands_for(task_id):
    """SQL: whether the task (`task_id`, a column or value) has a 下派 that stands (`ix_delegation_task_status`):
    read with the task itself, so a completion looks for one (`finish`) only when there is one."""
    return exists().where(Delegation.task_id == task_id, Delegation.status == "active")


def may_do(session, user, catalogs, item: WorkItem) -> bool:
    """`permissions.may_work_on`, or the task was passed down to the user (read only when it would matter)."""
    return permissions.may_work_on(user, item, catalogs) or (
        item.role in user.roles and permissions.may_work_on(user, item, catalogs, active(session, item.id)))


def unit_limit(session, item: WorkItem) -> Deadline | None:
    """The unit's own open limit on the task (§8.3: 受理, 到场, 结案反馈 …), the earliest; None if it has none."""
    return session.scalar(select(Deadline).where(
        Deadline.event_id == item.event_id, Deadline.instance_id == item.instance_id,
        Deadline.task_spec == item.spec_name, Deadline.unit == item.unit,
        Deadline.status.in_(OPEN_LIMITS), Deadline.met_at.is_(None)).order_by(Deadline.due_at, Deadline.id).limit(1))


def _names(session, usernames) -> dict[str, str]:
    wanted = sorted({u for u in usernames if u})
    return dict(session.execute(select(User.username, User.display_name).where(User.username.in_(wanted)))
                .all()) if wanted else {}


def _unit_name(catalogs, code: str | None) -> str | None:
    unit = catalogs.unit(code) if code else None
    return (unit or {}).get("name") or code


def light(row: Delegation, now, suspended: bool = False) -> str | None:
    """The sub-deadline's warning light: green, yellow past its share, red once missed; paused while the
    process is suspended; None once it no longer stands."""
    if row.status != "active":
        return None
    if suspended:
        return "paused"
    if row.missed_at is not None:
        return "red"
    return "yellow" if _utc(now) >= _utc(row.warn_at) else "green"


def describe(row: Delegation, catalogs, now, names: dict, suspended: bool = False) -> dict:
    """One 下派 as the API and the pages show it: to whom (display names and unit names beside the codes), by
    whom, when, until when, its light, whether the sub-deadline was missed and how it ended."""
    return {"id": row.id, "event_id": row.event_id, "task_id": row.task_id, "task": row.task_spec,
            "task_name": row.task_name, "unit": row.unit, "unit_name": _unit_name(catalogs, row.unit),
            "to_unit": row.to_unit, "to_unit_name": _unit_name(catalogs, row.to_unit),
            "to_person": row.to_person, "to_person_name": names.get(row.to_person, row.to_person) if row.to_person else None,
            "to_name": _unit_name(catalogs, row.to_unit) if row.to_unit else names.get(row.to_person, row.to_person),
            "note": row.note, "passed_by": row.passed_by, "passed_by_name": names.get(row.passed_by, row.passed_by),
            "passed_at": local(row.passed_at), "due_at": local(row.due_at), "warn_at": local(row.warn_at),
            "warned_at": local(row.warned_at), "missed": row.missed_at is not None, "missed_at": local(row.missed_at),
            "status": row.status, "status_name": STATUS_WORDS.get(row.status, row.status),
            "light": light(row, now, suspended), "ended_at": local(row.ended_at), "ended_by": row.ended_by,
            "ended_by_name": names.get(row.ended_by, row.ended_by) if row.ended_by else None,
            "end_reason": row.end_reason, "deadline_id": row.deadline_id}


def _described(session, catalogs, rows, now) -> list[dict]:
    """`describe` each; one whose task went otherwise (撤单, 终止 …) since is shown ended, as the sweep's job will
    record it at its next time (`send_due`)."""
    rows = list(rows)
    names = _names(session, [u for r in rows for u in (r.to_person, r.passed_by, r.ended_by)])
    suspended = set(session.scalars(select(Instance.id).where(Instance.id.in_({r.instance_id for r in rows}),
                                                              Instance.status == "suspended"))) if rows else set()
    standing = [r.task_id for r in rows if r.status == "active"]
    ready = set(session.scalars(select(WorkItem.id).where(WorkItem.id.in_(standing)))) if standing else set()
    shown = []
    for row in rows:
        item = describe(row, catalogs, now, names, row.instance_id in suspended)
        if row.status == "active" and row.task_id not in ready:
            item.update(status="ended", status_name=STATUS_WORDS["ended"], light=None)
        shown.append(item)
    return shown


def of_event(session, catalogs, event_id: int, now) -> list[dict]:
    """The event's 下派, oldest first (GET /api/events/{id} `delegations`; the event page's 下派记录)."""
    return _described(session, catalogs, session.scalars(select(Delegation).where(Delegation.event_id == event_id)
                                                         .order_by(Delegation.id)), now)


def _task(cmd, task_id: str) -> tuple[WorkItem, Instance, Event]:
    """The ready task, if the user may see and do it (404 otherwise: no hint that another unit's task exists)."""
    found = cmd.session.execute(_WORK, {"task_id": task_id}).first()
    if found is None:
        raise NotFound(f"task {task_id} does not exist or is no longer ready")
    item, instance, event = found
    user, catalogs = cmd.user, cmd.catalogs
    if not permissions.may_see_sensitive(user, catalogs, event.type_code, event.reporter) \
            or not may_do(cmd.session, user, catalogs, item):
        raise NotFound(f"task {task_id} does not exist or is no longer ready")
    return item, instance, event


def candidates(cmd, item: WorkItem, event: Event) -> dict:
    """Whom the clerk may pass the task to: the sub-units of the unit's tree, and the people of the tree who
    may do it (`permissions.may_pass_to_unit`, `may_pass_to_person`), by name."""
    catalogs = cmd.catalogs
    tree = catalogs.units_within(item.unit)
    units = [{"code": code, "name": _unit_name(catalogs, code)} for code in tree
             if permissions.may_pass_to_unit(catalogs, item, code)]
    people = [{"username": p.username, "display_name": p.display_name, "unit": p.unit,
               "unit_name": _unit_name(catalogs, p.unit)}
              for p in cmd.session.scalars(select(User).where(User.unit.in_(tree), User.active.is_(True))
                                           .order_by(User.unit, User.display_name, User.username))
              if p.username != cmd.user.username and permissions.may_pass_to_person(catalogs, item, p, event.type_code)]
    return {"units": units, "people": people}


def for_task(cmd, task_id: str, where: str | None = "api_delegation") -> dict:
    """A task's 下派 as whoever may do it reads it: the one that stands, the earlier ones, the unit's own limit;
    and, for the unit's own clerk, whom they may pass it to (`may_delegate`). A sensitive event's read is
    recorded as made `where` (None: the page that shows it records its own, engine/accounts/privacy.py)."""
    session, catalogs, now = cmd.session, cmd.catalogs, cmd.now()
    item, instance, event = _task(cmd, task_id)
    if where:
        privacy.disclose(session, catalogs, cmd.user, event, now, where)
    rows = _described(session, catalogs, session.scalars(select(Delegation).where(Delegation.task_id == item.id)
                                                         .order_by(Delegation.id)), now)
    limit = unit_limit(session, item)
    clerk = permissions.is_units_clerk(cmd.user, item)
    settings = (catalogs.deadline_kind(limit.kind) or {"name": limit.kind, "clause": ""}) if limit else None
    return {"task_id": item.id, "task_name": item.title, "event_id": event.id, "event_number": event.number,
            "unit": item.unit, "unit_name": _unit_name(catalogs, item.unit),
            "active": next((r for r in rows if r["status"] == "active"), None),
            "history": [r for r in rows if r["status"] != "active"],
            "unit_limit": None if limit is None else {
                "id": limit.id, "kind": limit.kind, "name": settings["name"], "clause": settings["clause"],
                "due_at": local(limit.due_at), "status": limit.status},
            "may_delegate": clerk and instance.status == "running",
            "options": candidates(cmd, item, event) if clerk else None}


# -- passing down and taking back ------------------------------------------------------------------------------
def _checked_body(cmd, item: WorkItem, event: Event, body: dict, limit: Deadline | None):
    """(to_unit, to_person row, due, note) from the request, or InvalidData naming every field and reason."""
    errors = []
    catalogs = cmd.catalogs
    to_unit, to_person = body.get("to_unit") or None, body.get("to_person") or None
    person = None
    if to_unit is not None and not isinstance(to_unit, str):
        errors.append({"field": "to_unit", "reason": "应为单位代码 (a unit code)"})
    elif to_person is not None and not isinstance(to_person, str):
        errors.append({"field": "to_person", "reason": "应为人员账号 (a username)"})
    elif bool(to_unit) == bool(to_person):
        errors.append({"field": "to_unit", "reason": "请选择下派给下级单位或人员，二者选一 "
                                                     "(choose a sub-unit or a person, one of them)"})
    elif to_unit and not permissions.may_pass_to_unit(catalogs, item, to_unit):
        errors.append({"field": "to_unit", "reason": f"只能下派给{_unit_name(catalogs, item.unit)}的下级单位（中队、所） "
                                                     f"(only a sub-unit of the unit's own tree)"})
    elif to_person:
        person = cmd.session.scalar(select(User).where(User.username == to_person))
        if not permissions.may_pass_to_person(catalogs, item, person, event.type_code):
            errors.append({"field": "to_person", "reason": f"只能下派给{_unit_name(catalogs, item.unit)}（含下级单位）"
                                                           f"可办理此任务的人员 (only a person of the unit's tree "
                                                           f"who may do this task)"})
    due = None
    raw = body.get("due_at")
    if raw in (None, ""):
        errors.append({"field": "due_at", "reason": "请填写下派时限 (the sub-deadline is required)"})
    else:
        try:
            due = parse_instant(raw)
        except ValueError:
            errors.append({"field": "due_at", "reason": "应为带时区的时间，如 2026-10-08T10:30:00+08:00 "
                                                        "(an ISO date-time with its offset)"})
    now = cmd.now()
    if due is not None and due <= now:
        errors.append({"field": "due_at", "reason": f"下派时限应晚于当前时间 {_when(now)} (later than now)"})
    elif due is not None and limit is not None and due > _utc(limit.due_at):
        name = (catalogs.deadline_kind(limit.kind) or {"name": limit.kind})["name"]
        errors.append({"field": "due_at", "reason": f"下派时限不能晚于本单位的{name}时限 {_when(limit.due_at)} "
                                                    f"(must lie within the unit's own limit)"})
    note = body.get("note")
    if note is not None and not isinstance(note, str):
        errors.append({"field": "note", "reason": "应为文字 (text)"})
    elif note and len(note.strip()) > NOTE_MAX:
        errors.append({"field": "note", "reason": f"最多{NOTE_MAX}字 (at most {NOTE_MAX} characters)"})
    if errors:
        raise InvalidData(errors)
    return to_unit, person, due, (note or "").strip() or None


def _locked_item(cmd, task_id: str) -> tuple[WorkItem, Instance, Event]:
    """The ready task, row locked until commit (one 下派 at a time), for its own unit's clerk."""
    item, instance, event = _task(cmd, task_id)
    permissions.may_delegate(cmd.user, item)
    cmd.session.execute(select(WorkItem.id).where(WorkItem.id == item.id).with_for_update())
    cmd.session.refresh(item)
    if instance.status != "running":
        raise Conflict("流程已挂起或已结束，不能下派或收回 (the process is not running)", process_status=instance.status)
    return item, instance, event


def pass_down(cmd, task_id: str, body: dict) -> dict:
    """下派: the unit's clerk passes the task to a sub-unit or a person of the unit's tree until `due_at`, which
    lies inside the unit's own limit on the task (InvalidData naming `due_at` otherwise); `note` says what to
    do. One 下派 stands at a time (收回 first); a task another has claimed is theirs until released."""
    session, user, catalogs = cmd.session, cmd.user, cmd.catalogs
    item, instance, event = _locked_item(cmd, task_id)
    standing = active(session, item.id)
    if standing is not None:
        to_name = _unit_name(catalogs, standing.to_unit) if standing.to_unit else \
            _names(session, [standing.to_person]).get(standing.to_person, "他人")
        raise Conflict(f"该任务已下派给{to_name}，"
                       f"请先收回 (already passed down: take it back first)", delegation_id=standing.id)
    if item.claimed_by and item.claimed_by != user.username:
        raise Conflict(f"该任务已由 {_names(session, [item.claimed_by]).get(item.claimed_by, '他人')} 认领，取消认领后才能下派"
                       " (claimed by someone else)",
                       task_id=item.id, claimed_by=item.claimed_by)
    limit = unit_limit(session, item)
    to_unit, person, due, note = _checked_body(cmd, item, event, body, limit)
    now = cmd.now()
    share = Fraction(str((catalogs.deadline_kind(limit.kind) or {}).get("warn_share", WARN_SHARE))) if limit \
        else WARN_SHARE
    warn = now + timedelta(seconds=round(Fraction((due - now).total_seconds()) * share))
    row = Delegation(event_id=event.id, instance_id=instance.id, task_id=item.id, task_spec=item.spec_name,
                     task_name=item.title, unit=item.unit, deadline_id=limit.id if limit else None, to_unit=to_unit,
                     to_person=person.username if person else None, note=note, passed_by=user.username, passed_at=now,
                     due_at=due, warn_at=warn, status="active")
    session.add(row)
    if item.claimed_by == user.username:      # the clerk's own claim: the work goes to the assignee now
        item.claimed_by = item.claimed_at = None
    session.flush()
    # the assignee keeps seeing the event, as a unit or person given work on it does (交办、派单)
    add_parties(session, event.id, [("unit", to_unit)] if to_unit else [("person", person.username)])
    to_name = _unit_name(catalogs, to_unit) if to_unit else person.display_name
    session.add(Audit(at=now, actor=user.username, action=PASSED, event_id=event.id, instance_id=instance.id,
                      task_id=item.id, task_name=item.title,
                      data={"delegation_id": row.id, "unit": item.unit, "to_unit": to_unit,
                            "to_person": row.to_person, "to_name": to_name, "due_at": local(due), "note": note,
                            "unit_due_at": local(limit.due_at) if limit else None}))
    text = (f"事件 {event.number}「{item.title}」由{_unit_name(catalogs, item.unit)}下派给{to_name}，"
            f"请于 {_when(due)} 前办理" + (f"：{note}" if note else ""))
    notify(session, catalogs, now, event.id, "unit" if to_unit else "person", to_unit or person.username,
           "delegated", text)
    return _described(session, catalogs, [row], now)[0]


def take_back(cmd, task_id: str, body: dict | None = None) -> dict:
    """收回: the unit's clerk takes a task passed down back to the unit (`reason` optional); the assignee is told
    and no longer has it in 待办. Its sub-deadline no longer runs."""
    session, user, catalogs = cmd.session, cmd.user, cmd.catalogs
    item, instance, event = _locked_item(cmd, task_id)
    row = active(session, item.id)
    if row is None:
        raise Conflict("该任务没有下派，无需收回 (the task is not passed down)", task_id=item.id)
    reason = (body or {}).get("reason")
    if reason is not None and not isinstance(reason, str):
        raise InvalidData([{"field": "reason", "reason": "应为文字 (text)"}])
    reason = (reason or "").strip() or None
    if reason and len(reason) > NOTE_MAX:
        raise InvalidData([{"field": "reason", "reason": f"最多{NOTE_MAX}字 (at most {NOTE_MAX} characters)"}])
    now = cmd.now()
    row.status, row.ended_at, row.ended_by, row.end_reason = "taken_back", now, user.username, reason
    if item.claimed_by and (item.claimed_by == row.to_person or (
            row.to_unit and _claimer_within(session, catalogs, item.claimed_by, row.to_unit))):
        item.claimed_by = item.claimed_at = None      # the assignee's claim goes with the task
    session.add(Audit(at=now, actor=user.username, action=TAKEN_BACK, event_id=event.id, instance_id=instance.id,
                      task_id=item.id, task_name=item.title,
                      data={"delegation_id": row.id, "to_unit": row.to_unit, "to_person": row.to_person,
                            "due_at": local(row.due_at), "reason": reason}))
    notify(session, catalogs, now, event.id, "unit" if row.to_unit else "person", row.to_unit or row.to_person,
           "delegation_taken_back", f"事件 {event.number}「{item.title}」已由{_unit_name(catalogs, item.unit)}收回，"
                                    f"无需再办" + (f"：{reason}" if reason else ""))
    return _described(session, catalogs, [row], now)[0]


def _claimer_within(session, catalogs, username: str, unit: str) -> bool:
    claimer_unit = session.scalar(select(User.unit).where(User.username == username))
    return bool(claimer_unit) and catalogs.is_within(claimer_unit, unit)


def finish(cmd, task_id: str, by: str | None = None) -> None:
    """The task was completed (engine/casework/tasks.py `complete`, or an incident's retry on behalf of who
    sent it: engine/casework/incidents.py): its 下派 that stood is done — on time, or after its sub-deadline
    was missed (`missed_at` stays)."""
    row = active(cmd.session, task_id)
    if row is not None:
        row.status, row.ended_at, row.ended_by = "done", cmd.now(), by or cmd.actor


def move(session, instance_id: int, by: timedelta) -> None:
    """A suspension ended (engine/casework/administration.py `resume`): the instance's standing sub-deadlines
    move by its length — never past the unit's own limit, which moved with it (§8.4's working days by the
    office time the suspension covered)."""
    if by <= timedelta(0):
        return
    for row in session.scalars(select(Delegation).where(Delegation.instance_id == instance_id,
                                                        Delegation.status == "active")):
        limit = session.get(Deadline, row.deadline_id) if row.deadline_id else None
        due = _utc(row.due_at) + by
        if limit is not None and row.missed_at is None:
            due = min(due, _utc(limit.due_at))
        row.warn_at = min(_utc(row.warn_at) + by, due)
        row.due_at = due


# -- the sweep's job (engine/jobs.py) ----------------------------------------------------------------------------
def _due(session, now, limit: int = 500) -> list[Delegation]:
    """Standing 下派 whose yellow light or miss fell due by `now`, earliest first, claimed (PostgreSQL: FOR
    UPDATE SKIP LOCKED): each fires once however many app nodes sweep."""
    return list(session.scalars(_RUNNING.where(or_(and_(Delegation.warned_at.is_(None), Delegation.warn_at <= now),
                                                   and_(Delegation.missed_at.is_(None), Delegation.due_at <= now)))
                                .order_by(Delegation.due_at, Delegation.id).limit(limit)
                                .with_for_update(skip_locked=True, of=Delegation)))


def send_due(cmd) -> list[int]:
    """Fire each sub-deadline's yellow light and miss that fell due: the light is told to the assignee, the
    miss to the unit (and the assignee), each audited. A 下派 whose task went meanwhile ends instead. The ids
    of the rows that fired or ended."""
    session, catalogs, now = cmd.session, cmd.catalogs, cmd.now()
    done = []
    for row in _due(session, now):
        done.append(row.id)
        if session.get(WorkItem, row.task_id) is None:    # completed or gone without `finish` (撤单, 终止 …)
            completed = session.execute(completion_of(
                select(Audit.actor, Audit.at), row.task_id).limit(1)).first()
            row.status = "done" if completed else "ended"
            row.ended_at, row.ended_by = (completed.at, completed.actor) if completed else (now, "system")
            continue
        event = session.get(Event, row.event_id)
        to_name = _unit_name(catalogs, row.to_unit) if row.to_unit else _names(session, [row.to_person]).get(
            row.to_person, row.to_person)
        if row.missed_at is None and _utc(row.due_at) <= now:
            _missed(session, catalogs, row, event, to_name, now)
        else:
            _warn(session, catalogs, row, event, to_name, now)
    return done


def _warn(session, catalogs, row: Delegation, event: Event, to_name: str, now) -> None:
    row.warned_at = now
    notify(session, catalogs, now, row.event_id, "unit" if row.to_unit else "person", row.to_unit or row.to_person,
           "delegation_warning", f"【下派预警】事件 {event.number}「{row.task_name}」下派给{to_name}，"
                                 f"下派时限 {_when(row.due_at)} 将到，请抓紧办理")
    session.add(Audit(at=now, actor="system", action=WARNED, event_id=row.event_id, instance_id=row.instance_id,
                      task_id=row.task_id, task_name=row.task_name,
                      data={"delegation_id": row.id, "to_unit": row.to_unit, "to_person": row.to_person,
                            "due_at": local(row.due_at)}))


def _missed(session, catalogs, row: Delegation, event: Event, to_name: str, now) -> None:
    """The sub-deadline passed with the task undone: the unit hears it while its own limit still runs."""
    row.missed_at = now
    row.warned_at = row.warned_at or now      # a light that would come with the miss is not sent after it
    limit = session.get(Deadline, row.deadline_id) if row.deadline_id else None
    own = f"，本单位时限至 {_when(limit.due_at)}" if limit is not None and limit.status in ("pending", "paused") else ""
    text = f"【下派超期】事件 {event.number}「{row.task_name}」下派给{to_name}，下派时限 {_when(row.due_at)} 已过仍未办理{own}"
    notify(session, catalogs, now, row.event_id, "unit", row.unit, "delegation_missed", text + "，请督促或收回")
    notify(session, catalogs, now, row.event_id, "unit" if row.to_unit else "person", row.to_unit or row.to_person,
           "delegation_missed", text)
    session.add(Audit(at=now, actor="system", action=MISSED, event_id=row.event_id, instance_id=row.instance_id,
                      task_id=row.task_id, task_name=row.task_name,
                      data={"delegation_id": row.id, "unit": row.unit, "to_unit": row.to_unit,
                            "to_person": row.to_person, "due_at": local(row.due_at),
                            "unit_due_at": local(limit.due_at) if limit is not None else None}))


def next_due_at(cmd):
    """When the next standing sub-deadline's light or miss falls due (None: none), for the worker's next sweep
    and a simulated clock's advance."""
    session = cmd.session
    times = [session.scalar(select(Delegation.warn_at).join(Instance, Instance.id == Delegation.instance_id)
                            .where(Delegation.status == "active", Instance.status != "suspended",
                                   Delegation.warned_at.is_(None)).order_by(Delegation.warn_at).limit(1)),
             session.scalar(select(Delegation.due_at).join(Instance, Instance.id == Delegation.instance_id)
                            .where(Delegation.status == "active", Instance.status != "suspended",
                                   Delegation.missed_at.is_(None)).order_by(Delegation.due_at).limit(1))]
    times = [_utc(t) for t in times if t is not None]
    return min(times) if times else None
