"""The sweep's jobs (engine/runtime/sweep.py): periodic work the domain registers (engine/jobs.py) runs beside
the timers, in its order, one failing job never stops the others, a once-a-day job runs once per day of the
business clock, and a simulated clock's advance stops at a job's own due time."""
from __future__ import annotations

from datetime import timedelta

import pytest

from catalogs import load_catalogs
from engine import jobs
from engine.core.clock import SimulatedClock, parse_instant
from engine.runtime import sweep
from engine.runtime.sweep import Job, OncePerDay
from engine.store.db import make_engine, make_session_factory
from engine.wiring import Environment
from handlers.registry import default_registry
from tests.conftest import SIM_START


@pytest.fixture
def engine_parts(database_url):
    """(session factory, environment) on a bare database, with no job registered yet."""
    db = make_engine(database_url)
    env = Environment(load_catalogs(), default_registry(), SimulatedClock(parse_instant(SIM_START)))
    env.jobs = []
    yield make_session_factory(db), env
    db.dispose()


def test_the_domain_registers_its_periodic_work_in_order():
    assert [(j.name, j.next_due is not None, j.interval) for j in jobs.periodic()] == [
        (jobs.WARNINGS, True, None), (jobs.ESCALATIONS, True, None), (jobs.DELEGATIONS, True, None),
        (jobs.PENDING_STARTS, False, None),
        (jobs.HAZARD_REMINDERS, False, None), (jobs.CALLBACKS, False, "callback_interval_seconds"),
        (jobs.NOTICES, False, "notice_interval_seconds"), (jobs.ROLLUPS, False, "rollup_interval_seconds"),
        (jobs.LIVE_FEED, False, "live_prune_interval_seconds"), (jobs.EXPORTS, False, "export_interval_seconds"),
        (jobs.CHECKPOINT, False, "checkpoint_interval_seconds")]


def test_jobs_run_in_order_and_a_failing_one_stops_nothing(engine_parts):
    factory, env = engine_parts
    ran = []

    def broken(session_factory, env):
        ran.append("broken")
        raise RuntimeError("the job's own failure")

    def counted(session_factory, env):
        ran.append("counted")
        return ["one thing"]

    env.jobs = [Job("broken", broken), Job("counted", counted), Job("apart", counted, interval="callback_interval_seconds")]
    result = sweep.sweep(factory, env)
    assert ran == ["broken", "counted"]                       # the one on an interval of its own is not swept
    assert result.of("broken") == [] and result.of("counted") == ["one thing"]
    assert not result.progress                                # no timer fired, no job with a due time did anything


def test_a_once_a_day_job_runs_once_per_day_of_the_business_clock(engine_parts):
    factory, env = engine_parts
    days = []
    daily = OncePerDay(lambda session_factory, env: days.append(env.clock.now()) or ["ran"])
    assert daily(factory, env) == ["ran"]
    env.clock.set(env.clock.now() + timedelta(hours=8))       # 17:00 the same day in Asia/Shanghai
    assert daily(factory, env) == []
    env.clock.set(env.clock.now() + timedelta(hours=7))       # 00:00 the next day
    assert daily(factory, env) == ["ran"] and len(days) == 2


def test_advance_stops_at_a_jobs_due_time_and_runs_the_others_at_the_target(engine_parts):
    factory, env = engine_parts
    start = env.clock.now()
    due, seen, later = start + timedelta(hours=1), [], []

    def timed(session_factory, env):
        if env.clock.now() >= due and not seen:
            seen.append(env.clock.now())
            return ["warned"]
        return []

    env.jobs = [Job("timed", timed, next_due=lambda cmd: None if seen else due),
                Job("each sweep", lambda session_factory, env: later.append(env.clock.now()) or [])]
    result = sweep.advance(factory, env, start + timedelta(hours=3))
    assert seen == [due] and result.of("timed") == ["warned"]
    assert later == [due, start + timedelta(hours=3)]         # in the sweep at the due time, then at the target
    assert env.clock.now() == start + timedelta(hours=3)
