"""考核指标 — the indicators of §8.6 for communities, units and people over any period (issue #8).

Every indicator is a ratio (or an average) with its numerator and denominator returned beside it, so
anyone can recompute it; `docs/indicators.md` writes each formula out. The period is [from, to).

The counts rest on the deadline records of §8 (engine/limits/deadlines.py) — each is an obligation of one party
(a unit, a person, or a community) — and on the events and their audit trail:

- **应处置数 (due)**: handling obligations (kinds `community_handle`, `close`, `close_difficult`,
  `superior`) whose due time falls in the period (an extended one at its extended due time);
- **已处置数 (handled)**: of those, the ones done (on time or late) before the period ends;
- **按期处置数 (on time)**: of those, the ones done by their due time;
- **一次性办结 (first time)**: an event closed in the period with no return (退回), no failed check
  (核查不通过 → 重办) and no reopening (重启);
- acceptance on time, average handling time, extension, return and satisfaction as in `INDICATORS`.

Whose obligation: `unit` — the deadline's unit (a lead or co-operating department, a local office);
`person` — the deadline's person, or else who did the work that met it (the user completing the watched
task); `community` — the community's own obligations (deadlines with its community and no unit or person)
and, for the first-time rate and satisfaction, the events of its pool.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone

from sqlalchemy import select

from engine.accounts import permissions
from engine.core.errors import InvalidData
from engine.store.models import Audit, Deadline, Event
from handlers import actions
from engine.core import contracts

LEVELS = ("community", "unit", "person")
#: the kinds of limit that are a handling obligation (处置), and the acceptance one (签收受理)
HANDLING = ("community_handle", "close", "close_difficult", "superior")
ACCEPTANCE = ("accept",)

#: indicator → (Chinese name, formula as docs/indicators.md writes it)
INDICATORS = {
    "disposal_rate": ("处置率", "已处置数 ÷ 应处置数"),
    "on_time_rate": ("按期处置率", "按期处置数 ÷ 应处置数"),
    "first_time_rate": ("一次性处置率", "一次性办结数 ÷ 办结数"),
    "accept_on_time_rate": ("按时签收率", "按时签收数 ÷ 应签收数"),
    "average_handling_hours": ("平均处置时长（小时）", "已处置时长合计 ÷ 已处置数"),
    "extension_rate": ("延期率", "延期数 ÷ 应处置数"),
    "return_rate": ("退回率", "退回数 ÷ 派单数"),
    "satisfaction_rate": ("满意率", "评价满意数 ÷ 评价数"),
    "spot_check_pass_rate": ("抽查合格率", "抽查合格数 ÷ 抽查数"),
}


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def _party(level: str, row: Deadline) -> str | None:
    if level == "unit":
        return row.unit
    if level == "person":
        return row.person or row.met_by     # named on it, or who did the work that met it
    return row.community if not row.unit and not row.person else None


def check_period(start, end) -> None:
    if start is None or end is None:
        raise InvalidData([{"field": "from" if start is None else "to",
                            "reason": "应为带时区的时间，如 2026-10-01T00:00:00+08:00 (an ISO date-time with offset)"}])
    if end <= start:
        raise InvalidData([{"field": "to", "reason": "应晚于 from (after from)"}])


def compute(session, level: str, start: datetime, end: datetime) -> dict[str, dict]:
    """{party: {indicator: {value, numerator, denominator}}} for every party with something to count."""
    if level not in LEVELS:
        raise InvalidData([{"field": "level", "reason": f"one of {', '.join(LEVELS)} (department = unit)"}])
    check_period(start, end)
    counts: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))

    # deadlines: handling and acceptance obligations due in the period
    for row in session.scalars(select(Deadline).where(Deadline.due_at >= start, Deadline.due_at < end,
                                                      Deadline.kind.in_(HANDLING + ACCEPTANCE),
                                                      Deadline.status != "superseded")):
        party = _party(level, row)
        if party is None:
            continue
        c = counts[party]
        met_at, due_at = _utc(row.met_at), _utc(row.due_at)
        done = met_at is not None and met_at < end
        if row.kind in HANDLING:
            c["due"] += 1
            c["handled"] += done
            c["on_time"] += done and met_at <= due_at
            c["extended"] += bool(row.extended)
            if done:
                c["handling_hours"] += (met_at - _utc(row.started_at)).total_seconds() / 3600
        else:
            c["accept_due"] += 1
            c["accepted_on_time"] += done and met_at <= due_at

    # events closed in the period: first time or not, and the community's rating of the lead unit
    closed = list(session.scalars(select(Event).where(Event.status == "closed", Event.closed_at >= start,
                                                      Event.closed_at < end)))
    ids = [e.id for e in closed]
    trail = defaultdict(list)
    if ids:
        for audit in session.scalars(select(Audit).where(Audit.event_id.in_(ids),
                                                         Audit.action.in_((actions.WHISTLE_RETURNED, contracts.TASK_COMPLETED,
                                                                           "reopened")))
                                     .order_by(Audit.id)):   # written order: the last rating is the last one
            trail[audit.event_id].append(audit)
    people = _people_of(session, ids) if level == "person" else {}
    for event in closed:
        audits = trail[event.id]
        first = (event.reopen_count or 0) == 0 and not any(
            a.action in (actions.WHISTLE_RETURNED, "reopened")
            or (a.action == contracts.TASK_COMPLETED and isinstance(a.data, dict) and a.data.get(contracts.CHECK_PASSED) is False)
            for a in audits)
        ratings = [a.data.get(contracts.CHECK_RATING) for a in audits if a.action == contracts.TASK_COMPLETED
                   and isinstance(a.data, dict) and a.data.get(contracts.CHECK_RATING)]
        for party in _event_parties(level, event, people):
            counts[party]["closed"] += 1
            counts[party]["first_time"] += first
            if ratings and level != "person" and event.lead_unit:   # the community's rating of a department
                counts[party]["rated"] += 1
                counts[party]["satisfied"] += ratings[-1] == "满意"

    # whistle orders dispatched to a unit in the period, and those it returned
    if level == "unit":                 # a return counts against the order it returns: dispatched in the period
        dispatched = set()
        audits = list(session.scalars(select(Audit).where(Audit.at >= start, Audit.at < end,
                                                          Audit.action.in_((actions.WHISTLE_DISPATCHED, actions.WHISTLE_RETURNED)))
                                      .order_by(Audit.id)))
        for audit in audits:
            data = audit.data if isinstance(audit.data, dict) else {}
            if audit.action == actions.WHISTLE_DISPATCHED and data.get("lead_unit"):
                counts[data["lead_unit"]]["dispatched"] += 1
                dispatched.add((audit.event_id, data["lead_unit"]))
            elif audit.action == actions.WHISTLE_RETURNED and (audit.event_id, data.get("unit")) in dispatched:
                counts[data["unit"]]["returned"] += 1

    # §9.3 the city authority's spot checks: findings recorded in the period count for the community
    if level == "community":
        from engine.oversight.spot_checks import pass_counts
        for community, (passed, checked) in pass_counts(session, start, end).items():
            counts[community]["spot_passed"] += passed
            counts[community]["spot_checked"] += checked

    return {party: _indicators(c) for party, c in sorted(counts.items())}


def _people_of(session, event_ids) -> dict[int, set]:
    """The people with a handling obligation on each event: named on it, or who did the work that met it."""
    found = defaultdict(set)
    for event_id, person, met_by in session.execute(select(Deadline.event_id, Deadline.person, Deadline.met_by).where(
            Deadline.event_id.in_(event_ids), Deadline.kind.in_(HANDLING), Deadline.status != "superseded")):
        if person or met_by:
            found[event_id].add(person or met_by)
    return found


def _event_parties(level, event, people) -> list[str]:
    if level == "community":
        return [event.community] if event.community else []
    if level == "unit":
        return [event.lead_unit] if event.lead_unit else []
    return sorted(people.get(event.id, ()))


def _ratio(numerator, denominator, digits=4) -> dict:
    return {"value": round(numerator / denominator, digits) if denominator else None,
            "numerator": _number(numerator), "denominator": _number(denominator)}


def _number(value):
    return int(value) if float(value).is_integer() else round(value, 2)


def _indicators(c) -> dict:
    return {
        "disposal_rate": _ratio(c["handled"], c["due"]),
        "on_time_rate": _ratio(c["on_time"], c["due"]),
        "first_time_rate": _ratio(c["first_time"], c["closed"]),
        "accept_on_time_rate": _ratio(c["accepted_on_time"], c["accept_due"]),
        "average_handling_hours": _ratio(c["handling_hours"], c["handled"], 2),
        "extension_rate": _ratio(c["extended"], c["due"]),
        "return_rate": _ratio(c["returned"], c["dispatched"]),
        "satisfaction_rate": _ratio(c["satisfied"], c["rated"]),
        "spot_check_pass_rate": _ratio(c["spot_passed"], c["spot_checked"]),
    }


def describe(catalogs, level: str, party: str, indicators: dict) -> dict:
    """One party's row as the API returns it: its name, and each indicator with its formula."""
    if level == "community":
        name = (catalogs.community(party) or {}).get("name", party)
    elif level == "unit":
        name = (catalogs.unit(party) or {}).get("name", party)
    else:
        name = party
    return {"key": party, "name": name,
            "indicators": {key: {**value, "name": INDICATORS[key][0], "formula": INDICATORS[key][1]}
                           for key, value in indicators.items()}}


def visible(session, catalogs, user, level: str, parties) -> list[str]:
    """The parties whose numbers this user may see (engine/accounts/permissions.py): the city and administrators
    all; a unit's people their unit and the units below it; a community's people their community; a person
    their own row (and a unit's or community's cadres their people's)."""
    from engine.store.models import User
    if permissions.is_global(user):
        return list(parties)
    if level == "unit":
        return [p for p in parties if permissions.may_read_unit_row(user, catalogs, p)]
    if level == "community":
        return [p for p in parties if permissions.may_read_community_row(user, p)]
    scope = {u.username: u for u in session.scalars(select(User).where(User.username.in_(list(parties))))}
    return [p for p in parties if p in scope and permissions.may_read_person_row(user, catalogs, scope[p])]


def table(report_items: list[dict]) -> tuple[list[str], list[list]]:
    """The indicator rows as a table for export: per indicator its value, numerator and denominator."""
    header = ["代码", "名称"]
    for name, _formula in INDICATORS.values():
        header += [name, f"{name}·分子", f"{name}·分母"]
    rows = []
    for item in report_items:
        row = [item["key"], item["name"]]
        for key in INDICATORS:
            value = item["indicators"][key]
            row += [value["value"], value["numerator"], value["denominator"]]
        rows.append(row)
    return header, rows


def events_by_community(session, start, end) -> dict[str, int]:
    """Events registered in the period, per community (the dashboard's map)."""
    from sqlalchemy import func
    found = session.execute(select(Event.community, func.count(Event.id)).where(
        Event.created_at >= start, Event.created_at < end, Event.community.is_not(None)).group_by(Event.community))
    return {community: number for community, number in found}
