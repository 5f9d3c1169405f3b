"""The §8.6 counts kept per day and party (issue #17, engine/oversight/rollups.py) equal the full computation
from the tables (`indicators.compute(…, rollup=False)`) after a simulated month through the real engine: for
whole months, weeks and odd runs of days, at every level, before the refresh (days listed dirty are counted
from the tables), after it (from the kept rows), after more work changed days already kept, and after a
write made behind the engine's back (the triggers of migration 0020 list it). The circular's counts that the
assessment deducts equal the entries the circular lists. The simulated month has its 回访 (issue #18): the
citizen's satisfaction and the first-time rate of events a 不满意 reopened are compared as well; and returns the
city ruled unreasonable after closure (issue #19): the units' and communities' returns and first-time rates."""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from sqlalchemy import event as sqlalchemy_event, func, select, text

from catalogs import load_catalogs
from engine import simulation
from engine.core.clock import SHANGHAI, parse_instant
from engine.oversight import circular, indicators, rollups
from engine.oversight.counting import HANDLING
from engine.store import uow
from engine.store.models import Event, ReturnRuling, Revisit, Tally, TallyDirty

START, END = parse_instant("2026-10-01T00:00:00+08:00"), parse_instant("2026-11-01T00:00:00+08:00")
EVENTS = 40


def periods(seed: int = 7):
    """The month, the whole span, its weeks, and random runs of days reaching past either end."""
    yield START, END
    yield START - timedelta(days=3), END + timedelta(days=40)
    for week in range(5):
        yield START + timedelta(days=7 * week), START + timedelta(days=7 * week + 7)
    rng = random.Random(seed)
    for _ in range(6):
        first = START + timedelta(days=rng.randrange(-5, 31))
        yield first, first + timedelta(days=rng.randrange(1, 45))


def differences(session) -> list:
    """Every (level, period) where the kept counts differ from the full computation: the indicators, the
    circular's counts (§9.1) and the events received per community (the dashboard's map)."""
    found = []
    for start, end in periods():
        counted = circular.counts(session, start, end)
        built = circular.build(session, load_catalogs(), start, end)
        for level, key in (("unit", "units"), ("person", "people"), ("community", "communities")):
            listed = {p["key"]: {c: n for c, n in p["counts"].items() if c != "poorly_handled"} for p in built[key]}
            kept = {p: {c: n for c, n in found_.items() if c != "poorly_handled"}
                    for p, found_ in counted[level].items()}
            listed = {p: c for p, c in listed.items() if any(c.values())}
            kept = {p: c for p, c in kept.items() if any(c.values())}
            if kept != listed:
                found.append(("circular", level, start.date(), end.date(), kept, listed))
        received = dict(session.execute(select(Event.community, func.count()).where(
            Event.created_at >= start, Event.created_at < end, Event.community.is_not(None))
            .group_by(Event.community)).all())
        if rollups.counts(session, "community", *rollups.whole_days(start, end), measures=rollups.RECEIVED) != \
                {c: {"received": n} for c, n in received.items()}:
            found.append(("received", start.date(), end.date()))
        for level in indicators.LEVELS:
            kept = indicators.compute(session, level, start, end)
            full = indicators.compute(session, level, start, end, rollup=False)
            if kept != full:
                found.append((level, start.date(), end.date(),
                              {p: (kept.get(p), full.get(p)) for p in set(kept) | set(full) if kept.get(p) != full.get(p)}))
    return found


def kept_rows(session) -> list[tuple]:
    columns = [c for c in Tally.__table__.c if c.name != "id"]
    return sorted(tuple(str(v) for v in row) for row in session.execute(select(*columns)))


def test_the_counts_kept_equal_the_full_computation_after_a_simulated_month(sessions, env, seeded):
    outcome = simulation.run(sessions, env, EVENTS, START, END, seed=5, scrypt_n=1024)
    assert outcome.errors == [] and outcome.refused == []
    dirty_days = uow.read(sessions, lambda s: s.scalar(select(func.count(TallyDirty.day.distinct()))))
    assert dirty_days > 10                             # the engine's writes listed the days they changed
    assert uow.read(sessions, differences) == []       # counted from the tables while dirty

    # the worker counts at most DAYS_PER_REFRESH days a time: the rest stay listed, and reads stay exact
    first = uow.run(sessions, lambda s: rollups.refresh(s, limit_days=5))
    assert len(first) == 5
    assert uow.read(sessions, lambda s: s.scalar(select(func.count(TallyDirty.day.distinct())))) == dirty_days - 5
    assert uow.read(sessions, differences) == []
    refreshed = first + uow.run(sessions, rollups.refresh)
    assert len(refreshed) == dirty_days
    assert uow.read(sessions, lambda s: s.scalar(select(func.count(TallyDirty.id)))) == 0
    assert uow.read(sessions, lambda s: s.scalar(select(func.count(Tally.id)).where(Tally.grain == "month"))) > 0
    assert uow.read(sessions, lambda s: indicators.compute(s, "unit", START, END)), "the month counts something"
    # the month's 回访 (issue #18) are among what is compared: the citizen's satisfaction, a reopened event
    asked = uow.read(sessions, lambda s: indicators.compute(s, "community", START, END))
    assert sum(p["citizen_satisfaction_rate"]["denominator"] for p in asked.values()) > 0
    assert uow.read(sessions, lambda s: s.scalar(select(func.count(Revisit.id)).where(Revisit.reopened.is_(True)))) > 0
    # the community's own steps (issue #19, §8.1): compared too, some of them late
    steps = [p["step_on_time_rate"] for p in asked.values()]
    assert sum(r["denominator"] for r in steps) > sum(r["numerator"] for r in steps) > 0
    # returns the city ruled unreasonable after their events closed (issue #19) are among what is compared
    assert uow.read(sessions, lambda s: s.scalar(select(func.count(ReturnRuling.id)).where(
        ReturnRuling.verdict == "unreasonable"))) > 0
    assert uow.read(sessions, differences) == []       # read from the kept rows

    # more work: a second stretch of the simulated city changes days already kept (late work met, checks)
    more = simulation.run(sessions, env, 12, END - timedelta(days=4), END + timedelta(days=6), seed=9, scrypt_n=1024)
    assert more.errors == []
    assert uow.read(sessions, lambda s: s.scalar(select(func.count(TallyDirty.id)))) > 0
    assert uow.read(sessions, differences) == []       # kept rows and dirty days together
    uow.run(sessions, rollups.refresh)
    assert uow.read(sessions, differences) == []
    incremental = uow.read(sessions, kept_rows)

    # everything counted again from nothing gives the same rows
    uow.run(sessions, lambda s: s.execute(Tally.__table__.delete()))
    assert uow.run(sessions, rollups.rebuild) >= 35
    assert uow.read(sessions, kept_rows) == incremental


def test_a_write_behind_the_engines_back_is_listed_by_the_database(sessions, env, ten_simulated_days):
    """An UPDATE made in SQL (a repair by hand, a restore) changes the counts read at once: the triggers list
    the days it touched, in its own transaction."""
    uow.run(sessions, rollups.refresh)
    before = uow.read(sessions, lambda s: indicators.compute(s, "unit", START, END))

    def late(session):              # every met acceptance met a day after it was due, in SQL by hand
        later = ("datetime(due_at, '+1 day')" if session.get_bind().dialect.name == "sqlite"
                 else "due_at + interval '1 day'")
        session.execute(text(f"UPDATE deadline SET met_at = {later} WHERE kind = 'accept' AND met_at IS NOT NULL"))
    uow.run(sessions, late)
    assert uow.read(sessions, lambda s: s.scalar(select(func.count(TallyDirty.id)))) > 0
    after = uow.read(sessions, lambda s: indicators.compute(s, "unit", START, END))
    assert after != before
    assert all(p["accept_on_time_rate"]["numerator"] == 0 for p in after.values())
    assert uow.read(sessions, differences) == []
    uow.run(sessions, rollups.refresh)
    assert uow.read(sessions, lambda s: indicators.compute(s, "unit", START, END)) == after


def test_a_revisit_changed_behind_the_engines_back_is_listed_by_the_database(sessions, env, ten_simulated_days):
    """回访 are counted by the day they were recorded (migration 0028's trigger lists it): a rating changed, or a
    回访 removed, in SQL changes the citizen's satisfaction read at once, and the kept counts follow."""
    uow.run(sessions, rollups.refresh)

    def citizens(session):
        return {p: counts["citizen_satisfaction_rate"] for p, counts in
                indicators.compute(session, "community", START, END).items()}
    before = uow.read(sessions, citizens)
    assert sum(c["denominator"] for c in before.values()) > 0
    uow.run(sessions, lambda s: s.execute(text("UPDATE revisit SET rating = '满意' WHERE rating IS NOT NULL")))
    assert uow.read(sessions, lambda s: s.scalar(select(func.count(TallyDirty.id)))) > 0
    after = uow.read(sessions, citizens)
    assert all(c["numerator"] == c["denominator"] for c in after.values())
    assert [c["denominator"] for c in after.values()] == [c["denominator"] for c in before.values()]
    assert uow.read(sessions, differences) == []
    uow.run(sessions, rollups.refresh)
    assert uow.read(sessions, citizens) == after
    uow.run(sessions, lambda s: s.execute(text("DELETE FROM revisit")))
    assert all(c["denominator"] == 0 for c in uow.read(sessions, citizens).values())
    assert uow.read(sessions, differences) == []


def test_a_period_not_of_whole_days_is_counted_from_the_tables(sessions, env, ten_simulated_days):
    uow.run(sessions, rollups.refresh)
    noon = datetime.combine(date(2026, 10, 1), time(12), SHANGHAI)
    assert rollups.whole_days(noon, END) is None
    assert rollups.whole_days(START, END) == (date(2026, 10, 1), date(2026, 11, 1))
    assert uow.read(sessions, lambda s: indicators.compute(s, "person", noon, END)) == \
        uow.read(sessions, lambda s: indicators.compute(s, "person", noon, END, rollup=False))


def test_a_read_of_some_counts_runs_only_their_queries_and_gets_what_the_whole_count_gets(sessions,
                                                                                         ten_simulated_days):
    """`day_rows` asked for some measures (the circular's 督办, the dashboard's received, the indicators', each
    one alone) gives, for those measures, what counting every measure gives; a query that gives none of them
    is not run (the circular's 督办 of the days not yet kept: one query a level, not seven)."""
    first, last = date(2026, 10, 1), date(2026, 10, 11)

    def projected(rows, measures):
        return sorted((r["level"], r["party"], str(r["day"]), str(r["late_day"]), str(r["early_day"]),
                       tuple(r[m] for m in measures)) for r in rows if any(r[m] for m in measures))

    def statements(session, measures):
        seen = []

        def listen(_conn, _cursor, statement, *_rest):
            seen.append(statement)
        bind = session.connection()
        sqlalchemy_event.listen(bind, "before_cursor_execute", listen)
        try:
            rows = rollups.day_rows(session, first, last, measures=measures)
        finally:
            sqlalchemy_event.remove(bind, "before_cursor_execute", listen)
        return rows, len(seen)

    def check(session):
        whole, all_queries = statements(session, rollups.MEASURES)
        groups = [rollups.SUPERVISED, rollups.RECEIVED, rollups.INDICATOR_MEASURES] + [(m,) for m in rollups.MEASURES]
        for measures in groups:
            rows, queries = statements(session, measures)
            assert projected(rows, measures) == projected(whole, measures), measures
            assert projected(whole, measures) or measures == ("extended",), measures   # ten days: no 延期
            assert queries < all_queries, measures
        assert statements(session, rollups.SUPERVISED)[1] == len(rollups.LEVELS)
    uow.read(sessions, check)


def test_the_assessments_circular_counts_are_the_entries_it_lists(sessions, env, ten_simulated_days):

    def both(session):
        out = []
        for start, end in periods():
            built = circular.build(session, env.catalogs, start, end)
            counted = circular.counts(session, start, end)
            for level, key in (("unit", "units"), ("person", "people"), ("community", "communities")):
                out.append(({p["key"]: p["counts"] for p in built[key]}, counted[level]))
        return out
    pairs = uow.read(sessions, both)
    assert any(listed for listed, _ in pairs), "the simulated days have circular entries"
    for listed, counted in pairs:
        assert counted == listed


def test_the_failed_checks_are_read_by_their_partial_index(sessions, database_url):
    """PostgreSQL's planner uses ix_audit_failed_check for the circular's failed checks (written as the index's
    condition is) among many completions, as in a city's month; SQLite keeps the same index."""
    from engine.oversight.counting import failed_check
    from engine.store.models import Audit

    if database_url.startswith("postgresql"):       # 20,000 completions of the month, 20 failed checks
        uow.run(sessions, lambda s: s.execute(text(
            "INSERT INTO audit (at, actor, action, data) SELECT timestamptz '2026-10-05 10:00+08' + i * interval "
            "'1 minute', 'staff1', 'task_completed', json_build_object('passed', i % 1000 <> 0) "
            "FROM generate_series(1, 20000) AS i")))
        uow.run(sessions, lambda s: s.execute(text("ANALYZE audit")))

    def plan(session):
        query = select(Audit.id).where(failed_check(session), Audit.at >= START, Audit.at < END)
        compiled = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        prefix = "EXPLAIN " if database_url.startswith("postgresql") else "EXPLAIN QUERY PLAN "
        if database_url.startswith("postgresql"):
            session.execute(text("SET LOCAL enable_seqscan = off"))
        return " ".join(str(r) for r in session.execute(text(prefix + str(compiled))))
    found = uow.read(sessions, plan)
    if database_url.startswith("postgresql"):
        assert "ix_audit_failed_check" in found, found
    else:
        names = uow.read(sessions, lambda s: s.scalars(text(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit'")).all())
        assert "ix_audit_failed_check" in names


def test_a_writer_open_while_the_event_closes_is_counted_by_a_later_refresh(sessions, env, seeded, database_url,
                                                                          request):
    """PostgreSQL, READ COMMITTED: a transaction changes an event's handling deadline while the event is open
    (its trigger reads the event: not closed, so it lists no closing day); another closes the event and
    commits (it lists the closing day); the refresh counts that day without the first's change, which is not
    yet committed. The day stays listed until a refresh that began after the first writer ended has counted
    it again (engine/oversight/rollups.py `_settled`), so the counts never miss the change."""
    if not database_url.startswith("postgresql"):
        return                                   # one writer at a time: no transaction is open beside another
    request.getfixturevalue("ten_simulated_days")
    day = "(({}) AT TIME ZONE 'Asia/Shanghai')::date"
    found = uow.read(sessions, lambda s: s.execute(text(      # its limit fell due on another day than it closed
        f"SELECT d.id, e.id FROM event e JOIN deadline d ON d.event_id = e.id AND d.kind IN {HANDLING} "
        f"AND d.status <> 'superseded' WHERE e.status = 'closed' "
        f"AND {day.format('d.due_at')} <> {day.format('e.closed_at')} ORDER BY e.id LIMIT 1")).one_or_none())
    assert found is not None
    deadline, closed = found
    uow.run(sessions, lambda s: s.execute(text("UPDATE event SET status = 'open' WHERE id = :e"), {"e": closed}))
    uow.run(sessions, rollups.refresh)
    db = sessions.kw["bind"]
    with db.connect() as first, db.connect() as closer:
        first.execute(text("UPDATE deadline SET person = 'race-person' WHERE id = :d"), {"d": deadline})
        closer.execute(text("UPDATE event SET status = 'closed' WHERE id = :e"), {"e": closed})
        closer.commit()
        uow.run(sessions, rollups.refresh)       # counts the closing day without the open writer's change
        first.commit()
    assert uow.read(sessions, lambda s: s.scalar(select(func.count(TallyDirty.id)))) > 0, "the day stays listed"
    assert uow.read(sessions, differences) == []
    person = uow.read(sessions, lambda s: indicators.compute(s, "person", START, END + timedelta(days=40)))
    assert "race-person" in person
    uow.run(sessions, rollups.refresh)           # began after the writer ended: counts the day again, clears it
    assert uow.read(sessions, lambda s: s.scalar(select(func.count(TallyDirty.id)))) == 0
    assert uow.read(sessions, differences) == []
