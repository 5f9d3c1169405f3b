"""The indicators counted in the database (issue #17, engine/oversight/indicators.py) equal the counting they
replace — every row loaded into Python, kept here as `reference` — on a simulated month of a few hundred events
shaped like real ones (bench/year.py: returns, failed checks, reopenings, extensions, missed limits), for
every level, a month, parts of it, a period with no whole day, and the dashboard's trend. Both databases."""
from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, insert, select

from bench.year import _rows
from engine.core import contracts
from engine.core.clock import SHANGHAI
from engine.oversight import indicators
from engine.oversight.indicators import ACCEPTANCE, HANDLING, _indicators
from engine.store.models import Audit, Deadline, Event, Instance, ProcessVersion, ReturnRuling, Supervision
from handlers import actions
from tests.engine.conftest import load_user

COMMUNITIES = ["lg-yanjiang", "lg-longgang", "lg-fangyan", "lg-xincheng"]
DEPARTMENTS = ["gongan", "zhifa", "shijian", "xiaofang"]


# --- the counting before issue #17, row by row in Python (engine/oversight/indicators.py at ad0bf47) ---
def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def _party(level: str, row: Deadline) -> str | None:
    if level == "unit":
        return row.unit
    if level == "person":
        return row.person or row.met_by     # named on it, or who did the work that met it
    return row.community if not row.unit and not row.person else None


def reference(session, level: str, start: datetime, end: datetime) -> dict[str, dict]:
    """{party: {indicator: {value, numerator, denominator}}} for every party with something to count."""
    counts: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))

    # deadlines: handling and acceptance obligations due in the period
    for row in session.scalars(select(Deadline).where(Deadline.due_at >= start, Deadline.due_at < end,
                                                      Deadline.kind.in_(HANDLING + ACCEPTANCE),
                                                      Deadline.status != "superseded")):
        party = _party(level, row)
        if party is None:
            continue
        c = counts[party]
        met_at, due_at = _utc(row.met_at), _utc(row.due_at)
        done = met_at is not None and met_at < end
        if row.kind in HANDLING:
            c["due"] += 1
            c["handled"] += done
            c["on_time"] += done and met_at <= due_at
            c["extended"] += bool(row.extended)
            if done:
                c["handling_hours"] += (met_at - _utc(row.started_at)).total_seconds() / 3600
        else:
            c["accept_due"] += 1
            c["accepted_on_time"] += done and met_at <= due_at

    # events closed in the period: first time or not, and the community's rating of the lead unit
    closed = list(session.scalars(select(Event).where(Event.status == "closed", Event.closed_at >= start,
                                                      Event.closed_at < end)))
    ids = [e.id for e in closed]
    trail = defaultdict(list)
    if ids:
        for audit in session.scalars(select(Audit).where(Audit.event_id.in_(ids),
                                                         Audit.action.in_((actions.WHISTLE_RETURNED, contracts.TASK_COMPLETED,
                                                                           "reopened")))
                                     .order_by(Audit.id)):   # written order: the last rating is the last one
            trail[audit.event_id].append(audit)
    people = _people_of(session, ids) if level == "person" else {}
    # the returns the city ruled unreasonable (issue #19): not a community's misroute
    unreasonable = set(session.scalars(select(ReturnRuling.audit_id).where(ReturnRuling.verdict == "unreasonable")))
    for event in closed:
        audits = trail[event.id]
        first = (event.reopen_count or 0) == 0 and not any(
            (a.action == actions.WHISTLE_RETURNED and not (level == "community" and a.id in unreasonable))
            or a.action == "reopened"
            or (a.action == contracts.TASK_COMPLETED and isinstance(a.data, dict) and a.data.get(contracts.CHECK_PASSED) is False)
            for a in audits)
        ratings = [a.data.get(contracts.CHECK_RATING) for a in audits if a.action == contracts.TASK_COMPLETED
                   and isinstance(a.data, dict) and a.data.get(contracts.CHECK_RATING)]
        for party in _event_parties(level, event, people):
            counts[party]["closed"] += 1
            counts[party]["first_time"] += first
            if ratings and level != "person" and event.lead_unit:   # the community's rating of a department
                counts[party]["rated"] += 1
                counts[party]["satisfied"] += ratings[-1] == "满意"

    # whistle orders dispatched in the period, and those returned: per unit, and per community whose event it is
    if level in ("unit", "community"):  # a return counts against the order it returns: dispatched in the period
        dispatched = set()
        community_of = dict(session.execute(select(Event.id, Event.community)).all())
        audits = list(session.scalars(select(Audit).where(Audit.at >= start, Audit.at < end,
                                                          Audit.action.in_((actions.WHISTLE_DISPATCHED, actions.WHISTLE_RETURNED)))
                                      .order_by(Audit.id)))
        for audit in audits:
            data = audit.data if isinstance(audit.data, dict) else {}
            if audit.action == actions.WHISTLE_DISPATCHED and data.get("lead_unit"):
                party = data["lead_unit"] if level == "unit" else community_of.get(audit.event_id)
                if party:
                    counts[party]["dispatched"] += 1
                dispatched.add((audit.event_id, data["lead_unit"]))
            elif audit.action == actions.WHISTLE_RETURNED and (audit.event_id, data.get("unit")) in dispatched:
                party = data["unit"] if level == "unit" else community_of.get(audit.event_id)
                if party:
                    counts[party]["returned"] += 1
                    counts[party]["unreasonable"] += audit.id in unreasonable

    # §9.3 the city authority's spot checks: findings recorded in the period count for the community
    if level == "community":
        from engine.oversight.spot_checks import pass_counts
        for community, (passed, checked) in pass_counts(session, start, end).items():
            counts[community]["spot_passed"] += passed
            counts[community]["spot_checked"] += checked

    return {party: _indicators(c, level) for party, c in sorted(counts.items())}


def _people_of(session, event_ids) -> dict[int, set]:
    """The people with a handling obligation on each event: named on it, or who did the work that met it."""
    found = defaultdict(set)
    for event_id, person, met_by in session.execute(select(Deadline.event_id, Deadline.person, Deadline.met_by).where(
            Deadline.event_id.in_(event_ids), Deadline.kind.in_(HANDLING), Deadline.status != "superseded")):
        if person or met_by:
            found[event_id].add(person or met_by)
    return found


def _event_parties(level, event, people) -> list[str]:
    if level == "community":
        return [event.community] if event.community else []
    if level == "unit":
        return [event.lead_unit] if event.lead_unit else []
    return sorted(people.get(event.id, ()))



# --- the comparison ---
def _fill(sessions, events: int) -> None:
    """`events` events over October 2026 (bench/year.py's shapes, its year squeezed into the month)."""
    with sessions() as session:
        version_id = session.scalar(select(func.min(ProcessVersion.id)))
        audit_id = [session.scalar(select(func.max(Audit.id))) or 0]
        first = (session.scalar(select(func.max(Event.id))) or 0) + 1
        rows = _rows(random.Random(17), range(first, first + events), version_id, COMMUNITIES, DEPARTMENTS, audit_id)
        year_start = datetime(2026, 1, 1, tzinfo=SHANGHAI).astimezone(timezone.utc)
        october = datetime(2026, 10, 1, tzinfo=SHANGHAI).astimezone(timezone.utc)

        def squeeze(value):             # the year's instants into October, keeping the gaps of an event
            return october + (value - year_start) / 12 if isinstance(value, datetime) and value >= year_start else value
        for model in (Event, Instance, Deadline, Audit, Supervision):
            session.execute(insert(model), [{k: squeeze(v) for k, v in row.items()} for row in rows[model]])
        # a few named people, an empty unit and a superseded deadline, as the engine writes them too
        for row in session.scalars(select(Deadline).where(Deadline.id % 7 == 0)):
            row.person = f"named-{row.id % 3}"
        for row in session.scalars(select(Deadline).where(Deadline.id % 11 == 0)):
            row.status = "superseded"
        # the city's rulings (issue #19): every third return unreasonable, some others reasonable
        for audit in session.scalars(select(Audit).where(Audit.action == actions.WHISTLE_RETURNED)):
            if audit.id % 3 == 0 or audit.id % 5 == 0:
                session.add(ReturnRuling(audit_id=audit.id, event_id=audit.event_id, unit=(audit.data or {}).get("unit"),
                                         returned_at=audit.at, ruled_by="city1", ruled_at=audit.at + timedelta(hours=2),
                                         verdict="unreasonable" if audit.id % 3 == 0 else "reasonable"))
        session.commit()


def test_the_database_counts_equal_the_row_by_row_count(sessions, env):
    _fill(sessions, 400)
    day = timedelta(days=1)
    october = datetime(2026, 10, 1, tzinfo=SHANGHAI)
    periods = [(october, datetime(2026, 11, 1, tzinfo=SHANGHAI)), (october + 3 * day, october + 10 * day),
               (october + 10 * day, october + 24 * day), (october + 5 * day + timedelta(hours=7, minutes=13),
                                                          october + 5 * day + timedelta(hours=19))]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 400
        for level in indicators.LEVELS:
            for start, end in periods:
                expected = reference(session, level, start, end)
                assert indicators.compute(session, level, start, end) == expected, (level, start, end)
        found = indicators.compute(session, "unit", *periods[0])
        assert sum(r["return_rate"]["numerator"] for r in found.values()) > 0      # the mix is there
        assert sum(r["unreasonable_return_rate"]["numerator"] for r in found.values()) > 0
        by_community = indicators.compute(session, "community", *periods[0])
        assert 0 < sum(r["misroute_rate"]["numerator"] for r in by_community.values()) < sum(
            r["misroute_rate"]["denominator"] for r in by_community.values())
        assert 0 < sum(r["first_time_rate"]["numerator"] for r in found.values()) < sum(
            r["first_time_rate"]["denominator"] for r in found.values())
        assert sum(r["extension_rate"]["numerator"] for r in found.values()) > 0
        cmd = env.command(session, load_user(session, "city1"))
        points = indicators.trend(cmd, "unit", datetime(2026, 12, 1, tzinfo=SHANGHAI), months=3)
        for point, start, end in zip(points, *zip(*[(datetime(2026, m, 1, tzinfo=SHANGHAI),
                                                     datetime(2026, m + 1, 1, tzinfo=SHANGHAI)) for m in (9, 10, 11)],
                                                  strict=True), strict=True):
            rows = reference(session, "unit", start, end)
            for key in indicators.TREND:
                n = sum(r[key]["numerator"] for r in rows.values())
                d = sum(r[key]["denominator"] for r in rows.values())
                assert point[key] == (round(n / d, 4) if d else None), (point, key)
        assert points[1]["on_time_rate"] is not None
