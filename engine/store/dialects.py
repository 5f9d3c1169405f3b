"""SQL that each database is best asked its own way, behind one name (SQLAlchemy's compiler extension)."""
from __future__ import annotations

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Boolean


class one_of(FunctionElement):
    """`column` is one of the values `query` gives, `query` a short list read once (a user's standing 下派).

    SQLite: `column IN (query)`. PostgreSQL: `column = ANY(ARRAY(query))`: the list is read once before the
    rows (an InitPlan), so the condition is one an index answers, and may be one of an OR's bitmap index scans.
    `IN (query)` there is a semi-join, or a filter tried on each row: an OR holding it walks the whole table
    or another index (engine/accounts/permissions.py `work_items_of`)."""

    type = Boolean()
    name = "one_of"
    inherit_cache = True
    _is_implicitly_boolean = True        # a condition as it stands: not compared to 1 where booleans are ints

    def __init__(self, column, query):
        super().__init__(column, query.scalar_subquery())


def _parts(element, compiler, **kw) -> tuple[str, str]:
    column, query = element.clauses
    return compiler.process(column, **kw), compiler.process(query, **kw)   # the query comes in parentheses


@compiles(one_of)
def _in(element, compiler, **kw) -> str:
    column, query = _parts(element, compiler, **kw)
    return f"({column} IN {query})"


@compiles(one_of, "postgresql")
def _any(element, compiler, **kw) -> str:
    column, query = _parts(element, compiler, **kw)
    return f"({column} = ANY(ARRAY{query}))"
