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


def move_sequences(conn, tables=("event", "process_instance")) -> None:
    """After rows written with explicit ids: PostgreSQL's id sequences move past them (SQLite needs nothing)."""
    if conn.dialect.name == "postgresql":
        for table in tables:
            conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")


def analyze(db) -> None:
    """Fresh planner statistics, as autovacuum gives a live PostgreSQL database (and ANALYZE a SQLite one)."""
    with db.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
