"""The simulated clock's time kept in the database, so a restarted app goes on from where it was, and every
process on the database shares it (the row is the truth: web/services.py `sync_clock`)."""
from __future__ import annotations

from sqlalchemy import select

from engine.store import uow
from engine.store.db import has_table
from engine.store.models import ClockState


def saved(engine, session_factory):
    """The simulated time the app last saved, or None (no table yet, or never saved)."""
    if not has_table(engine, ClockState.__tablename__):
        return None
    row = uow.read(session_factory, lambda s: s.get(ClockState, 1))
    return row.now if row is not None else None


def save(session, now) -> None:
    state = session.get(ClockState, 1)
    if state is None:
        session.add(ClockState(id=1, now=now))
    else:
        state.now = now


def newest(session_factory):
    """The saved simulated time, read at the start of each request and before each sweep so that every
    process on the database (gunicorn workers, `eventflow worker`, other nodes) shares one simulated time;
    None if never saved (or no tables yet). One primary-key read."""
    return uow.read_if_ready(session_factory, lambda s: s.scalar(select(ClockState.now).where(ClockState.id == 1)))
