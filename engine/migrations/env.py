"""Alembic environment: runs against the engine handed over in config.attributes."""
from alembic import context

from engine.models import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # `alembic` command line: take the configured URL
    from engine.config import Settings
    from engine.db import make_engine
    engine = make_engine(Settings.from_env().database_url)

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
