"""One unit of work per request or job (STYLE.md §6): open a session, run, commit once.

A StaleDataError means another transaction saved the same instance first: the whole unit is run
again on fresh state (unrelated work on the instance then succeeds; a task already completed by the
other side is found gone and refused with 409 by the caller's own check).
"""
from __future__ import annotations

import logging

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from engine import privacy
from engine.db import READ_ONLY
from engine.errors import Conflict, StaleInstance

log = logging.getLogger(__name__)


def run(session_factory, fn, retries: int = 5):
    for attempt in range(retries):
        session = session_factory()
        try:
            result = fn(session)
            privacy.record(session, session.info.pop(privacy.DISCLOSURES, []))   # sensitive reads (issue #15)
            session.commit()
            for callback in session.info.pop("after_commit", []):
                callback()
            return result
        except (StaleDataError, StaleInstance) as err:
            session.rollback()
            log.info("unit of work retried after a concurrent save (%s), attempt %d", err, attempt + 1)
        except OperationalError as err:
            session.rollback()
            if "deadlock" not in str(err).lower() and "could not serialize" not in str(err).lower():
                raise
            log.info("unit of work retried after %s", err)
        except BaseException:
            session.rollback()
            raise
        finally:
            session.info.pop("after_commit", None)
            session.info.pop(privacy.DISCLOSURES, None)
            session.close()
    raise Conflict("the event is busy; try again")


def read(session_factory, fn):
    """A read-only unit: nothing is committed. Objects it returns stay readable (close() detaches
    them without expiring what was loaded). A sensitive event's content it read (engine/privacy.py
    `disclose`) is recorded afterwards in a short write unit of its own, so ordinary reads never take the
    write lock."""
    session = session_factory()
    try:
        session.connection(execution_options={READ_ONLY: True})   # SQLite: a snapshot, no write lock
        result = fn(session)
        disclosures = session.info.pop(privacy.DISCLOSURES, [])
    finally:
        session.info.pop(privacy.DISCLOSURES, None)
        session.close()
    if disclosures:
        run(session_factory, lambda s: privacy.record(s, disclosures))
    return result


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
