"""Record ids as the databases keep them. Every table's id is an INTEGER: 32 bits on PostgreSQL (a larger
number is an error there, and past 64 bits on SQLite too), so a number beyond MAX_ID names no record.
A path answers 404 for one (web/inputs.py bounds the `int` converter); a body that names a record checks
its id with is_record_id and answers 422 (engine/pool/duplicates.py, web/api/processes.py)."""
from __future__ import annotations

MAX_ID = 2**31 - 1


def is_record_id(value) -> bool:
    """A whole number (not a bool) that a record's id can be: 1 … MAX_ID."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID
