"""What the benchmarks share: the repository root, the report they register and who walks it, and a fresh
database with processes/ deployed."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from engine.accounts.users import Principal
from engine.facade import Runtime
from engine.runtime import bundle
from engine.store import uow
from engine.store.db import init_db, make_engine, make_session_factory

ROOT = Path(__file__).resolve().parent.parent
#: the simulated clock's start: a Thursday morning in Asia/Shanghai
CLOCK_START = datetime(2026, 10, 8, 1, 0, tzinfo=timezone.utc)
REPORT = {"source": "grid_worker", "type_code": "A05", "description": "bench", "community": "lg-xincheng",
          "location": {"lat": 27.52, "lng": 120.60, "address": "bench"}}
USERS = {"grid": Principal(1, "grid1", "grid", frozenset({"grid_worker"}), "lg-xincheng", None),
         "staff": Principal(2, "staff1", "staff", frozenset({"community_staff"}), "lg-xincheng", None),
         "whistle": Principal(3, "whistle1", "whistle", frozenset({"whistle_officer"}), "lg-xincheng", None),
         "dept": Principal(4, "zhifa1", "dept", frozenset({"department_staff"}), None, "zhifa")}


def deployed(url: str, catalogs, registry, clock):
    """(engine, session factory, runtime, version): the schema made at `url` and processes/ deployed."""
    db = make_engine(url)
    init_db(db)
    factory = make_session_factory(db)
    runtime = Runtime(catalogs, registry, clock)
    version, _ = uow.run(factory, lambda s: runtime.deploy(s, bundle.from_directory(ROOT / "processes"), "bench"))
    return db, factory, runtime, version
