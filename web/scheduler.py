"""The background work of `eventflow worker` (a process of its own; `eventflow serve` starts one beside
the gunicorn workers): APScheduler runs the one timer sweep about every second (issue #4: a timer fires
within about a second of its due time), with the jobs the domain registered beside it (engine/jobs.py:
黄灯预警, the start of stored submissions past their grace, the §9.2 reminders, the callbacks). Several
workers may run on PostgreSQL: timer rows are claimed with row locks (SKIP LOCKED), so each timer fires
once. On SQLite one worker (engine/store/locks.py `single_worker`).

Under a simulated clock the worker sweeps too, at the time every process shares (the clock_state row,
web/services.py `sync_clock`): what an advance fires it fires itself and reports; a time set in the
database by other means is swept by the worker.

At start-up `catch_up` first fires everything that fell due while the server was down, in due order,
and starts the processes of submissions stored just before it stopped (past the grace period).

A job with an interval of its own — the callbacks to the sources (engine/channels/callbacks.py) — runs
apart, so a slow receiver never holds up a timer; under a simulated clock it runs too (its retries fall
due as the clock is advanced).
"""
from datetime import datetime, timedelta, timezone

from apscheduler.schedulers.background import BackgroundScheduler

from engine.limits import deadlines
from engine.runtime import sweep
from engine.store import uow

SWEEP = "timer-sweep"
#: the soonest a brought-forward sweep runs: the sweep that brought it forward has ended by then (one sweep
#: at a time: a run due while one still runs would be skipped until the next tick)
AFTER_THIS_SWEEP = timedelta(milliseconds=50)


def catch_up(services) -> sweep.SweepResult:
    """At start-up, before serving: move working-day deadlines if the calendar was edited, then fire,
    in due order, every timer (and warning) already due."""
    with services.holding_clock():
        uow.run(services.session_factory, lambda s: deadlines.move_with_calendar(services.command(s)))
        return sweep.until_idle(services.session_factory, services.env)


def _job(services, job):
    services.sync_clock()
    return sweep.run_job(services.session_factory, services.env, job)


def _sweep(services, report, scheduler=None) -> None:
    """One sweep; what it fired is reported (`eventflow worker` prints it: a line per sweep that fired).
    Then the next sweep is brought forward to the next due time (a timer's, a job's), if that comes first."""
    result = services.sweep()
    if result.fired and report is not None:
        report("fired " + " ".join(f"instance {i}: {', '.join(t)}" for i, t in sorted(result.fired.items())))
    if scheduler is not None:
        _wake_for_next_timer(services, scheduler)


def _wake_for_next_timer(services, scheduler) -> None:
    """Under the wall clock the sweep runs again when the earliest timer — or a job's next due time: a
    yellow warning, a rung of the escalation ladder (engine/limits/escalation.py) — falls due, if that is
    before the interval's next tick (and the interval goes on from there): a timer fires a few milliseconds
    after its due time, not up to a whole interval later (issue #17, bench/timers.py). One indexed read each
    per sweep. A timer armed meanwhile with an earlier due time waits at most the interval, as before. The
    clock gives whole seconds (engine/core/clock.py): a due time with a fraction (one armed before migration
    0039) is due when the clock reaches the next second, and the sweep waits for that, not sweeping idly."""
    upcoming = services.next_due_at()
    job = scheduler.get_job(SWEEP)
    if upcoming is None or job is None or job.next_run_time is None:
        return
    if upcoming.microsecond:
        upcoming = upcoming.replace(microsecond=0) + timedelta(seconds=1)
    at = max(upcoming, datetime.now(timezone.utc) + AFTER_THIS_SWEEP)
    if at < job.next_run_time:
        job.modify(next_run_time=at)


def start_sweeper(services, timers: bool = True, report=None) -> BackgroundScheduler:
    """The timer sweep with its jobs (unless `timers` is False), each job with an interval of its own, and
    the catalog refresh. `report(line)` hears what each sweep fired."""
    scheduler = BackgroundScheduler(timezone="Asia/Shanghai")
    if timers:
        scheduler.add_job(_sweep, "interval", seconds=services.settings.sweep_interval_seconds,
                          args=(services, report, scheduler), id=SWEEP, max_instances=1, coalesce=True)
    for job in services.env.jobs:
        if job.interval is not None:
            scheduler.add_job(_job, "interval", seconds=getattr(services.settings, job.interval),
                              args=(services, job), id=job.name, max_instances=1, coalesce=True)
    scheduler.add_job(services.refresh_catalogs, "interval", seconds=services.settings.catalog_refresh_seconds,
                      id="catalog-refresh", max_instances=1, coalesce=True)   # edits saved on another node
    scheduler.start()
    return scheduler


def work(services, until, report=None) -> None:
    """Sweep and run the jobs until `until()` returns (SIGTERM, SIGINT: web/cli.py), then let the running
    ones finish. `report(line)` hears what each sweep fired."""
    scheduler = start_sweeper(services, report=report)
    try:
        until()
    finally:
        scheduler.shutdown(wait=True)
