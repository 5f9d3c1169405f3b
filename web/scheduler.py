"""APScheduler runs the one timer sweep every few seconds (system clock only). Several app nodes may
each run it: timer rows are claimed with row locks, so each timer fires once."""
from apscheduler.schedulers.background import BackgroundScheduler

from engine import sweep


def start_sweeper(services) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="Asia/Shanghai")
    scheduler.add_job(sweep.sweep, "interval", seconds=services.settings.sweep_interval_seconds,
                      args=(services.session_factory, services.runtime), id="timer-sweep",
                      max_instances=1, coalesce=True)
    scheduler.start()
    return scheduler
