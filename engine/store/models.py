"""The database schema (SQLAlchemy 2). Alembic migrations in engine/store/migrations mirror it."""
from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import (JSON, BigInteger, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text,
                        TypeDecorator, UniqueConstraint, func, literal_column, text)
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import DeclarativeBase, Mapped, deferred, mapped_column, relationship


class _SQLiteInstant(sqlite.DATETIME):
    """SQLite's text of an instant without the ".000000" of a whole second: 19 characters, not 26 — what the
    clock gives (engine/core/clock.py), about a tenth of a closed event's bytes (bench/storage.py). The order
    of the texts is still the order of the instants ("…:30" < "…:30.5" < "…:31"), SQLite's date functions
    read both, and a time with a fraction keeps it as before."""

    def bind_processor(self, dialect):
        full = super().bind_processor(dialect)

        def process(value):
            stored = full(value)
            return stored[:19] if stored is not None and stored.endswith(".000000") else stored
        return process


class UTCDateTime(TypeDecorator):
    """Always an aware UTC datetime in Python, whatever the database keeps (SQLite keeps naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        return dialect.type_descriptor(_SQLiteInstant() if dialect.name == "sqlite" else self.impl)

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict: JSON, list: JSON}


class ProcessVersion(Base):
    """One deployed bundle of a process: its files under one content hash (kept forever)."""

    __tablename__ = "process_version"
    __table_args__ = (UniqueConstraint("process_key", "content_hash"),
                      UniqueConstraint("process_key", "version"))

    id: Mapped[int] = mapped_column(primary_key=True)
    process_key: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64))
    #: {relative path: text} of every BPMN and form file of the bundle.
    files: Mapped[dict] = deferred(mapped_column(JSON))
    #: what deploy learned per user task: {task id: {role, lane, assignee, form}}.
    task_meta: Mapped[dict] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[str] = mapped_column(String(100))


class Event(Base):
    """A community event in the pool (社区事件池, §7.1)."""

    __tablename__ = "event"
    #: the open events of a type near in time (engine/pool/duplicates.py `candidate`, issue #17); the pool's
    #: keyset pages (engine/store/paging.py), newest first, of a community or a status, and Open311's by time
    __table_args__ = (Index("ix_event_type_status_created", "type_code", "status", "created_at"),
                      Index("ix_event_community_id", "community", "id"), Index("ix_event_status_id", "status", "id"),
                      Index("ix_event_created_id", "created_at", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    source: Mapped[str] = mapped_column(String(40))
    type_code: Mapped[str] = mapped_column(String(20))     # indexed first in ix_event_type_status_created
    description: Mapped[str] = mapped_column(Text)
    #: WGS-84; null while a report that gave only an address waits for 分拨 (placement, §7.1)
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str] = mapped_column(String(300))
    photos: Mapped[list] = mapped_column(JSON, default=list)
    #: the pool it is in; null only while a citizen's address-only report waits for the city's 分拨
    community: Mapped[str | None] = mapped_column(String(60))
    reporter: Mapped[str] = mapped_column(String(100))
    #: open | closed | invalid | returned | transferred | withdrawn | merged | terminated | error
    status: Mapped[str] = mapped_column(String(20), default="open")
    #: the titles of the open tasks, for lists ("签收受理").
    stage: Mapped[str] = mapped_column(String(200), default="")
    lead_unit: Mapped[str | None] = mapped_column(String(60), index=True)
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None] = mapped_column(index=True)
    error: Mapped[str | None] = mapped_column(Text)
    #: why it ended as it did (不予受理/退回/撤单 reasons, §7.1), shown with the status
    status_reason: Mapped[str | None] = mapped_column(Text)
    #: 转办 (§7.1): the event this one was transferred from / to — a linked pair counted once
    transferred_from_id: Mapped[int | None] = mapped_column(ForeignKey("event.id"))
    transferred_to_id: Mapped[int | None] = mapped_column(ForeignKey("event.id"))
    #: times a closed event was reopened (a repeat complaint); counts against the first-time rate (§8.6)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: §5.6/§8.2 superior assignment: the assigning body and its deadline
    superior_body: Mapped[str | None] = mapped_column(String(200))
    superior_deadline: Mapped[datetime | None]
    #: §5.3 the citizen channel (12345 hotline, 智慧村社通, 随手拍 …) or the device of an alert (§5.4)
    channel: Mapped[str | None] = mapped_column(String(40), index=True)
    #: the submission's idempotency key, within its source ("open311:hotline_12345:GD-1"): a retry finds it
    intake_key: Mapped[str | None] = mapped_column(String(240), unique=True)
    #: who to call back (name, phone, email): personal data, never in public reads
    reporter_contact: Mapped[dict | None] = mapped_column(JSON)
    #: the coordinate system the source sent (lat/lng are always stored as WGS-84)
    received_crs: Mapped[str | None] = mapped_column(String(10))
    #: Open311 token of a citizen's request
    public_token: Mapped[str | None] = mapped_column(String(40), unique=True)
    #: §5.4 repeats of one device's alert of one type within the window
    alert_count: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    #: a suspected duplicate of an open event (flagged for the registrar), and where it was merged into
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("event.id"), index=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("event.id"), index=True)
    #: 回访 of a closed event (engine/casework/revisits.py): `open` while the community still has to ask the
    #: reporter (回访中: the status stays `closed`, the indicators count it closed), `done` once asked; null
    #: when no 回访 follows (not closed yet, or no reporter to ask)
    revisit: Mapped[str | None] = mapped_column(String(10))
    #: 即知即改 (engine/casework/on_spot.py): a grid worker or stationed officer reported it as already fixed on the
    #: spot — {state: reported | confirmed | rejected, by, unit, summary, before_photos, after_photos, and once the
    #: community verified it: verified_by, verified_at, note}; null for every other report
    on_spot: Mapped[dict | None] = mapped_column(JSON)


class EventParty(Base):
    """Every unit and person that has been given work on an event (交办、派单、协办、分工): they keep
    seeing the event after their task is done."""

    __tablename__ = "event_party"

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), primary_key=True)
    #: unit | person
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    value: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)


class PendingStart(Base):
    """A stored submission whose process has not started yet (the outbox between storing and starting):
    written with the event, removed in the unit that starts its process. A row older than a grace
    period means the app stopped in between; the sweep starts it (engine/runtime/sweep.py)."""

    __tablename__ = "pending_start"

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), primary_key=True)
    stored_at: Mapped[datetime] = mapped_column(index=True)


class EventCounter(Base):
    """Per-day counter behind readable numbers (LG-20261125-0001)."""

    __tablename__ = "event_counter"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int]


class Instance(Base):
    """A process instance: its version and, while it can take a step, its serialized state (nothing else of
    the spec). An ended one (completed, terminated) keeps "" (engine/runtime/instances.py, issue #17)."""

    __tablename__ = "process_instance"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"), index=True)
    state: Mapped[str] = deferred(mapped_column(Text))
    serializer_version: Mapped[str] = mapped_column(String(20))
    #: running | suspended (挂起) | completed | terminated (终止): engine/casework/administration.py
    status: Mapped[str] = mapped_column(String(20), default="running")
    row_version: Mapped[int] = mapped_column(Integer, nullable=False)
    updated_at: Mapped[datetime]
    #: when and by whom it started: 流程启动 in the event's timeline (engine/pool/reading.py), which the trail
    #: keeps no row of its own for (bytes per closed event); None for one started before migration 0040, whose
    #: trail keeps its `process_started` row
    started_at: Mapped[datetime | None]
    started_by: Mapped[str | None] = mapped_column(String(100))
    #: while suspended: since when, by whom and why (the history is in the audit trail)
    suspended_at: Mapped[datetime | None]
    suspended_by: Mapped[str | None] = mapped_column(String(100))
    suspend_reason: Mapped[str | None] = mapped_column(Text)

    __mapper_args__ = {"version_id_col": row_version}


class WorkItem(Base):
    """A ready user task, indexed for 'my tasks' by its scope (community, unit, person). Rebuilt on every save.

    It carries the time left on it, as Camunda's task carries its due date: the first open limit of §8 that
    names it (engine/limits/task_order.py keeps these columns in step with the deadline records), so 待办 is
    read in that order a page at a time from an index."""

    __tablename__ = "work_item"
    #: 待办's keyset pages (issue #19): red first, then by time left, the tasks without a limit after, oldest first
    __table_args__ = (Index("ix_work_item_time_left", "time_rank", "time_key", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # SpiffWorkflow task id
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), index=True)
    spec_name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    lane: Mapped[str | None] = mapped_column(String(100))
    #: no index of its own: a scope (community, unit, person) picks fewer tasks (permissions.py `work_items_of`)
    role: Mapped[str] = mapped_column(String(40))
    #: whose it is (§8.2): community | unit | person, with the value.
    assignee_kind: Mapped[str] = mapped_column(String(20))
    community: Mapped[str | None] = mapped_column(String(60), index=True)
    unit: Mapped[str | None] = mapped_column(String(60), index=True)
    person: Mapped[str | None] = mapped_column(String(100), index=True)
    form: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    #: 认领: one of those who may do it took it on; the others see whose it is. It does not stop any clock.
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None]
    #: 0 its first open limit is missed (红灯), 1 it runs (绿灯/黄灯), 2 it is paused (挂起), 3 no limit (无时限)
    time_rank: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    #: that limit's due time; with no limit, when the task was made (the oldest first)
    time_key: Mapped[datetime] = mapped_column(default=lambda context: context.get_current_parameters()["created_at"])
    #: that limit's warning time (黄灯 from then on, while it runs)
    warn_at: Mapped[datetime | None]


class Timer(Base):
    """A waiting timer of an instance; one sweep fires the due ones (STYLE.md §4)."""

    __tablename__ = "timer"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    spec_name: Mapped[str] = mapped_column(String(100))
    due_at: Mapped[datetime] = mapped_column(index=True)
    last_error: Mapped[str | None] = mapped_column(Text)


class Incident(Base):
    """流程异常 — as Camunda's incidents (issue #15): a step of a process that failed at run time (a task's
    completion, a timer's firing), kept open for the process administrators until a retry succeeds or the
    step is taken otherwise. Only the element, the reason and where (event, version) are ever shown; the
    reason of a sensitive event's step is stored without anything the failure might quote of its data."""

    __tablename__ = "incident"
    #: 流程异常's keyset pages, newest first, of a status
    __table_args__ = (Index("ix_incident_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: task (a completion failed: the task stayed ready) | timer (a firing failed: the sweep holds it)
    kind: Mapped[str] = mapped_column(String(10))
    #: open | resolved
    status: Mapped[str] = mapped_column(String(10))
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), index=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    #: the version the step failed on (the instance may be migrated to another since)
    version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"), index=True)
    #: the BPMN element that failed (a gateway's flow, a script, a service or timer event)
    element: Mapped[str | None] = mapped_column(String(100))
    #: the user task or timer event whose step it was
    activity: Mapped[str] = mapped_column(String(200))
    #: the ready task (kind task), and the form data and user of the failed completion, for the retry
    task_id: Mapped[str | None] = mapped_column(String(36), index=True)
    payload: Mapped[dict | None] = deferred(mapped_column(JSON))
    actor: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    failures: Mapped[int] = mapped_column(Integer, default=1)
    opened_at: Mapped[datetime]
    last_failed_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    #: retried (an administrator's retry succeeded) | completed (the task was done) | fired (the timers fired)
    #: | gone (the task or timer is no longer there: cancelled, withdrawn, terminated)
    resolution: Mapped[str | None] = mapped_column(String(20))


#: actions of the trail that no query reads by period and action: a task's completion (its own indexes:
#: `ix_audit_completed_by`, `ix_audit_completed_at`, `ix_audit_failed_check`) and a limit's start. PostgreSQL's
#: `ix_audit_action_at` leaves their rows out: they are 9 of a closed event's 12 rows, and the index, filled
#: at the end of each action's range, kept its pages half full (847 bytes of a closed event's 7.6 KB)
UNPERIODIC = ("task_completed", "deadline_set")
_NOT_UNPERIODIC = "action NOT IN ({})".format(", ".join(f"'{action}'" for action in UNPERIODIC))


class Audit(Base):
    """Append-only trail: who, when (injected clock), which task, what data."""

    __tablename__ = "audit"
    __table_args__ = (# the period's aggregates (engine/oversight) and Open311's updates: rows of an action in a
                      # period (`of_action`); on PostgreSQL without the rows no period reads by action (0045)
                      Index("ix_audit_action_at", "action", "at",
                            postgresql_where=text(_NOT_UNPERIODIC)),
                      # PostgreSQL: the completions of a period by their step's name (Open311's updates), which
                      # ix_audit_action_at leaves out there; SQLite's ix_audit_action_at holds them (0045). Every
                      # completion names its step: "task_name IS NOT NULL" holds the same rows, and leaves the
                      # index to queries that name steps, so 已办 (by person, newest first) keeps its own
                      Index("ix_audit_completed_at", "at",
                            postgresql_where=text("action = 'task_completed' AND task_name IS NOT NULL"))
                      .ddl_if(dialect="postgresql"),
                      # an event's trail, by the event alone (one B-tree key per event: migration 0030)
                      Index("ix_audit_event_id", "event_id"),
                      # 已办, a user's completions newest first by keyset pages (engine/casework/tasks.py), and the
                      # monthly report's days with work done per person (§9.2 人员到位): completions only (0022)
                      # a completed task by its id (a second completion: 409, not 404), completions only, by
                      # the id's first 8 characters (`completion_of`; a quarter of the whole id's bytes: 0037)
                      Index("ix_audit_task_key", func.substr(text("task_id"), literal_column("1"),
                                                             literal_column("8")),
                            sqlite_where=text("action = 'task_completed'"),
                            postgresql_where=text("action = 'task_completed'")),
                      Index("ix_audit_completed_by", "actor", "at", "id",
                            sqlite_where=text("action = 'task_completed'"),
                            postgresql_where=text("action = 'task_completed'")),
                      # the failed checks alone (engine/oversight/counting.py `failed_check`, migration 0020)
                      Index("ix_audit_failed_check", "action", "at",
                            sqlite_where=text("action = 'task_completed' AND json_type(data, '$.passed') = 'false'"),
                            postgresql_where=text("action = 'task_completed' AND json_typeof(data -> 'passed') = "
                                                  "'boolean' AND (data ->> 'passed') = 'false'")))

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id"))
    instance_id: Mapped[int | None]
    task_id: Mapped[str | None] = mapped_column(String(36))
    task_name: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict | None] = mapped_column(JSON)


def is_completion(column):
    """`column` (audit.action, or an alias's) names a task's completion, the name written into the SQL itself
    as the partial indexes of completions have it, so both databases use them."""
    return column == literal_column("'task_completed'")


def of_action(column, *actions: str):
    """`column` (audit.action, or an alias's) is one of `actions`, their names written into the SQL itself:
    PostgreSQL then proves in every plan, a generic one too, that ix_audit_action_at holds the rows (a bound
    parameter's value is unknown to a generic plan, which then reads the whole table)."""
    if not actions or set(actions) & set(UNPERIODIC) or any("'" in action for action in actions):
        raise ValueError(f"not actions a period is read by: {actions!r}")
    names = [literal_column(f"'{action}'") for action in actions]
    return column == names[0] if len(names) == 1 else column.in_(names)


def completion_of(query, task_id: str):
    """`query` (a select of Audit's columns) narrowed to the completion of the task `task_id`, found by
    `ix_audit_task_key`: the condition written as the index's, so both databases use it; the whole id then
    checked with IS NOT DISTINCT FROM (SQLite's IS), as an equality would have SQLite put the id itself into
    the index's expression (its constant propagation) and no longer see the index."""
    return query.where(is_completion(Audit.action),
                       func.substr(Audit.task_id, literal_column("1"), literal_column("8")) == task_id[:8],
                       Audit.task_id.is_not_distinct_from(task_id))


class Notification(Base):
    """Something a person or unit must be told (the source of an outcome, a supervisor of an overdue)."""

    __tablename__ = "notification"
    #: 消息's keyset pages: a recipient's, newest first
    __table_args__ = (Index("ix_notification_recipient_id", "recipient", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id"), index=True)
    recipient_kind: Mapped[str] = mapped_column(String(20))  # person | unit | community
    recipient: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
    #: the clause of the standard the notice cites (§8.3, §9.1 …), and the escalation ladder's rung that sent
    #: it (catalogs/data/escalation.json), where there is one
    clause: Mapped[str | None] = mapped_column(String(20))
    rung: Mapped[str | None] = mapped_column(String(40))


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(300))
    roles: Mapped[list] = mapped_column(JSON)
    community: Mapped[str | None] = mapped_column(String(60))
    unit: Mapped[str | None] = mapped_column(String(60))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    #: a cadre designated by the community for the sensitive rows of Table A.1 (重点人员、平安建设、警情)
    sensitive_access: Mapped[bool] = mapped_column(Boolean, default=False)


class Token(Base):
    """A bearer token, stored as its SHA-256 only; expires."""

    __tablename__ = "auth_token"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class SignInFailure(Base):
    """A refused sign-in (engine/accounts/sign_in.py): the name tried and the client it came from, kept for the
    throttle's window only (each refusal prunes the older ones)."""

    __tablename__ = "sign_in_failure"
    #: a client's refusals in the window, newest first; the rows past the window, to prune
    __table_args__ = (Index("ix_sign_in_failure_client_at", "client", "at"),
                      Index("ix_sign_in_failure_at", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    #: the name as it was typed (cut to 100 characters): an unknown name is counted as a known one is
    username: Mapped[str] = mapped_column(String(100))
    #: the client's address (behind a proxy, as EVENTFLOW_PROXIES says to read it), or "unknown"
    client: Mapped[str] = mapped_column(String(64))


class ClockState(Base):
    """The simulated clock's position, so a restarted app keeps simulated time."""

    __tablename__ = "clock_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    now: Mapped[datetime]


class Deadline(Base):
    """A time limit of §8 as a record (issue #4): who must act by when, and whether they did.

    Created when its timer arms (the BPMN timer calls `deadline(kind, limit, start)`); the timer fires
    at `due_at`. A rework finds the same record (no free extension); an approved extension (§8.4) moves
    `due_at` and keeps `original_due_at`.
    """

    __tablename__ = "deadline"
    __table_args__ = (# the yellow lights due (the warnings job): pending limits only (migration 0037)
                      Index("ix_deadline_warn", "warn_at", sqlite_where=text("status = 'pending'"),
                            postgresql_where=text("status = 'pending'")),
                      # the monthly report's overdue events (§9.2): limits missed in a month (missed ones only)
                      Index("ix_deadline_missed_at", "missed_at", sqlite_where=text("missed_at IS NOT NULL"),
                            postgresql_where=text("missed_at IS NOT NULL")))

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), index=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    #: community_handle | accept | close | arrive | close_difficult | superior (catalog deadline_kinds)
    kind: Mapped[str] = mapped_column(String(40))
    #: the user task (or call activity) the limit is on, and the timer that watches it now (none once its
    #: instance ended)
    task_spec: Mapped[str] = mapped_column(String(100))
    timer_task_id: Mapped[str | None] = mapped_column(String(36))
    #: who must act: a unit, a person, or the community
    unit: Mapped[str | None] = mapped_column(String(60))
    person: Mapped[str | None] = mapped_column(String(100))
    community: Mapped[str | None] = mapped_column(String(60))
    #: natural | working; the rule as written in the diagram (e.g. "PT30M", "P5D" in working days)
    basis: Mapped[str] = mapped_column(String(10))
    rule: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime]
    original_due_at: Mapped[datetime]
    due_at: Mapped[datetime] = mapped_column(index=True)
    warn_at: Mapped[datetime]
    #: pending | paused (its instance is suspended) | met | missed | superseded
    status: Mapped[str] = mapped_column(String(12), default="pending")
    extended: Mapped[bool] = mapped_column(Boolean, default=False)
    extensions: Mapped[int] = mapped_column(Integer, default=0)
    warned_at: Mapped[datetime | None]
    met_at: Mapped[datetime | None]
    #: who did the work that met it (the user completing the watched task): a person's indicators (§8.6)
    met_by: Mapped[str | None] = mapped_column(String(100))
    missed_at: Mapped[datetime | None]
    #: e.g. "2027 has no holiday calendar: counted on weekends only"
    calendar_warning: Mapped[str | None] = mapped_column(String(300))


class ArrivalCheck(Base):
    """§8.3 到场: where a department checked in, against the event's location (engine/casework/arrivals.py): one
    row per 到场, `far` when it lies further than EVENTFLOW_ARRIVAL_FAR_M — shown on the event and named in the
    circular (§9.1 到场位置偏离) against the unit and the person who checked in."""

    __tablename__ = "arrival_check"
    #: the circular's far check-ins of a period (engine/oversight/circular.py)
    __table_args__ = (Index("ix_arrival_check_far_at", "far", "checked_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), index=True)
    instance_id: Mapped[int | None]
    #: the unit that arrived (the lead department) and who checked in for it
    unit: Mapped[str | None] = mapped_column(String(60))
    person: Mapped[str | None] = mapped_column(String(100))
    community: Mapped[str | None] = mapped_column(String(60))
    #: the check-in position (WGS-84) and its geodesic distance from the event's (null: the event has no point)
    lat: Mapped[float] = mapped_column(Float)
    lng: Mapped[float] = mapped_column(Float)
    distance_m: Mapped[float | None] = mapped_column(Float)
    #: the setting in force when it was checked
    limit_m: Mapped[float] = mapped_column(Float)
    far: Mapped[bool] = mapped_column(Boolean, default=False)
    #: what the event and the circular say of it (到场定位距事件位置 1020 米，超过 300 米)
    reason: Mapped[str] = mapped_column(String(300))
    checked_at: Mapped[datetime]


class Escalation(Base):
    """A rung of the escalation ladder that fires a while after a miss (`missed_for` in
    catalogs/data/escalation.json: the city N hours after a miss that still stands), waiting for its time
    like a timer: the sweep claims due rows (PostgreSQL: FOR UPDATE SKIP LOCKED) and fires each once; the
    pair (deadline, rung) is unique. Cancelled when the miss no longer stands (done late, the process ended)."""

    __tablename__ = "escalation"
    __table_args__ = (UniqueConstraint("deadline_id", "rung", name="uq_escalation_deadline_rung"),
                      Index("ix_escalation_status_due", "status", "due_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    deadline_id: Mapped[int] = mapped_column(ForeignKey("deadline.id"))
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"))
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    rung: Mapped[str] = mapped_column(String(40))
    due_at: Mapped[datetime]
    #: pending | fired | cancelled
    status: Mapped[str] = mapped_column(String(12), default="pending")
    done_at: Mapped[datetime | None]


class Supervision(Base):
    """督办 (§9.1): opened when a deadline is missed, naming the unit and person; closed when the late
    work is done (or the event ends)."""

    __tablename__ = "supervision"
    #: 督办's keyset pages, newest first, of a status (open unless said) or all; the period's by opening time; a
    #: party's of a period (the circular's pages, engine/oversight/circular.py; migration 0026)
    __table_args__ = (Index("ix_supervision_status_opened", "status", "opened_at", "id"),
                      Index("ix_supervision_opened_id", "opened_at", "id"),
                      Index("ix_supervision_unit_opened", "unit", "opened_at", "id"),
                      Index("ix_supervision_person_opened", "person", "opened_at", "id"),
                      Index("ix_supervision_community_opened", "community", "opened_at", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), index=True)
    deadline_id: Mapped[int | None] = mapped_column(ForeignKey("deadline.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    unit: Mapped[str | None] = mapped_column(String(60))          # indexed first in ix_supervision_unit_opened
    person: Mapped[str | None] = mapped_column(String(100))       # … ix_supervision_person_opened
    community: Mapped[str | None] = mapped_column(String(60))     # … ix_supervision_community_opened
    reason: Mapped[str] = mapped_column(String(300))
    #: open | closed
    status: Mapped[str] = mapped_column(String(10), default="open")
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]


class ExtensionRequest(Base):
    """延期申请 (§8.4): the community asks, with a reason; the city authority approves with a new due
    time, or rejects."""

    __tablename__ = "extension_request"
    #: 延期申请's keyset pages, newest first, of a status
    __table_args__ = (Index("ix_extension_request_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deadline_id: Mapped[int] = mapped_column(ForeignKey("deadline.id"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), index=True)
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    requested_due_at: Mapped[datetime | None]
    #: pending | approved | rejected
    status: Mapped[str] = mapped_column(String(10), default="pending")
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None]
    new_due_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)


class ApiKey(Base):
    """An API key of a §5.3 citizen channel for the Open311 endpoint. Only its SHA-256 is kept."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(40), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: the first characters, to tell keys apart in lists
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))
    revoked_at: Mapped[datetime | None]


class Device(Base):
    """A registered IoT sensor or video-AI camera (§5.4) with its HMAC secret."""

    __tablename__ = "device"

    id: Mapped[str] = mapped_column(String(60), primary_key=True)
    community: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(20))
    secret: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class AlertReceipt(Base):
    """A signed alert accepted from a device: its signature can never be accepted again (replay)."""

    __tablename__ = "alert_receipt"
    __table_args__ = (UniqueConstraint("device_id", "signature", name="uq_alert_receipt_signature"),
                      Index("ix_alert_receipt_device_alert", "device_id", "alert_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("device.id"))
    signature: Mapped[str] = mapped_column(String(64))
    #: the device's own id of the alert: a retry of it (a new signature) finds the event it went to
    alert_id: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id"))


class Photo(Base):
    """实时照片 (§7.1) and before/after photos (§8.5): an image checked by decoding, stored once per
    event by its SHA-256 (<media_dir>/events/<event_id>/<sha256>.<ext>, engine/pool/photos.py) and referenced
    by that hash from the event and from task data, never copied into them."""

    __tablename__ = "photo"
    __table_args__ = (UniqueConstraint("event_id", "sha256", name="uq_photo_event_sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"))
    #: the photo's key: hex SHA-256 of its bytes
    sha256: Mapped[str] = mapped_column(String(64))
    #: image/jpeg | image/png | image/webp, as decoded (never as named)
    content_type: Mapped[str] = mapped_column(String(20))
    bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    #: EXIF DateTimeOriginal (with OffsetTimeOriginal, else Asia/Shanghai), and EXIF GPS in WGS-84
    taken_at: Mapped[datetime | None]
    gps_lat: Mapped[float | None] = mapped_column(Float)
    gps_lng: Mapped[float | None] = mapped_column(Float)
    #: metres from the EXIF GPS to the event's location (geodesic, WGS-84)
    distance_m: Mapped[float | None] = mapped_column(Float)
    #: far | old | no_exif, for the registrar (§7.1 核实)
    flags: Mapped[list] = mapped_column(JSON, default=list)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime]


class CallbackEndpoint(Base):
    """Where a channel that cannot poll (a device platform, a work-order system) hears its events'
    outcomes (engine/channels/callbacks.py), with the secret that signs them. Set by an administrator."""

    __tablename__ = "callback_endpoint"

    #: a channels-catalog code or a registered device id (the event's `channel`)
    channel: Mapped[str] = mapped_column(String(40), primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]
    #: hears every stage (engine/channels/stages.py), not only the outcome (the default; issue #18)
    stages: Mapped[bool] = mapped_column(Boolean, default=False)


class Callback(Base):
    """The outbox of signed callbacks (§4.3, §7.1 反馈来源): written with the outcome, sent and retried
    by the delivery job."""

    __tablename__ = "callback"
    __table_args__ = (Index("ix_callback_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), index=True)
    channel: Mapped[str] = mapped_column(String(40))
    url: Mapped[str] = mapped_column(String(500))
    body: Mapped[dict] = mapped_column(JSON)
    #: pending | delivered | failed
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class NoticeChannel(Base):
    """Where a unit, person or community hears its notices outside the app (engine/notices/delivery.py,
    issue #18): an apprise URL (mailto://, json://, dingtalk://, wecombot:// …; a secret, never shown in
    full), the kinds of notice it takes (empty: all), and quiet hours handed to the unit's duty officer."""

    __tablename__ = "notice_channel"
    __table_args__ = (Index("ix_notice_channel_owner", "owner_kind", "owner"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: person | unit | community
    owner_kind: Mapped[str] = mapped_column(String(20))
    owner: Mapped[str] = mapped_column(String(100))
    label: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(Text)
    #: the categories taken (engine/notices/delivery.py CATEGORIES); empty: every one
    categories: Mapped[list] = mapped_column(JSON, default=list)
    #: "HH:MM" Asia/Shanghai, both or neither; a window may pass midnight (22:00–07:00)
    quiet_from: Mapped[str | None] = mapped_column(String(5))
    quiet_until: Mapped[str | None] = mapped_column(String(5))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: its URL was set by someone other than a system administrator (a person's own): sent to the public
    #: internet only, checked again at each sending (engine/notices/targets.py, migration 0041)
    public_only: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))
    removed_at: Mapped[datetime | None]


class NoticeDelivery(Base):
    """One notice to one channel: written with the notice, in the step's own unit of work; sent by the
    worker with retries (engine/notices/delivery.py). Unique per notice and channel: sent at most once."""

    __tablename__ = "notice_delivery"
    __table_args__ = (UniqueConstraint("notification_id", "channel_id", name="uq_notice_delivery_once"),
                      Index("ix_notice_delivery_status_next", "status", "next_attempt_at"),
                      Index("ix_notice_delivery_channel", "channel_id", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notification.id"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("notice_channel.id"))
    #: pending | sending | sent | failed (will retry) | gave_up | held (quiet hours) | unknown (a sender
    #: stopped mid-send: not sent again unless an administrator resends)
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    #: the notice, so a delivery is written with it before its id is known (one flush)
    notification: Mapped[Notification] = relationship(lazy="raise")


class CatalogRevision(Base):
    """A catalog as an administrator saved it in the app (engine/accounts/catalog_edits.py): it replaces the
    shipped data file of that catalog. Append-only: the newest revision of a name is in force."""

    __tablename__ = "catalog_revision"
    __table_args__ = (Index("ix_catalog_revision_name_id", "name", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    #: the whole catalog, UTF-8 JSON as its data file would hold it
    content: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    saved_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    #: what changed against the revision before (rows added, removed, changed)
    summary: Mapped[dict] = mapped_column(JSON)


class SpotCheck(Base):
    """抽查 (§9.3): a sample of one community's closed events drawn by the city authority, reproducible
    from its recorded seed (engine/oversight/spot_checks.py)."""

    __tablename__ = "spot_check"

    id: Mapped[int] = mapped_column(primary_key=True)
    community: Mapped[str] = mapped_column(String(60), index=True)
    #: events (closed events) | hazards (key hazard points, §9.2)
    kind: Mapped[str] = mapped_column(String(10), default="events", server_default="events")
    period_from: Mapped[datetime]
    period_to: Mapped[datetime]
    size: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(BigInteger)
    drawn_by: Mapped[str] = mapped_column(String(100))
    drawn_at: Mapped[datetime]
    #: the events drawn, in the order drawn
    sample: Mapped[list] = mapped_column(JSON)
    #: what it was drawn from (ids in order): random.Random(seed).sample(population, size) gives the sample
    #: again, even after an event of it was reopened
    population: Mapped[list | None] = mapped_column(JSON)


class SpotCheckFinding(Base):
    """One checked event of a spot check: 合格 or 不合格, with what was found."""

    __tablename__ = "spot_check_finding"
    __table_args__ = (UniqueConstraint("spot_check_id", "event_id"),
                      UniqueConstraint("spot_check_id", "hazard_id", name="uq_spot_check_finding_hazard"))

    id: Mapped[int] = mapped_column(primary_key=True)
    spot_check_id: Mapped[int] = mapped_column(ForeignKey("spot_check.id"), index=True)
    #: the drawn event, or the drawn hazard point (one of the two)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id"))
    hazard_id: Mapped[int | None] = mapped_column(ForeignKey("hazard_point.id"))
    passed: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(Text)
    checked_by: Mapped[str] = mapped_column(String(100))
    checked_at: Mapped[datetime]


class Patrol(Base):
    """巡查打卡 (§9.2 人员到位): who walked which grid of which community, when and where."""

    __tablename__ = "patrol"
    __table_args__ = (Index("ix_patrol_community_at", "community", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), index=True)
    community: Mapped[str] = mapped_column(String(60))
    grid: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime]
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text)


class HazardPoint(Base):
    """重点隐患整治点 (§9.2): reported by a community for a month, rectified with before/after evidence and
    verified (engine/oversight/hazards.py)."""

    __tablename__ = "hazard_point"
    __table_args__ = (Index("ix_hazard_point_community_month", "community", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community: Mapped[str] = mapped_column(String(60))
    #: the month it is reported for, "YYYY-MM" (Asia/Shanghai)
    month: Mapped[str] = mapped_column(String(7))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    address: Mapped[str] = mapped_column(String(300))
    #: reported | rectified | verified | rejected (verification found it not rectified: rectify again)
    status: Mapped[str] = mapped_column(String(10), default="reported")
    reported_by: Mapped[str] = mapped_column(String(100))
    reported_at: Mapped[datetime]
    before_photos: Mapped[list] = mapped_column(JSON, default=list)
    rectified_by: Mapped[str | None] = mapped_column(String(100))
    rectified_at: Mapped[datetime | None]
    rectification_note: Mapped[str | None] = mapped_column(Text)
    after_photos: Mapped[list] = mapped_column(JSON, default=list)
    verified_by: Mapped[str | None] = mapped_column(String(100))
    verified_at: Mapped[datetime | None]
    verify_note: Mapped[str | None] = mapped_column(Text)


class HazardMonth(Base):
    """A community's month for its hazard point: when it was reminded (the month's last working days
    with none reported) and when it was flagged (the month closed with none)."""

    __tablename__ = "hazard_month"
    __table_args__ = (UniqueConstraint("community", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community: Mapped[str] = mapped_column(String(60))
    month: Mapped[str] = mapped_column(String(7))
    reminded_at: Mapped[datetime | None]
    flagged_at: Mapped[datetime | None]


class Tally(Base):
    """The §8.6 indicators' counts kept per Asia/Shanghai day (and month) and party (issue #17): what
    engine/oversight/indicators.py `compute` counts — and the events received and the 督办 opened that the
    dashboard and the circular count — summed over a bucket, so a year is read from about
    twelve rows a party. Written only by engine/oversight/rollups.py, from the deadlines, events and audit
    trail; a bucket whose rows changed is listed in `tally_dirty` (by the database's triggers, migration
    0020) until it is counted again.

    `late_day`: the day a deadline due in the bucket was met, when that was after the bucket (the period must
    reach past it for the work to count as handled); `early_day`: the day of the order a return in the
    bucket answers, when that was before the bucket (the period must include it)."""

    __tablename__ = "tally"
    __table_args__ = (Index("ix_tally_level_grain_day", "level", "grain", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    grain: Mapped[str] = mapped_column(String(5))          # day | month
    day: Mapped[date] = mapped_column(Date)                # the bucket's first day
    level: Mapped[str] = mapped_column(String(10))         # community | unit | person
    party: Mapped[str] = mapped_column(String(100))
    late_day: Mapped[date | None] = mapped_column(Date)
    early_day: Mapped[date | None] = mapped_column(Date)
    due: Mapped[int] = mapped_column(Integer, default=0)
    handled: Mapped[int] = mapped_column(Integer, default=0)
    on_time: Mapped[int] = mapped_column(Integer, default=0)
    extended: Mapped[int] = mapped_column(Integer, default=0)
    handling_us: Mapped[int] = mapped_column(BigInteger, default=0)
    accept_due: Mapped[int] = mapped_column(Integer, default=0)
    accepted_on_time: Mapped[int] = mapped_column(Integer, default=0)
    closed: Mapped[int] = mapped_column(Integer, default=0)
    first_time: Mapped[int] = mapped_column(Integer, default=0)
    rated: Mapped[int] = mapped_column(Integer, default=0)
    satisfied: Mapped[int] = mapped_column(Integer, default=0)
    dispatched: Mapped[int] = mapped_column(Integer, default=0)
    returned: Mapped[int] = mapped_column(Integer, default=0)
    #: events registered in the pool (a community's; the dashboard's map)
    received: Mapped[int] = mapped_column(Integer, default=0)
    #: 督办 opened (§9.1, the circular's 响应超期 and 反馈不及时)
    late_response: Mapped[int] = mapped_column(Integer, default=0)
    late_feedback: Mapped[int] = mapped_column(Integer, default=0)
    #: 回访 recorded with the reporter reached and rating, and of those 满意 or 基本满意 (§8.6 群众满意率)
    revisited: Mapped[int] = mapped_column(Integer, default=0)
    revisit_satisfied: Mapped[int] = mapped_column(Integer, default=0)
    #: returns ruled unreasonable by the city (不合理退回, issue #19): a unit's; a community's orders' (not its 派错)
    unreasonable: Mapped[int] = mapped_column(Integer, default=0)
    #: the community's own steps (§8.1: 核实, 研判, 吹哨/派单, 核查) due, and of those done by their due time
    step_due: Mapped[int] = mapped_column(Integer, default=0)
    step_on_time: Mapped[int] = mapped_column(Integer, default=0)


class Revisit(Base):
    """回访 (§4.3 效果反馈, §8.6; as every 12345 rule asks): after an event closed, its community asks the
    reporter whether it was fixed. One row per closure asked about — a 不满意 that reopens the event (重新办理)
    leads to a second closure and a second 回访. Opened when the 回访 task starts, recorded when it is done
    (the community's task, or a channel's citizen update: engine/casework/revisits.py `record_revisit`).
    The citizen's satisfaction (§8.6 群众满意率) counts the rows recorded, by `recorded_at`."""

    __tablename__ = "revisit"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), index=True)
    instance_id: Mapped[int | None] = mapped_column(Integer)
    #: the event's reopenings before this closure (0: its first closure)
    round: Mapped[int] = mapped_column(Integer, default=0)
    #: whose work the reporter judges: the event's community, and the lead department where one handled it
    community: Mapped[str | None] = mapped_column(String(60))
    lead_unit: Mapped[str | None] = mapped_column(String(60))
    #: the closure asked about
    closed_at: Mapped[datetime | None]
    opened_at: Mapped[datetime]
    #: open | done
    status: Mapped[str] = mapped_column(String(10), default="open")
    recorded_at: Mapped[datetime | None] = mapped_column(index=True)
    recorded_by: Mapped[str | None] = mapped_column(String(100))
    #: how it was recorded: `task` (the community's 回访) or the channel of a citizen's own update
    via: Mapped[str | None] = mapped_column(String(40))
    #: was the reporter reached (接通); if not, why (未接通, 无人接听, 号码错误, 拒绝回访)
    reached: Mapped[bool | None] = mapped_column(Boolean)
    contact_result: Mapped[str | None] = mapped_column(String(20))
    #: 满意 | 基本满意 | 不满意 (reached only)
    rating: Mapped[str | None] = mapped_column(String(10))
    #: the reporter's own words, and the cause of a 不满意
    words: Mapped[str | None] = mapped_column(Text)
    cause: Mapped[str | None] = mapped_column(Text)
    #: this 不满意 reopened the event (重新办理, back to 研判)
    reopened: Mapped[bool] = mapped_column(Boolean, default=False)


class Delegation(Base):
    """下派 (issue #19): a unit's clerk passes one of the unit's ready tasks (签收受理, 到场, 处置反馈 …) to a
    sub-unit of its tree (中队, 所) or a person of it, with a sub-deadline inside the unit's own limit, and may
    take it back (收回). While `active` the assignee sees the task in 待办 and may complete it; the unit still
    does. The sub-deadline waits like a timer: the sweep's job claims due rows (PostgreSQL: FOR UPDATE SKIP
    LOCKED) for its yellow light (`warn_at`) and its miss (`due_at`), each once; the unit's own limit (a
    `deadline` row, §8.3) is untouched and counts for the unit (§8.6). engine/casework/delegation.py."""

    __tablename__ = "delegation"
    __table_args__ = (Index("ix_delegation_task_status", "task_id", "status"),
                      Index("ix_delegation_status_due", "status", "due_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), index=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    #: the work item passed down (its SpiffWorkflow task id: the same while the task is ready)
    task_id: Mapped[str] = mapped_column(String(36))
    task_spec: Mapped[str] = mapped_column(String(100))
    task_name: Mapped[str] = mapped_column(String(200))
    #: the unit whose order it is, and the unit's own limit the sub-deadline lies within (if the task has one)
    unit: Mapped[str] = mapped_column(String(60))
    deadline_id: Mapped[int | None] = mapped_column(ForeignKey("deadline.id"))
    #: to whom: a sub-unit of `unit`'s tree, or a person of it
    to_unit: Mapped[str | None] = mapped_column(String(60))
    to_person: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    passed_by: Mapped[str] = mapped_column(String(100))
    passed_at: Mapped[datetime]
    #: the sub-deadline and its yellow light
    due_at: Mapped[datetime]
    warn_at: Mapped[datetime]
    warned_at: Mapped[datetime | None]
    missed_at: Mapped[datetime | None]
    #: active | taken_back (收回) | done (the task completed) | ended (the task went otherwise: 撤单, 终止 …)
    status: Mapped[str] = mapped_column(String(12), default="active")
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[str | None] = mapped_column(String(100))
    end_reason: Mapped[str | None] = mapped_column(Text)


class ReturnRuling(Base):
    """The city authority's ruling on a return (退回, issue #19; engine/oversight/returns.py): one per return,
    the `whistle_returned` audit row it rules on. `unreasonable` (不合理退回): the return counts against the unit
    that returned (its 不合理退回数) and not as the community's misroute (派错) — nor against the community's
    first-time rate; `reasonable` (合理): reviewed, nothing moves. The return's unit, community and time are kept
    beside it, so the counts (engine/oversight/counting.py) and the trigger listing the days a ruling changes
    (migration 0032) read one row."""

    __tablename__ = "return_ruling"

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit.id"), unique=True, index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), index=True)
    unit: Mapped[str | None] = mapped_column(String(60))
    community: Mapped[str | None] = mapped_column(String(60))
    returned_at: Mapped[datetime]
    #: unreasonable | reasonable
    verdict: Mapped[str] = mapped_column(String(12))
    note: Mapped[str | None] = mapped_column(Text)
    ruled_by: Mapped[str] = mapped_column(String(100))
    ruled_at: Mapped[datetime]


class TallyDirty(Base):
    """A day whose `tally` rows no longer match what they count: written by the database's triggers on
    deadline, event, audit and supervision (migration 0020) in the writer's own transaction, removed by the refresh that
    counted the day again. `xid`: the writing transaction (PostgreSQL), so a day is listed once per writer."""

    __tablename__ = "tally_dirty"
    __table_args__ = (Index("ix_tally_dirty_day_xid", "day", "xid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    xid: Mapped[int | None] = mapped_column(BigInteger)
    #: PostgreSQL: counted while other writers were open; cleared by a refresh whose snapshot's xmin is at
    #: least this (engine/oversight/rollups.py `_settled`)
    settle_after: Mapped[int | None] = mapped_column(BigInteger)


class LiveFeed(Base):
    """What is new for the live inbox (issue #18): a row for each work item made (`work`) or gone (`done`) and
    each notification made (`notice`), written by the database's triggers on work_item and notification
    (migration 0029) in the writer's own transaction, so no insert, however made, is missed; on PostgreSQL the
    trigger also sends NOTIFY eventflow_live, delivered at commit. The live streams read it after an id
    (engine/notices/live.py); the assignee's columns let a `done` be checked against the reader's scope after the
    work item itself is gone. Ids are never reused (SQLite AUTOINCREMENT); the oldest rows are pruned."""

    __tablename__ = "live_feed"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))           # work | done | notice
    ref: Mapped[str] = mapped_column(String(36))            # the work item's id, or the notification's
    event_id: Mapped[int | None]
    role: Mapped[str | None] = mapped_column(String(40))
    assignee_kind: Mapped[str | None] = mapped_column(String(20))
    community: Mapped[str | None] = mapped_column(String(60))
    unit: Mapped[str | None] = mapped_column(String(60))
    person: Mapped[str | None] = mapped_column(String(100))


class ExportJob(Base):
    """导出任务 (issue #17): a whole-period export (the §9.1 circular, the §9.2 monthly report) built by the worker
    rather than inside the request (engine/exports/jobs.py). Written by the request that asks for it; the worker
    claims a queued row (FOR UPDATE SKIP LOCKED on PostgreSQL), builds the file as the requester under
    <media_dir>/exports/, and records done or failed; an expired file is deleted and the row kept (`expired`)."""

    __tablename__ = "export_job"
    __table_args__ = (Index("ix_export_job_username_id", "username", "id"),
                      Index("ix_export_job_status", "status", "id"),
                      # one queued or building job per asker and export: the same asked again finds it (0042)
                      UniqueConstraint("username", "pending_key", name="uq_export_job_pending"))

    id: Mapped[int] = mapped_column(primary_key=True)
    #: who asked: the file is built as them, and only they download it
    username: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))            # circular | monthly
    format: Mapped[str] = mapped_column(String(8))           # pdf | xlsx
    #: what was asked: circular {from, to}; monthly {community, month}
    params: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default="queued")   # queued | working | done | failed | expired
    #: the file's name under <media_dir>/exports/, once built
    file_name: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[int | None] = mapped_column(BigInteger)
    lines: Mapped[int | None]
    #: why it failed, in Chinese
    error: Mapped[str | None] = mapped_column(Text)
    #: how many times a worker took it (one left `working` by a dead worker is taken once more, then failed)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: what was asked (kind, format, params) while it is queued or being built; None once it is done or failed
    pending_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
