"""逐级通知: the escalation ladder of a time limit, as data (issue #18; catalogs/data/escalation.json, edited
in the app). Each rung says when it fires (`trigger`), for which limits, whom it tells, the notice's kind and
Chinese text, and the clause it cites; each rung fired is notices (engine/notices/outbox.py `notify`) and an
entry `{rung, clause}` in the audit row of its moment: `deadline_set` (dispatched), `deadline_warning`,
`deadline_missed`, and an `escalated` row of its own for a rung that fires later (one row an event's trail
has anyway, not one more per rung: bytes per closed event, bench/storage.py). The shipped ladder: the unit
at dispatch (派单, §4.1 自动通知派单); the unit and, out of hours, its duty officer at the yellow light (预警);
the unit's 分管领导 at the miss (超期, §9.1); the city's 社会治理中心 `after` (4 hours) past a due time whose
miss still stands.

Each rung fires once:
- `dispatched` when the deadline record is made (engine/limits/deadlines.py `arm`: once per record, in the
  step that starts the limit);
- `warning` with the yellow light (the warnings job claims its deadline rows, FOR UPDATE SKIP LOCKED);
- `missed` with the miss (the step its timer fires in; the sweep claims timer rows, SKIP LOCKED);
- `missed_for` from a row of its own (`Escalation`, made at the miss, unique per deadline and rung) that
  the sweep's job claims at its due time with SKIP LOCKED, like a timer; cancelled when the miss no longer
  stands (the late work done, the process ended), waiting while the process is suspended and moved by the
  suspension when it resumes. An edited ladder reschedules the waiting rows (`resync`).
"""
from __future__ import annotations

from datetime import timedelta, timezone

from sqlalchemy import select, update

from catalogs import parse_duration
from engine.core.clock import SHANGHAI
from engine.notices.outbox import notify
from engine.store.models import Audit, Deadline, Escalation, Event, Instance, Supervision, User

#: the audit action of a rung that fires after a miss (the others ride the row of their moment)
ESCALATED = "escalated"
#: what a notice to a unit in its leader's stead begins with (units.json: a supervisor without `username`)
FOR_LEADER = "【分管领导】"

#: the waiting rungs that are due, of running instances (a suspended one's wait for its resumption)
_WAITING = (select(Escalation).join(Instance, Instance.id == Escalation.instance_id)
            .where(Escalation.status == "pending", Instance.status == "running"))
_NEXT = (select(Escalation.due_at).join(Instance, Instance.id == Escalation.instance_id)
         .where(Escalation.status == "pending", Instance.status == "running").order_by(Escalation.due_at).limit(1))


def _utc(value):
    return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value


def _when(value) -> str:
    """A time as staff read it: 2026-10-11 02:10 (Asia/Shanghai)."""
    return _utc(value).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _span(duration: str) -> str:
    """PT4H → 4小时, P1DT2H → 1天2小时, PT30M → 30分钟."""
    seconds = int(parse_duration(duration).total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    return "".join(f"{n}{word}" for n, word in ((days, "天"), (hours, "小时"), (minutes, "分钟")) if n) or "0分钟"


# -- who, and what they read ------------------------------------------------------------------------------
def _unit_of(session, row: Deadline) -> str | None:
    """The unit answerable for a limit: its own, else the unit of the person who must act."""
    if row.unit:
        return row.unit
    if row.person:
        return session.scalar(select(User.unit).where(User.username == row.person))
    return None


def _leader(session, catalogs, unit: str | None) -> tuple[str, str, str] | None:
    """(recipient kind, recipient, mark) of a unit's 分管领导: the leader's own account when units.json names
    an active one, else the unit, its notice marked 【分管领导】."""
    if not unit or catalogs.unit(unit) is None:
        return None
    username = (catalogs.unit(unit).get("supervisor") or {}).get("username")
    if username and session.scalar(select(User.id).where(User.username == username, User.active.is_(True))):
        return "person", username, ""
    return "unit", unit, FOR_LEADER


def recipients(session, catalogs, rung: dict, row: Deadline, event) -> list[tuple[str, str, str]]:
    """(recipient kind, recipient, mark) for each `notify` entry of the rung, each recipient once."""
    community = row.community or (event.community if event is not None else None)
    told: list[tuple[str, str, str]] = []
    for who in rung["notify"]:
        if who == "responsible":
            found = [("person", row.person, ""), ("unit", row.unit, "")] if row.person or row.unit \
                else [("community", community, "")]
        elif who in ("unit", "person"):
            found = [(who, getattr(row, who), "")]
        elif who == "community":
            found = [("community", community, "")]
        elif who == "supervisor":
            found = [_leader(session, catalogs, _unit_of(session, row))]
        elif who == "authority":
            found = [("unit", catalogs.city_authority(), "")]
        elif who.startswith("unit:"):
            found = [("unit", who[5:], "")]
        else:                          # duty_officer: a copy of each unit's notice (outbox.notify), no one itself
            found = []
        for entry in found:
            if entry is not None and entry[1] and all((k, r) != entry[:2] for k, r, _m in told):
                told.append(entry)
    return told


def values(session, catalogs, rung: dict, row: Deadline, event) -> dict:
    """What a rung's message may name (catalogs/checks.py PLACEHOLDERS)."""
    settings = catalogs.deadline_kind(row.kind) or {"name": row.kind, "clause": ""}
    unit = catalogs.unit(row.unit) if row.unit else None
    place = catalogs.community(row.community) if row.community else None
    answerable = _unit_of(session, row)
    leader = ((catalogs.unit(answerable) or {}).get("supervisor") or {}) if answerable else {}
    unit_name = (unit or {}).get("full_name") or (unit or {}).get("name") or ""
    community = (place or {}).get("name") or row.community or ""
    assignee = "、".join(part for part in ((unit or {}).get("name"), row.person) if part) or community
    return {"number": event.number if event is not None else "", "limit": settings["name"],
            "limit_clause": settings["clause"], "due_at": _when(row.due_at), "assignee": assignee,
            "unit": unit_name, "person": row.person or "", "community": community,
            "supervisor": f"{leader.get('title', '')}{leader.get('name', '')}" or "分管领导",
            "after": _span(rung["after"]) if rung.get("after") else "", "clause": rung["clause"]}


# -- firing ---------------------------------------------------------------------------------------------
def fire(session, catalogs, rung: dict, row: Deadline, event, now) -> dict | None:
    """One rung for one deadline: its notices (each names the rung: who was told is there, duty officers
    included); what the audit row of the moment records of it, `{rung, clause}`, or None when it tells no one."""
    told = recipients(session, catalogs, rung, row, event)
    if not told:
        return None
    text = rung["message"].format_map(values(session, catalogs, rung, row, event))
    for kind, recipient, mark in told:
        notify(session, catalogs, now, row.event_id, kind, recipient, rung["kind"], mark + text,
               clause=rung["clause"], rung=rung["code"], duty_copy="duty_officer" in rung["notify"])
    return {"rung": rung["code"], "clause": rung["clause"]}


def climb(session, catalogs, trigger: str, row: Deadline, event, now) -> list[dict]:
    """Fire every rung of `trigger` (dispatched | warning | missed) that applies to the limit; at the miss,
    also make the rows of the rungs that fire later (`missed_for`). What the audit row of the moment
    records of the rungs fired (`fire`)."""
    fired = [entry for rung in catalogs.rungs(trigger, row.kind)
             if (entry := fire(session, catalogs, rung, row, event, now)) is not None]
    if trigger == "missed":
        schedule(session, catalogs, row)
    return fired


def schedule(session, catalogs, row: Deadline, existing=frozenset()) -> list[Escalation]:
    """The `missed_for` rungs of a missed limit, each a row due `after` past its due time (none twice:
    `existing` rung codes are left, and (deadline, rung) is unique)."""
    made = []
    for rung in catalogs.rungs("missed_for", row.kind):
        if rung["code"] not in existing:
            if row.id is None:        # armed and missed in one step: its rows name it
                session.flush()
            made.append(Escalation(deadline_id=row.id, event_id=row.event_id, instance_id=row.instance_id,
                                   rung=rung["code"], due_at=_utc(row.due_at) + parse_duration(rung["after"]),
                                   status="pending"))
    session.add_all(made)
    return made


def cancel(session, deadline_ids, now) -> None:
    """The miss no longer stands (done late, the process ended): its waiting rungs will not fire."""
    ids = [i for i in deadline_ids if i is not None]
    if ids:
        session.execute(update(Escalation).where(Escalation.deadline_id.in_(ids), Escalation.status == "pending")
                        .values(status="cancelled", done_at=now))


def move(session, instance_id: int, by: timedelta) -> None:
    """A suspension ended: the instance's waiting rungs move by its length (no one gains or loses time)."""
    if by > timedelta(0):
        for row in session.scalars(select(Escalation).where(Escalation.instance_id == instance_id,
                                                            Escalation.status == "pending")):
            row.due_at = _utc(row.due_at) + by


def stands(session, row: Deadline) -> bool:
    """Is the miss still standing: missed, not done since, its 督办 record (§9.1) open?"""
    return row.status == "missed" and row.met_at is None and session.scalar(
        select(Supervision.id).where(Supervision.deadline_id == row.id, Supervision.status == "open").limit(1)) is not None


# -- the sweep's job (engine/jobs.py) -----------------------------------------------------------------------
def due(session, now, limit: int = 500) -> list[Escalation]:
    """The waiting rungs due by `now`, earliest first, claimed (PostgreSQL: FOR UPDATE SKIP LOCKED): each
    fires once however many app nodes sweep."""
    return list(session.scalars(_WAITING.where(Escalation.due_at <= now).order_by(Escalation.due_at, Escalation.id)
                                .limit(limit).with_for_update(skip_locked=True, of=Escalation)))


def send_due(cmd) -> list[int]:
    """Fire every waiting rung that fell due (one whose miss no longer stands, or that the ladder no longer
    has, is cancelled instead); the ids of the rows fired."""
    session, catalogs, now = cmd.session, cmd.catalogs, cmd.now()
    fired = []
    for waiting in due(session, now):
        deadline = session.get(Deadline, waiting.deadline_id)
        rung = catalogs.rung(waiting.rung)
        waiting.done_at = now
        if rung is None or rung["trigger"] != "missed_for" or not stands(session, deadline):
            waiting.status = "cancelled"
            continue
        entry = fire(session, catalogs, rung, deadline, session.get(Event, waiting.event_id), now)
        if entry is not None:
            session.add(Audit(at=now, actor="system", action=ESCALATED, event_id=waiting.event_id,
                              instance_id=waiting.instance_id,
                              data={**entry, "deadline_id": deadline.id, "limit": deadline.kind}))
        waiting.status = "fired"
        fired.append(waiting.id)
    return fired


def next_due_at(cmd):
    """When the next waiting rung falls due (None: none waits), for the worker's next sweep and a simulated
    clock's advance."""
    return cmd.session.scalar(_NEXT)


def resync(cmd) -> int:
    """After the ladder was edited: each waiting rung is moved to its rung's new `after` (cancelled if the
    rung is gone or no longer fires later for its limit), and each miss that still stands gets the rows of
    rungs added since. How many rows changed or were made."""
    session, catalogs, now = cmd.session, cmd.catalogs, cmd.now()
    changed = 0
    waiting = list(session.scalars(select(Escalation).where(Escalation.status == "pending").with_for_update()))
    for row in waiting:
        deadline = session.get(Deadline, row.deadline_id)
        rung = next((r for r in catalogs.rungs("missed_for", deadline.kind) if r["code"] == row.rung), None)
        if rung is None:
            row.status, row.done_at = "cancelled", now
            changed += 1
            continue
        due_at = _utc(deadline.due_at) + parse_duration(rung["after"])
        if due_at != _utc(row.due_at):
            row.due_at = due_at
            changed += 1
    open_records = select(Supervision.deadline_id).where(Supervision.status == "open")
    standing = session.scalars(select(Deadline).where(Deadline.id.in_(open_records), Deadline.status == "missed",
                                                      Deadline.met_at.is_(None)).order_by(Deadline.id))
    for deadline in list(standing):
        have = set(session.scalars(select(Escalation.rung).where(Escalation.deadline_id == deadline.id)))
        changed += len(schedule(session, catalogs, deadline, have))
    return changed
