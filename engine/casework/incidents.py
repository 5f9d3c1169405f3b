"""流程异常 — incidents, as Camunda keeps them (issue #15): a deployed diagram cannot make a task impossible
to complete.

A step that fails at run time — diagram code stopped by the sandbox or raising, a service handler
failing, an assignee with no value — saves nothing of itself (engine/runtime/instances.py). Then:
- **a task's completion** answers 409 `step_failed` naming the element and the reason; the task stays
  ready; an incident is opened, holding the submitted form data and who sent it, for the retry;
- **a timer's firing** (the sweep) opens an incident, and the sweep stops trying that instance's failed
  timers: the timer fails once, visibly, not silently nor on every sweep.
A failure of the same task or of the same instance's timers again counts on the open incident (`failures`).

Process and system administrators (engine/accounts/permissions.py `INCIDENTS`) see the incidents — over the API, on the process
version's page and on the event's page — and **retry** one after fixing the cause: deploying a corrected
version and migrating the instance to it (engine/runtime/instance_migration.py), or resuming a suspended one. The retry
completes the task with the stored data on behalf of who sent it (checked against the task's form
again), or fires the instance's due timers; it resolves the incident, or answers 409 and counts the
failure. An incident is also resolved when its task is completed by its owner, or its timers fire.

What is shown of an incident is its element, its reason and where (event id and number, version); never
the event's content. The reason of a sensitive event's step (Table A.1 rows 1–3) is stored with only the
kind of failure, unless its words are the engine's own (the sandbox's stop, a name not defined).
Opening and every retry are audited (`incident_opened`, `incident_retried`). Opening, counting and
resolving an incident, and holding a failed timer, are the process runtime's (engine/runtime/incidents.py);
listing, reading and retrying them, with the permission checks, are here.
"""
from __future__ import annotations

from sqlalchemy import select, update

from engine.accounts import permissions, privacy
from engine.casework import delegation
from engine.casework.task_forms import check_data
from engine.core.clock import local
from engine.core.errors import Conflict, InvalidData, NotFound, StepFailed
from engine.core.ids import MAX_ID
from engine.store import paging
from engine.store.models import Event, Incident, Instance, ProcessVersion, Timer, WorkItem
from engine.runtime.incidents import STEP_FAILURES, audit, record, resolve, task_failure, timer_failure

STATUSES = ("open", "resolved")


def _check(user) -> None:
    permissions.INCIDENTS.require(user)


def record_failure(cmd, failure: StepFailed) -> int:
    """`record` in a unit of its own (web/services.py `run_step`, after the step's unit was rolled back):
    the incident's id, for the answer."""
    return record(cmd.session, failure, cmd.now()).id


# -- reading ----------------------------------------------------------------------------------------
def describe(incident: Incident, event_number: str, process_key: str, version: int) -> dict:
    """What is shown of an incident: where, what failed and why — never the event's content."""
    return {"id": incident.id, "kind": incident.kind, "status": incident.status, "element": incident.element,
            "activity": incident.activity, "reason": incident.reason, "event_id": incident.event_id,
            "event_number": event_number, "instance_id": incident.instance_id, "version_id": incident.version_id,
            "process_key": process_key, "version": version, "failures": incident.failures,
            "opened_at": local(incident.opened_at), "last_failed_at": local(incident.last_failed_at),
            "resolved_at": local(incident.resolved_at), "resolved_by": incident.resolved_by,
            "resolution": incident.resolution}


def _id(value, field: str) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
        number = int(value)
    else:
        number = 0
    if not 1 <= number <= MAX_ID:
        raise InvalidData([{"field": field, "reason": f"须为 1 到 {MAX_ID} 的整数 (an id from 1 to {MAX_ID})"}])
    return number


def check_filters(args) -> dict:
    """`version_id`, `event_id`, `status` (open, resolved or all; open unless said)."""
    status = args.get("status") or "open"
    if status not in (*STATUSES, "all"):
        raise InvalidData([{"field": "status", "reason": "须为 open、resolved 或 all (open, resolved or all)"}])
    return {"version_id": _id(args.get("version_id"), "version_id"), "event_id": _id(args.get("event_id"), "event_id"),
            "status": None if status == "all" else status}


def _shown(rows, user, catalogs) -> list[dict]:
    """Each incident as `describe` gives it; a sensitive event's number only to those who may see the event
    (issue #15 part 1: the administrators see that its step failed, not which event)."""
    rows = list(rows)
    hidden = privacy.hidden_ids(user, catalogs, [(i.event_id, code, reporter) for i, _n, _k, _v, code, reporter in rows])
    return [privacy.redact_row(describe(i, n, k, v), id_fields=("event_id", "event_number")) if i.event_id in hidden
            else describe(i, n, k, v) for i, n, k, v, _c, _r in rows]


#: 流程异常's order: the newest first
ORDER = paging.Order("incidents", Incident.id, descending=True)
PAGE = paging.PageRequest(100)


def listing(session, user, catalogs, filters: dict, page: paging.PageRequest = PAGE) -> paging.Page:
    """A page of incidents, newest first (the filters as `check_filters` returns them)."""
    _check(user)
    query = (select(Incident, Event.number, ProcessVersion.process_key, ProcessVersion.version, Event.type_code,
                    Event.reporter)
             .join(Event, Event.id == Incident.event_id)
             .join(ProcessVersion, ProcessVersion.id == Incident.version_id))
    for name in ("version_id", "event_id", "status"):
        if filters.get(name) is not None:
            query = query.where(getattr(Incident, name) == filters[name])
    return paging.fetch(session, query, ORDER, page).map(lambda rows: _shown(rows, user, catalogs))


def search(cmd, filters: dict, page: paging.PageRequest = PAGE) -> paging.Page:
    """`listing` for the command's user."""
    return listing(cmd.session, cmd.user, cmd.catalogs, filters, page)


def one(cmd, incident_id: int) -> dict:
    """One incident, as `listing` shows it."""
    session = cmd.session
    if not 1 <= incident_id <= MAX_ID:
        raise NotFound(f"incident {incident_id} does not exist", field="incident_id")
    row = session.execute(select(Incident, Event.number, ProcessVersion.process_key, ProcessVersion.version,
                                 Event.type_code, Event.reporter)
                          .join(Event, Event.id == Incident.event_id)
                          .join(ProcessVersion, ProcessVersion.id == Incident.version_id)
                          .where(Incident.id == incident_id)).first()
    if row is None:
        raise NotFound(f"incident {incident_id} does not exist", field="incident_id")
    return _shown([row], cmd.user, cmd.catalogs)[0]


# -- retrying ---------------------------------------------------------------------------------------
def retry(cmd, incident_id: int) -> dict:
    """重试: take the failed step again, after the cause was fixed; the incident as `one` shows it, resolved.
    On failure the StepFailed raised (409) carries the incident, which the caller counts in a unit of its
    own (web/services.py `run_step`)."""
    session, user = cmd.session, cmd.user
    _check(user)
    incident = session.get(Incident, incident_id, with_for_update=True) if 1 <= incident_id <= MAX_ID else None
    if incident is None:
        raise NotFound(f"incident {incident_id} does not exist", field="incident_id")
    if incident.status != "open":
        raise Conflict(f"流程异常 {incident_id} 已解决 (the incident is resolved already: {incident.resolution})",
                       incident_status=incident.status)
    now = cmd.now()
    row = session.get(Instance, incident.instance_id)
    event = session.get(Event, incident.event_id)
    try:
        if incident.kind == "task":
            outcome = _retry_task(cmd, incident, row, event)
        else:
            outcome = _retry_timers(cmd, incident, row, event)
    except StepFailed as failure:
        failure.incident.update(incident_id=incident.id, retried_by=user.username)
        raise
    resolve(incident, outcome, user.username, now)
    audit(session, now, user.username, "incident_retried", incident, outcome=outcome)
    return one(cmd, incident.id)


def _retry_task(cmd, incident, row, event) -> str:
    session, catalogs = cmd.session, cmd.catalogs
    item = session.get(WorkItem, incident.task_id)
    if item is None or item.instance_id != row.id:
        return "gone"                       # done, or cancelled (a timer, 撤单, 终止) since
    compiled = cmd.env.specs.get(session, row.version_id)
    try:
        clean = check_data(item, compiled, catalogs, incident.payload or {}, event=event, session=session)
    except InvalidData as err:
        if permissions.may_see_sensitive(cmd.user, catalogs, event.type_code, event.reporter):
            raise
        # a form's reasons may quote what was typed: for a sensitive event, only which fields (issue #15)
        raise InvalidData([{"field": e.get("field"), "reason": "保存的表单数据不符合该版本的表单 "
                                                               "(the stored form data does not fit this version's form)"}
                           for e in err.details.get("errors", [])]) from None
    try:
        done = cmd.env.instances.complete_task(session, row, event, item.id, clean, incident.actor)
    except STEP_FAILURES as err:
        raise task_failure(err, item, row, event, clean, incident.actor, catalogs, retried=True) from err
    if done is None:
        return "gone"
    delegation.finish(cmd, item.id, by=incident.actor)    # its 下派 that stood is done, as a completion's (issue #19)
    return "retried"


def _retry_timers(cmd, incident, row, event) -> str:
    session = cmd.session
    due = list(session.scalars(select(Timer.spec_name).where(Timer.instance_id == row.id, Timer.due_at <= cmd.now())))
    if not due:
        return "gone"                       # no timer is due any more (its task was done, the process ended)
    session.execute(update(Timer).where(Timer.instance_id == row.id).values(last_error=None)
                    .execution_options(synchronize_session=False))
    try:
        cmd.env.instances.fire_timers(session, row, event)
    except STEP_FAILURES as err:
        raise timer_failure(err, row, event, due, cmd.catalogs) from err
    return "retried"
