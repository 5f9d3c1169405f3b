"""One unit of work per request or job (STYLE.md §6): open a session, run, commit once.

A StaleDataError means another transaction saved the same instance first: the whole unit is run
again on fresh state (unrelated work on the instance then succeeds; a task already completed by the
other side is found gone and refused with 409 by the caller's own check).
"""
from __future__ import annotations

import logging

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from engine.store.db import READ_ONLY, wrote
from engine.core.errors import Conflict, StaleInstance

log = logging.getLogger(__name__)
#: the session.info key of what `note` keeps
NOTES = "unit_of_work_notes"


def run(session_factory, fn, retries: int = 5):
    for attempt in range(retries):
        session, committing = session_factory(), False
        try:
            result = fn(session)
            _write_notes(session, session.info.pop(NOTES, {}))   # e.g. sensitive reads (engine/accounts/privacy.py)
            committing = True
            session.commit()
            for callback in session.info.pop("after_commit", []):
                callback()
            return result
        except (StaleDataError, StaleInstance) as err:
            session.rollback()
            log.info("unit of work retried after a concurrent save (%s), attempt %d", err, attempt + 1)
        except DBAPIError as err:
            session.rollback()
            if not _retryable(err, committing):
                raise
            log.info("unit of work retried after %s", err)
        except BaseException:
            session.rollback()
            raise
        finally:
            session.info.pop("after_commit", None)
            session.info.pop(NOTES, None)
            session.close()
    raise Conflict("该事件正在被他人办理，请稍后重试 (the event is busy; try again)")


def _retryable(err: DBAPIError, committing: bool) -> bool:
    """A deadlock or a serialization failure; or a connection the server dropped (no ping checks it first:
    engine/store/db.py), unless it dropped during the commit, which may have been made."""
    if err.connection_invalidated:
        return not committing
    text = str(err).lower()
    return isinstance(err, OperationalError) and ("deadlock" in text or "could not serialize" in text)


def read(session_factory, fn, retries: int = 2):
    """A read-only unit: nothing is committed. Objects it returns stay readable (close() detaches
    them without expiring what was loaded). What it noted (`note`: a sensitive event's content it read,
    engine/accounts/privacy.py `disclose`) is written afterwards in a short write unit of its own, so ordinary
    reads never take the write lock."""
    for attempt in range(retries):
        session = session_factory()
        try:
            if not session.in_transaction():   # (one the request's token check began goes on: web/services.py)
                session.connection(execution_options={READ_ONLY: True})   # SQLite: a snapshot, no write lock
            result = fn(session)
            notes = session.info.pop(NOTES, {})
            _end_read(session)
            break
        except DBAPIError as err:
            if not err.connection_invalidated or attempt == retries - 1:
                raise
            log.info("read retried on a fresh connection after %s", err)
        finally:
            session.info.pop(NOTES, None)
            session.close()
    if notes:
        run(session_factory, lambda s: _write_notes(s, notes))
    return result


def _end_read(session) -> None:
    """On PostgreSQL a read that wrote nothing ends with COMMIT, which changes nothing, rather than the
    ROLLBACK of `close()`: psycopg forgets its prepared statements at every ROLLBACK (and deallocates them
    on the server), so every request would have its statements parsed and planned afresh (bench/throughput.py).
    Anything written — an ORM change, any statement but a SELECT — is rolled back as before."""
    if not session.in_transaction() or session.new or session.deleted or session.dirty:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql" and not wrote(connection):
        session.commit()


def note(session, writer, item) -> None:
    """Keep `item` for `writer(session, items)`, which the unit of work calls once, with every item noted
    for it, when it ends: before its commit, or for a read-only unit in a short write of its own."""
    session.info.setdefault(NOTES, {}).setdefault(writer, []).append(item)


def read_after(session, fn, what: str = "a read"):
    """`fn(session)` at the end of a write unit, after its writes (a report's answer read in the unit that
    started its process), or None if it failed: a failure of this read never fails the unit, and what it noted
    is dropped (the caller reads again in a unit of its own, and notes it there). The unit's own failures still
    end it as they would: its writes are flushed first, and a database error (the transaction unusable) or a
    concurrent save met by the read is raised."""
    session.flush()
    noted = {writer: list(items) for writer, items in session.info.get(NOTES, {}).items()}
    try:
        return fn(session)
    except (DBAPIError, StaleDataError, StaleInstance):
        raise
    except Exception:  # noqa: BLE001 - the unit's writes stand; the caller reads on its own
        log.info("%s failed at the end of its write unit; read again in a unit of its own", what, exc_info=True)
        session.info[NOTES] = noted
        return None


def _write_notes(session, notes: dict) -> None:
    for writer, items in notes.items():
        writer(session, items)


def run_unique(session_factory, fn):
    """A unit that stores something under a unique key (an idempotency key): when two racing units meet at
    the key's index, the loser runs again and finds what the winner stored."""
    try:
        return run(session_factory, fn)
    except IntegrityError:
        return run(session_factory, fn)


def read_if_ready(session_factory, fn, default=None):
    """A read that answers `default` while the schema has no tables yet (before `eventflow init-db`)."""
    try:
        return read(session_factory, fn)
    except DBAPIError:
        log.debug("not readable yet", exc_info=True)
        return default
