"""Keyset pagination (issue #17): how every list the API and the pages serve is read, a page at a time.

A list has an `Order`: columns all ascending or all descending, the last of them unique (the tiebreaker),
so every row has exactly one place in it. A page is the `limit` rows after (or before) the row its cursor
names — the condition `(a, b) > (:a, :b)` on the order's columns, which an index on those columns answers by
seeking, however deep the page. OFFSET reads and drops every row before the page, and it shifts when rows
come or go between two requests (a row shown twice, or never); a keyset page does neither.

The cursor is opaque to clients: base64url of JSON `[list, direction, keys of the row]`. It positions, it
does not authorize: the caller's query carries the user's scope (engine/accounts/permissions.py) and the
keyset condition only narrows it, so a cursor made up, or taken from another user's list, shows nothing the
user's own list would not. A cursor that does not decode, names another list or carries keys of the wrong
kind is refused with 400 naming `cursor`; a `limit` outside 1 … the list's maximum, naming `limit`.
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from sqlalchemy import func, literal, select, tuple_

from engine.core.errors import InvalidQuery
from engine.store.db import PLANNED

FORWARD, BACKWARD = "n", "p"
#: longer than any cursor a list gives (a few keys); a longer one is refused before it is decoded
MAX_CURSOR = 400
#: a whole-number key, as the databases' BIGINT holds it
MAX_INT = 2**63 - 1
CURSOR_REASON = "无效的分页游标，请从第一页重新开始 (not a cursor this list gave: start again from its first page)"


def _bad_cursor() -> InvalidQuery:
    return InvalidQuery([{"field": "cursor", "reason": CURSOR_REASON}])


@dataclass(frozen=True)
class PageRequest:
    """Which page: `limit` rows after the row of `cursor` (None: the first page). `offset` is the old
    `page`/`per_page` way, kept for the clients that send it (never with a cursor)."""

    limit: int
    cursor: str | None = None
    offset: int = 0


def page_request(cursor, limit, default: int, maximum: int, offset: int = 0) -> PageRequest:
    """The page a request asks for: `cursor` as the list gave it (None or "" for the first page), `limit`
    a whole number 1 … `maximum` (text from a query string, or a number; None or "": `default`)."""
    if limit is None or limit == "":
        count = default
    elif isinstance(limit, int) and not isinstance(limit, bool):
        count = limit
    elif isinstance(limit, str) and limit.isascii() and limit.isdigit() and len(limit) <= 6:
        count = int(limit)
    else:
        count = 0
    if not 1 <= count <= maximum:
        raise InvalidQuery([{"field": "limit", "reason": f"须为 1 到 {maximum} 的整数 (a whole number from 1 to {maximum})"}])
    if cursor is not None and not isinstance(cursor, str):
        raise _bad_cursor()
    return PageRequest(count, cursor or None, offset if not cursor else 0)


@dataclass(frozen=True)
class Page:
    """A page of a list: its items, and the cursors of the pages after and before it (None at either end)."""

    items: list
    next_cursor: str | None = None
    prev_cursor: str | None = None

    def map(self, shown) -> "Page":
        """The same page with `shown(items)` as its items (the rows as the caller describes them)."""
        return replace(self, items=list(shown(self.items)))

    def body(self, **more) -> dict:
        """The answer of a list: `{"items", "next_cursor", "prev_cursor"}` and `more`."""
        return {"items": self.items, "next_cursor": self.next_cursor, "prev_cursor": self.prev_cursor, **more}


def _kind(column) -> type:
    sql_type = column.type
    sql_type = getattr(sql_type, "impl", sql_type)      # a TypeDecorator (the UTC date-times): what it stores
    try:
        kind = sql_type.python_type
    except NotImplementedError:
        kind = None
    if kind not in (int, str, datetime):
        raise TypeError(f"a keyset column is a whole number, a text or a date-time, not {column.type!r}")
    return kind


class Order:
    """A list's order: `columns` (the last unique), all descending if `descending`. `name` ties a cursor
    to its list: one list's cursor is refused by another."""

    def __init__(self, name: str, *columns, descending: bool = False):
        self.name, self.columns, self.descending = name, columns, descending
        self.kinds = tuple(_kind(c) for c in columns)

    def order_by(self, backward: bool = False) -> list:
        down = self.descending != backward
        return [c.desc() if down else c.asc() for c in self.columns]

    def beyond(self, keys: tuple, backward: bool = False):
        """SQL: the rows after the row with `keys` in this order (before it, if `backward`): one row-value
        comparison, which a B-tree index on the columns answers with a seek."""
        bound = [literal(value, type_=column.type) for column, value in zip(self.columns, keys, strict=True)]
        left, right = (self.columns[0], bound[0]) if len(bound) == 1 else (tuple_(*self.columns), tuple_(*bound))
        return left < right if self.descending != backward else left > right

    # -- the cursor -------------------------------------------------------------------------------------
    def encode(self, keys: tuple, direction: str) -> str:
        values = [k.isoformat() if isinstance(k, datetime) else k for k in keys]
        raw = json.dumps([self.name, direction, values], ensure_ascii=False, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def decode(self, cursor: str) -> tuple[tuple, bool]:
        """(keys, backward) of a cursor this list gave; InvalidQuery naming `cursor` for anything else."""
        if len(cursor) > MAX_CURSOR or not cursor.isascii():
            raise _bad_cursor()
        try:
            name, direction, values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        except (binascii.Error, ValueError, TypeError):
            raise _bad_cursor() from None
        if name != self.name or direction not in (FORWARD, BACKWARD) or not isinstance(values, list) \
                or len(values) != len(self.kinds):
            raise _bad_cursor()
        return tuple(_key(kind, value) for kind, value in zip(self.kinds, values, strict=True)), direction == BACKWARD


def _key(kind: type, value):
    """A key of a cursor as its column holds it: what neither database could take (a number past BIGINT,
    text with NUL or a lone surrogate, a time without its offset or past the calendar's ends) is refused
    here, as a bad cursor, not by the database."""
    if kind is int and isinstance(value, int) and not isinstance(value, bool) and -MAX_INT <= value <= MAX_INT:
        return value
    if kind is str and isinstance(value, str) and len(value) <= 200 and "\x00" not in value:
        try:
            value.encode()
        except UnicodeEncodeError:
            raise _bad_cursor() from None
        return value
    if kind is datetime and isinstance(value, str) and len(value) <= 40:
        try:
            instant = datetime.fromisoformat(value)
            if instant.tzinfo is not None:
                return instant.astimezone(timezone.utc)
        except (ValueError, OverflowError):
            pass
    raise _bad_cursor()


def count(session, query) -> int:
    """How many rows `query` gives (a list's total), planned with its own values each time (PostgreSQL), as
    its pages are (`fetch`)."""
    return session.scalar(select(func.count()).select_from(query.subquery()),
                          execution_options=PLANNED)


def fetch(session, query, order: Order, page: PageRequest) -> Page:
    """One page of `query` (a select with the caller's filters, scope first, and no ORDER BY or LIMIT) in
    `order`. Its items are the query's rows (a single entity or column: the values themselves).

    The order's columns ride along in the select, so any query can be paged without the caller knowing
    where they come from; one more row than the limit is read to know whether a page follows. Going
    back (上一页) reads the rows before the cursor in the reverse order; a page that reaches the start is
    the first page, full."""
    keys, backward = order.decode(page.cursor) if page.cursor else ((), False)
    width = len(query.column_descriptions)      # entities and columns, as a row holds them
    keyed = query.add_columns(*(c.label(f"_key{i}") for i, c in enumerate(order.columns)))
    paged = keyed.order_by(*order.order_by(backward)).limit(page.limit + 1)
    if keys:
        paged = paged.where(order.beyond(keys, backward))
    elif page.offset:
        paged = paged.offset(page.offset)
    # planned with its own values each time (PostgreSQL): whose list it is, and its filters, decide the plan
    rows = list(session.execute(paged, execution_options=PLANNED))
    more = len(rows) > page.limit
    if backward and not more:       # back at the start: the first page, as the list begins
        return fetch(session, query, order, replace(page, cursor=None, offset=0))
    rows = rows[:page.limit]
    if backward:
        rows.reverse()
    n = len(order.columns)
    items = [row[0] if width == 1 else tuple(row[:width]) for row in rows]
    first, last = (tuple(rows[0][-n:]), tuple(rows[-1][-n:])) if rows else (None, None)
    # forward: a page follows if a row was left over; going back, the page we came from follows
    has_next = bool(rows) and (backward or more)
    has_prev = bool(rows) and (more if backward else bool(keys) or page.offset > 0)
    return Page(items, order.encode(last, FORWARD) if has_next else None,
                order.encode(first, BACKWARD) if has_prev else None)
