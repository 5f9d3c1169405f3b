"""Shared fixtures. Every database test runs twice: on SQLite (a file per test) and on the real
PostgreSQL server at 127.0.0.1:5432 (skipped, with the reason printed, only if none answers).

A test starts from a state made once per session: the bare schema, or — for a test that asks for
`seeded`, as the `app` fixture does — the schema with processes/ deployed and the demo users created, so
no test deploys and hashes passwords in its set-up. On SQLite the test gets a copy of a template file.
On PostgreSQL each pytest process has a database of its own (runs in parallel never meet), put back into
that state before each test: every table emptied by DELETE, the seeded rows written again, every
sequence set back (measured against a database per test made by CREATE DATABASE … TEMPLATE and against
TRUNCATE + reseeding, both many times slower: see `PgState`)."""
from __future__ import annotations

import gc
import os
import shutil
import sqlite3
import weakref
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
from jinja2 import BytecodeCache
from sqlalchemy import create_engine, insert, select, text

from engine.core.config import Settings
from engine.store.db import init_db, make_engine
from engine.store.models import Base, CatalogRevision, ClockState

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = ROOT / "processes"
SIM_START = "2026-10-08T09:00:00+08:00"
PASSWORD = "test-password-1"
PG_URL = os.environ.get("EVENTFLOW_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
#: the fixture whose name, among a test's fixtures, makes `database_url` start seeded
SEEDED = "seeded"


#: The modules that take longest, the longest first (seconds summed over a run's workers, measured on the 2-core
#: box: `pytest -n 2 --durations=0`). They start before the rest (`pytest_collection_modifyitems` below), so
#: pytest-xdist hands the short modules out last and its workers finish together, instead of one worker
#: running a minute-long test while the other has nothing left. A module not named keeps its place after them;
#: a folder ("…/") is its modules in their order, kept together (the browser tests share a Chromium a worker
#: launches for a run of them: tests/browser/conftest.py).
LONGEST_FIRST = (
    "tests/browser/",                           # ~260 s: the phone walk alone a minute, the longest single test
    "tests/web/test_schemathesis.py",           # ~200 s: every operation fuzzed on both databases
    "tests/web/test_sensitive_leaks.py",        # ~110 s: every GET and page read as ten users (one test 60-90 s)
    "tests/engine/test_rollups.py",             # ~110 s: a simulated month on each database (30-50 s each)
    "tests/ops/test_deploy_doc.py",             # ~90 s: docs/deploy.md followed in a shell, twice
    "tests/web/test_paths.py",
    "tests/web/test_deadlines.py",
    "tests/engine/test_circular_listing.py",
    "tests/web/test_circular.py",
    "tests/web/test_alerts.py",
    "tests/engine/test_simulation.py",
    "tests/ops/test_nginx_tls.py",
    "tests/web/test_serve.py",
    "tests/web/test_hostile_diagrams.py",
    "tests/web/test_photos.py",
    "tests/web/test_incidents.py",
    "tests/web/test_indicators.py",
    "tests/web/test_on_site.py",
    "tests/web/test_open311.py",
    "tests/web/test_administration.py",
)


#: the cyclic garbage collector's thresholds in a pytest process: a collection of the youngest objects once
#: 50,000 more are alive (Python's default: 700). Each test builds an app (engine, Flask, Jinja, services) and
#: drops it; what it leaves reaches the older generations, and with the default every collection walked them
#: again: 13-16 s of a 65-73 s run of three web modules (test_deadlines, test_todo, test_alerts) went to
#: collections, 4.5 s with these (measured with `gc.callbacks`; the largest process 231 -> 250 MB). Two
#: modules (test_deadlines, test_todo) run three times each way, alternately: 0.89 of the CPU (0.80-0.94). An app
#: node's heap is another matter: `gc.freeze` at start (web/serving.py `settle`) leaves its collections
#: at 0.1-0.4 ms a request with the default thresholds.
GC_THRESHOLDS = (50_000, 10, 10)


class OneCompilation:
    """SQLAlchemy's compiled statements, one cache for every engine of a pytest process. Each test builds
    its own engine, and an engine's own cache is keyed by its own dialect object, so each test compiled its
    statements again (a sixth of a web module's time under the profiler). Here the key names the dialect by
    what its compilation depends on (`_DIALECT`: its class, the server's version, its JSON functions, its
    parameter style and name lengths): engines of one database kind and settings, on one server, compile each
    statement once. (An app node has one engine for its life, and keeps its own.)"""

    def __init__(self, size: int):
        from sqlalchemy.util import LRUCache
        self.compiled = LRUCache(size)

    #: what a dialect's compiled statements (and their bind and result processors) depend on, beside its class
    _DIALECT = ("server_version_info", "_json_serializer", "_json_deserializer", "paramstyle", "positional",
                "label_length", "max_identifier_length", "use_insertmanyvalues", "insert_executemany_returning")

    @classmethod
    def _key(cls, key: tuple) -> tuple:
        dialect = key[0]
        return (type(dialect), *(getattr(dialect, name, None) for name in cls._DIALECT), *key[1:])

    def clear(self) -> None:      # Engine.clear_compiled_cache
        self.compiled.clear()

    def get(self, key, default=None):
        return self.compiled.get(self._key(key), default)

    def __setitem__(self, key, value) -> None:
        self.compiled[self._key(key)] = value


def _one_compilation() -> None:
    """Every engine's statements (at its first connection) and every mapper's flush statements (ORM
    persistence passes the mapper's own cache) through one `OneCompilation` each."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    statements, flushes = OneCompilation(20_000), OneCompilation(5_000)
    for mapper in Base.registry.mappers:
        mapper.__dict__["_compiled_cache"] = flushes

    @event.listens_for(Engine, "engine_connect")
    def _shared(connection):
        cache = connection.engine._compiled_cache
        if cache is not statements and cache is not None:    # None: made with query_cache_size=0
            connection.engine._compiled_cache = statements


def pytest_configure(config):
    gc.set_threshold(*GC_THRESHOLDS)
    _one_compilation()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """The modules of LONGEST_FIRST first, in its order; the order within a module (and so its module-scoped
    fixtures, set up once per worker) and the order of every other module stay as collected. The same order
    in every worker, as pytest-xdist requires."""
    def rank(item):
        path = item.nodeid.split("::", 1)[0]
        return next((place for place, first in enumerate(LONGEST_FIRST)
                     if path == first or first.endswith("/") and path.startswith(first)), len(LONGEST_FIRST))
    items.sort(key=rank)


class CompiledTemplates(BytecodeCache):
    """Each template compiled once per pytest process, not once per test's app (about 35 ms a page the first
    time it renders): Jinja's cache of compiled code, kept in memory, keyed by the template's name and
    checked against a checksum of its source (a changed template is compiled again)."""

    def __init__(self):
        self.kept: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if bucket.key in self.kept:
            bucket.bytecode_from_string(self.kept[bucket.key])

    def dump_bytecode(self, bucket) -> None:
        self.kept[bucket.key] = bucket.bytecode_to_string()


TEMPLATES_COMPILED = CompiledTemplates()


#: the apps `build_app` made, oldest first (weakly: one a module's fixture keeps lives as long as it does)
_BUILT: list[weakref.ref] = []


def build_app(settings, registry=None):
    from web import create_app
    from web.services import Services
    app = create_app(services=Services.build(settings, registry=registry))
    app.jinja_env.bytecode_cache = TEMPLATES_COMPILED
    _BUILT.append(weakref.ref(app))
    return app


@pytest.fixture(autouse=True)
def apps_closed():
    """Each app built during a test (by the test or its function-scoped fixtures) is closed when the test
    ends: its pooled connections and a live stream's watching thread, not whenever the garbage collector
    comes to them, which is seldom here (GC_THRESHOLDS). An app of a module's fixture was built before."""
    start = len(_BUILT)
    yield
    for ref in _BUILT[start:]:
        app = ref()
        if app is not None:
            svc = app.extensions["eventflow"]
            if svc.wakeups is not None:
                svc.wakeups.stop()
            svc.db.dispose()
    del _BUILT[start:]


def seed(app, deploy=True):
    """Deploy processes/ (version 1) and create the demo users of web/cli.py (ids 1… in their order), each
    with PASSWORD, through the app's own engine calls."""
    svc = app.extensions["eventflow"]
    seed_engine(svc.session_factory, svc.env, deploy)


def seed_engine(session_factory, env, deploy=True):
    """`seed` through the engine alone (engine/wiring.py Environment), no app."""
    from engine.accounts import demo
    from engine.casework.process_versions import deploy as deploy_bundle
    from engine.runtime import bundle
    from engine.store import uow
    if deploy:
        uow.run(session_factory, lambda s: deploy_bundle(env.command(s), bundle.from_directory(PROCESSES), "test"))
    for entry in demo.DEMO_USERS:
        uow.run(session_factory, lambda s, e=entry: demo.create(env.command(s), e, PASSWORD, 1024))


def make_settings(database_url: str, media_dir, **more) -> Settings:
    """A test app's settings: a simulated clock, cheap password hashes, a media directory of its own; a live
    stream (web/live.py) answers what is new and ends at once, so a test that reads every GET answer does not
    wait out a stream's life (tests/web/test_live.py gives its streams one)."""
    return Settings.from_env(env={}, database_url=database_url, clock="simulated", sim_start=SIM_START,
                             scrypt_n=1024, media_dir=str(media_dir), **{"live_stream_seconds": 0, **more})


def _seed_template(url: str, where: Path) -> None:
    """Seed the template at `url` as a test's own set-up did, and check that it left nothing a test's app
    would start from differently: no saved simulated time, no catalog revision, no file outside it."""
    from catalogs import load_catalogs
    from engine.core.clock import SimulatedClock, parse_instant
    from engine.pool.photos import PhotoStore
    from engine.store import uow
    from engine.store.db import make_session_factory
    from engine.wiring import Environment
    from handlers.registry import default_registry
    db = make_engine(url)
    factory = make_session_factory(db)
    env = Environment(load_catalogs(), default_registry(), SimulatedClock(parse_instant(SIM_START)),
                      photos=PhotoStore.from_settings(make_settings(url, where / "media")))
    seed_engine(factory, env)
    assert uow.read(factory, lambda s: (s.get(ClockState, 1), s.scalar(select(CatalogRevision.id)))) == (None, None)
    db.dispose()
    assert not (where / "media").exists() or not any((where / "media").iterdir())


def _copy_sqlite(template: Path, tmp_path: Path) -> str:
    path = tmp_path / "eventflow.sqlite3"
    shutil.copy(template, path)
    return f"sqlite:///{path}"


def _pg_problem() -> str | None:
    engine = create_engine(PG_URL)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as err:  # noqa: BLE001
        return f"no PostgreSQL server answers at {PG_URL}: {type(err).__name__}"
    finally:
        engine.dispose()
    return None


@dataclass(frozen=True)
class PgState:
    """What every table of a PostgreSQL database holds and where each of its sequences stands (value,
    is_called), to put it back.

    Per test on this box (a small workload between): DELETE + INSERT + setval 11 ms; a database of the
    test's own made by CREATE DATABASE … TEMPLATE (default WAL_LOG strategy) and dropped after it 187 ms;
    TRUNCATE … RESTART IDENTITY alone 76–137 ms, with the reseeding by the app 330–380 ms."""

    rows: dict
    sequences: tuple

    @classmethod
    def of(cls, engine) -> "PgState":
        with engine.connect() as conn:
            rows = {t.name: [dict(r._mapping) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
                    for t in Base.metadata.sorted_tables}
            names = conn.scalars(text("SELECT format('%I.%I', schemaname, sequencename) FROM pg_sequences"
                                      " WHERE schemaname = current_schema() ORDER BY 1")).all()
            sequences = tuple((name, *conn.execute(text(f"SELECT last_value, is_called FROM {name}")).one())
                              for name in names)
        return cls(rows, sequences)

    def bare(self) -> "PgState":
        """The state of the schema alone: no rows, every sequence at its start."""
        return PgState({name: [] for name in self.rows}, tuple((name, None, False) for name, *_ in self.sequences))

    def restore(self, engine, as_replica: bool = False) -> None:
        """In one transaction; a connection a test left holding a lock fails it within 30 s, not hangs it.
        `as_replica`: with no trigger fired and no foreign key checked, as a replica applies rows (the
        server's session_replication_role, a superuser's to set): for a state with rows that name each other
        both ways (an event transferred to a later one, a duplicate of an earlier one) and rows the triggers
        of migrations 0020 and 0028 would list again (tally_dirty is restored as it was)."""
        tables = Base.metadata.sorted_tables
        with engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL lock_timeout = '30s'")
            if as_replica:
                conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            conn.exec_driver_sql("; ".join(f'DELETE FROM "{t.name}"' for t in reversed(tables)))
            for table in tables:
                if self.rows[table.name]:
                    conn.execute(insert(table), self.rows[table.name])
            conn.exec_driver_sql("; ".join(f"ALTER SEQUENCE {name} RESTART" if value is None
                                           else f"SELECT setval('{name}', {value}, {called})"
                                           for name, value, called in self.sequences))


@pytest.fixture(scope="session", autouse=True)
def versions_compiled_once_per_worker():
    """Each test's app or engine has a spec cache of its own (engine/runtime/specs.py), so each would parse
    the same deployed processes/ again (SpiffWorkflow and every form's JSON Schema check: about a tenth of a
    second, a fifth of a typical web test). A process version is compiled once per pytest process for the
    same row — id, key, version, files and task meta alike — and the compiled version (immutable: every instance
    of a version shares it in the app too) handed to the next test's cache. A version that differs in anything
    is compiled afresh, so a test of deploying, editing or breaking a diagram still parses what it made."""
    import hashlib
    import json
    from engine.runtime import specs
    real, compiled = specs.compile_version, {}

    def compile_version(row):
        content = json.dumps([row.id, row.process_key, row.version, row.files, row.task_meta], sort_keys=True)
        key = hashlib.sha256(content.encode("utf-8")).hexdigest()
        if key not in compiled:
            compiled[key] = real(row)
        return compiled[key]
    specs.compile_version = compile_version
    yield
    specs.compile_version = real


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def seeded_sqlite_template(sqlite_template, tmp_path_factory):
    """The schema with processes/ deployed and the demo users, in one file (written back from its WAL, so
    a copy of the file is the whole database)."""
    where = tmp_path_factory.mktemp("seeded")
    path = where / "template.sqlite3"
    shutil.copy(sqlite_template, path)
    _seed_template(f"sqlite:///{path}", where)
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    wal = path.with_name(path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    return path


@pytest.fixture(scope="session")
def pg_url():
    """A database of this test run's own on the PostgreSQL server (runs in parallel never meet), with the
    schema, dropped at the end. (None, the reason) if no server answers."""
    problem = _pg_problem()
    if problem:
        yield None, problem
        return
    with fresh_pg_database(f"eventflow_test_{os.getpid()}") as url:
        engine = make_engine(url)
        init_db(engine)
        engine.dispose()
        yield url, None


def fresh_pg_database(name: str):
    """A new, empty database `name` on the PostgreSQL server (dropped first if left over); its URL. Dropped
    at the end (bench/serving.py `pg_database`, on the tests' server; imported here, not above: it loads
    the web app, which tests/engine must not)."""
    from bench.serving import pg_database
    return pg_database(name, PG_URL)


@pytest.fixture(scope="session")
def pg_states(pg_url, tmp_path_factory):
    """An engine on this run's database, and its two states: {"bare": the schema, "seeded": processes/
    deployed and the demo users, made as a test's own set-up made them}."""
    url, _ = pg_url
    engine = make_engine(url)
    bare = PgState.of(engine).bare()     # a module (test_schemathesis) may have used the database already
    bare.restore(engine)
    _seed_template(url, tmp_path_factory.mktemp("pg_seeded"))
    yield engine, {"bare": bare, "seeded": PgState.of(engine)}
    engine.dispose()


@pytest.fixture
def seeded():
    """Ask for it (the `app` fixture does) and `database_url` starts seeded: processes/ deployed as version
    1, the demo users of web/cli.py created in their order (ids 1…), each with PASSWORD."""


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A database of the test's own: the seeded state if the test asks for `seeded`, else the bare schema."""
    seeded = SEEDED in request.fixturenames
    if request.param == "sqlite":
        yield _copy_sqlite(request.getfixturevalue("seeded_sqlite_template" if seeded else "sqlite_template"),
                           tmp_path)
        return
    url, problem = request.getfixturevalue("pg_url")
    if problem:
        pytest.skip(problem)
    engine, states = request.getfixturevalue("pg_states")
    states["seeded" if seeded else "bare"].restore(engine)
    yield url


@pytest.fixture
def settings(database_url, tmp_path):
    """An app's settings: a fresh database, a simulated clock and a media directory of the test's own."""
    return make_settings(database_url, tmp_path / "media")
