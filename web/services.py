"""Everything a request needs, built once per app: settings, database, catalogs, clock, runtime."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import inspect

from catalogs import load_catalogs
from engine import uow
from engine.clock import SimulatedClock, SystemClock, parse_instant
from engine.config import Settings
from engine.db import make_engine, make_session_factory
from engine.models import ClockState
from engine.runtime import Runtime
from handlers.registry import default_registry


@dataclass
class Services:
    settings: Settings
    db: object
    session_factory: object
    catalogs: object
    clock: object
    runtime: Runtime

    @classmethod
    def build(cls, settings: Settings | None = None, registry=None) -> "Services":
        settings = settings or Settings.from_env()
        db = make_engine(settings.database_url)
        factory = make_session_factory(db)
        catalogs = load_catalogs(settings.catalog_dir)
        clock = cls._clock(settings, db, factory)
        runtime = Runtime(catalogs, registry or default_registry(), clock,
                          reopen_window=timedelta(days=settings.reopen_window_days), wall_clock=SystemClock())
        return cls(settings, db, factory, catalogs, clock, runtime)

    @staticmethod
    def _clock(settings, db, factory):
        if settings.clock == "system":
            return SystemClock()
        start = parse_instant(settings.sim_start) if settings.sim_start else SystemClock().now()
        if inspect(db).has_table(ClockState.__tablename__):  # a restarted app keeps simulated time
            saved = uow.read(factory, lambda s: s.get(ClockState, 1))
            if saved is not None and saved.now > start:
                start = saved.now
        return SimulatedClock(start)

    def save_clock(self, session) -> None:
        state = session.get(ClockState, 1)
        if state is None:
            session.add(ClockState(id=1, now=self.clock.now()))
        else:
            state.now = self.clock.now()

    def run(self, fn):
        """One unit of work (commit once, retried on a concurrent save)."""
        return uow.run(self.session_factory, fn)

    def read(self, fn):
        return uow.read(self.session_factory, fn)
