"""The simulated clock's time kept in the database, so a restarted app goes on from where it was."""
from __future__ import annotations

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
