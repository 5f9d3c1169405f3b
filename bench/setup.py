"""What the benchmarks start from: a fresh database with processes/ deployed as version 1, and the
engine's parts on a simulated clock (bench/lifecycle.py, bench/sweep.py)."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from catalogs import load_catalogs
from engine.casework import process_versions
from engine.core.clock import SimulatedClock
from engine.runtime import bundle
from engine.store import uow
from engine.store.db import init_db, make_engine, make_session_factory
from engine.wiring import Environment
from handlers.registry import default_registry

ROOT = Path(__file__).resolve().parent.parent


def deployed(url: str):
    """(db, session factory, the engine's parts (engine/wiring.py), version) on a new database at `url`."""
    clock = SimulatedClock(datetime(2026, 10, 8, 1, 0, tzinfo=timezone.utc))
    db = make_engine(url)
    init_db(db)
    factory = make_session_factory(db)
    env = Environment(load_catalogs(), default_registry(), clock)
    version, _ = uow.run(factory, lambda s: process_versions.deploy(env.command(s),
                                                                    bundle.from_directory(ROOT / "processes"), "bench"))
    return db, factory, env, version
