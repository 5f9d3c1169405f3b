"""The live inbox (issue #18): what is new for one user since a cursor — work made for them (待办), work of
theirs gone (done by them or a colleague), and messages to them (消息) — read from the live feed
(`live_feed`, written by triggers in the writer's own transaction: migration 0029) and shown exactly as the
lists show it: the same scoped queries (engine/casework/tasks.py `todo`, engine/notices/inbox.py `messages`,
engine/accounts/permissions.py), the same redaction of sensitive events (engine/accounts/privacy.py) and the
same audit of every read of one's content.

**The cursor.** A feed id says where a reader is, but on PostgreSQL ids are handed out when a row is written
and become visible when its transaction commits, not in id order: a reader that saw id 11 may see id 10
commit a moment later. So the cursor is the highest id seen (`high`) and the ids below it not seen yet
(`gaps`), each read again until it turns up or `GAP_WAIT_S` has passed (a rolled-back transaction's id never
turns up). Its text — `high` or `high:gap,gap` — is the stream's SSE `id`, sent back as `Last-Event-ID`
when the browser reconnects. On SQLite writers commit one at a time in id order: no gaps."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, or_, select

from engine.accounts import permissions, privacy
from engine.casework import tasks
from engine.core.errors import InvalidData
from engine.core.ids import MAX_ID
from engine.notices import inbox
from engine.pool import reading
from engine.store import paging
from engine.store.models import Delegation, Event, LiveFeed, Notification, WorkItem
from engine.store.wakeups import newest_id

#: what a feed row says: a work item made, a work item gone, a notification made
WORK, DONE, NOTICE = "work", "done", "notice"
#: feed rows read at once (a reader far behind reads again at once)
BATCH = 200
#: the feed rows kept: a reader further behind gets what is left (its lists, read again, have the rest)
KEEP = 20_000
#: a missing id below the cursor is looked for this long (seconds), then given up
GAP_WAIT_S = 30.0
#: at most this many missing ids are looked for (the newest), and a new reader looks this far back
MAX_GAPS, GAP_SPAN = 100, 64
#: the fields of a task's event the live 待办 shows (as the 待办 page does)
EVENT_FIELDS = ("id", "number", "source", "type_code", "description", "community", "location")


@dataclass
class Cursor:
    """Where a reader is in the feed: the highest id seen, and the ids below it not seen yet with when they were
    first missed (the reader's monotonic clock, seconds)."""

    high: int = 0
    gaps: dict[int, float] = field(default_factory=dict)

    def text(self) -> str:
        return str(self.high) + (":" + ",".join(map(str, sorted(self.gaps))) if self.gaps else "")

    @classmethod
    def parse(cls, text: str, name: str, now: float) -> "Cursor":
        """A cursor's text as `text()` wrote it (Last-Event-ID, `?since=`); 422 naming `name` if it is none."""
        high, colon, gaps = text.strip().partition(":")
        numbers = [high, *(gaps.split(",") if colon else [])]
        if not all(n.isascii() and n.isdigit() and len(n) <= 10 and int(n) <= MAX_ID for n in numbers) \
                or len(numbers) > MAX_GAPS + 1 or any(int(g) >= int(high) for g in numbers[1:]):
            raise InvalidData([{"field": name, "reason": "应为上次收到的事件编号，如 120 或 120:118,119 (the id of the "
                                                         "last event received, e.g. 120 or 120:118,119)"}])
        return cls(int(high), {int(g): now for g in numbers[1:]})

    def after(self, seen: list[int], now: float) -> "Cursor":
        """The cursor once the rows `seen` (ascending, as read) are read: a missing id between them or above the
        old `high` is looked for from `now`; one looked for longer than GAP_WAIT_S is given up."""
        high = max([self.high, *seen])
        found = set(seen)
        gaps = {i: t for i, t in self.gaps.items() if i not in found and now - t < GAP_WAIT_S}
        newer = [i for i in seen if i > self.high]
        if newer:
            start = max(self.high + 1, high - GAP_SPAN * 4)
            gaps.update({i: now for i in range(start, high) if i not in found})
        if len(gaps) > MAX_GAPS:
            gaps = dict(sorted(gaps.items())[-MAX_GAPS:])
        return Cursor(high, gaps)


def position(session, now: float) -> Cursor:
    """Where a new reader starts: after the newest row, still looking for the ids missing among the last
    GAP_SPAN (a transaction that wrote one may not have committed yet)."""
    present = list(session.scalars(select(LiveFeed.id).order_by(LiveFeed.id.desc()).limit(GAP_SPAN)))
    if not present:
        return Cursor(newest_id(session))
    high = present[0]
    return Cursor(high, {i: now for i in range(max(high - GAP_SPAN, 1), high) if i not in set(present)})


@dataclass
class News:
    """What is new for a user: `items` in the feed's order, the cursor after them, whether a task of theirs was
    made or went (the 待办 count moved), and whether the batch was full (read again at once)."""

    items: list[dict]
    cursor: Cursor
    work_moved: bool = False
    more: bool = False


def news(cmd, cursor: Cursor, now: float) -> News:
    """The feed after `cursor` as `cmd.user` may read it, each item with its feed row's id (`feed`):
    `{"kind": "work", "task", "event", "sensitive"}` for
    a task of theirs made (as 待办 lists it), `{"kind": "done", "task_id"}` for one gone that was theirs to do,
    `{"kind": "notice", "notice", "sensitive"}` for a message to them (as 消息 lists it: a sensitive event they
    may not see without its number or text). `sensitive`: the event is one of Table A.1 rows 1–3, so what
    leaves the page (the system's notification) says only that there is one."""
    session = cmd.session
    wanted = LiveFeed.id > cursor.high
    if cursor.gaps:
        wanted = or_(wanted, LiveFeed.id.in_(sorted(cursor.gaps)))
    rows = list(session.scalars(select(LiveFeed).where(wanted).order_by(LiveFeed.id).limit(BATCH)))
    after = cursor.after([r.id for r in rows], now)
    if not rows:
        return News([], after)
    shown = {**_work(cmd, [r for r in rows if r.kind == WORK]), **_done(cmd, [r for r in rows if r.kind == DONE]),
             **_notices(cmd, [r for r in rows if r.kind == NOTICE])}
    passed = _passed(cmd, [r for r in rows if r.kind == NOTICE and r.id in shown], shown)
    items, listed = [], set()
    for r in rows:
        for item in (shown[r.id], *passed.get(r.id, ())) if r.id in shown else ():
            # a task once in the live 待办 of this batch is not brought again until it is gone: a work item made
            # for the unit and passed down before it is read shows at its making, so its pass's notice adds nothing
            if item["kind"] == WORK:
                if item["task"]["id"] in listed:
                    continue
                listed.add(item["task"]["id"])
            elif item["kind"] == DONE:
                listed.discard(item["task_id"])
            items.append({**item, "feed": r.id})
    # the user's count moves only with a task of theirs made or gone: those are the items shown
    return News(items, after, any(i["kind"] in (WORK, DONE) for i in items), len(rows) == BATCH)


def _sensitive(cmd, event_ids) -> set[int]:
    return {e.id for e in privacy.sensitive_among(cmd.session, cmd.catalogs, event_ids)}


def _work(cmd, rows) -> dict[int, dict]:
    """The tasks made that the user may see and do, as 待办 lists them (the same scoped query), with their
    events as the 待办 page shows them (each read of a sensitive one's content recorded)."""
    if not rows:
        return {}
    found = {t["id"]: t for t in tasks.todo(cmd, paging.PageRequest(len(rows)), ids=[r.ref for r in rows]).items}
    if not found:
        return {}
    events = reading.events_of(cmd, {t["event_id"] for t in found.values()})
    sensitive = _sensitive(cmd, events)
    shown = {}
    for row in rows:
        task = found.get(row.ref)
        if task is not None:
            event = events.get(task["event_id"], {})
            shown[row.id] = {"kind": WORK, "task": {k: v for k, v in task.items() if k != "form"},
                             "event": {k: event.get(k) for k in EVENT_FIELDS},
                             "sensitive": task["event_id"] in sensitive}
    return shown


def _passed(cmd, rows, shown) -> dict[int, list[dict]]:
    """下派 (issue #19) makes no work item: the unit's stays, and the person or sub-unit it is passed to now sees
    it in 待办. So the notice of a passing (`delegated`) brings the task to their live 待办 as work made, and the
    notice of taking it back (`delegation_taken_back`) takes it off as work gone, unless they still see it.

    Each notice brings its own pass's task, once: the pass it tells of (`_matched`). Two passes of one event read
    together (the task passed, taken back and passed again; its next task passed after the first was done) are
    two notices, each with its own pass — never every pass of the event for each notice."""
    kinds = {row.id: shown[row.id]["notice"].get("kind") for row in rows}
    rows = [row for row in rows if kinds[row.id] in ("delegated", "delegation_taken_back")]
    if not rows:
        return {}
    passes = list(cmd.session.execute(
        select(Delegation.id, Delegation.event_id, Delegation.task_id, Delegation.status, Delegation.to_unit,
               Delegation.to_person, Delegation.passed_at, Delegation.ended_at)
        .where(Delegation.event_id.in_({r.event_id for r in rows})).order_by(Delegation.id)).all())
    still = {t["id"] for t in tasks.todo(cmd, paging.PageRequest(max(len(passes), 1)),
                                         ids=sorted({p.task_id for p in passes})).items} if passes else set()
    found = {}
    for row, told in _matched(cmd, rows, kinds, passes).items():
        if told is None:
            found[row] = []
        elif kinds[row] == "delegated":
            made = _work(cmd, [_Ref(row, told.task_id)]).get(row) \
                if told.status == "active" and told.task_id in still else None
            found[row] = [made] if made is not None else []
        else:
            found[row] = [{"kind": DONE, "task_id": told.task_id}] \
                if told.status == "taken_back" and told.task_id not in still else []
    return found


def _matched(cmd, rows, kinds, passes) -> dict[int, object]:
    """Each 下派 notice's pass (or None): the pass of its event to its recipient made (`delegated`: passed_at) or
    taken back (ended_at) at the notice's moment. Passes alike in all three (made in the same instant) go to the
    notices in the order both were written: the first such notice the first such pass (by id)."""
    notices = {n.id: n for n in cmd.session.scalars(
        select(Notification).where(Notification.id.in_([int(row.ref) for row in rows])))}
    taken: set[int] = set()
    found = {}
    for row in sorted(rows, key=lambda r: int(r.ref)):
        notice = notices.get(int(row.ref))
        found[row.id] = None
        if notice is None:
            continue
        for told in passes:
            to = told.to_unit if notice.recipient_kind == "unit" else told.to_person
            moment = told.passed_at if kinds[row.id] == "delegated" else told.ended_at
            if told.id not in taken and told.event_id == notice.event_id and to == notice.recipient \
                    and moment == notice.at:
                taken.add(told.id)
                found[row.id] = told
                break
    return found


@dataclass
class _Ref:
    """A task named by a feed row other than its own (`_work` reads `id` and `ref`)."""
    id: int
    ref: str


def _done(cmd, rows) -> dict[int, dict]:
    """The tasks gone that were the user's to do (`may_work_on`, from the assignee the feed kept, or passed down
    to them: a 下派 to them or their unit that was in force when it went, done or still active), of events they
    may see."""
    if not rows:
        return {}
    user, catalogs = cmd.user, cmd.catalogs
    events = {e.id: e for e in cmd.session.execute(select(Event.id, Event.type_code, Event.reporter)
                                                   .where(Event.id.in_({r.event_id for r in rows})))}
    seen = [row for row in rows if (event := events.get(row.event_id)) is not None
            and permissions.may_see_sensitive(user, catalogs, event.type_code, event.reporter)]
    passed = {r.ref for r in seen}
    if passed:
        passed = set(cmd.session.scalars(select(Delegation.task_id).where(
            Delegation.task_id.in_(passed), Delegation.status.in_(("active", "done")),
            permissions.delegated_to(user, catalogs))))
    shown = {}
    for row in seen:
        item = WorkItem(role=row.role, assignee_kind=row.assignee_kind, community=row.community, unit=row.unit,
                        person=row.person)
        if row.ref in passed or permissions.may_work_on(user, item, catalogs):
            shown[row.id] = {"kind": DONE, "task_id": row.ref}
    return shown


def _notices(cmd, rows) -> dict[int, dict]:
    """The messages to the user, as 消息 lists them (the same query, redaction and audit)."""
    if not rows:
        return {}
    _total, found = inbox.messages(cmd, page=paging.PageRequest(len(rows)), ids=[int(r.ref) for r in rows])
    by_id = {str(n["id"]): n for n in found.items}
    sensitive = _sensitive(cmd, {r.event_id for r in rows})
    return {row.id: {"kind": NOTICE, "notice": by_id[row.ref],
                     "sensitive": bool(by_id[row.ref].get("sensitive")) or row.event_id in sensitive}
            for row in rows if row.ref in by_id}


def task_count(cmd) -> int:
    """How many tasks wait for the user (the 待办 badge), as the pages count them."""
    return tasks.count_for(cmd.session, cmd.user, cmd.catalogs)


def prune(cmd, keep: int = KEEP) -> list[int]:
    """Keep the newest `keep` feed rows (a job of `eventflow worker`: engine/jobs.py); [how many went] or []."""
    newest = newest_id(cmd.session)
    if newest <= keep:
        return []
    gone = cmd.session.execute(delete(LiveFeed).where(LiveFeed.id <= newest - keep)).rowcount
    return [gone] if gone else []
