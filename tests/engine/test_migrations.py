"""The Alembic migrations build exactly the schema engine/models.py declares, on both databases."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from engine.db import init_db, make_engine
from engine.models import Base


def test_the_migrations_match_the_models(database_url):
    db = make_engine(database_url)
    init_db(db)
    with db.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
    db.dispose()
    assert diff == []
