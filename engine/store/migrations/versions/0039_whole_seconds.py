"""bytes per closed event (issue #17: at most 6 KB, bench/storage.py): SQLite keeps an instant of a whole
second as 19 characters, "2026-10-08 01:03:30", no longer with ".000000" (engine/store/models.py
`_SQLiteInstant`; the clock gives whole seconds, engine/core/clock.py). The times already kept are written so
too, so one instant has one text and an equality or a bound compares alike; a time with a fraction keeps it.
PostgreSQL keeps 8 bytes either way: nothing to do there. The rewrite fires the tally triggers (0020):
nearly every day is listed as changed, and the worker's next refresh counts the whole history again (the
same counts: the instants are the same).

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = '0039'
down_revision = '0038'
branch_labels = None
depends_on = None

WHOLE = ".000000"


def _instants(bind):
    """(table, column) of every date-time column."""
    found = []
    inspector = sa.inspect(bind)
    for table in inspector.get_table_names():
        for column in inspector.get_columns(table):
            if isinstance(column["type"], sa.DateTime):
                found.append((table, column["name"]))
    return found


def _rewrite(to: str, which: str) -> None:
    """Every date-time column on SQLite: `to` (SQL of the column "c") where `which` (its condition)."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    for table, column in _instants(bind):
        quoted = f'"{column}"'
        op.execute(f'UPDATE "{table}" SET {quoted} = {to.format(c=quoted)} WHERE {which.format(c=quoted)}')


def upgrade() -> None:
    _rewrite("substr({c}, 1, 19)", f"{{c}} LIKE '%{WHOLE}'")


def downgrade() -> None:
    _rewrite(f"{{c}} || '{WHOLE}'", "length({c}) = 19")
