"""The event list as a file (issue #19): every event of the list the user sees with its filters (engine/pool/
events.py `matching`), newest first as the list shows them, one row an event, for Excel and CSV
(engine/exports/spreadsheets.py).

A year of a city's events is a long listing, so it is written as it is read: one query, fetched a batch at a
time (`yield_per`), each row handed to the writer and not kept — as the circular's year is (engine/oversight/
circular.py `lines`). The list's page says how many rows the file will have (its `total`), the file's
answer how many it has.

Private stays private: the list leaves out the sensitive events (Table A.1 rows 1–3) the user may not see, and
so does its export; the sensitive events it does hold are recorded as read (`sensitive_viewed`, where
`export`). No contact of a reporter is written, and people are named by their display names.
"""
from __future__ import annotations

from sqlalchemy import select

from engine.accounts import privacy
from engine.core.clock import local
from engine.pool import events
from engine.store.models import Event, User

HEADER = ["事件编号", "上报时间", "来源", "事件类型", "事件描述", "地址", "社区", "状态", "当前环节", "主办单位",
          "上报人", "办结时间"]
#: rows fetched from the database at a time
BATCH = 1000


def export_events(cmd, filters: dict, write):
    """`write(rows)` — an Excel or CSV writer given a generator of the rows (`HEADER`'s columns) — with the
    event list of `cmd.user` and `filters`, in the list's order; answers what `write` answers. The reads of
    the sensitive events it holds are recorded first (found in the database: what is written is not kept)."""
    session, catalogs = cmd.session, cmd.catalogs
    codes = catalogs.sensitive_codes()
    if codes:
        sensitive = events.matching(select(Event.id), cmd.user, catalogs, filters).where(Event.type_code.in_(codes))
        privacy.disclose_listed(cmd, session.scalars(sensitive), "export")
    return write(_rows(cmd, filters))


def _rows(cmd, filters: dict):
    session, catalogs = cmd.session, cmd.catalogs
    query = events.matching(
        select(Event.number, Event.created_at, Event.source, Event.type_code, Event.description, Event.address,
               Event.community, Event.status, Event.stage, Event.lead_unit, User.display_name, Event.closed_at)
        .outerjoin(User, User.username == Event.reporter), cmd.user, catalogs, filters)
    query = query.order_by(*events.ORDER.order_by()).execution_options(yield_per=BATCH)
    types, communities, units = {}, {}, {}
    for row in session.execute(query):
        if row.type_code not in types:
            types[row.type_code] = type_name(catalogs, row.type_code)
        if row.community not in communities:
            communities[row.community] = (catalogs.community(row.community) or {}).get("name", row.community or "")
        if row.lead_unit not in units:
            units[row.lead_unit] = (catalogs.unit(row.lead_unit) or {}).get("name", row.lead_unit) if row.lead_unit else ""
        yield [row.number, _time(row.created_at), events.SOURCES.get(row.source, row.source), types[row.type_code],
               row.description, row.address or "", communities[row.community],
               events.STATUS_WORDS.get(row.status, row.status), row.stage or "", units[row.lead_unit],
               row.display_name or "", _time(row.closed_at)]


def type_name(catalogs, code) -> str:
    """A type in words: "A05 市容环境卫生 · 人行道秩序整治", or the Appendix B matter; retired rows too (old
    events keep theirs)."""
    row = catalogs.event_type(code)
    if row:
        return f"{code} {row['category']} · {row['content']}"
    matter = catalogs.one_thing_matter(code)
    return f"{code} {matter['name']}" if matter else (code or "")


def _time(value) -> str:
    return (local(value) or "")[:16].replace("T", " ")
