"""Alembic environment: runs against the engine handed over in config.attributes."""
from alembic import context

from engine.store.models import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # `alembic` command line: take the configured URL
    from engine.core.config import Settings
    from engine.store.db import make_engine
    engine = make_engine(Settings.from_env().database_url)

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # SQLite changes a column by copying its table (batch mode); with foreign keys enforced, dropping
        # the old copy of a referenced table fails. They are switched off around the migration, outside
        # any transaction (the pragma is ignored inside one), and every reference is checked before commit.
        connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
    try:
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=sqlite)
        with context.begin_transaction():
            context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"the migration left broken references: {broken[:5]}")
        if connection.in_transaction():
            connection.commit()
    finally:
        if sqlite:   # back on before the connection returns to the pool (outside any transaction)
            if connection.in_transaction():
                connection.rollback()
            connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")
