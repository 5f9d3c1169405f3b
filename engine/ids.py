"""Record ids as the databases keep them. Every table's id is an INTEGER: 32 bits on PostgreSQL (a larger
number is an error there, and past 64 bits on SQLite too), so a number beyond MAX_ID names no record.
A path answers 404 for one (web/inputs.py bounds the `int` converter), a body 422 (record_id)."""
from __future__ import annotations

from engine.errors import InvalidData

MAX_ID = 2**31 - 1


def is_record_id(value) -> bool:
    """A whole number (not a bool) a record's id can be."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def id_problem(field: str) -> dict:
    return {"field": field, "reason": f"须为编号，1 至 {MAX_ID} 的整数 (an id: a whole number from 1 to {MAX_ID})"}


def record_id(value, field: str) -> int:
    """`value` if it can be a record's id, else InvalidData naming `field`."""
    if not is_record_id(value):
        raise InvalidData([id_problem(field)])
    return value
