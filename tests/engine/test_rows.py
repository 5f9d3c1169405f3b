"""A new row written as one plain INSERT and handed to the session as persistent (engine/store/rows.py): the
same row a flush writes, the same object afterwards — its key and defaults loaded, nothing pending, a later
change an UPDATE, a versioned row at version 1 — with no flush of the unit of work on the way."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import event as sa_event, inspect, select
from sqlalchemy.exc import IntegrityError

from engine.store import uow
from engine.store.models import Event, Instance, ProcessVersion
from engine.store.rows import add_inserted, insert_all, update_loaded

AT = datetime(2026, 10, 8, 1, 0, tzinfo=timezone.utc)


def report(number: str, **more) -> Event:
    return Event(number=number, source="grid_worker", type_code="A05", description="人行道被占道经营",
                 lat=27.52, lng=120.6, address="新城大道 88 号", photos=[], community="lg-xincheng", reporter="grid1",
                 status="open", stage="登记", created_at=AT, **more)


def statements(session) -> list[str]:
    """The kind of each statement the session sends from now on (SQLite's BEGIN IMMEDIATE left out)."""
    said = []
    sa_event.listen(session.get_bind(), "before_cursor_execute",
                    lambda conn, cursor, statement, *_: statement.startswith("BEGIN") or
                    said.append(statement.split()[0]))
    return said


def test_the_row_is_the_one_a_flush_writes_and_the_object_is_persistent(sessions):
    def both(session):
        flushed = report("LG-20261008-0001", intake_key="key-1")
        session.add(flushed)
        session.flush()
        said = statements(session)
        flushes = []
        sa_event.listen(session, "before_flush", lambda *_: flushes.append(1))
        inserted = add_inserted(session, report("LG-20261008-0002", intake_key="key-2"))
        assert said == ["INSERT"] and flushes == []           # one statement, no flush
        state = inspect(inserted)
        assert state.persistent and not session.new and not session.dirty
        assert inserted.id == flushed.id + 1
        # the defaults the database gave, loaded with the key: reading them asks for nothing
        assert (inserted.reopen_count, inserted.alert_count, inserted.closed_at) == (0, 1, None)
        assert not state.expired_attributes and said == ["INSERT"]
        return flushed.id, inserted.id
    first, second = uow.run(sessions, both)
    columns = [c for c in Event.__table__.c if c.key not in ("id", "number", "intake_key")]
    rows = uow.read(sessions, lambda s: s.execute(select(*columns).where(Event.id.in_([first, second]))
                                                  .order_by(Event.id)).all())
    assert rows[0] == rows[1]


def test_a_later_change_is_an_update_and_a_versioned_row_starts_at_one(sessions):
    def start(session):
        event = add_inserted(session, report("LG-20261008-0003"))
        version = session.scalars(select(ProcessVersion.id)).first()
        instance = add_inserted(session, Instance(event_id=event.id, version_id=version, state="", status="running",
                                                  serializer_version="1", updated_at=AT, started_at=AT,
                                                  started_by="grid1"))
        assert instance.row_version == 1 and instance.suspended_at is None
        said = statements(session)
        event.stage = "核实"
        session.flush()
        assert said == ["UPDATE"]
        return event.id
    event_id = uow.run(sessions, start)
    assert uow.read(sessions, lambda s: s.get(Event, event_id).stage) == "核实"


def test_a_second_row_under_a_unique_key_is_refused_by_the_database(sessions):
    uow.run(sessions, lambda s: add_inserted(s, report("LG-20261008-0004", intake_key="same")))
    with pytest.raises(IntegrityError):
        uow.run(sessions, lambda s: add_inserted(s, report("LG-20261008-0005", intake_key="same")))


def test_rows_nothing_reads_back_go_in_one_insert_with_nulls_and_defaults_where_left_out(sessions):
    def write(session):
        said = statements(session)
        base = dict(source="grid_worker", type_code="A05", description="人行道被占道经营", address="新城大道 88 号",
                    photos=[], reporter="grid1", status="open", stage="登记", created_at=AT)
        insert_all(session, Event, [dict(base, number="LG-20261008-0006", error="启动失败"),
                                    dict(base, number="LG-20261008-0007")])
        assert said == ["INSERT"] and not session.new
    uow.run(sessions, write)
    rows = uow.read(sessions, lambda s: s.execute(select(Event.number, Event.error, Event.reopen_count)
                                                  .where(Event.number.like("LG-20261008-000%")).order_by(Event.id)).all())
    assert [tuple(r) for r in rows] == [("LG-20261008-0006", "启动失败", 0), ("LG-20261008-0007", None, 0)]


def test_a_loaded_rows_change_is_one_update_and_leaves_nothing_to_flush(sessions):
    def change(session):
        event = add_inserted(session, report("LG-20261008-0008"))
        said = statements(session)
        update_loaded(session, event, {"stage": "核实", "status": "open"})
        assert said == ["UPDATE"] and not session.dirty
        assert (event.stage, event.status) == ("核实", "open") and said == ["UPDATE"]
        return event.id
    event_id = uow.run(sessions, change)
    assert uow.read(sessions, lambda s: s.get(Event, event_id).stage) == "核实"
