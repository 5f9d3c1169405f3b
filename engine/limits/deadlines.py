"""The time limits of §8 as records (issue #4): set when a timer arms, met when the work is done,
missed when the timer fires, superseded when the work is cancelled; warnings (预警) before the miss,
supervision (督办, §9.1) after it, extensions (§8.4) in between.

A timer in the BPMN reads its due time from here: `deadline("close", "PT24H", dispatch["dispatched_at"])`
is a timeDate expression, so the process owner still sees and edits the rule in the diagram while
the app computes the absolute time — in working days where the catalog says so, the community's own
limit for `community_handle` (§8.1), and the *same* due time when rework arms the timer again (a
rework is not a free extension).
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from fractions import Fraction
from uuid import UUID

from sqlalchemy import and_, bindparam, select
from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.spiff.specs.defaults import UserTask
from SpiffWorkflow.util.task import TaskState

from catalogs.durations import parse_duration
from catalogs.model import STEPS
from engine.core.clock import local, parse_instant
from engine.core.clock import utc as _utc
from engine.core.errors import EventflowError
from engine.store.models import Audit, Deadline, Event, Supervision
from engine.limits import escalation, task_order
from engine.limits.workdays import WorkCalendar

WORKING_DAYS = re.compile(r"^P(\d+)D$")
#: a working-time limit counts office hours only: PT2H, PT30M, PT1H30M (no days, which are P<n>D)
WORKING_TIME = re.compile(r"^PT(?=\d)(\d+H)?(\d+M)?$")
#: warning lights (预警): green in time, yellow past the warning share, red missed
LIGHTS = {"pending": "green", "met": None, "superseded": None, "missed": "red", "paused": "paused"}


#: an instance's deadline records, oldest first (read once per step; built once)
#: the trail's action of a limit's start (时限开始): written only where the escalation ladder told someone as
#: the limit started (its rungs and clauses); every other start is read from the deadline record (`starts`)
STARTED = "deadline_set"
#: an instance's records, found by its event's index (an event has one instance, a few when reopened: 0037)
_OF_INSTANCE = select(Deadline).where(Deadline.event_id == bindparam("event_id"),
                                      Deadline.instance_id == bindparam("instance_id")).order_by(Deadline.id)


class DeadlineError(EventflowError):
    status = 500
    code = "deadline_error"


def _instant(value) -> datetime:
    if isinstance(value, datetime):
        return _utc(value)
    return parse_instant(str(value))


def _attached_activity(timer_task):
    """The activity a boundary timer watches (its sibling under SpiffWorkflow's BoundaryEventSplit)."""
    parent = timer_task.parent
    if parent is None or not isinstance(parent.task_spec, BoundaryEventSplit):
        return None
    for sibling in parent.children:
        if sibling is not timer_task and not getattr(sibling.task_spec, "event_definition", None):
            return sibling
    return None


def _lane(activity) -> str | None:
    """The lane an activity is drawn in; a multi-instance one's is its inner activity's (SpiffWorkflow 3.2.0
    does not copy the lane to the multi-instance wrapper)."""
    spec = activity.task_spec
    if spec.lane is None and isinstance(getattr(spec, "task_spec", None), str):
        inner = activity.workflow.spec.task_specs.get(spec.task_spec)
        return getattr(inner, "lane", None)
    return spec.lane


def responsible(ctx, timer_task) -> tuple[str, str | None, str | None, str | None]:
    """(task spec, unit, person, community) who must act before the timer fires.

    Work in the 社区联合党委 lane that the community does (会商研判 and 上报 of a superior assignment, §8.2; a
    "one thing" matter it leads, Appendix B) is its joint party committee's: the committee's unit is named,
    so a miss names the committee that owns the assignment."""
    activity = _attached_activity(timer_task)
    spec = activity.task_spec.bpmn_id if activity is not None else timer_task.task_spec.bpmn_id
    meta = (ctx.task_meta or {}).get(spec) if activity is not None and isinstance(activity.task_spec, UserTask) \
        else None
    community = ctx.event.community if ctx.event is not None else None
    if activity is not None and (meta or {}).get("assignee", "community") == "community" \
            and ctx.catalogs.role(_lane(activity) or "") == "committee":
        committee = (ctx.catalogs.community(community) or {}).get("committee") if community else None
        return spec, committee, None, community
    if meta is None:
        return spec, None, None, community
    kind, _, path = meta["assignee"].partition(":")
    value = activity.data
    for part in path.split(".") if path else []:
        value = value.get(part) if isinstance(value, dict) else None
    if kind == "unit":
        return spec, value, None, community
    if kind == "person":
        return spec, None, value, community
    return spec, None, None, community


class Deadlines:
    """What the script engine's `deadline()` and the engine's steps call. One per Environment (engine/wiring.py)."""

    def __init__(self, catalogs, calendar: WorkCalendar | None = None):
        self.catalogs = catalogs
        self._fixed = calendar
        self._calendar: tuple[str, WorkCalendar] | None = None

    @property
    def calendar(self) -> WorkCalendar:
        """The working calendar of the catalogs as they are now (an edit in the app replaces it)."""
        if self._fixed is not None:
            return self._fixed
        if self._calendar is None or self._calendar[0] != self.catalogs.content_hash:
            self._calendar = (self.catalogs.content_hash, WorkCalendar(self.catalogs.calendar()))
        return self._calendar[1]

    # -- computing --------------------------------------------------------------------------------
    def compute(self, kind: str, rule: str | None, start: datetime, community=None, event_type=None):
        """(due, basis, rule as applied, calendar warning) for a limit starting at `start`."""
        settings = self.catalogs.deadline_kind(kind)
        if settings is None:
            raise DeadlineError(f"deadline kind {kind!r} is not in the deadline_kinds catalog")
        if kind == "community_handle" and community:   # §8.1: the community's own limit for the type
            limits = (self.catalogs.community(community) or {}).get("time_limits") or {}
            rule = limits.get(event_type) or limits.get("default") or rule
        elif kind in STEPS:                            # §8.1: the community's own steps (step_limits.json)
            rule = self.catalogs.step_limit(kind, community, event_type) or rule
        rule = rule or settings.get("default_limit")    # e.g. 回访: the catalog's 3 working days
        if not rule:
            raise DeadlineError(f"deadline {kind!r} needs a limit (e.g. \"PT2H\"), an absolute time, or a "
                                f"default_limit in the deadline_kinds catalog")
        warning = None
        if settings["basis"] == "working":
            days = WORKING_DAYS.match(rule)
            if days is not None:
                due = self.calendar.add_working_days(start, int(days.group(1)))
            elif WORKING_TIME.match(rule):
                due = self.calendar.add_working_time(start, parse_duration(rule))
            else:
                raise DeadlineError(f"deadline {kind!r} counts working time: write its limit as working days "
                                    f"\"P<n>D\" or office hours \"PT<h>H<m>M\", not {rule!r}")
            missing = self.calendar.years_without_data(start, due)
            if missing:
                warning = (f"{'、'.join(map(str, missing))}年无节假日安排，按周末计算工作日 "
                           f"(no holiday calendar for {', '.join(map(str, missing))}: weekends only)")
        else:
            due = start + parse_duration(rule)
        return _utc(due), settings["basis"], rule, warning

    def warn_at(self, kind: str, start: datetime, due: datetime) -> datetime:
        share = Fraction(str(self.catalogs.deadline_kind(kind)["warn_share"]))   # "2/3" exactly, or 0.75
        return start + timedelta(seconds=round(Fraction((due - start).total_seconds()) * share))  # whole seconds

    # -- the BPMN function ------------------------------------------------------------------------
    def arm(self, ctx, timer_task, kind: str, limit=None, start=None, at=None) -> str:
        """`deadline(kind, limit=None, start=None, at=None)` in a timer expression: the due time as an
        ISO string (+08:00). The first call creates the record; a later call for the same kind and the
        same people in this instance (a rework, a re-armed timer) returns the record's due time."""
        spec, unit, person, community = responsible(ctx, timer_task)
        session = ctx.session
        ctx.armed = True
        begin = _instant(start) if start else None
        rows = self.rows(ctx)
        existing = next((r for r in reversed(rows) if r.kind == kind and r.unit == unit and r.person == person
                         and r.status != "superseded"), None)
        new_start = existing is not None and begin is not None and _utc(existing.started_at) != begin
        if existing is not None and not (existing.status in ("met", "missed") and new_start):
            existing.timer_task_id, existing.task_spec = str(timer_task.id), spec
            if existing.status == "met":          # rework: the same limit runs on, not a fresh one
                existing.status, existing.met_at, existing.met_by = "pending", None, None
            return local(_utc(existing.due_at))
        now = ctx.now()
        begin = begin or now
        if at:
            due, basis, rule, warning = _instant(at), "natural", f"at {at}", None
        else:
            due, basis, rule, warning = self.compute(kind, limit, begin, community,
                                                     getattr(ctx.event, "type_code", None))
        record = Deadline(event_id=ctx.event.id, instance_id=ctx.instance_id, kind=kind, task_spec=spec,
                          timer_task_id=str(timer_task.id), unit=unit, person=person, community=community,
                          basis=basis, rule=rule, started_at=begin, original_due_at=due, due_at=due,
                          warn_at=self.warn_at(kind, begin, due), status="pending", extended=False,
                          extensions=0, calendar_warning=warning)
        session.add(record)
        rows.append(record)
        # 派单 (§4.1): the ladder's first rungs tell who must act, as the limit starts
        rungs = escalation.climb(session, self.catalogs, "dispatched", record, ctx.event, now)
        if rungs:
            # the trail's row of the rungs fired, citing their clauses (issue #18); a limit that told no one
            # has none: its record is its trail (`started`: 时限开始 in the event's timeline)
            said = {"kind": kind, "unit": unit, "person": person, "rule": rule, "due_at": local(due),
                    "calendar_warning": warning, "rungs": rungs}
            ctx.record(STARTED, {key: value for key, value in said.items() if value})
        return local(due)

    def recompute(self, session, event_of, rearm) -> list[Deadline]:
        """The working calendar changed (catalogs/data/calendar.json edited): every pending working-day
        deadline not extended by a decision is computed again from its start; where the due time moves,
        the timer is re-armed there. Returns the deadlines that moved."""
        moved = []
        for row in session.scalars(select(Deadline).where(Deadline.status.in_(("pending", "paused")),
                                                          Deadline.basis == "working", Deadline.extended.is_(False))):
            event = event_of(row.event_id)
            due, _, _, warning = self.compute(row.kind, row.rule, _utc(row.started_at), row.community,
                                              event.type_code)
            if due == _utc(row.due_at) and warning == row.calendar_warning:
                continue
            row.original_due_at = row.due_at = due
            row.warn_at, row.warned_at = self.warn_at(row.kind, _utc(row.started_at), due), None
            row.calendar_warning = warning
            if row.status == "pending":         # a paused one's timer moves when its instance resumes
                rearm(row, event, due)
            moved.append(row)
        return moved

    # -- suspension (engine/casework/administration.py) ----------------------------------------------------
    def pause(self, session, instance) -> list[Deadline]:
        """The instance is suspended: its pending deadlines stop counting (no warning, no miss, no
        extension request) until it is resumed."""
        rows = list(session.scalars(select(Deadline).where(Deadline.event_id == instance.event_id,
                                                           Deadline.instance_id == instance.id,
                                                           Deadline.status == "pending").order_by(Deadline.id)))
        for row in rows:
            row.status = "paused"
        return rows

    def resume(self, session, instance, began: datetime, now: datetime) -> list[Deadline]:
        """The instance runs again: each paused deadline counts on with the time it had left when the
        suspension began (its due and warning times move; `original_due_at` keeps the first)."""
        rows = list(session.scalars(select(Deadline).where(Deadline.event_id == instance.event_id,
                                                           Deadline.instance_id == instance.id,
                                                           Deadline.status == "paused").order_by(Deadline.id)))
        for row in rows:
            row.due_at = self.moved(row.basis, _utc(row.due_at), began, now)
            row.warn_at = self.moved(row.basis, _utc(row.warn_at), began, now)
            row.status = "pending"
        escalation.move(session, instance.id, now - began)   # the ladder's rungs after a miss wait as long
        return rows

    def moved(self, basis: str, at: datetime, began: datetime, now: datetime) -> datetime:
        """`at` moved by a suspension from `began` to `now`: natural time by its length, working time by
        the office time it covered (a suspension over a weekend moves a working-day limit by nothing)."""
        if basis != "working":
            return at + (now - began)
        used = self.calendar.working_time_between(began, now)
        return _utc(self.calendar.add_working_time(at, used)) if used > timedelta(0) else at

    @staticmethod
    def add_tasks(connection, rows: list[dict]) -> None:
        """The runtime's new ready tasks (work_item rows): written, each carrying its first open limit in the same
        statement (issue #19: 待办's order)."""
        task_order.add(connection, rows)

    @staticmethod
    def rows(ctx) -> list[Deadline]:
        """The instance's deadline records, oldest first: read once per step (by the first `deadline()`
        or by the reconcile after it), then kept on the step's context with the records it adds. An instance
        made in this step has none to read."""
        if ctx.deadline_rows is None:
            ctx.deadline_rows = [] if ctx.new_instance else list(ctx.session.scalars(
                _OF_INSTANCE, {"event_id": ctx.event.id, "instance_id": ctx.instance_id}))
        return ctx.deadline_rows

    # -- after a step -----------------------------------------------------------------------------
    def reconcile(self, ctx, workflow, met_ids, now, event) -> None:
        """After every step, bring the instance's deadline records in line with its timers.

        A record's timer that fired — in a sweep, or within a user's step (SpiffWorkflow refreshes
        timers at the end of every step, and a timer re-armed with a due time already past fires at
        once) — makes it missed (+ supervision). The timers of the task just completed (`met_ids`)
        make it met, or met late (the miss stays, its supervision closes). A timer that stopped
        waiting any other way (撤单, the end of what it watched) supersedes it. A record the same step
        armed again on another task points at that new, waiting timer and is left alone."""
        session = ctx.session
        for row in [r for r in self.rows(ctx) if r.status == "pending" or r.timer_task_id in met_ids]:
            timer = workflow.get_task_from_id(UUID(row.timer_task_id)) if row.timer_task_id else None
            state = timer.state if timer is not None else None
            fired = timer is not None and (state in (TaskState.READY, TaskState.COMPLETED)
                                           or timer._get_internal_data("event_fired", False))
            if state == TaskState.WAITING and not fired:
                continue
            late = row.timer_task_id in met_ids and row.status == "pending" and now > _utc(row.due_at)
            if fired or late:                                # it fired, or the work was done after the due time
                self._missed(session, row, now, event)
            if row.timer_task_id in met_ids:
                if row.status == "pending":
                    row.status, row.met_at, row.met_by = "met", now, ctx.actor
                elif row.status == "missed" and row.met_at is None:   # done late: supervision closes
                    row.met_at, row.met_by = now, ctx.actor
                    for sup in session.scalars(select(Supervision).where(Supervision.deadline_id == row.id,
                                                                         Supervision.status == "open")):
                        sup.status, sup.closed_at = "closed", now
                    escalation.cancel(session, [row.id], now)      # the miss no longer stands
            elif row.status == "pending":
                row.status = "superseded"

    def instance_ended(self, ctx, now) -> None:
        """The process ended (办结, 撤单 …): nothing pending is left to watch, nothing open to supervise
        (only a missed deadline has supervision)."""
        rows = self.rows(ctx)
        for row in rows:
            if row.status in ("pending", "paused"):
                row.status = "superseded"
            row.timer_task_id = None     # the ended instance's timers are gone with its state (0019)
        missed = [row.id for row in rows if row.status == "missed"]
        if missed:
            for sup in ctx.session.scalars(select(Supervision).where(Supervision.deadline_id.in_(missed),
                                                                     Supervision.status == "open")):
                sup.status, sup.closed_at = "closed", now
            escalation.cancel(ctx.session, missed, now)

    def _missed(self, session, row: Deadline, now, event) -> None:
        if row.status == "missed":
            return
        if row.id is None:      # armed and missed in one step: its supervision needs its id
            session.flush([row])
        row.status, row.missed_at = "missed", now
        settings = self.catalogs.deadline_kind(row.kind) or {"name": row.kind, "clause": ""}
        reason = f"{settings['name']}超期（{settings['clause']}，时限至 {local(_utc(row.due_at))}）"
        session.add(Supervision(event_id=row.event_id, deadline_id=row.id, kind=row.kind, unit=row.unit,
                                person=row.person, community=row.community, reason=reason, status="open",
                                opened_at=now))
        # 超期: the red light, the 分管领导, and the rows of the rungs that follow a miss that stands (§9.1)
        rungs = escalation.climb(session, self.catalogs, "missed", row, event, now)
        session.add(Audit(at=now, actor="system", action="deadline_missed", event_id=row.event_id,
                          instance_id=row.instance_id, data={"kind": row.kind, "unit": row.unit,
                                                             "person": row.person, "due_at": local(_utc(row.due_at)),
                                                             **({"rungs": rungs} if rungs else {})}))

    # -- warnings (a job beside the sweep: engine/jobs.py) ---------------------------------------
    def due_warnings(self, session, now, limit: int = 500) -> list[Deadline]:
        return list(session.scalars(warnings_due(now).limit(limit).with_for_update(skip_locked=True)))

    def warn(self, session, row: Deadline, now, event) -> None:
        """黄灯预警: the share of the window has passed; the ladder's warning rungs tell the person and the
        unit (and, out of hours, who is on duty)."""
        row.warned_at = now
        rungs = escalation.climb(session, self.catalogs, "warning", row, event, now)
        session.add(Audit(at=now, actor="system", action="deadline_warning", event_id=row.event_id,
                          instance_id=row.instance_id, data={"kind": row.kind, "unit": row.unit,
                                                             "person": row.person, "due_at": local(_utc(row.due_at)),
                                                             **({"rungs": rungs} if rungs else {})}))

    def next_warning(self, session):
        return session.scalar(select(Deadline.warn_at).where(Deadline.status == "pending",
                                                             Deadline.warned_at.is_(None))
                              .order_by(Deadline.warn_at).limit(1))


def warnings_due(now):
    """SQL: the pending limits whose yellow light is due and not yet given, by `ix_deadline_warn`."""
    return select(Deadline).where(Deadline.status == "pending", Deadline.warned_at.is_(None),
                                  Deadline.warn_at <= now).order_by(Deadline.warn_at)


def light(row: Deadline, now) -> str | None:
    """green / yellow / red for an open deadline; None once met or superseded."""
    if row.status == "pending":
        return "yellow" if _utc(now) >= _utc(row.warn_at) else "green"
    return LIGHTS.get(row.status)


#: every light `light` gives an open deadline
LIGHT_NAMES = ("green", "yellow", "red", "paused")


def light_is(name: str, now):
    """SQL on Deadline: the rows whose light at `now` is `name` (as `light` tells it)."""
    pending = Deadline.status == "pending"
    return {"green": and_(pending, Deadline.warn_at > now), "yellow": and_(pending, Deadline.warn_at <= now),
            "red": Deadline.status == "missed", "paused": Deadline.status == "paused"}[name]


def describe(row: Deadline, catalogs, now) -> dict:
    settings = catalogs.deadline_kind(row.kind) or {"name": row.kind, "clause": ""}
    return {"id": row.id, "kind": row.kind, "name": settings["name"], "clause": settings["clause"],
            "task": row.task_spec, "unit": row.unit, "person": row.person, "community": row.community,
            "basis": row.basis, "rule": row.rule, "started_at": local(_utc(row.started_at)),
            "due_at": local(_utc(row.due_at)), "original_due_at": local(_utc(row.original_due_at)),
            "warn_at": local(_utc(row.warn_at)), "status": row.status, "light": light(row, now),
            "extended": row.extended, "extensions": row.extensions, "met_at": local(row.met_at),
            "missed_at": local(row.missed_at), "calendar_warning": row.calendar_warning}


# -- jobs beside the timer sweep (engine/jobs.py), and an edited calendar ----------------------------------
def send_warnings(cmd) -> list[int]:
    """黄灯预警 for every pending deadline past its warning share (rows locked: each warning once, however
    many app nodes sweep); the ids of the deadlines warned."""
    now, limits = cmd.now(), cmd.env.limits
    rows = limits.due_warnings(cmd.session, now)
    for row in rows:
        limits.warn(cmd.session, row, now, cmd.session.get(Event, row.event_id))
    return [row.id for row in rows]


def next_warning_at(cmd):
    """When the next warning falls due (None: none is pending), for a simulated clock's advance."""
    return cmd.env.limits.next_warning(cmd.session)


def move_with_calendar(cmd) -> int:
    """After the working calendar was edited (§8.3 working days): pending working-day deadlines move with
    it, their timers re-armed at the new due time, each move audited; how many moved."""
    session, instances = cmd.session, cmd.env.instances
    moved = cmd.env.limits.recompute(session, lambda event_id: session.get(Event, event_id),
                                     lambda row, event, due: instances.rearm(session, row, event, due))
    for row in moved:
        session.add(Audit(at=cmd.now(), actor="system", action="deadline_recomputed", event_id=row.event_id,
                          data={"kind": row.kind, "due_at": local(row.due_at), "calendar_warning": row.calendar_warning}))
    return len(moved)


def starts(rows, trail) -> list[tuple[datetime, dict]]:
    """时限开始 for an event's timeline, from its deadline records (oldest first): (started_at, what the
    trail's row would say) for each record whose start has no `STARTED` row in `trail` (the event's audit
    rows, oldest first; matched to the records by kind, unit and person, in order). The record keeps every
    column, so a start that told no one needs no row of its own (bytes per closed event, bench/storage.py)."""
    told: dict[tuple, int] = {}
    for entry in trail:
        if entry.action == STARTED and isinstance(entry.data, dict):
            key = (entry.data.get("kind"), entry.data.get("unit"), entry.data.get("person"))
            told[key] = told.get(key, 0) + 1
    found = []
    for row in rows:
        key = (row.kind, row.unit, row.person)
        if told.get(key):
            told[key] -= 1
            continue
        said = {"kind": row.kind, "unit": row.unit, "person": row.person, "rule": row.rule,
                "due_at": local(_utc(row.original_due_at)), "calendar_warning": row.calendar_warning}
        found.append((_utc(row.started_at), {key: value for key, value in said.items() if value}))
    return found
