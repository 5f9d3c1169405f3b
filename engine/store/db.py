"""Engine, sessions and schema set-up. The schema is Alembic's (engine/store/migrations)."""
from __future__ import annotations

import fcntl
import json
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from engine.store import turns

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: execution option of a unit of work that only reads (engine/store/uow.py)
READ_ONLY = "eventflow_read_only"
#: execution option of a connection that sends one SELECT or PRAGMA (the token check: web/services.py; `checkpoint`):
#: on SQLite no BEGIN, the statement is its own transaction (the driver sends no BEGIN of its own: isolation_level
#: None). Never for a write: it would skip the writers' turns and commit at once
ONE_READ = "eventflow_one_read"
#: SQLite: how many pages the WAL may hold before a committing connection copies them into the database file
#: itself (SQLite's automatic checkpoint: 1,000 by default, paid by whichever request's COMMIT crosses it).
#: `eventflow worker` checkpoints every second instead, off the requests' path (`checkpoint`, engine/jobs.py);
#: this is the bound without a worker: 40 MB of 4 KB pages. The log's file keeps the largest size it reached (up to
#: that): no `journal_size_limit`, whose cut would fall in the COMMIT of the writer that starts the log again (5 ms
#: to cut 24 MB here)
WAL_PAGES = 10_000
#: Connection.info key: the transaction sent a statement other than a SELECT (PostgreSQL; engine/store/uow.py)
WROTE = "eventflow_wrote"
#: execution option of a statement whose best plan depends on its values (a list scoped to the user, a page
#: of it, its count): PostgreSQL plans it with them every time. psycopg prepares a statement once it has run
#: five times, and after five more runs PostgreSQL may keep one generic plan for every value: 待办 of a
#: community with 20 of a city's 5,000 open tasks then walked all of them in 待办's order (2-4 ms, and more as
#: the city grows), where its own plan reads its 20 through the indexes (0.2 ms, and 0.5 ms to plan)
PLANNED_EACH_TIME = "eventflow_planned_each_time"
#: the execution options that ask for it (`session.execute(…, execution_options=PLANNED)`)
PLANNED = {PLANNED_EACH_TIME: True}


def _json(value) -> str:
    """JSON columns as stored: Chinese as itself (3 bytes, not a 6-byte \\uXXXX escape) and no spaces after
    separators, about a tenth of the audit trail's bytes (bench/storage.py); read back by json.loads alike."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = make_url(url).database or ""          # "" or ":memory:": an in-memory database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                               json_serializer=_json)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            # WAL lets readers go on while one writer commits; NORMAL sync is safe with WAL.
            # isolation_level=None + explicit BEGIN IMMEDIATE below: writers queue instead of
            # failing with "database is locked" on lock upgrade.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA wal_autocheckpoint={WAL_PAGES}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # a read-only unit (engine/store/uow.py `read`) takes a snapshot and no lock: readers never
            # queue behind writers or each other
            options = conn.get_execution_options()
            if options.get(ONE_READ):
                return
            if options.get(READ_ONLY):
                conn.exec_driver_sql("BEGIN")
                return
            _writers_queue(conn, path)
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        @event.listens_for(engine, "commit")
        def _sqlite_commit(conn):
            _writers_end(conn, "commit")

        @event.listens_for(engine, "rollback")
        def _sqlite_rollback(conn):
            _writers_end(conn, "rollback")

        _release_with_the_pool(engine)
        return engine
    # no ping at each checkout (a round trip per unit of work): a connection the server dropped fails its
    # statement, SQLAlchemy empties the pool, and the unit of work runs again on a fresh one (uow.py);
    # connections are renewed every half hour, before a firewall or the server drops an idle one
    engine = create_engine(url, pool_recycle=1800, json_serializer=_json)

    @event.listens_for(engine, "begin")
    def _clean(conn):
        conn.info.pop(WROTE, None)

    @event.listens_for(engine, "before_cursor_execute")
    def _note_writes(conn, _cursor, statement, _parameters, _context, _many):
        if not statement.startswith("SELECT"):
            conn.info[WROTE] = True

    if engine.dialect.driver == "psycopg":
        import psycopg

        @event.listens_for(engine, "do_execute")
        def _planned_each_time(cursor, statement, parameters, context):
            # a server-side cursor (yield_per, stream_results) is never prepared, and takes no `prepare`
            if context.execution_options.get(PLANNED_EACH_TIME) and not isinstance(cursor, psycopg.ServerCursor):
                cursor.execute(statement, parameters, prepare=False)
                return True
            return None

    return engine


def wrote(connection) -> bool:
    """Whether the connection's transaction may have written anything (PostgreSQL: any statement but a
    SELECT since it began)."""
    return bool(connection.info.get(WROTE))


#: how long a writer waits for its turn, as SQLite's own busy timeout (connect_args) would; then "database is
#: locked", which the unit of work may retry
WRITER_WAIT_S = 30
_LOCK, _QUEUE, _WRITING = "eventflow_write_lock", "eventflow_write_queue", "eventflow_writing"


def _writers_queue(conn, path: str) -> None:
    """Writers to one SQLite file take turns on a file lock (flock) beside it, each connection with a handle
    of its own, before BEGIN IMMEDIATE; the lock is let go once COMMIT or ROLLBACK has been sent. Without it
    they wait in SQLite's busy handler, which naps up to 100 ms between tries: the slowest of four concurrent
    completions took 100 ms more than the rest (bench/peer.py). The turns go in the order the writers came
    (engine/store/turns.py: a ticket each; the one served tries the lock every 0.2 ms), and a writer gives up as
    SQLite would after WRITER_WAIT_S. An in-memory database has one connection, and no file to lock beside."""
    if not path or path == ":memory:":
        return
    info = conn.connection.info
    if info.get(_WRITING) is not None:     # its turn already: a safety net (a failed BEGIN rolls back, letting go)
        return
    handle = info.get(_LOCK)
    if handle is None:      # the queue first: a connection holds both or neither
        queue = turns.open_queue(path)
        try:
            handle = open(f"{path}.writers.lock", "a")   # noqa: SIM115 - kept open with the connection
        except OSError:
            queue.close()
            raise
        info[_QUEUE], info[_LOCK] = queue, handle

    def try_lock() -> bool:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False
    ticket = turns.wait_turn(info[_QUEUE], try_lock, WRITER_WAIT_S)
    if ticket is None:
        raise OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked"))
    info[_WRITING] = ticket


def _writers_end(conn, ending: str) -> None:
    """COMMIT or ROLLBACK sent now (SQLAlchemy's own, after this event, then finds no transaction), then the
    turn passed on: the next writer's BEGIN IMMEDIATE finds the database free."""
    try:
        fairy = conn.connection
    except Exception:       # noqa: BLE001 - an invalidated connection: the pool's events let go of its lock
        return
    if fairy.info.get(_WRITING) is not None:     # the ticket (0 the first)
        try:
            getattr(fairy.dbapi_connection, ending)()
        finally:
            _writers_leave(fairy.info)


def _writers_leave(info) -> None:
    """The turn let go of, and the next ticket served."""
    ticket = info.pop(_WRITING, None) if info is not None else None
    if ticket is not None:
        fcntl.flock(info[_LOCK], fcntl.LOCK_UN)
        turns.served(info[_QUEUE], ticket)


def _release_with_the_pool(engine: Engine) -> None:
    """A connection that leaves the pool's hands in any other way (reset, invalidated, closed, detached) lets
    go of its turn, and closes its handle when it closes."""
    def reset(_dbapi_connection, record, _reset_state):
        _writers_leave(record.info if record is not None else None)     # None: a detached connection

    def invalidate(_dbapi_connection, record, _exception):
        _writers_leave(record.info)

    def detach(_dbapi_connection, record):
        _writers_leave(record.info)

    def close(_dbapi_connection, record):
        _writers_leave(record.info)
        if record.info.get(_LOCK) is not None:
            record.info.pop(_LOCK).close()
            record.info.pop(_QUEUE).close()

    event.listen(engine.pool, "reset", reset)
    event.listen(engine.pool, "invalidate", invalidate)
    event.listen(engine.pool, "detach", detach)
    event.listen(engine.pool, "close", close)


def checkpoint(session_factory) -> list[dict]:
    """SQLite: copy the pages the WAL holds into the database file, waiting for no reader or writer (PASSIVE: what a
    reader still uses is copied next time), so that no request's COMMIT has to (`WAL_PAGES`). [{"wal_pages": the
    frames the log holds, "copied": how many of them are in the database file now}], none for an empty log;
    nothing, and no connection taken, on PostgreSQL or an in-memory database."""
    engine = session_factory.kw["bind"]
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return []
    with engine.connect().execution_options(**{ONE_READ: True}) as connection:   # no BEGIN: not in a transaction
        _busy, wal_pages, copied = connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
    return [{"wal_pages": wal_pages, "copied": copied}] if wal_pages > 0 else []


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config   # Alembic (and Mako) only where the schema is migrated: not in every process
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def init_db(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    from alembic import command
    command.upgrade(alembic_config(engine), "head")


def has_table(engine: Engine, name: str) -> bool:
    """Whether the schema has this table yet (before `eventflow init-db` it has none)."""
    return inspect(engine).has_table(name)


def ping(session) -> None:
    """The cheapest statement that proves the database answers (GET /api/health)."""
    session.execute(text("SELECT 1"))
