"""社区月报 — a community's monthly report (§9.2, issue #8): 社区应对人员到位、事件流转处置、重点问题等情况进行汇总
上报，并每月至少上报一处重点隐患整治点.

For one community and month (Asia/Shanghai):
- **人员到位** (staff presence): each of the community's active staff with their duty-roster days, patrols
  (巡查打卡) and the days they completed tasks (task activity);
- **事件流转处置**: events received (registered in the community's pool in the month), closed in it,
  whistled (of those received), and overdue (events of the community with a limit missed in the month);
- **重点问题**: the event types received most often;
- **重点隐患整治点**: the month's hazard points with their state, and whether the community was reminded
  or flagged for having none;
- **抽查结果** and **通报** (§9.3: the city's results published to whom they name): the findings recorded in the
  month on the community's spot checks, and the month's circular lines naming the community or its joint
  party committee — each category counted, its first `circular.FIRST` lines listed (the circular itself
  pages through the rest). A sensitive event the reader may not see is counted without number or text.
"""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, case, func, select

from engine.accounts import permissions, privacy
from engine.core.clock import SHANGHAI
from engine.core.errors import InvalidData
from engine.oversight import circular, spot_checks
from engine.oversight.counting import completed, shanghai_day
from engine.oversight.hazards import describe, month_state
from engine.store.models import Audit, Deadline, Event, HazardPoint, Patrol, User
from handlers import actions


def bounds(month: str) -> tuple[datetime, datetime]:
    try:
        first = date.fromisoformat(f"{month}-01")
    except (TypeError, ValueError):
        raise InvalidData([{"field": "month", "reason": "YYYY-MM"}]) from None
    nxt = (first + timedelta(days=32)).replace(day=1)
    return datetime.combine(first, time(), SHANGHAI), datetime.combine(nxt, time(), SHANGHAI)


def build(cmd, community: str, month: str) -> dict:
    """社区月报 (§9.2) of `community` for `month` (YYYY-MM): its people's presence (duty, patrols, days with
    work done), its events, its key problems and its key hazard points."""
    session, catalogs = cmd.session, cmd.catalogs
    if catalogs.community(community) is None:
        raise InvalidData([{"field": "community", "reason": f"unknown community {community!r}"}])
    start, end = bounds(month)
    staff = list(session.scalars(select(User).where(User.community == community, User.active.is_(True))
                                 .order_by(User.username)))
    names = [u.username for u in staff]
    duty = Counter(row["person"] for row in catalogs.get("duty_rosters")
                   if row["person"] in names and row["date"].startswith(month))
    patrols = dict(session.execute(select(Patrol.username, func.count()).where(
        Patrol.community == community, Patrol.at >= start, Patrol.at < end).group_by(Patrol.username)).all())
    day = shanghai_day(session, Audit.at)
    active_days = dict(session.execute(select(Audit.actor, func.count(day.distinct())).where(
        completed(), Audit.actor.in_(names), Audit.at >= start, Audit.at < end)
        .group_by(Audit.actor)).all()) if names else {}
    presence = [{"username": u.username, "name": u.display_name, "roles": sorted(u.roles or []),
                 "duty_days": duty.get(u.username, 0), "patrols": patrols.get(u.username, 0),
                 "active_days": active_days.get(u.username, 0)} for u in staff]

    # counted in the database (issue #17): a month of a busy community is thousands of events
    received = and_(Event.community == community, Event.created_at >= start, Event.created_at < end)
    whistled = (select(Audit.id).where(Audit.event_id == Event.id, Audit.action == actions.WHISTLE_DISPATCHED)
                .exists())
    counts = session.execute(select(func.count(), func.sum(case((whistled, 1), else_=0))).where(received)).one()
    # events of the community with a limit missed in the month (whenever they came in): a closed month's
    # number does not change later
    overdue = session.scalar(select(func.count(Deadline.event_id.distinct())).join(Event, Event.id == Deadline.event_id)
                             .where(Event.community == community, Deadline.missed_at >= start, Deadline.missed_at < end))
    closed = session.scalar(select(func.count()).where(Event.community == community, Event.status == "closed",
                                                       Event.closed_at >= start, Event.closed_at < end))
    types = session.execute(select(Event.type_code, func.count().label("n")).where(received)
                            .group_by(Event.type_code).order_by(func.count().desc(), Event.type_code).limit(5)).all()
    problems = [{"type_code": code, "name": _type_name(catalogs, code), "count": n} for code, n in types]
    points = [describe(p) for p in session.scalars(select(HazardPoint).where(
        HazardPoint.community == community, HazardPoint.month == month).order_by(HazardPoint.id))]
    return {"community": community, "community_name": catalogs.community(community)["name"], "month": month,
            "presence": presence,
            "events": {"received": counts[0], "closed": closed, "whistled": int(counts[1] or 0),
                       "overdue": overdue},
            "key_problems": problems, "hazard_points": points, "hazard_month": month_state(session, community, month),
            "spot_checks": spot_checks.findings_of(cmd, community, start, end),
            "circular": circular_lines(cmd, community, start, end)}


def circular_lines(cmd, community: str, start, end) -> dict:
    """The circular of [start, end) as far as it names `community` or its joint party committee (§9.3), as
    the reader may read it: `parties`, each with its counts and its first lines (category, event number,
    what, when; a sensitive event the reader may not see as one line 「涉密事件 N 件」), `more` when the
    circular has more of that party than listed; `lines`, how many lines it names them in all."""
    found = circular.overview(cmd.session, cmd.catalogs, start, end, cmd.user, circular.FIRST,
                              permissions.community_parties(cmd.catalogs, community))
    privacy.disclose_listed(cmd, circular.event_ids(found), "monthly_report")
    parties = []
    for key, level in (("communities", "community"), ("units", "unit")):
        for party in found[key]:
            lines = [{"category": c, "category_name": circular.CATEGORIES[c], **entry}
                     for c, entries in party["entries"].items() for entry in entries]
            parties.append({"level": level, "key": party["key"], "name": party["name"], "counts": party["counts"],
                            "lines": lines, "more": any(party["more"].values())})
    return {"lines": found["lines"], "categories": circular.CATEGORIES, "parties": parties}


def _type_name(catalogs, code) -> str:
    row = catalogs.event_type(code)
    if row:
        return f"{row['category']} · {row['content']}"
    return (catalogs.one_thing_matter(code) or {}).get("name", code)


def table(report: dict) -> tuple[list[str], list[list]]:
    """The report as rows for Excel: sections one after another."""
    header = ["项目", "内容", "数量/情况"]
    rows = [["社区", report["community_name"], report["month"]]]
    for p in report["presence"]:
        rows.append(["人员到位", f"{p['name']}（{p['username']}）",
                     f"值班 {p['duty_days']} 天，巡查 {p['patrols']} 次，办理 {p['active_days']} 天"])
    for key, word in (("received", "受理事件"), ("closed", "办结事件"), ("whistled", "吹哨事件"), ("overdue", "超期事件")):
        rows.append(["事件流转处置", word, report["events"][key]])
    for p in report["key_problems"]:
        rows.append(["重点问题", f"{p['type_code']} {p['name']}", p["count"]])
    for h in report["hazard_points"]:
        rows.append(["重点隐患整治点", h["title"], h["status"]])
    state = report["hazard_month"]
    if not report["hazard_points"]:
        rows.append(["重点隐患整治点", "未上报", "已标记" if state["flagged_at"] else ("已提醒" if state["reminded_at"] else "")])
    found = report["spot_checks"]
    rows.append(["抽查结果", "合格 / 抽查", f"{found['passed']} / {found['checked']}"])
    for f in found["items"]:
        rows.append(["抽查结果", finding_label(f), f"{'合格' if f['passed'] else '不合格'}：{f['note']}"])
    for party in report["circular"]["parties"]:
        counts = "，".join(f"{word} {party['counts'][c]}" for c, word in circular.CATEGORIES.items())
        rows.append(["通报", party["name"], counts])
        for line in party["lines"]:
            rows.append(["通报", f"{party['name']} {line['category_name']} {line['event_number'] or ''}".rstrip(),
                         line["reason"]])
    return header, rows


def finding_label(finding: dict) -> str:
    """What a spot-check finding was on, in words: the event's number, the hazard point's title, or 涉密事件."""
    if finding.get("sensitive"):
        return "涉密事件"
    return finding["event_number"] if finding["kind"] == "events" else (finding["title"] or "")
