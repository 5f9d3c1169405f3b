"""APScheduler runs the one timer sweep about every second (system clock; issue #4: a timer fires within
about a second of its due time). Several app nodes may each run it: timer rows are claimed with row
locks (PostgreSQL SKIP LOCKED), so each timer fires once. SQLite is single-process.

At start-up `catch_up` first fires everything that fell due while the server was down, in due order,
and starts the processes of submissions stored just before it stopped (past the grace period).

Callbacks to the sources (engine/channels/callbacks.py) are sent by a job of their own, so a slow receiver never
holds up a timer; under a simulated clock it runs too (its retries fall due as the clock is advanced).
"""
from apscheduler.schedulers.background import BackgroundScheduler

from engine.channels import callbacks
from engine.runtime import sweep


def catch_up(services) -> sweep.SweepResult:
    """At start-up, before serving: move working-day deadlines if the calendar was edited, then fire,
    in due order, every timer (and warning) already due."""
    from engine.store import uow
    uow.run(services.session_factory, services.runtime.recompute_deadlines)
    total = sweep.SweepResult()
    while True:
        step = sweep.sweep(services.session_factory, services.runtime)
        for key, value in step.fired.items():
            total.fired.setdefault(key, []).extend(value)
        total.errors.update(step.errors)
        total.warnings += step.warnings
        total.started += step.started
        if not step.fired and not step.warnings:
            return total


def start_sweeper(services, timers: bool = True) -> BackgroundScheduler:
    """The timer sweep (unless `timers` is False: a simulated clock fires them on advance) and the
    callback delivery job."""
    scheduler = BackgroundScheduler(timezone="Asia/Shanghai")
    if timers:
        scheduler.add_job(sweep.sweep, "interval", seconds=services.settings.sweep_interval_seconds,
                          args=(services.session_factory, services.runtime), id="timer-sweep",
                          max_instances=1, coalesce=True)
    scheduler.add_job(callbacks.deliver_due, "interval", seconds=services.settings.callback_interval_seconds,
                      args=(services.session_factory, services.clock, services.runtime.wall_clock),
                      id="callback-delivery", max_instances=1, coalesce=True)
    scheduler.add_job(services.refresh_catalogs, "interval", seconds=services.settings.catalog_refresh_seconds,
                      id="catalog-refresh", max_instances=1, coalesce=True)   # edits saved on another node
    scheduler.start()
    return scheduler
