"""APScheduler runs the one timer sweep about every second (system clock; issue #4: a timer fires within
about a second of its due time), with the jobs the domain registered beside it (engine/jobs.py). Several
app nodes may each run it: timer rows are claimed with row locks (PostgreSQL SKIP LOCKED), so each timer
fires once. SQLite is single-process.

At start-up `catch_up` first fires everything that fell due while the server was down, in due order,
and starts the processes of submissions stored just before it stopped (past the grace period).

A job with an interval of its own — the callbacks to the sources (engine/channels/callbacks.py) — runs
apart, so a slow receiver never holds up a timer; under a simulated clock it runs too (its retries fall
due as the clock is advanced).
"""
from apscheduler.schedulers.background import BackgroundScheduler

from engine.limits import deadlines
from engine.runtime import sweep
from engine.store import uow


def catch_up(services) -> sweep.SweepResult:
    """At start-up, before serving: move working-day deadlines if the calendar was edited, then fire,
    in due order, every timer (and warning) already due."""
    uow.run(services.session_factory, lambda s: deadlines.move_with_calendar(services.command(s)))
    return sweep.until_idle(services.session_factory, services.env)


def start_sweeper(services, timers: bool = True) -> BackgroundScheduler:
    """The timer sweep with its jobs (unless `timers` is False: a simulated clock fires them on advance),
    each job with an interval of its own, and the catalog refresh."""
    scheduler = BackgroundScheduler(timezone="Asia/Shanghai")
    factory, env = services.session_factory, services.env
    if timers:
        scheduler.add_job(sweep.sweep, "interval", seconds=services.settings.sweep_interval_seconds,
                          args=(factory, env), id="timer-sweep", max_instances=1, coalesce=True)
    for job in env.jobs:
        if job.interval is not None:
            scheduler.add_job(sweep.run_job, "interval", seconds=getattr(services.settings, job.interval),
                              args=(factory, env, job), id=job.name, max_instances=1, coalesce=True)
    scheduler.add_job(services.refresh_catalogs, "interval", seconds=services.settings.catalog_refresh_seconds,
                      id="catalog-refresh", max_instances=1, coalesce=True)   # edits saved on another node
    scheduler.start()
    return scheduler
