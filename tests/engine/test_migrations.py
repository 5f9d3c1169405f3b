"""The Alembic migrations build exactly the schema engine/store/models.py declares, on both databases."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from engine.store.db import init_db, make_engine
from engine.store.models import Base


def _made_on(dialect: str):
    """Alembic's filter: the model's objects this database has, an index declared for another database
    (`Index(…).ddl_if(dialect=…)`) left out."""
    def include(obj, name, type_, reflected, compare_to):
        wanted = getattr(obj, "_ddl_if", None)
        return reflected or wanted is None or wanted.dialect in (None, dialect)
    return include


def test_the_migrations_match_the_models(database_url):
    db = make_engine(database_url)
    init_db(db)
    with db.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False,
                                                         "include_object": _made_on(db.dialect.name)})
        diff = compare_metadata(context, Base.metadata)
        indexes = set(conn.scalars(text(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'audit'" if db.dialect.name == "postgresql"
            else "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit'")))
    db.dispose()
    assert diff == []
    # one index of the trail's is PostgreSQL's alone (engine/store/models.py Audit, migration 0045)
    assert ("ix_audit_completed_at" in indexes) == (db.dialect.name == "postgresql")


def test_making_event_columns_nullable_keeps_the_rows_that_refer_to_events(database_url):
    """0007 copies the event table on SQLite (batch mode): events and the rows that point at them survive,
    and foreign keys are enforced again afterwards."""
    from alembic import command

    from engine.store.db import alembic_config
    db = make_engine(database_url)
    command.upgrade(alembic_config(db), "0006")
    with db.begin() as conn:
        conn.execute(text("INSERT INTO event (number, source, type_code, description, lat, lng, address, photos,"
                          " community, reporter, status, stage, created_at) VALUES ('LG-20261008-0001',"
                          " 'grid_worker', 'A05', 'x', 27.52, 120.6, 'a', '[]', 'lg-xincheng', 'grid1', 'open', '',"
                          " '2026-10-08 01:00:00')"))
        conn.execute(text("INSERT INTO audit (at, actor, action, event_id) SELECT '2026-10-08 01:00:00', 'grid1',"
                          " 'registered', id FROM event"))
    command.upgrade(alembic_config(db), "head")
    with db.connect() as conn:
        assert conn.execute(text("SELECT number FROM event")).scalar() == "LG-20261008-0001"
        assert conn.execute(text("SELECT count(*) FROM audit JOIN event ON event.id = audit.event_id")).scalar() == 1
        conn.execute(text("INSERT INTO event (number, source, type_code, description, address, photos, reporter,"
                          " status, stage, created_at) VALUES ('LG-20261008-0002', 'citizen', 'A05', 'x', '新城大道',"
                          " '[]', 'open311:hotline_12345', 'open', '', '2026-10-08 01:00:00')"))   # no place yet
        if db.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        conn.rollback()
    db.dispose()


def test_sqlite_keeps_a_whole_second_as_19_characters(database_url):
    """0039: a whole second is kept without ".000000" (bytes per closed event, issue #17): the rows kept
    before are rewritten so, a fraction stays, and a new row is written so; read back, each is the same
    instant, and they order as their instants do. PostgreSQL keeps its own 8 bytes, untouched."""
    from datetime import datetime, timezone

    from alembic import command
    from sqlalchemy import select, text
    from sqlalchemy.orm import Session

    from engine.store.db import alembic_config
    from engine.store.models import Audit
    db = make_engine(database_url)
    command.downgrade(alembic_config(db), "0038")     # the bare schema is at head
    with db.begin() as conn:
        conn.execute(text("INSERT INTO audit (at, actor, action) VALUES (:whole, 'a', 'x'), (:part, 'b', 'x')"),
                     {"whole": "2026-10-08 01:00:00.000000" if db.dialect.name == "sqlite" else "2026-10-08 01:00:00",
                      "part": "2026-10-08 01:00:00.250000"})
    command.upgrade(alembic_config(db), "head")
    with Session(db) as session:
        session.add(Audit(at=datetime(2026, 10, 8, 1, 0, 1, tzinfo=timezone.utc), actor="c", action="x"))
        session.commit()
        stored = session.execute(text("SELECT actor, CAST(at AS TEXT) FROM audit ORDER BY at")).all()
        read = session.execute(select(Audit.actor, Audit.at).order_by(Audit.id)).all()
    db.dispose()
    assert [actor for actor, _ in stored] == ["a", "b", "c"]
    if db.dialect.name == "sqlite":
        assert [at for _, at in stored] == ["2026-10-08 01:00:00", "2026-10-08 01:00:00.250000", "2026-10-08 01:00:01"]
    assert read == [("a", datetime(2026, 10, 8, 1, 0, tzinfo=timezone.utc)),
                    ("b", datetime(2026, 10, 8, 1, 0, 0, 250000, tzinfo=timezone.utc)),
                    ("c", datetime(2026, 10, 8, 1, 0, 1, tzinfo=timezone.utc))]


def test_a_persons_own_channel_stays_on_the_public_internet_after_0041(database_url):
    """0041: of the channels already there, a person's whose address was set last by someone who is not a system
    administrator — its latest URL change in the trail, else its making — is checked again at each sending
    (`public_only`); one a system administrator set, and a unit's, are not."""
    from alembic import command

    from engine.store.db import alembic_config
    db = make_engine(database_url)
    command.downgrade(alembic_config(db), "0040")
    with db.begin() as conn:
        for name, roles in (("staff1", '["community_staff"]'), ("admin1", '["system_admin"]')):
            conn.execute(text("INSERT INTO app_user (username, display_name, password_hash, roles, active, created_at,"
                              " sensitive_access) VALUES (:name, :name, 'x', :roles, :yes, '2026-10-08 01:00:00', :no)"),
                         {"name": name, "roles": roles, "yes": True, "no": False})
        for number, (label, kind, owner, by) in enumerate(
                (("own", "person", "staff1", "staff1"), ("set-for", "person", "staff1", "admin1"),
                 ("unit", "unit", "police", "staff1"), ("own-repointed-by-admin", "person", "staff1", "staff1"),
                 ("set-for-repointed-by-owner", "person", "staff1", "admin1")), start=1):
            conn.execute(text("INSERT INTO notice_channel (id, owner_kind, owner, label, url, categories, enabled,"
                              " created_at, created_by) VALUES (:id, :kind, :owner, :label, 'json://1.1.1.1/x', '[]',"
                              " :yes, '2026-10-08 01:00:00', :by)"),
                         {"id": number, "kind": kind, "owner": owner, "label": label, "by": by, "yes": True})
        # who set the address last counts: the latest change of the URL, not a change of the label
        for actor, data in (("admin1", '{"channel": 4, "url": "json://10.1.2.3/…"}'),
                            ("staff1", '{"channel": 4, "label": "改名"}'),
                            ("admin1", '{"channel": 5, "url": "json://1.0.0.1/…"}'),
                            ("staff1", '{"channel": 5, "url": "json://1.1.1.1/…"}')):
            conn.execute(text("INSERT INTO audit (at, actor, action, data) VALUES ('2026-10-08 02:00:00', :actor,"
                              " 'notice_channel_changed', :data)"), {"actor": actor, "data": data})
    command.upgrade(alembic_config(db), "head")
    with db.connect() as conn:
        flags = dict(conn.execute(text("SELECT label, public_only FROM notice_channel")).all())
    db.dispose()
    assert flags == {"own": True, "set-for": False, "unit": False, "own-repointed-by-admin": False,
                     "set-for-repointed-by-owner": True}


def test_the_ready_tasks_of_an_older_database_make_their_assignees_parties(database_url):
    """0046: a completion no longer writes the party its own task's assignee already is (engine/casework/tasks.py
    `assignee_party`), so a ready task's unit or person that a database older than event_party never recorded
    becomes a party on upgrade; one already recorded is kept once, and a community's task makes none."""
    from alembic import command

    from engine.store.db import alembic_config
    db = make_engine(database_url)
    command.downgrade(alembic_config(db), "0045")     # the bare schema is at head
    at = "'2026-10-08 01:00:00'"
    with db.begin() as conn:
        conn.execute(text("INSERT INTO event (id, number, source, type_code, description, lat, lng, address, photos, community,"
                          f" reporter, status, stage, created_at) VALUES (1, 'LG-1', 'grid_worker', 'A05', 'x', 27.52, 120.6,"
                          f" 'a', '[]', 'lg-xincheng', 'grid1', 'open', '', {at})"))
        conn.execute(text("INSERT INTO process_version (id, process_key, version, content_hash, files, task_meta, active,"
                          f" deployed_at, deployed_by) VALUES (1, 'p', 1, 'h', '{{}}', '{{}}', true, {at}, 'owner1')"))
        conn.execute(text("INSERT INTO process_instance (id, event_id, version_id, state, serializer_version, status,"
                          f" row_version, updated_at) VALUES (1, 1, 1, '', '1', 'running', 1, {at})"))
        for task, kind, unit, person in (("t1", "unit", "zhifa", None), ("t2", "person", None, "grid1"),
                                         ("t3", "community", None, None), ("t4", "person", None, "staff1")):
            conn.execute(text("INSERT INTO work_item (id, instance_id, event_id, spec_name, title, role, assignee_kind,"
                              " community, unit, person, created_at, time_rank, time_key) VALUES (:id, 1, 1, :id, :id,"
                              f" 'r', :kind, 'lg-xincheng', :unit, :person, {at}, 3, {at})"),
                         {"id": task, "kind": kind, "unit": unit, "person": person})
        conn.execute(text("INSERT INTO event_party (event_id, kind, value) VALUES (1, 'person', 'staff1')"))
    command.upgrade(alembic_config(db), "head")
    with db.connect() as conn:
        parties = sorted(tuple(row) for row in conn.execute(text("SELECT kind, value FROM event_party WHERE event_id = 1")))
    db.dispose()
    assert parties == [("person", "grid1"), ("person", "staff1"), ("unit", "zhifa")]
