"""The simulated city (issue #17, engine/simulation.py): a short history through the real engine on the
simulated clock reaches every path of Figure 1 and the §9 work, leaves no incident and no refused move,
replays the same for the same seed, and the indicators computed after it add up."""
from __future__ import annotations

from sqlalchemy import func, select

from engine import simulation
from engine.core.clock import parse_instant
from engine.oversight import indicators
from engine.store import uow
from engine.store.models import Audit, Event, Incident

START, END = parse_instant("2026-10-12T00:00:00+08:00"), parse_instant("2026-10-17T00:00:00+08:00")   # Mon–Fri
EVENTS = 30
#: Figure 1's paths and end states (docs/process-conventions.md) and §9's work that a run must reach
PATHS = ["stationed", "cadre", "whistle", "returns", "redispatch", "authority_assign", "co_departments", "on_site",
         "extensions", "misses", "urged", "rework", "closure_sent_back", "reopen", "duplicates_merged", "superior", "one_thing",
         "closed", "invalid", "returned", "transferred", "withdrawn", "merged", "spot_checks", "hazards", "patrols",
         "revisits", "revisit_reopened", "on_spot", "on_spot_rejected", "arrival_far"]
SOURCES = ["grid_worker", "committee_patrol", "citizen", "iot_alert", "one_thing", "superior"]


def simulate(sessions, env, seed=3, events=EVENTS, end=END):
    return simulation.run(sessions, env, events, START, end, seed=seed, scrypt_n=1024)


def history(session) -> list[tuple]:
    """What happened, in order, without the ids a database hands out or the random secrets."""
    return [(a.at.replace(tzinfo=None), a.actor, a.action, a.task_name)
            for a in session.scalars(select(Audit).order_by(Audit.id))]


def test_a_short_history_reaches_every_path_without_an_incident(sessions, env, seeded):
    given = env.clock.now()
    outcome = simulate(sessions, env)
    assert outcome.refused == [] and outcome.errors == []
    assert sum(outcome.reports.values()) >= EVENTS
    reached = uow.read(sessions, simulation.paths_reached)
    missing = [path for path in PATHS if not reached.get(path)]
    assert missing == [], reached
    assert [s for s in SOURCES if not reached.get(f"source:{s}")] == [], reached
    assert uow.read(sessions, lambda s: s.scalar(select(func.count(Incident.id)))) == 0
    assert env.clock.now() == given           # the run's own clock moved, not the one it was given

    # the indicators of the period add up: every count within its denominator, the map's counts the pool's
    def numbers(s):
        return indicators.compute(s, "community", START, END), dict(s.execute(
            select(Event.community, func.count()).group_by(Event.community)).all())
    rows, pool = uow.read(sessions, numbers)
    assert rows
    for values in rows.values():
        for name, item in values.items():
            if name != "average_handling_hours" and item["denominator"]:
                assert 0 <= item["numerator"] <= item["denominator"], (name, item)
    assert sum(pool.values()) == uow.read(sessions, lambda s: s.scalar(select(func.count(Event.id))))


def test_the_same_seed_replays_the_same_history(database_url, sessions, env, seeded, tmp_path):
    """Two runs of one seed on two copies of the seeded database write the same audit trail."""
    if not database_url.startswith("sqlite"):
        return       # one database per test on PostgreSQL: the SQLite copies show it
    import shutil
    from engine.store.db import make_engine, make_session_factory
    copy = tmp_path / "again.sqlite3"
    shutil.copy(database_url.removeprefix("sqlite:///"), copy)
    short = parse_instant("2026-10-14T00:00:00+08:00")
    first = simulate(sessions, env, seed=11, events=12, end=short)
    db = make_engine(f"sqlite:///{copy}")
    try:
        again = simulate(make_session_factory(db), env, seed=11, events=12, end=short)
        assert uow.read(sessions, history) == uow.read(make_session_factory(db), history)
    finally:
        db.dispose()
    assert first.as_dict() == again.as_dict()
