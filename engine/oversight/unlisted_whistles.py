"""清单外吹哨 — whistles off a community's whistle list (§7.3.2 应拟定本社区吹哨事件清单), for the city to see.

A community keeps its own list of the Appendix A types it may whistle (catalogs/data/communities.geojson,
edited by its cadres). 吹哨 of a type off the list needs a reason; the process's `check_whistle_list` step
(handlers/checks.py) then writes an audit row `whistle_unlisted` with the type, the community and the reason:
the mark on the event, and what is counted and listed here.

For a period [from, to): how many each community whistled off its list, and the whistles themselves, newest
first, a keyset page at a time (engine/store/paging.py), each naming the event, its type, the reason, who
whistled (their display name) and when. The city and administrators see every community; a community's own
people (cadres, its committee, its whistle officer) see their own. A sensitive event (Table A.1 rows 1–3) that
the reader may not see is counted, its entry without number, type, reason or name (engine/accounts/privacy.py).
"""
from __future__ import annotations

from collections import namedtuple

from sqlalchemy import func, select

from engine.accounts import permissions, privacy
from engine.core.clock import local
from engine.core.errors import InvalidData
from engine.oversight.indicators import check_period
from engine.store import paging
from engine.store.models import Audit, Event, User, of_action
from handlers import actions

PAGE, PAGE_MAX = 50, 500
#: a listed whistle as the query reads it (engine/store/paging.py gives its columns as a tuple)
_Row = namedtuple("_Row", "at data actor display_name event_id number type_code reporter community")
ORDER = paging.Order("unlisted_whistles", Audit.at, Audit.id, descending=True)


def _whistles(start, end, community: str | None):
    """The period's 清单外吹哨 rows (one per whistle), of one community or all: read by `ix_audit_action_at`."""
    where = [of_action(Audit.action, actions.WHISTLE_UNLISTED), Audit.at >= start, Audit.at < end]
    if community is not None:
        where.append(Event.community == community)
    return where


def counts(session, start, end, community: str | None = None) -> dict[str, int]:
    """{community: 清单外吹哨数} of the period (the communities with none left out)."""
    return dict(session.execute(select(Event.community, func.count()).join_from(Audit, Event, Event.id == Audit.event_id)
                                .where(*_whistles(start, end, community)).group_by(Event.community)).all())


def listing(cmd, start, end, community: str | None, page: paging.PageRequest) -> dict:
    """The period's unlisted whistles as `cmd.user` may read them: `?community=` one community (a community's
    people: only their own; left out, the city: all), each community's count, and a page of the whistles."""
    check_period(start, end)
    user, catalogs, session = cmd.user, cmd.catalogs, cmd.session
    if community is not None or not permissions.is_global(user):
        community = permissions.community_to_read(user, community)
        if catalogs.community(community) is None:
            raise InvalidData([{"field": "community", "reason": f"没有这个社区 (unknown community {community!r})"}])
    found = counts(session, start, end, community)
    query = (select(Audit.at, Audit.data, Audit.actor, User.display_name, Event.id, Event.number, Event.type_code,
                    Event.reporter, Event.community)
             .join_from(Audit, Event, Event.id == Audit.event_id)
             .outerjoin(User, User.username == Audit.actor)
             .where(*_whistles(start, end, community)))
    rows = paging.fetch(session, query, ORDER, page).map(lambda items: [_Row(*item) for item in items])
    hidden = privacy.hidden_ids(user, catalogs, [(r.event_id, r.type_code, r.reporter) for r in rows.items])
    privacy.disclose_listed(cmd, [r.event_id for r in rows.items if r.event_id not in hidden], "unlisted_whistles")
    items = [_shown(catalogs, row, row.event_id in hidden) for row in rows.items]
    communities = [{"community": code, "community_name": (catalogs.community(code) or {}).get("name", code),
                    "count": number} for code, number in sorted(found.items())]
    return {"from": local(start), "to": local(end), "community": community, "communities": communities,
            "total": sum(found.values()), "items": items, "next_cursor": rows.next_cursor,
            "prev_cursor": rows.prev_cursor}


def _shown(catalogs, row, hidden: bool) -> dict:
    data = row.data if isinstance(row.data, dict) else {}
    kind = catalogs.event_type(row.type_code) or {}
    entry = {"event_id": row.event_id, "event_number": row.number, "community": row.community,
             "community_name": (catalogs.community(row.community) or {}).get("name", row.community),
             "event_type": row.type_code, "event_type_name": f"{kind.get('category', '')} · {kind.get('content', '')}"
             if kind else row.type_code, "reason": data.get("reason"), "by_name": row.display_name or row.actor,
             "at": local(row.at)}
    if hidden:
        return privacy.redact_row(entry, text_fields=("reason", "event_type_name"), name_fields=("by_name",),
                                  id_fields=("event_id", "event_number", "event_type"))
    return entry
