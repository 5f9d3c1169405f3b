"""A sweeper in its own OS process (spawned by test_sweep_processes): builds its own engine objects on
the shared database and sweeps until nothing is due, as a second app node would."""
from __future__ import annotations


def sweep_until_idle(database_url: str, now_iso: str, ready, go) -> None:
    from catalogs import load_catalogs
    from engine.runtime import sweep
    from engine.core.clock import SimulatedClock, parse_instant
    from engine.store.db import make_engine, make_session_factory
    from engine.wiring import Environment
    from handlers.registry import default_registry

    db = make_engine(database_url)
    factory = make_session_factory(db)
    env = Environment(load_catalogs(), default_registry(), SimulatedClock(parse_instant(now_iso)))
    ready.set()
    go.wait()
    sweep.until_idle(factory, env, limit=5)
    db.dispose()
