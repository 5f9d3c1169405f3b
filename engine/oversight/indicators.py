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
  (核查不通过 → 重办) and no reopening (重启) — for a community, a return the city ruled unreasonable
  (不合理退回, issue #19) does not count: it was not the community's misroute;
- **派单数 / 退回数 / 不合理退回数**: whistle orders dispatched in the period, the returns of those orders, and of
  those the ones the city ruled unreasonable (engine/oversight/returns.py) — a unit's 退回率 and 不合理退回率,
  and a community's 派错率: the returns of its orders that stand (not ruled unreasonable) over its orders;
- acceptance on time, average handling time, extension, return and satisfaction as in `INDICATORS`: two
  satisfactions, each its own numerator and denominator — the community's rating of the departments' work
  (核查's 评价, `satisfaction_rate`) and the reporter's own, asked at the 回访 after closure (满意 and 基本满意
  over the 回访 that reached them, `citizen_satisfaction_rate`; engine/casework/revisits.py).

Whose obligation: `unit` — the deadline's unit (a lead or co-operating department, a local office);
`person` — the deadline's person, or else who did the work that met it (the user completing the watched
task); `community` — the community's own obligations (deadlines with its community and no unit or person)
and, for the first-time rate and satisfaction, the events of its pool.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time, timedelta

from sqlalchemy import and_, case, func, literal, select

from engine.accounts import permissions
from engine.casework import record
from engine.core.clock import SHANGHAI
from engine.core.errors import InvalidData
from engine.oversight import comparison, rollups
from engine.oversight.counting import (ACCEPTANCE, HANDLING, ORDER_LEVELS, STEPS, closed_query, dispatched_query,
                                       microseconds, party_column, returned_query, revisit_query)
from engine.store.models import Deadline, Event

LEVELS = ("community", "unit", "person")

#: indicator → (Chinese name, formula as docs/indicators.md writes it)
INDICATORS = {
    "disposal_rate": ("处置率", "已处置数 ÷ 应处置数"),
    "on_time_rate": ("按期处置率", "按期处置数 ÷ 应处置数"),
    "first_time_rate": ("一次性处置率", "一次性办结数 ÷ 办结数"),
    "accept_on_time_rate": ("按时签收率", "按时签收数 ÷ 应签收数"),
    "average_handling_hours": ("平均处置时长（小时）", "已处置时长合计 ÷ 已处置数"),
    "extension_rate": ("延期率", "延期数 ÷ 应处置数"),
    "return_rate": ("退回率", "退回数 ÷ 派单数"),
    "unreasonable_return_rate": ("不合理退回率", "不合理退回数 ÷ 派单数"),
    "misroute_rate": ("派错率", "（退回数 − 不合理退回数） ÷ 派单数"),
    "satisfaction_rate": ("社区评价满意率", "评价满意数 ÷ 评价数"),
    "citizen_satisfaction_rate": ("群众满意率（回访）", "回访满意数 ÷ 回访接通数"),
    "spot_check_pass_rate": ("抽查合格率", "抽查合格数 ÷ 抽查数"),
    "step_on_time_rate": ("社区环节按时率", "按时完成环节数 ÷ 应完成环节数"),
}


#: the levels each indicator is counted at (docs/indicators.md's table); at another level it is not assessed
APPLIES = {"accept_on_time_rate": ("unit", "person"), "return_rate": ("unit",), "unreasonable_return_rate": ("unit",),
           "misroute_rate": ("community",), "satisfaction_rate": ("community", "unit"),
           "citizen_satisfaction_rate": ("community", "unit"), "spot_check_pass_rate": ("community",),
           "step_on_time_rate": ("community", "person")}
#: why an indicator has no value: its denominator, as docs/indicators.md defines it, counted nothing in the period
EMPTY = {"disposal_rate": "本期无到期事件", "on_time_rate": "本期无到期事件", "extension_rate": "本期无到期事件",
         "average_handling_hours": "本期无到期事件", "first_time_rate": "本期无办结事件",
         "accept_on_time_rate": "本期无到期的签收", "return_rate": "本期无派单", "unreasonable_return_rate": "本期无派单",
         "misroute_rate": "本期无吹哨派单", "satisfaction_rate": "本期无核查评价",
         "citizen_satisfaction_rate": "本期无接通的回访", "spot_check_pass_rate": "本期无抽查",
         "step_on_time_rate": "本期无到期环节"}
#: what each reason means, for the page's legend (说明)
EMPTY_MEANING = {
    "本期无到期事件": "应处置数为 0：处置时限在所选期间内到期的才计入；提前办结、时限在期后到期的，计入时限到期的那一期",
    "本期到期事件均未处置": "应处置数不为 0，但到期的都还没有处置，没有处置时长可平均",
    "本期无办结事件": "办结数为 0：所选期间内没有办结的事件",
    "本期无到期的签收": "应签收数为 0：签收受理时限在所选期间内到期的才计入",
    "本期无派单": "派单数为 0：所选期间内没有派给该单位的哨单",
    "本期无吹哨派单": "派单数为 0：所选期间内该社区没有吹哨派单",
    "本期无核查评价": "评价数为 0：所选期间内办结的事件没有核查评价",
    "本期无接通的回访": "回访接通数为 0：所选期间内没有接通并评价的回访",
    "本期无抽查": "抽查数为 0：所选期间内没有抽查结果",
    "本期无到期环节": "应完成环节数为 0：核实、研判、吹哨/派单、核查的时限在所选期间内到期的才计入",
    "本级不考核": "该指标不在这一级考核（见指标说明）",
}
NOT_ASSESSED = "本级不考核"


def reasons(level: str, values: dict) -> dict[str, str | None]:
    """{indicator: why it has no value, or None when it has one} of one party's `compute` row."""
    found = {}
    for key, value in values.items():
        if value["value"] is not None:
            found[key] = None
        elif level not in APPLIES.get(key, LEVELS):
            found[key] = NOT_ASSESSED
        elif key == "average_handling_hours" and values["disposal_rate"]["denominator"]:
            found[key] = "本期到期事件均未处置"
        else:
            found[key] = EMPTY[key]
    return found


def check_period(start, end) -> None:
    if start is None or end is None:
        raise InvalidData([{"field": "from" if start is None else "to",
                            "reason": "应为带时区的时间，如 2026-10-01T00:00:00+08:00 (an ISO date-time with offset)"}])
    if end <= start:
        raise InvalidData([{"field": "to", "reason": "应晚于 from (after from)"}])


def compute(session, level: str, start: datetime, end: datetime, rollup: bool = True) -> dict[str, dict]:
    """{party: {indicator: {value, numerator, denominator}}} for every party with something to count.

    Counted in the database (issue #17). A period of whole Asia/Shanghai days is read from the counts kept per
    day and month (engine/oversight/rollups.py), so a year costs about what a month does; any other period (or
    `rollup=False`, the reference the kept counts are tested against) is counted from the tables, each part one
    aggregate over indexed columns grouped by party: the deadlines due in the period, the events closed in it
    (first time or not, the last rating, each an EXISTS or a last-row subquery on the event's audit trail),
    the whistle orders and returns. The spot checks are counted from their own small table either way."""
    if level not in LEVELS:
        raise InvalidData([{"field": "level", "reason": f"one of {', '.join(LEVELS)} (department = unit)"}])
    check_period(start, end)
    days = rollups.whole_days(start, end) if rollup else None
    found = rollups.counts(session, level, *days) if days else _from_tables(session, level, start, end)
    counts: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for party, measures in found.items():
        counts[party].update(measures)

    # §9.3 the city authority's spot checks: findings recorded in the period count for the community
    if level == "community":
        from engine.oversight.spot_checks import pass_counts
        for community, (passed, checked) in pass_counts(session, start, end).items():
            counts[community]["spot_passed"] += passed
            counts[community]["spot_checked"] += checked

    return {party: _indicators(c, level) for party, c in sorted(counts.items())}


def _from_tables(session, level: str, start: datetime, end: datetime) -> dict[str, dict[str, float]]:
    """The period's counts per party, from the deadlines, events and audit trail themselves."""
    counts: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for party, found in deadline_counts(session, level, [start, end])[0].items():
        counts[party].update(found)
    for party, closed, first, rated, satisfied in session.execute(closed_query(session, level, start, end)):
        c = counts[party]
        c["closed"] += int(closed)                  # PostgreSQL's sums are numeric
        c["first_time"] += int(first or 0)
        c["rated"] += int(rated or 0)
        c["satisfied"] += int(satisfied or 0)
    revisits = revisit_query(session, level, start, end)
    for party, reached, satisfied in session.execute(revisits) if revisits is not None else ():
        counts[party]["revisited"] += int(reached)
        counts[party]["revisit_satisfied"] += int(satisfied or 0)
    if level in ORDER_LEVELS:   # a return counts against the order it returns: dispatched in the period
        for party, dispatched in session.execute(dispatched_query(session, start, end, level=level)):
            counts[party]["dispatched"] += int(dispatched)
        for party, returned, unreasonable in session.execute(returned_query(session, start, end, level=level)):
            counts[party]["returned"] += int(returned)
            counts[party]["unreasonable"] += int(unreasonable or 0)
    return counts


def deadline_counts(session, level: str, bounds: list[datetime]) -> list[dict[str, dict[str, float]]]:
    """The deadline counts of each period [bounds[i], bounds[i+1]) — {party: {due, handled, on_time, extended,
    handling_hours, accept_due, accepted_on_time, step_due, step_on_time}} per period — in one aggregate over
    `deadline.due_at`."""
    periods = len(bounds) - 1
    bucket = case(*[(Deadline.due_at < bounds[i + 1], i) for i in range(periods)]) if periods > 1 else literal(0)
    period_end = (case(*[(Deadline.due_at < bounds[i + 1], bounds[i + 1]) for i in range(periods)])
                  if periods > 1 else literal(bounds[-1], Deadline.due_at.type))
    party = party_column(level).label("party")
    handling, acceptance, step = (Deadline.kind.in_(HANDLING), Deadline.kind.in_(ACCEPTANCE),
                                  Deadline.kind.in_(STEPS))
    done = and_(Deadline.met_at.is_not(None), Deadline.met_at < period_end)
    on_time = and_(done, Deadline.met_at <= Deadline.due_at)

    def total(condition, value=1):
        return func.sum(case((condition, value), else_=0))

    query = (select(bucket.label("bucket"), party,
                    total(handling), total(and_(handling, done)), total(and_(handling, on_time)),
                    total(and_(handling, Deadline.extended.is_(True))),
                    total(and_(handling, done), microseconds(session, Deadline.met_at, Deadline.started_at)),
                    total(acceptance), total(and_(acceptance, on_time)), total(step), total(and_(step, on_time)))
             .where(Deadline.due_at >= bounds[0], Deadline.due_at < bounds[-1],
                    Deadline.kind.in_(HANDLING + ACCEPTANCE + STEPS), Deadline.status != "superseded",
                    party.is_not(None))
             .group_by(bucket, party))
    found: list[dict] = [{} for _ in range(periods)]
    for index, who, due, handled, in_time, extended, micros, accept_due, accepted, step_due, step_on_time \
            in session.execute(query):
        found[index][who] = {"due": int(due or 0), "handled": int(handled or 0), "on_time": int(in_time or 0),
                             "extended": int(extended or 0), "handling_hours": int(micros or 0) / 3_600_000_000,
                             "accept_due": int(accept_due or 0), "accepted_on_time": int(accepted or 0),
                             "step_due": int(step_due or 0), "step_on_time": int(step_on_time or 0)}
    return found


def _ratio(numerator, denominator, digits=4) -> dict:
    return {"value": round(numerator / denominator, digits) if denominator else None,
            "numerator": _number(numerator), "denominator": _number(denominator)}


def _number(value):
    return int(value) if float(value).is_integer() else round(value, 2)


#: the indicators of the orders a party's returns are counted against: a unit's own returns, a community's
#: orders returned as its misroute; the other level's are left at nothing to count
ORDER_INDICATORS = {"unit": ("return_rate", "unreasonable_return_rate"), "community": ("misroute_rate",)}


def _indicators(c, level: str) -> dict:
    found = _all_indicators(c)
    for other, names in ORDER_INDICATORS.items():
        if other != level:
            found.update({name: _ratio(0, 0) for name in names})
    return found


def _all_indicators(c) -> dict:
    return {
        "disposal_rate": _ratio(c["handled"], c["due"]),
        "on_time_rate": _ratio(c["on_time"], c["due"]),
        "first_time_rate": _ratio(c["first_time"], c["closed"]),
        "accept_on_time_rate": _ratio(c["accepted_on_time"], c["accept_due"]),
        "average_handling_hours": _ratio(c["handling_hours"], c["handled"], 2),
        "extension_rate": _ratio(c["extended"], c["due"]),
        "return_rate": _ratio(c["returned"], c["dispatched"]),
        "unreasonable_return_rate": _ratio(c["unreasonable"], c["dispatched"]),
        "misroute_rate": _ratio(c["returned"] - c["unreasonable"], c["dispatched"]),
        "satisfaction_rate": _ratio(c["satisfied"], c["rated"]),
        "citizen_satisfaction_rate": _ratio(c["revisit_satisfied"], c["revisited"]),
        "spot_check_pass_rate": _ratio(c["spot_passed"], c["spot_checked"]),
        "step_on_time_rate": _ratio(c["step_on_time"], c["step_due"]),
    }


def describe(catalogs, level: str, party: str, indicators: dict, previous: dict | None = None,
             names: dict | None = None) -> dict:
    """One party's row as the API returns it: its name (a person's by `names`, engine/casework/record.py
    `named`: never the login name), and each indicator with its formula, why it has no value (`reason`), and
    its value in the previous period (`previous`, engine/oversight/comparison.py) with the change (环比:
    percentage points, or hours)."""
    if level == "community":
        name = (catalogs.community(party) or {}).get("name", party)
    elif level == "unit":
        name = (catalogs.unit(party) or {}).get("name", party)
    else:
        name = (names or {}).get(party) or record.UNKNOWN_NAME
    why = reasons(level, indicators) if indicators else {}
    before = previous or {}
    return {"key": party, "name": name,
            "indicators": {key: {**value, "name": INDICATORS[key][0], "formula": INDICATORS[key][1],
                                 "reason": why.get(key),
                                 "previous": (before.get(key) or {}).get("value"),
                                 "change": comparison.change(key, value["value"], (before.get(key) or {}).get("value"))}
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


def report(cmd, level: str, start: datetime, end: datetime, found: dict | None = None,
           previous: dict | None = None) -> list[dict]:
    """The rows of [start, end) at `level` that `cmd.user` may see (`visible`), each as `describe` gives it, with
    the change from the previous period of equal length (环比, `comparison.previous_period`) — `found` and
    `previous`: what `compute` gave for the two periods, if the caller has them already."""
    found = compute(cmd.session, level, start, end) if found is None else found
    if previous is None:
        previous = compute(cmd.session, level, *comparison.previous_period(start, end))
    keep = visible(cmd.session, cmd.catalogs, cmd.user, level, found)
    names = record.named(cmd.session, cmd.catalogs, keep) if level == "person" else None
    return [describe(cmd.catalogs, level, party, found[party], previous.get(party), names) for party in keep]


#: the rates the dashboard's trend follows
TREND = ("on_time_rate", "disposal_rate")
#: their numerators and denominator in `deadline_counts`
_TREND_PARTS = {"on_time_rate": ("on_time", "due"), "disposal_rate": ("handled", "due")}


def trend(cmd, level: str, end: datetime, months: int = 6) -> list[dict]:
    """The calendar months (Asia/Shanghai) up to the one `end` falls in: for each, `TREND`'s rates of the
    parties `cmd.user` may see taken together — Σ numerators ÷ Σ denominators, None with nothing to count.
    Each month is read from the counts kept (engine/oversight/rollups.py)."""
    first = (end - timedelta(seconds=1)).astimezone(SHANGHAI).date().replace(day=1)
    starts = [first]
    for _ in range(months - 1):
        starts.insert(0, (starts[0] - timedelta(days=1)).replace(day=1))
    bounds = [datetime.combine(month, time(), SHANGHAI) for month in starts]
    bounds.append(datetime.combine((starts[-1] + timedelta(days=32)).replace(day=1), time(), SHANGHAI))
    per_month = [rollups.counts(cmd.session, level, *rollups.whole_days(a, b))
                 for a, b in zip(bounds, bounds[1:], strict=False)]
    keep = set(visible(cmd.session, cmd.catalogs, cmd.user, level, sorted({p for m in per_month for p in m})))
    points = []
    for month, found in zip(starts, per_month, strict=True):
        shown = [c for party, c in found.items() if party in keep]
        sums = {key: [sum(c[part] for c in shown) for part in _TREND_PARTS[key]] for key in TREND}
        points.append({"month": month.strftime("%Y-%m"), **{k: round(n / d, 4) if d else None for k, (n, d) in sums.items()}})
    return points


def table(report_items: list[dict], scores: dict | None = None) -> tuple[list[str], list[list]]:
    """The indicator rows as a table for export: per indicator its value, numerator, denominator and 环比 (its
    change against the previous period of equal length: percentage points, or hours); with `scores`
    (engine/oversight/assessment.py `compared`), each party's score, its rank among its kind and the score's
    环比 after them (empty where there is no score: 无数据，不评分)."""
    header = ["代码", "名称"]
    for name, _formula in INDICATORS.values():
        header += [name, f"{name}·分子", f"{name}·分母", f"{name}·环比"]
    if scores is not None:
        header += ["得分", "排名", "同类参评数", "得分·环比"]
    rows = []
    for item in report_items:
        row = [item["key"], item["name"]]
        for key in INDICATORS:
            value = item["indicators"][key]
            row += [value["value"], value["numerator"], value["denominator"], value.get("change")]
        if scores is not None:
            score = scores.get(item["key"]) or {}
            row += [score.get("score"), score.get("rank"), score.get("ranked"), score.get("change")]
        rows.append(row)
    return header, rows


def events_by_community(cmd, start, end) -> dict[str, int]:
    """Events registered in the period, per community (the dashboard's map): of every community for the city
    and administrators, of their own for everyone else (`visible`). Whole days are read from the counts kept
    per day (engine/oversight/rollups.py)."""
    days = rollups.whole_days(start, end)
    if days:
        found = {c: int(n["received"]) for c, n in rollups.counts(cmd.session, "community", *days,
                                                                  measures=rollups.RECEIVED).items()}
    else:
        found = dict(cmd.session.execute(select(Event.community, func.count(Event.id)).where(
            Event.created_at >= start, Event.created_at < end, Event.community.is_not(None))
            .group_by(Event.community)).all())
    keep = set(visible(cmd.session, cmd.catalogs, cmd.user, "community", found))
    return {community: number for community, number in found.items() if community in keep}
