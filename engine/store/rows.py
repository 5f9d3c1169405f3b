"""A new row inserted as one plain INSERT, and handed to the session as the persistent object it now is;
rows nothing reads back in their unit, written as one INSERT; a loaded row's change written as one UPDATE.

`session.add(row)` then `session.flush()` costs the ORM's unit of work more than the database takes for the
INSERT itself (the flush plans, sorts and records every pending object, and keeps the history of each
attribute): on the path of every report and every process start that was about a tenth of the time (bench/peer.py,
docs/benchmarks.md). `add_inserted` writes the same row and leaves the session holding the same object: its
attributes as given, the key and the columns' defaults as the database returned them, nothing pending, so a
later change to it is an UPDATE as usual. For a mapped class of one table with no relationships to cascade
and no flush events of its own.
"""
from __future__ import annotations

from sqlalchemy import bindparam, inspect, insert, update
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

#: per mapped class: its INSERT … RETURNING every column, its plain INSERT, (attribute, column) of each column,
#: its version column if it has one, and its UPDATE by its key (`_row_key`)
_BUILT: dict[type, tuple] = {}


def add_inserted(session, row):
    """Insert the transient `row` (its attributes set, its key not) in the session's transaction, and add it to
    the session as persistent. A versioned row (a mapper's `version_id_col`) starts at version 1, as a flush
    would start it. Returns `row`."""
    statement, _, columns, version, _ = _built(type(row))
    given = {column.key: row.__dict__[name] for name, column in columns if name in row.__dict__}
    if version is not None and version.key not in given:
        given[version.key] = 1
    stored = session.connection().execute(statement, given).one()._mapping
    for name, column in columns:
        if column.key not in given or name not in row.__dict__:
            setattr(row, name, stored[column])
    make_transient_to_detached(row)    # what it holds is what the row holds: nothing pending, no history
    session.add(row)
    return row


def insert_all(session, cls, rows: list[dict]) -> None:
    """The `rows` of the mapped class `cls` (dicts of its columns' values) as one INSERT, in the session's
    transaction, without objects for the ORM to flush: for rows nothing reads back in their unit (a report's
    pending start, rows of its trail). A column a row leaves out is NULL there if another row gives it, its
    default if none does."""
    if not rows:
        return
    named = {name for row in rows for name in row}
    session.connection().execute(_built(cls)[1], [{name: row.get(name) for name in named} for row in rows])


def update_loaded(session, row, values: dict) -> None:
    """Write `values` ({column: value}) to the persistent `row` as one UPDATE by its key, in the session's
    transaction, and tell the loaded object: it holds them as committed, nothing pending for the ORM to flush
    (a step's stage, a report's duplicate flag). For a row without a version column (its version would not
    move) and a single-column key."""
    if values:
        session.connection().execute(_built(type(row))[4], {"_row_key": inspect(row).identity[0], **values})
        for name, value in values.items():
            set_committed_value(row, name, value)


def _built(cls) -> tuple:
    found = _BUILT.get(cls)
    if found is None:
        mapper = inspect(cls)
        table = mapper.local_table
        columns = [(prop.key, prop.columns[0]) for prop in mapper.column_attrs]
        key = table.primary_key.columns.values()[0]
        found = _BUILT[cls] = (insert(table).returning(*table.c), insert(table), columns, mapper.version_id_col,
                               update(table).where(key == bindparam("_row_key")))
    return found
