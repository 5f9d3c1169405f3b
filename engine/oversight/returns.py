"""退回 as the city, and each department for its own, sees it (issue #19; §7.3.1 改派, §9.1 督办): the returns of
whistle orders each unit made in a period, counted per unit and per coded reason (catalog `return_reasons`:
不属本单位职责, 信息不全, 重复, 其他), listed newest first a page at a time, and the city authority's
(社会治理中心) ruling on one: 不合理退回 (unreasonable) or 合理 (reasonable). A department reads its own
unit's returns and rulings (and those of the units below it), never another's.

A return the city rules unreasonable counts against the unit that returned it (its 不合理退回数, 不合理退回率) and
no longer as the community's misroute (派错率, nor against the community's first-time rate):
engine/oversight/counting.py reads the rulings, and the counts kept per day follow a ruling at once (the
trigger of migration 0032 lists the days it changes).

A sensitive event's return (Table A.1 rows 1–3) is counted in the summary like any other return, with no
number, text or name; the list holds only the returns of events the reader may see and says how many it
leaves out (「涉密事件 N 件」), and a ruling on one the reader may not see is refused as not found."""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select

from engine.accounts import permissions
from engine.core import contracts
from engine.core.clock import local
from engine.core.errors import Conflict, InvalidData, InvalidQuery, NotFound
from engine.oversight.counting import UNREASONABLE, dialect
from engine.store import paging
from engine.store.db import PLANNED
from engine.store.models import Audit, Event, ReturnRuling, User, of_action
from handlers import actions

#: the rulings (the first counts against the unit, engine/oversight/counting.py)
VERDICTS = {UNREASONABLE: "不合理退回", "reasonable": "合理退回"}
#: the list's `status` filter: not yet ruled, or ruled so
STATUSES = ("unruled", *VERDICTS)
#: a return recorded before the coded reasons (no `code`)
UNCODED = "未编码"
ORDER = paging.Order("returns", Audit.at, Audit.id, descending=True)
PAGE, PAGE_MAX = 50, 200
NOTE_MAX = 2000


def _data(session, key: str):
    """`audit.data[key]` as text (NULL when absent)."""
    if dialect(session) == "sqlite":
        return func.json_extract(Audit.data, f"$.{key}")
    return Audit.data.op("->>")(key)


def _returns(start, end):
    return [of_action(Audit.action, actions.WHISTLE_RETURNED), Audit.at >= start, Audit.at < end]


def summary(cmd, start, end) -> dict:
    """The returns made in [start, end) per unit and reason: for each unit that returned, how many with each
    reason, how many ruled unreasonable, ruled reasonable and not yet ruled; the reasons in catalog order (and
    未编码 for returns recorded before the coded reasons). Every return is counted, a sensitive event's too."""
    session, catalogs = cmd.session, cmd.catalogs
    unit, code = _data(session, "unit"), _data(session, "code")
    rows = session.execute(select(unit, code, ReturnRuling.verdict, func.count())
                           .select_from(Audit).outerjoin(ReturnRuling, ReturnRuling.audit_id == Audit.id)
                           .where(*_returns(start, end), *_scope(cmd)).group_by(unit, code, ReturnRuling.verdict))
    units: dict[str, dict] = {}
    uncoded = False
    for who, reason, verdict, number in rows:
        row = units.setdefault(who or "", {"key": who or "", "name": _unit_name(catalogs, who), "total": 0,
                                           "by_reason": defaultdict(int), "unruled": 0,
                                           **dict.fromkeys(VERDICTS, 0)})
        number = int(number)
        row["total"] += number
        row["by_reason"][reason or ""] += number
        row[verdict or "unruled"] += number
        uncoded = uncoded or not reason
    reasons = [{"code": r["code"], "name": r["name"]} for r in catalogs.get("return_reasons")]
    known = {r["code"] for r in reasons}
    if uncoded or any(c not in known for u in units.values() for c in u["by_reason"] if c):
        reasons.append({"code": "", "name": UNCODED})
    shown = []
    for row in sorted(units.values(), key=lambda r: (-r["total"], r["key"])):
        by_reason = {r["code"]: 0 for r in reasons}
        for reason, number in row["by_reason"].items():
            by_reason[reason if reason in known else ""] += number
        shown.append({**row, "by_reason": by_reason})
    totals = {key: sum(r[key] for r in shown) for key in ("total", "unruled", *VERDICTS)}
    totals["by_reason"] = {r["code"]: sum(u["by_reason"][r["code"]] for u in shown) for r in reasons}
    return {"from": local(start), "to": local(end), "reasons": reasons, "verdicts": VERDICTS,
            "units": shown, "totals": totals}


def _unit_name(catalogs, code) -> str:
    return (catalogs.unit(code) or {}).get("name", code) if code else "—"


def listing(cmd, start, end, filters: dict, page: paging.PageRequest) -> paging.Page:
    """A page of the returns made in [start, end), newest first (`filters`: `unit`, `code` — "" for 未编码 —,
    `status`: unruled | unreasonable | reasonable), of the events the reader may see. The page's `hidden`
    (through `Page.body`) is how many returns the filters match on events the reader may not see."""
    session, user = cmd.session, cmd.user
    conditions = [*_filters(session, filters), *_scope(cmd)]
    visible = permissions.events_of(user, cmd.catalogs)
    query = (select(Audit, Event.number, Event.community, ReturnRuling)
             .join(Event, Event.id == Audit.event_id)
             .outerjoin(ReturnRuling, ReturnRuling.audit_id == Audit.id)
             .where(*_returns(start, end), *conditions, visible))
    found = paging.fetch(session, query, ORDER, page)
    names = _display_names(session, {a.actor for a, *_ in found.items}
                           | {r.ruled_by for *_, r in found.items if r is not None})
    return found.map(lambda rows: [_describe(cmd.catalogs, names, *row) for row in rows])


def hidden(cmd, start, end, filters: dict) -> int:
    """How many returns matching `filters` are on events the reader may not see (the list's 涉密事件 N 件)."""
    session = cmd.session
    return session.scalar(select(func.count(Audit.id)).join(Event, Event.id == Audit.event_id)
                          .outerjoin(ReturnRuling, ReturnRuling.audit_id == Audit.id)
                          .where(*_returns(start, end), *_filters(session, filters), *_scope(cmd),
                                 ~permissions.events_of(cmd.user, cmd.catalogs)),
                          execution_options=PLANNED) or 0


def _scope(cmd) -> list:
    """A department reads its own unit's returns and those of the units below it (permissions.returns_units)."""
    units = permissions.returns_units(cmd.user, cmd.catalogs)
    return [] if units is None else [_data(cmd.session, "unit").in_(units or [""])]


def _filters(session, filters: dict) -> list:
    found = []
    if filters.get("unit"):
        found.append(_data(session, "unit") == filters["unit"])
    if filters.get("code") is not None:
        code = _data(session, "code")
        found.append(func.coalesce(code, "") == filters["code"])
    status = filters.get("status")
    if status:
        if status not in STATUSES:
            raise InvalidQuery([{"field": "status", "reason": f"应为 {' | '.join(STATUSES)}"}])
        found.append(ReturnRuling.id.is_(None) if status == "unruled" else ReturnRuling.verdict == status)
    return found


def _display_names(session, usernames) -> dict[str, str]:
    usernames = {u for u in usernames if u}
    if not usernames:
        return {}
    return dict(session.execute(select(User.username, User.display_name).where(User.username.in_(usernames))).all())


def _describe(catalogs, names, audit: Audit, number, community, ruling: ReturnRuling | None) -> dict:
    data = audit.data if isinstance(audit.data, dict) else {}
    reason = catalogs.return_reason(data.get("code"))
    return {"id": audit.id, "event_id": audit.event_id, "event_number": number, "at": local(audit.at),
            "community": community, "community_name": (catalogs.community(community) or {}).get("name", community),
            "unit": data.get("unit"), "unit_name": _unit_name(catalogs, data.get("unit")),
            "code": data.get("code"), "reason_name": reason["name"] if reason else UNCODED,
            "reason": data.get("reason"), "count": data.get("count"),
            "returned_by": names.get(audit.actor, "—"),
            "ruling": None if ruling is None else {
                "verdict": ruling.verdict, "verdict_name": VERDICTS.get(ruling.verdict, ruling.verdict),
                "note": ruling.note, "by": names.get(ruling.ruled_by, "—"), "at": local(ruling.ruled_at)}}


def rule(cmd, return_id: int, body: dict) -> dict:
    """The city authority rules on one return: `verdict` unreasonable (不合理退回: `note`, why, is required) or
    reasonable (合理), once; audited on the event. 404 for a return that does not exist or is on an event the
    ruler may not see; 409 when it is ruled already."""
    permissions.RETURN_RULING.require(cmd.user)
    verdict, note = body.get("verdict"), body.get("note")
    errors = []
    if verdict not in VERDICTS:
        errors.append({"field": "verdict", "reason": f"应为 {' | '.join(VERDICTS)}（不合理退回 / 合理退回）"})
    if note is not None and not isinstance(note, str):
        errors.append({"field": "note", "reason": "应为文本 (text)"})
    elif note is not None and len(note) > NOTE_MAX:
        errors.append({"field": "note", "reason": f"最多 {NOTE_MAX} 字 (at most {NOTE_MAX} characters)"})
    elif verdict == UNREASONABLE and len((note or "").strip()) < 2:
        errors.append({"field": "note", "reason": "裁定不合理退回须写明理由，至少 2 字 (say why, 2 characters or more)"})
    if errors:
        raise InvalidData(errors)
    session = cmd.session
    # the return's row locked until commit: two rulings of one return meet here, the second finds the first
    found = session.execute(select(Audit, Event).join(Event, Event.id == Audit.event_id)
                            .where(Audit.id == return_id, Audit.action == actions.WHISTLE_RETURNED,
                                   permissions.events_of(cmd.user, cmd.catalogs))
                            .with_for_update(of=Audit)).first()
    if found is None:
        raise NotFound(f"没有这次退回 (no return {return_id})", field="return_id")
    audit, event = found
    if session.scalar(select(ReturnRuling.id).where(ReturnRuling.audit_id == audit.id)) is not None:
        raise Conflict("该退回已裁定 (the return is ruled already)", return_id=audit.id)
    data = audit.data if isinstance(audit.data, dict) else {}
    now, note = cmd.now(), (note or "").strip() or None
    ruling = ReturnRuling(audit_id=audit.id, event_id=event.id, unit=data.get("unit"), community=event.community,
                          returned_at=audit.at, verdict=verdict, note=note, ruled_by=cmd.actor, ruled_at=now)
    session.add(ruling)
    session.add(Audit(at=now, actor=cmd.actor, action=contracts.RETURN_RULED, event_id=event.id,
                      data={"return_id": audit.id, "unit": data.get("unit"), "verdict": verdict, "note": note}))
    session.flush()
    names = _display_names(session, {audit.actor, cmd.actor})
    return _describe(cmd.catalogs, names, audit, event.number, event.community, ruling)
