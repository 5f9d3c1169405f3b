"""The §8.6 counts kept per day and party (issue #17: a year's indicators in under a second).

What engine/oversight/indicators.py counts for a period — deadlines due, handled, on time, extended, their
handling time, acceptances; events closed, first time, rated, satisfied; 回访 reached and satisfied; orders
dispatched and returned, and the returns the city ruled unreasonable (per unit, and per community whose orders
they were) — is
kept in `tally` per Asia/Shanghai day and per month, for each community, unit and person. A period of whole
days is then read from about twelve month rows and some day rows per party, however many events it holds.

Exact at every moment: the database's triggers (migration 0020) list in `tally_dirty` every day whose rows a
write changes, in the writer's transaction; a read counts those days from the tables themselves, and the
refresh (a job of `eventflow worker`, engine/jobs.py; `eventflow rollups rebuild` for everything) counts them
again into `tally` and clears them. So the counts kept never differ from `indicators.compute(…, rollup=False)`,
which tests/engine/test_rollups.py checks after a simulated month.

Two days a row carries besides its own (docs/indicators.md):
- `late_day`: a deadline due in the bucket but met on a later day than the bucket's last counts as handled
  only in a period that ends after that day;
- `early_day`: a return in the bucket of an order dispatched before the bucket counts only in a period that
  starts on or before the order's day.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, case, delete, func, insert, literal, or_, select, text, update

from engine.core.clock import SHANGHAI
from engine.oversight.counting import (ACCEPTANCE, HANDLING, ORDER_LEVELS, RESPONSE, STEPS, closed_query,
                                       dispatched_query, microseconds, party_column, returned_query, revisit_query,
                                       shanghai_day)
from engine.store import locks
from engine.store.models import Deadline, Event, Revisit, Supervision, Tally, TallyDirty

LEVELS = ("community", "unit", "person")
MEASURES = ("due", "handled", "on_time", "extended", "handling_us", "accept_due", "accepted_on_time",
            "closed", "first_time", "rated", "satisfied", "dispatched", "returned",
            "received", "late_response", "late_feedback", "revisited", "revisit_satisfied", "unreasonable",
            "step_due", "step_on_time")
#: what the §8.6 indicators count (engine/oversight/indicators.py); the dashboard's map counts `received`,
#: the circular (§9.1) the 督办 opened
INDICATOR_MEASURES = MEASURES[:13] + ("revisited", "revisit_satisfied", "unreasonable", "step_due", "step_on_time")
#: the deadline counts of a day row, in `_deadline_query`'s order
DEADLINE_MEASURES = ("due", "handled", "on_time", "extended", "handling_us", "accept_due", "accepted_on_time",
                     "step_due", "step_on_time")
RECEIVED = ("received",)
SUPERVISED = ("late_response", "late_feedback")
#: the counts of a day row that each of `day_rows`' queries gives (a read that wants none of one's skips it)
CLOSED_MEASURES = ("closed", "first_time", "rated", "satisfied")
REVISIT_MEASURES = ("revisited", "revisit_satisfied")
DISPATCHED = ("dispatched",)
RETURN_MEASURES = ("returned", "unreasonable")
#: counted only when the row's late_day is none or before the period's end
LATE = ("handled", "handling_us")
#: counted only when the row's early_day is none or on or after the period's start
EARLY = ("returned", "unreasonable")
LOCK = "tally"
#: days one refresh of the worker counts at most: a write transaction of its own, so after migration 0020
#: (every day with data dirty) or a restore, writers never queue behind a whole year's counting (SQLite has
#: one writer); the next refresh goes on, and reads are exact meanwhile
DAYS_PER_REFRESH = 31


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), SHANGHAI)


def whole_days(start: datetime, end: datetime) -> tuple[date, date] | None:
    """(first day, day after the last) when [start, end) is whole Asia/Shanghai days, else None."""
    first, last = (t.astimezone(SHANGHAI) for t in (start, end))
    if first.timetz().replace(tzinfo=None) != time() or last.timetz().replace(tzinfo=None) != time():
        return None
    return first.date(), last.date()


def counts(session, level: str, first: date, last: date,
           measures: tuple[str, ...] = INDICATOR_MEASURES) -> dict[str, dict[str, float]]:
    """{party: {measure: number}} of the days [first, last), for each party with one of `measures` not zero:
    whole months from their month rows, the other days from their day rows, the days listed dirty from the
    tables. `handling_us` is given as `handling_hours`."""
    dirty = set(session.scalars(select(TallyDirty.day).where(TallyDirty.day >= first, TallyDirty.day < last)
                                .distinct()))
    months, days = _segments(first, last, dirty)
    found: dict[str, dict[str, float]] = defaultdict(lambda: dict.fromkeys(MEASURES, 0))
    buckets = ([and_(Tally.grain == "month", Tally.day.in_(months))] if months else []) + \
              [and_(Tally.grain == "day", Tally.day >= a, Tally.day < b) for a, b in days]
    if buckets:
        late_ok = or_(Tally.late_day.is_(None), Tally.late_day < last)
        early_ok = or_(Tally.early_day.is_(None), Tally.early_day >= first)
        sums = [func.sum(case((late_ok, getattr(Tally, m)), else_=0)) if m in LATE
                else func.sum(case((early_ok, getattr(Tally, m)), else_=0)) if m in EARLY
                else func.sum(getattr(Tally, m)) for m in MEASURES]
        for party, *values in session.execute(select(Tally.party, *sums).where(Tally.level == level, or_(*buckets))
                                              .group_by(Tally.party)):
            found[party] = dict(zip(MEASURES, (int(v or 0) for v in values), strict=True))
    for a, b in _runs(sorted(dirty)):
        for row in day_rows(session, a, b, levels=(level,), measures=measures):
            counted = found[row["party"]]
            for m in MEASURES:
                if m in LATE and row["late_day"] is not None and row["late_day"] >= last:
                    continue
                if m in EARLY and row["early_day"] is not None and row["early_day"] < first:
                    continue
                counted[m] += row[m]
    out = {}
    for party, c in found.items():
        if any(c[m] for m in measures):
            out[party] = {m: c[m] for m in measures if m != "handling_us"}
            if "handling_us" in measures:
                out[party]["handling_hours"] = c["handling_us"] / 3_600_000_000
    return out


def _segments(first: date, last: date, dirty: set) -> tuple[list[date], list[tuple[date, date]]]:
    """The whole months of [first, last) with no dirty day, and the runs of the other days that are not dirty."""
    months, loose = [], []
    day = first
    while day < last:
        following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        if day.day == 1 and following <= last and not any(day <= d < following for d in dirty):
            months.append(day)
            day = following
            continue
        if day not in dirty:
            loose.append(day)
        day += timedelta(days=1)
    return months, list(_runs(loose))


def _runs(days: list[date]):
    """[start, end) of each run of consecutive days."""
    run = None
    for day in days:
        if run and day == run[1]:
            run[1] = day + timedelta(days=1)
            continue
        if run:
            yield tuple(run)
        run = [day, day + timedelta(days=1)]
    if run:
        yield tuple(run)


def day_rows(session, first: date, last: date, levels=LEVELS, measures: tuple[str, ...] = MEASURES) -> list[dict]:
    """The day rows of [first, last), counted from the tables: one per (level, party, day, late_day,
    early_day), each with every measure. `measures`: the counts the caller reads; the queries that give none
    of them are not run (their counts stay 0): the circular's 督办 of a day not yet kept is one query, not
    seven (the refresh, which keeps every count, asks for all)."""
    start, end = midnight(first), midnight(last)
    rows: dict[tuple, dict] = defaultdict(lambda: dict.fromkeys(MEASURES, 0))

    def wanted(group):
        return not set(group).isdisjoint(measures)

    for level in levels:
        for day, party, late, *values in session.execute(_deadline_query(session, level, start, end)) \
                if wanted(DEADLINE_MEASURES) else ():
            rows[(level, party, day, late, None)].update(
                zip(DEADLINE_MEASURES, (int(v or 0) for v in values), strict=True))
        for day, party, closed, first_time, rated, satisfied in session.execute(
                closed_query(session, level, start, end, by_day=True)) if wanted(CLOSED_MEASURES) else ():
            rows[(level, party, day, None, None)].update(closed=int(closed), first_time=int(first_time or 0),
                                                         rated=int(rated or 0), satisfied=int(satisfied or 0))
        for day, party, category, number in session.execute(_supervision_query(session, level, start, end)) \
                if wanted(SUPERVISED) else ():
            rows[(level, party, day, None, None)][category] = int(number)
        if level == "community" and wanted(RECEIVED):
            for day, community, number in session.execute(_received_query(session, start, end)):
                rows[(level, community, day, None, None)]["received"] = int(number)
        revisits = revisit_query(session, level, start, end, by_day=True) if wanted(REVISIT_MEASURES) else None
        for day, party, reached, satisfied in session.execute(revisits) if revisits is not None else ():
            rows[(level, party, day, None, None)].update(revisited=int(reached), revisit_satisfied=int(satisfied or 0))
        if level in ORDER_LEVELS:
            for day, party, dispatched in session.execute(dispatched_query(session, start, end, True, level)) \
                    if wanted(DISPATCHED) else ():
                rows[(level, party, day, None, None)]["dispatched"] = int(dispatched)
            for day, party, early, returned, unreasonable in session.execute(
                    returned_query(session, start, end, True, level)) if wanted(RETURN_MEASURES) else ():
                rows[(level, party, day, None, early)].update(returned=int(returned),
                                                              unreasonable=int(unreasonable or 0))
    return [{"grain": "day", "level": level, "party": party, "day": day, "late_day": late, "early_day": early,
             **counted} for (level, party, day, late, early), counted in rows.items() if party]


def _deadline_query(session, level: str, start: datetime, end: datetime):
    """(day due, party, late day, due, handled, on time, extended, handling µs, acceptances due, accepted on
    time, the community's steps due, done on time) of the deadlines due in [start, end), per day and party."""
    met_day, due_day = shanghai_day(session, Deadline.met_at), shanghai_day(session, Deadline.due_at)
    handling, acceptance, step = (Deadline.kind.in_(HANDLING), Deadline.kind.in_(ACCEPTANCE),
                                  Deadline.kind.in_(STEPS))
    met = Deadline.met_at.is_not(None)
    on_time = and_(met, Deadline.met_at <= Deadline.due_at)

    def one(condition, value=1):
        return case((condition, value), else_=0)

    rows = (select(due_day.label("day"), party_column(level).label("party"),
                   case((met_day > due_day, met_day)).label("late"),
                   one(handling).label("due"), one(and_(handling, met)).label("handled"),
                   one(and_(handling, on_time)).label("on_time"),
                   one(and_(handling, Deadline.extended.is_(True))).label("extended"),
                   one(and_(handling, met), microseconds(session, Deadline.met_at, Deadline.started_at)).label("us"),
                   one(acceptance).label("accept_due"), one(and_(acceptance, on_time)).label("accepted"),
                   one(step).label("step_due"), one(and_(step, on_time)).label("step_on_time"))
            .where(Deadline.due_at >= start, Deadline.due_at < end, Deadline.kind.in_(HANDLING + ACCEPTANCE + STEPS),
                   Deadline.status != "superseded")
            .subquery())
    return (select(rows.c.day, rows.c.party, rows.c.late,
                   *[func.sum(rows.c[c]) for c in ("due", "handled", "on_time", "extended", "us", "accept_due",
                                                   "accepted", "step_due", "step_on_time")])
            .where(rows.c.party.is_not(None))
            .group_by(rows.c.day, rows.c.party, rows.c.late))


def _received_query(session, start: datetime, end: datetime):
    """(day, community, events registered) of [start, end)."""
    day = shanghai_day(session, Event.created_at).label("day")
    rows = select(day, Event.community.label("community")).where(
        Event.created_at >= start, Event.created_at < end, Event.community.is_not(None)).subquery()
    return select(rows.c.day, rows.c.community, func.count()).group_by(rows.c.day, rows.c.community)


def _supervision_query(session, level: str, start: datetime, end: datetime):
    """(day, party, category, 督办 opened) of [start, end), as the circular (§9.1) names its parties: the
    unit, the person, or the community when neither is named."""
    named = {"unit": Supervision.unit, "person": Supervision.person}
    party = named.get(level)
    if party is None:
        party = case((and_(func.coalesce(Supervision.unit, "") == "", func.coalesce(Supervision.person, "") == ""),
                      Supervision.community))
    rows = select(shanghai_day(session, Supervision.opened_at).label("day"), party.label("party"),
                  case((Supervision.kind.in_(RESPONSE), "late_response"), else_="late_feedback").label("category"),
                  ).where(Supervision.opened_at >= start, Supervision.opened_at < end).subquery()
    return (select(rows.c.day, rows.c.party, rows.c.category, func.count())
            .where(func.coalesce(rows.c.party, "") != "").group_by(rows.c.day, rows.c.party, rows.c.category))


def refresh(session, limit_days: int | None = None) -> list[date]:
    """Count every day listed dirty again into `tally` (its day rows, then its month's rows), and clear what
    was listed; one refresh at a time (a lock for the transaction). The days counted."""
    locks.for_transaction(session, LOCK)
    writers = _open_writers(session)
    listed = session.execute(select(TallyDirty.id, TallyDirty.day, TallyDirty.settle_after)).all()
    if not listed:
        return []
    days = sorted({row.day for row in listed})
    if limit_days is not None:
        days = days[:limit_days]
        listed = [row for row in listed if row.day <= days[-1]]
    for a, b in _runs(days):
        session.execute(delete(Tally).where(Tally.grain == "day", Tally.day >= a, Tally.day < b))
        rows = day_rows(session, a, b)
        for chunk in range(0, len(rows), 5000):
            session.execute(insert(Tally), rows[chunk:chunk + 5000])
    for month in sorted({d.replace(day=1) for d in days}):
        _month_rows(session, month)
    settled, kept, settle_after = _settled(listed, writers)
    for chunk in range(0, len(settled), 5000):
        session.execute(delete(TallyDirty).where(TallyDirty.id.in_(settled[chunk:chunk + 5000])))
    for chunk in range(0, len(kept), 5000):
        session.execute(update(TallyDirty).where(TallyDirty.id.in_(kept[chunk:chunk + 5000]))
                        .values(settle_after=settle_after))
    return days


def _open_writers(session) -> tuple[int, int | None] | None:
    """PostgreSQL, before the count: (this transaction's snapshot xmax, the oldest transaction id of another
    session of this database that has written and not ended, or None); None on SQLite."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    xmax, xids = session.execute(text(
        "SELECT txid_snapshot_xmax(txid_current_snapshot()), "
        "(SELECT array_agg(backend_xid::text) FROM pg_stat_activity WHERE datname = current_database() "
        "AND backend_xid IS NOT NULL AND pid <> pg_backend_pid())")).one()
    # backend_xid is 32 bits; the snapshot's ids carry the epoch: the open ones began before xmax
    full = [(xmax & ~0xFFFFFFFF) | int(x) for x in xids or ()]
    full = [x - (1 << 32) if x >= xmax else x for x in full]
    return xmax, min(full, default=None)


def _settled(listed, writers) -> tuple[list[int], list[int], int | None]:
    """Which listed rows this count settles: (ids to clear, ids to keep listed, the xid after which those
    settle).

    PostgreSQL: a writer of this database whose transaction was open when this count began may have changed
    a listed day without listing it — its trigger read the event before another transaction closed it (the
    closer lists the closing day) — and its rows are not visible to this count. So a day counted while other
    writers were open stays listed, and is counted again and cleared by a refresh that began when every one
    of them had ended (no writer open then with an id below the kept row's `settle_after`). A count that began
    with no other writer open clears at once. SQLite has one writer at a time: nothing is open beside it."""
    everything = [row.id for row in listed]
    if writers is None or writers[1] is None:
        return everything, [], None
    xmax, oldest_open = writers
    return ([row.id for row in listed if row.settle_after is not None and row.settle_after <= oldest_open],
            [row.id for row in listed if row.settle_after is None], xmax)


def _month_rows(session, month: date) -> None:
    """The month's rows, summed from its day rows: a late day within the month, or an early day within it, is
    no longer beyond the bucket."""
    following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    session.execute(delete(Tally).where(Tally.grain == "month", Tally.day == month))
    days = (select(Tally.level, Tally.party,
                   case((Tally.late_day >= following, Tally.late_day)).label("late_day"),
                   case((Tally.early_day < month, Tally.early_day)).label("early_day"),
                   *[getattr(Tally, m) for m in MEASURES])
            .where(Tally.grain == "day", Tally.day >= month, Tally.day < following).subquery())
    keys = [days.c.level, days.c.party, days.c.late_day, days.c.early_day]
    summed = select(literal("month"), literal(month, Tally.day.type), *keys,
                    *[func.sum(days.c[m]) for m in MEASURES]).group_by(*keys)
    session.execute(insert(Tally).from_select(["grain", "day", "level", "party", "late_day", "early_day",
                                               *MEASURES], summed))


def rebuild(session) -> int:
    """List every day from the first with data to the last as dirty and count them all (`eventflow rollups
    rebuild`); the days counted."""
    from engine.store.models import Audit
    edges = []
    for column in (Deadline.due_at, Event.closed_at, Event.created_at, Audit.at, Supervision.opened_at,
                   Revisit.recorded_at):   # a ruling's return is an audit row: its day is among Audit.at's
        low, high = session.execute(select(func.min(column), func.max(column))).one()
        edges += [t.astimezone(SHANGHAI).date() for t in (low, high) if t is not None]
    if not edges:
        return 0
    first, last = min(edges), max(edges)
    session.execute(insert(TallyDirty), [{"day": first + timedelta(days=i)} for i in range((last - first).days + 1)])
    return len(refresh(session))
