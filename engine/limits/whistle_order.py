"""哨单 (§7.3, §7.3.1): the printable whistle order of an event — who blew the whistle and when, the lead
(主办) and co-operating (协办) departments, on-site or not, the reason, and the §8.3 limits that run on it.
Built from the audit trail: the 吹哨 task's answer and each 派单 (a re-dispatch 改派 shows the last lead)."""
from __future__ import annotations

from sqlalchemy import select

from engine.accounts import privacy
from engine.pool import events
from engine.core.clock import local
from engine.core.errors import NotFound
from engine.store.models import Audit, Deadline
from handlers import actions
from engine.core import contracts

#: the limits of §8.3 that a whistle order carries
ORDER_KINDS = ("accept", "arrive", "close", "close_difficult")


def build(cmd, event_id: int) -> dict:
    """The printable order (404 until the event has been whistled); a sensitive event's read is recorded."""
    session, catalogs, user = cmd.session, cmd.catalogs, cmd.user
    event = events.get_visible(session, event_id, user, catalogs)
    rows = list(session.scalars(select(Audit).where(Audit.event_id == event.id).order_by(Audit.id)))
    whistle = next((a for a in reversed(rows) if a.action == contracts.TASK_COMPLETED
                    and isinstance(a.data, dict) and contracts.LEAD_DEPARTMENT in a.data), None)
    dispatched = [a for a in rows if a.action == actions.WHISTLE_DISPATCHED]
    if whistle is None or not dispatched:
        raise NotFound(f"事件 {event.number} 尚未吹哨 (the event has not been whistled)")
    lead = dispatched[-1].data.get("lead_unit")

    def unit_name(code):
        unit = catalogs.unit(code) or {}
        return unit.get("full_name") or unit.get("name") or code
    limits = [{"name": (catalogs.deadline_kind(d.kind) or {}).get("name", d.kind), "clause":
               (catalogs.deadline_kind(d.kind) or {}).get("clause", ""), "rule": d.rule, "due_at": local(d.due_at),
               "status": d.status, "unit": unit_name(d.unit) if d.unit else None}
              for d in session.scalars(select(Deadline).where(Deadline.event_id == event.id,
                                                              Deadline.kind.in_(ORDER_KINDS)).order_by(Deadline.id))]
    privacy.disclose(session, catalogs, user, event, cmd.now(), "whistle_order")
    type_row = catalogs.event_type(event.type_code) or {}
    return {"number": event.number, "community": (catalogs.community(event.community) or {}).get("name"),
            "type": f"{event.type_code} {type_row.get('category', '')} · {type_row.get('content', '')}",
            "description": event.description, "address": event.address, "lat": event.lat, "lng": event.lng,
            "whistled_by": whistle.actor, "whistled_at": local(whistle.at),
            "lead": unit_name(lead), "co": [unit_name(c) for c in whistle.data.get("co_departments") or []],
            "on_site": bool(whistle.data.get("on_site")), "reason": whistle.data.get("whistle_reason"),
            "redispatched": len(dispatched) > 1, "limits": limits}
