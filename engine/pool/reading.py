"""Reading the pool (§7.1): an event's detail — process, open tasks, timeline, the record of each step's answers
(办理记录), photos, deadlines and their lights, duplicate flags, callbacks — its diagram (its map:
engine/pool/event_map.py), and the search
of the events a user may see. Every read of a sensitive event's content is recorded (engine/accounts/privacy.py
`disclose`)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select

from engine.accounts import permissions, privacy
from engine.casework import arrivals, delegation, on_spot, record, revisits
from engine.channels import callbacks
from engine.core import contracts
from engine.core.clock import local, utc
from engine.core.errors import NotFound
from engine.limits import deadlines
from engine.pool import duplicates, events, photos
from engine.store import paging
from engine.store.models import Audit, Deadline, Event, Instance, ProcessVersion, Revisit, WorkItem
from handlers import actions


def visible(cmd, event_id: int, where: str) -> Event:
    """The event if the user may see it (404 otherwise), its read recorded as made `where`."""
    event = events.get_visible(cmd.session, event_id, cmd.user, cmd.catalogs)
    privacy.disclose(cmd.session, cmd.catalogs, cmd.user, event, cmd.now(), where)
    return event


#: an event detail's reads, built once (columns, not ORM rows: building a statement and loading entities
#: cost more than the queries themselves, bench/throughput.py)
#: the event's instances, oldest first: the last is its process now; each keeps its start (migration 0040) and its
#: version (the forms its steps used: 办理记录)
_INSTANCES = (select(Instance.id, Instance.status, Instance.suspended_at, Instance.suspended_by, Instance.suspend_reason,
                     Instance.started_at, Instance.started_by, Instance.version_id, ProcessVersion.process_key,
                     ProcessVersion.version)
              .join(ProcessVersion, ProcessVersion.id == Instance.version_id)
              .where(Instance.event_id == bindparam("event_id")).order_by(Instance.id))
_OPEN_TASKS = (select(WorkItem.id, WorkItem.spec_name, WorkItem.title, WorkItem.lane, WorkItem.role, WorkItem.community,
                      WorkItem.unit, WorkItem.person, WorkItem.created_at)
               .where(WorkItem.event_id == bindparam("event_id")).order_by(WorkItem.created_at, WorkItem.id))
_TIMELINE = (select(Audit.at, Audit.actor, Audit.action, Audit.instance_id, Audit.task_id, Audit.task_name, Audit.data)
             .where(Audit.event_id == bindparam("event_id")).order_by(Audit.id))
#: the trail's word for an instance's start (流程启动), which the instance row keeps since migration 0040
STARTED_PROCESS = "process_started"
_REVISITS = select(Revisit).where(Revisit.event_id == bindparam("event_id")).order_by(Revisit.id)
_DEADLINES = select(Deadline).where(Deadline.event_id == bindparam("event_id")).order_by(Deadline.id)


def event_detail(cmd, event_id: int, where: str = "api") -> dict:
    """The event as GET /api/events/{id} shows it, with its deadlines and their warning lights. Each record is
    read once: the trail gives the timeline and the 办理记录, the revisit rows the 回访 and their timeline entries,
    the instances the process, the starts and the versions of the steps' forms, one look-up the people named."""
    session, user, catalogs, now = cmd.session, cmd.user, cmd.catalogs, cmd.now()
    event = visible(cmd, event_id, where)
    rows = list(session.scalars(_DEADLINES, {"event_id": event.id}))
    body, read = _detail(session, catalogs, event, rows)
    body["deadlines"] = [deadlines.describe(row, catalogs, now) for row in rows]
    # visible warnings, e.g. a working-day deadline in a year without a holiday calendar
    body["warnings"] = sorted({row["calendar_warning"] for row in body["deadlines"] if row["calendar_warning"]})
    body["duplicate_of"] = duplicates.describe_flag(session, event, user, catalogs)   # for the registrar (§7.1)
    if body["duplicate_of"]:
        privacy.disclose_ids(session, catalogs, user, [body["duplicate_of"]["id"]], now, where)
    links = privacy.linked_events(session, event)      # one read: most events have no link at all
    if any(row.duplicate_of_id == event.id or row.merged_into_id == event.id for row in links):
        body.update(duplicates.related(session, event, user, catalogs))
    else:
        body.update(suspected_duplicates=[], merged_reports=[])     # what `related` answers then
    # signed callbacks to its channel (only a channel's events have any)
    body["callbacks"] = callbacks.of_event(session, event.id) if event.channel else []
    body["revisits"] = [revisits.describe(row) for row in read.revisits]   # 回访 after each closure (§4.3, §8.6)
    # 办理记录: each step's answers, readable (issue #19)
    body["record"] = record.of_event(cmd, event.id, read.steps, read.people)
    # 下派 and its sub-deadlines; 到场 check-ins, far ones flagged (§8.3): each is written with its row in the
    # trail (delegation.PASSED, arrivals.CHECKED), so an event whose trail has none has none to read
    body["delegations"] = delegation.of_event(session, catalogs, event.id, now) if delegation.PASSED in read.actions else []
    body["whistle_unlisted"] = _unlisted(body["timeline"], read.people)   # 清单外吹哨 (§7.3.2)
    body["arrival_checks"] = arrivals.of_event(session, catalogs, event.id) if arrivals.CHECKED in read.actions else []
    body["arrival_far"] = any(row["far"] for row in body["arrival_checks"])
    body["on_spot"] = on_spot.describe(session, catalogs, event)          # 即知即改 and its verification
    body = privacy.scrub(body, privacy.hidden_among(links, catalogs, user))
    return privacy.redact_detail(body, event, user)             # a reporter's contact, masked but for its community


#: event_brief's statement per user (permissions.per_user): the event's id if the user may see it, with its open
#: tasks — one row per task, or one with none (an outer join)
_BRIEF: dict = {}


def event_brief(cmd, event_id: int, where: str = "api") -> dict:
    """What a client that has just reported needs next, when it asks for no more (POST /api/events with
    `Prefer: return=minimal`, RFC 7240): the event's id, number and status (and the reason of a start that
    failed), and its open tasks as the detail lists them — not the detail's timeline, record, deadlines, photos
    and links, which GET /api/events/{id} reads. The read is checked (`permissions.events_of`, as `visible`) and
    recorded as the detail's is; whether the user may see the event and its open tasks are one statement, and the
    event itself is the one the start's unit holds (read only when the answer has a unit of its own)."""
    session, user, catalogs = cmd.session, cmd.user, cmd.catalogs
    query = permissions.per_user(_BRIEF, user, catalogs, lambda: (
        select(Event.id.label("event_id"), *_OPEN_TASKS.selected_columns)
        .outerjoin(WorkItem, WorkItem.event_id == Event.id)
        .where(Event.id == bindparam("event_id"), permissions.events_of(user, catalogs))
        .order_by(WorkItem.created_at, WorkItem.id)))
    rows = session.execute(query, {"event_id": event_id}).all()
    if not rows:
        raise events.not_visible(event_id)
    event = session.get(Event, event_id)
    privacy.disclose(session, catalogs, user, event, cmd.now(), where)
    return {"id": event.id, "number": event.number, "status": event.status, "error": event.error,
            "open_tasks": [_open_task(w) for w in rows if w.id is not None]}


def _open_tasks(session, event_id: int) -> list[dict]:
    return [_open_task(w) for w in session.execute(_OPEN_TASKS, {"event_id": event_id})]


def _open_task(w) -> dict:
    return {"id": w.id, "name": w.spec_name, "title": w.title, "lane": w.lane, "role": w.role,
            "community": w.community, "unit": w.unit, "person": w.person, "created_at": local(w.created_at)}


@dataclass(frozen=True)
class _Read:
    """What the detail read once and uses in more than one part."""

    revisits: list
    steps: list
    people: dict
    #: the actions of its trail
    actions: frozenset


def _detail(session, catalogs, event: Event, limits: list[Deadline]) -> tuple[dict, _Read]:
    body = events.summary(event)
    instances = list(session.execute(_INSTANCES, {"event_id": event.id}))
    row = instances[-1] if instances else None
    body["process"] = None if row is None else {
        "instance_id": row.id, "status": row.status, "process_key": row.process_key, "version": row.version,
        # 挂起 (engine/casework/administration.py): since when, by whom, why
        "suspended_at": local(row.suspended_at), "suspended_by": row.suspended_by,
        "suspend_reason": row.suspend_reason}
    body["open_tasks"] = _open_tasks(session, event.id)
    trail = list(session.execute(_TIMELINE, {"event_id": event.id}))
    asked_rows = list(session.scalars(_REVISITS, {"event_id": event.id}))
    asked = revisits.timeline(asked_rows, trail)
    limited = [(at, "system", deadlines.STARTED, said, None) for at, said in deadlines.starts(limits, trail)]
    derived = [*_starts(instances), *asked, *limited]
    steps = record.steps(trail, {i.id: i.version_id for i in instances})
    # for people: never the login name (the persons a step's answers name too, for the 办理记录)
    named = record.people(session, catalogs, {a.actor for a in trail} | {entry[1] for entry in derived}, steps)
    body["timeline"] = _timeline(trail, derived, named)
    # §7.1 实时照片 and §8.5 results, with their flags (far, old, no_exif) for the registrar
    body["photo_files"] = [photos.describe(row, event.id) for row in photos.of_event(session, event)]
    return body, _Read(asked_rows, steps, named, frozenset(a.action for a in trail))


def _timeline(trail, derived, named) -> list[dict]:
    """The audit rows in order, with the entries read from other records (`derived`: (at, actor, action,
    data, instance) — each instance's 流程启动 (`_starts`); each limit's 时限开始, `deadlines.starts`; each 回访's
    opening and answers, `revisits.timeline`) placed after the rows of their moment and before the later
    ones, and:
    - a 流程启动 before its instance's rows (and a later instance's) of the same moment;
    - a 回访 of an instance before the 重新办理 it led to and the next instance's rows, at the same moment;
    - among the entries of one moment, a 回访 first, then a 流程启动, a 时限开始 last: the 安排回访 that opened the
      回访 whose limit it starts, the 重新办理 whose instance starts, the instance whose 研判 it starts."""
    entries, derived = [], sorted(derived, key=lambda entry: (entry[0], _RANK.get(entry[2], 0)))
    for a in trail:
        at = utc(a.at)
        due = [entry for entry in derived if entry[0] < at or (entry[0] == at and _before(entry, a))]
        if due:
            entries.extend(_derived(*entry[:4], named) for entry in due)
            derived = [entry for entry in derived if entry not in due]
        entries.append({"at": local(a.at), "actor": a.actor, "by": record.who(a.actor, named), "action": a.action,
                        "task_id": a.task_id, "task_name": a.task_name, "data": a.data})
    return entries + [_derived(*entry[:4], named) for entry in derived]


#: the order of derived entries of one moment (a 回访's: 0)
_RANK = {STARTED_PROCESS: 1, deadlines.STARTED: 2}


def _before(entry, a) -> bool:
    """Does the derived `entry` come before the audit row `a` of the same moment?"""
    action, instance = entry[2], entry[4]
    if instance is None or a.instance_id is None:
        return False
    if action == STARTED_PROCESS:       # its own instance's first rows, or a later one's
        return a.instance_id >= instance
    # a 回访: the 重新办理 it led to, the next instance
    return a.instance_id > instance or (a.instance_id == instance and a.action == contracts.REOPENED)


def _starts(instances) -> list[tuple]:
    """流程启动 of the event's instances that keep their start (migration 0040): (at, actor, action, what the
    trail's row said, the instance)."""
    return [(utc(row.started_at), row.started_by or "system", STARTED_PROCESS,
             {"process": row.process_key, "version": row.version}, row.id)
            for row in instances if row.started_at is not None]


def _derived(at, actor, action, said: dict, named) -> dict:
    return {"at": local(at), "actor": actor, "by": record.who(actor, named), "action": action,
            "task_id": None, "task_name": None, "data": said}


def _unlisted(timeline: list[dict], people: dict) -> dict | None:
    """清单外吹哨 (§7.3.2): the event's last whistle off its community's list (handlers/checks.py), with its
    reason, when and who (display name, from the people the trail named: `record.people`); None when it has
    none."""
    marks = [entry for entry in timeline if entry["action"] == actions.WHISTLE_UNLISTED]
    if not marks:
        return None
    mark = marks[-1]
    person = people.get(mark["actor"])
    name = person["name"] if person is not None and person["name"] != record.UNKNOWN_NAME else None
    return {"reason": (mark["data"] or {}).get("reason") or "", "at": mark["at"], "by_name": name or mark["actor"]}


def search_events(cmd, filters: dict, page, where: str = "api_list") -> tuple[int, paging.Page]:
    """(how many match, a page of their summaries) of the events the user may see that match the filters
    (engine/pool/events.py `search`); `page` an engine/store/paging.py PageRequest."""
    total, found = events.search(cmd.session, cmd.user, cmd.catalogs, filters, page)
    for event in found.items:
        privacy.disclose(cmd.session, cmd.catalogs, cmd.user, event, cmd.now(), where)
    return total, found.map(lambda rows: [events.summary(e) for e in rows])


def events_of(cmd, ids) -> dict[int, dict]:
    """Summaries of the events behind a user's tasks (they see each one through its task)."""
    rows = list(cmd.session.scalars(select(Event).where(Event.id.in_(set(ids))))) if ids else []
    for event in rows:
        privacy.disclose(cmd.session, cmd.catalogs, cmd.user, event, cmd.now(), "tasks")
    return {e.id: events.summary(e) for e in rows}


def diagram(cmd, event_id: int) -> tuple[str, list[str]]:
    """(BPMN XML, ids of the open tasks in it): the diagram of the event's process version that holds
    its current task (Figure 1 itself while it is in event_flow), for the bpmn-js viewer."""
    session = cmd.session
    event = visible(cmd, event_id, "diagram")
    row = session.scalar(select(Instance).where(Instance.event_id == event.id).order_by(Instance.id.desc()))
    if row is None:
        raise NotFound(f"event {event.number} has no process")
    version = session.get(ProcessVersion, row.version_id)
    open_ids = session.scalars(select(WorkItem.spec_name).where(WorkItem.event_id == event.id)
                               .order_by(WorkItem.created_at, WorkItem.id)).all()
    files = {path: text for path, text in sorted(version.files.items()) if path.endswith(".bpmn")}
    for _path, text in files.items():
        marked = [i for i in open_ids if f'id="{i}"' in text]
        if marked:
            return text, marked
    top = next((t for t in files.values() if f'id="{version.process_key}"' in t), next(iter(files.values())))
    return top, []
