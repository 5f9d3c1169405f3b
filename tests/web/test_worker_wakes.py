"""`eventflow worker` sweeps again when the next timer (or a job's next due time: a yellow warning, a rung of the
escalation ladder) falls due, not only at its interval's next tick (issue #17: a timer fires milliseconds late,
not up to a whole interval; bench/timers.py measures it under the server). Checked on the scheduler's plan,
not by waiting: after a sweep, the sweep job's next run is the earliest due time when that comes first."""
from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from tests.web.conftest import build_app
from tests.web.client import Api
from web.scheduler import SWEEP, _sweep, start_sweeper

HOUR = 3600


@pytest.fixture
def wall_clock_app(settings, seeded):
    """The app on the wall clock (the worker's production set-up), sweeping every two hours."""
    app = build_app(dataclasses.replace(settings, clock="system", sim_start=None, sweep_interval_seconds=2 * HOUR))
    yield app
    app.extensions["eventflow"].db.dispose()


def test_the_next_sweep_is_brought_forward_to_the_next_timer(wall_clock_app):
    services = wall_clock_app.extensions["eventflow"]
    scheduler = start_sweeper(services)
    try:
        job = scheduler.get_job(SWEEP)
        tick = job.next_run_time                              # two hours from now: the interval's first tick
        _sweep(services, None, scheduler)
        assert scheduler.get_job(SWEEP).next_run_time == tick     # no timer yet: nothing changes

        event = Api(wall_clock_app).report()
        Api(wall_clock_app).whistle_to(event["id"])               # §8.3: 30 minutes to accept
        due = services.next_due_at()                              # its yellow light first, at two thirds
        assert timedelta(minutes=19) < due - services.clock.now() <= timedelta(minutes=20)
        _sweep(services, None, scheduler)
        assert scheduler.get_job(SWEEP).next_run_time == due      # the sweep runs when the warning falls due
    finally:
        scheduler.shutdown(wait=True)


def test_under_a_simulated_clock_the_interval_alone_counts(app, api):
    """A simulated clock moves only when advanced: no due time on it means anything in wall-clock time."""
    services = app.extensions["eventflow"]
    api.whistle_to(api.report()["id"])
    assert services.next_due_at() is None


def test_a_due_time_with_a_fraction_wakes_the_sweep_on_the_next_whole_second(wall_clock_app):
    """The clock gives whole seconds (engine/core/clock.py): a due time kept with a fraction (before migration
    0039) is reached on the next second, and the sweep is woken then, not every few milliseconds before it."""
    from sqlalchemy import update

    from engine.store.models import Deadline
    services = wall_clock_app.extensions["eventflow"]
    scheduler = start_sweeper(services)
    try:
        event = Api(wall_clock_app).report()
        Api(wall_clock_app).whistle_to(event["id"])
        due = services.next_due_at() - timedelta(minutes=5) + timedelta(microseconds=400_000)
        services.run(lambda s: s.execute(update(Deadline).where(Deadline.status == "pending").values(warn_at=due)))
        assert services.next_due_at() == due
        _sweep(services, None, scheduler)
        assert scheduler.get_job(SWEEP).next_run_time == due.replace(microsecond=0) + timedelta(seconds=1)
    finally:
        scheduler.shutdown(wait=True)
