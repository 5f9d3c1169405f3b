"""通报 — the circular of §9.1 for a period (issue #8): 对因事件处置超期或事件处置不到位、反馈不及时等现象的单位和
个人，进行通报.

For [from, to) it names every unit and person (and community, for its own obligations) with:
- **响应超期** (late response): a missed deadline of acceptance, arrival or a superior's assignment
  (`accept`, `arrive`, `superior`) — its supervision record (督办) opened in the period;
- **反馈不及时** (late feedback): a missed handling deadline (`community_handle`, `close`,
  `close_difficult`) — 处置反馈 not given by its due time — or a 回访 not done in its limit (`revisit`, the
  community's own); its supervision record opened in the period;
- **处置不到位** (poorly handled): a 核查 that failed in the period (the work went back for 重办), named
  against the event's lead unit, or the community when the community handled it, and against the person
  who did the handling work (who met its limit).

Each entry names the event, the limit or the check and when. The same data gives the printable page and
the Excel file, and each entry takes points off the assessment score (engine/oversight/assessment.py).
"""
from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from sqlalchemy import case, func, select

from engine.accounts import privacy
from engine.core.clock import local
from engine.oversight import indicators
from engine.oversight import rollups
from engine.oversight.counting import RESPONSE, failed_check
from engine.store.models import Audit, Deadline, Event, Supervision
from engine.core import contracts

FEEDBACK = ("community_handle", "close", "close_difficult")
CATEGORIES = {"late_response": "响应超期", "late_feedback": "反馈不及时", "poorly_handled": "处置不到位"}


def build(session, catalogs, start, end, viewer=None) -> dict:
    """{"units": [...], "people": [...], "communities": [...]}, each party with its entries by category. For a
    `viewer`, entries of sensitive events they may not see are counted without number, text or names
    (`for_viewer`); without one (the assessment's counting) everything is as recorded."""
    parties = {"unit": defaultdict(lambda: defaultdict(list)), "person": defaultdict(lambda: defaultdict(list)),
               "community": defaultdict(lambda: defaultdict(list))}
    for sup, number in session.execute(select(Supervision, Event.number).join(Event, Event.id == Supervision.event_id)
                                       .where(Supervision.opened_at >= start, Supervision.opened_at < end)
                                       .order_by(Supervision.opened_at, Supervision.id)):
        category = "late_response" if sup.kind in RESPONSE else "late_feedback"
        entry = {"event_id": sup.event_id, "event_number": number, "kind": sup.kind, "reason": sup.reason,
                 "at": local(sup.opened_at)}
        if sup.unit:
            parties["unit"][sup.unit][category].append(entry)
        if sup.person:
            parties["person"][sup.person][category].append(entry)
        if not sup.unit and not sup.person and sup.community:
            parties["community"][sup.community][category].append(entry)
    failed = _failed_checks(session, start, end)
    doers = _doers(session, {event.id for _, event in failed})
    for audit, event in failed:
        entry = {"event_id": event.id, "event_number": event.number, "kind": "check",
                 "reason": f"核查不通过：{audit.data.get('check_note') or ''}".rstrip("：") + "（§8.5 重办）",
                 "at": local(audit.at)}
        for level, party in _held_against(event, doers):
            parties[level][party]["poorly_handled"].append(entry)

    def rows(level, found):
        out = []
        for key in sorted(found):
            entries = found[key]
            unit = catalogs.unit(key) if level == "unit" else None
            name = ((catalogs.community(key) or {}).get("name", key) if level == "community"
                    else (unit or {}).get("name", key) if level == "unit" else key)
            supervisor = (unit or {}).get("supervisor") or {}
            out.append({"key": key, "name": name, "supervisor": supervisor or None,
                        "counts": {c: len(entries.get(c, [])) for c in CATEGORIES},
                        "entries": {c: entries.get(c, []) for c in CATEGORIES}})
        return sorted(out, key=lambda r: (-sum(r["counts"].values()), r["key"]))

    notice = {"from": local(start), "to": local(end), "categories": CATEGORIES,
              "units": rows("unit", parties["unit"]), "people": rows("person", parties["person"]),
              "communities": rows("community", parties["community"])}
    return notice if viewer is None else for_viewer(session, catalogs, notice, viewer)


def counts(session, start, end) -> dict[str, dict[str, dict[str, int]]]:
    """{"unit" | "person" | "community": {party: {category: entries}}} of [start, end), as `build` counts them
    (the assessment's deductions, engine/oversight/assessment.py), counted in the database: the supervision
    records grouped by party and kind, and the failed checks (a partial index holds just those) grouped by
    whom they are held against."""
    found = {level: defaultdict(lambda: dict.fromkeys(CATEGORIES, 0)) for level in ("unit", "person", "community")}
    days = rollups.whole_days(start, end)
    if days:                    # the 督办 opened, from the counts kept per day (engine/oversight/rollups.py)
        for level, parties in found.items():
            for party, kept in rollups.counts(session, level, *days, measures=rollups.SUPERVISED).items():
                parties[party].update(kept)
    else:
        category = case((Supervision.kind.in_(RESPONSE), "late_response"), else_="late_feedback")
        for kind, unit, person, community, number in session.execute(
                select(category, Supervision.unit, Supervision.person, Supervision.community, func.count())
                .where(Supervision.opened_at >= start, Supervision.opened_at < end)
                .group_by(category, Supervision.unit, Supervision.person, Supervision.community)):
            if unit:
                found["unit"][unit][kind] += number
            if person:
                found["person"][person][kind] += number
            if not unit and not person and community:
                found["community"][community][kind] += number
    # the failed checks, against the event's lead unit or else its community, and each person who did the work
    failed = select(Audit.id, Audit.event_id).where(failed_check(session), Audit.at >= start, Audit.at < end).subquery()
    led = func.coalesce(Event.lead_unit, "") != ""
    level, party = case((led, "unit"), else_="community"), case((led, Event.lead_unit), else_=Event.community)
    for held, who, number in session.execute(
            select(level, party, func.count()).join_from(failed, Event, Event.id == failed.c.event_id)
            .where(func.coalesce(party, "") != "").group_by(level, party)):
        found[held][who]["poorly_handled"] += number
    for who, number in session.execute(
            select(Deadline.met_by, func.count(failed.c.id.distinct()))
            .join_from(failed, Deadline, Deadline.event_id == failed.c.event_id)
            .where(Deadline.met_by.is_not(None), Deadline.kind.in_(FEEDBACK)).group_by(Deadline.met_by)):
        found["person"][who]["poorly_handled"] += number
    return {level: dict(parties) for level, parties in found.items()}


def _failed_checks(session, start, end) -> list:
    """(audit, event) of each 核查 that failed in [start, end), in order."""
    return [(audit, event) for audit, event in session.execute(
        select(Audit, Event).join(Event, Event.id == Audit.event_id)
        .where(failed_check(session), Audit.at >= start, Audit.at < end)   # a partial index holds just these
        .order_by(Audit.at, Audit.id))
        if isinstance(audit.data, dict) and audit.data.get(contracts.CHECK_PASSED) is False]


def _doers(session, event_ids: set) -> dict[int, set]:
    """Who did the handling work (met its limit) of each event: the check that found it poor names them."""
    doers = defaultdict(set)
    if event_ids:
        for event_id, person in session.execute(select(Deadline.event_id, Deadline.met_by).where(
                Deadline.event_id.in_(event_ids), Deadline.met_by.is_not(None), Deadline.kind.in_(FEEDBACK))):
            doers[event_id].add(person)
    return doers


def _held_against(event, doers) -> list[tuple[str, str]]:
    """(level, party) a failed check of `event` is entered against: its lead unit, or its community when the
    community handled it, and each person who did the work."""
    found = [("unit", event.lead_unit)] if event.lead_unit else [("community", event.community)] if event.community else []
    return found + [("person", person) for person in sorted(doers.get(event.id, ()))]


def for_period(cmd, start, end) -> dict:
    """The circular of [start, end) as `cmd.user` may read it (`for_viewer`), the reads of the sensitive
    events it names recorded (engine/accounts/privacy.py)."""
    found = build(cmd.session, cmd.catalogs, start, end, cmd.user)
    privacy.disclose_listed(cmd, event_ids(found), "circular")
    return found


def poorly_handled(cmd, days: int = 30) -> list[dict]:
    """处置不到位 (§9.1, failed 核查) of the last `days` days, for the units and communities `cmd.user` may see
    (the 督办 board): each entry with the party it is held against."""
    now = cmd.now()
    found = for_period(cmd, now - timedelta(days=days), now)
    shown = []
    for level, parties in (("unit", found["units"]), ("community", found["communities"])):
        keep = set(indicators.visible(cmd.session, cmd.catalogs, cmd.user, level, [p["key"] for p in parties]))
        shown += [{"party": p["name"], **entry} for p in parties if p["key"] in keep
                  for entry in p["entries"]["poorly_handled"]]
    return shown


def event_ids(notice: dict) -> set:
    """The events a circular names (for recording the sensitive ones' reads)."""
    return {e["event_id"] for level in ("units", "people", "communities") for party in notice[level]
            for entries in party["entries"].values() for e in entries} - {None}


def for_viewer(session, catalogs, notice: dict, user) -> dict:
    """The circular as this user may read it (issue #15): each party's entries of sensitive events they may not
    see become one line 「涉密事件 N 件」 (no number, text or names), and people named only for such events are
    gathered in one row without a name, so every count still adds up."""
    ids = {e["event_id"] for level in ("units", "people", "communities") for party in notice[level]
           for entries in party["entries"].values() for e in entries}
    rows = [(e.id, e.type_code, e.reporter) for e in privacy.sensitive_among(session, catalogs, ids)]
    hidden = privacy.hidden_ids(user, catalogs, rows)
    if not hidden:
        return notice

    def collapse(entries):
        kept = [e for e in entries if e["event_id"] not in hidden]
        count = len(entries) - len(kept)
        if count:
            kept.append({"event_id": None, "event_number": None, "kind": None, "reason": f"涉密事件 {count} 件",
                         "at": None, "sensitive": True})
        return kept

    out = dict(notice)
    for level in ("units", "communities"):
        out[level] = [{**party, "entries": {c: collapse(e) for c, e in party["entries"].items()}}
                      for party in notice[level]]
    people, unnamed = [], {c: 0 for c in CATEGORIES}
    for party in notice["people"]:
        open_entries = {c: [e for e in entries if e["event_id"] not in hidden] for c, entries in party["entries"].items()}
        for c, entries in party["entries"].items():
            unnamed[c] += len(entries) - len(open_entries[c])
        if any(open_entries.values()):
            people.append({**party, "counts": {c: len(e) for c, e in open_entries.items()}, "entries": open_entries})
    if any(unnamed.values()):
        people.append({"key": None, "name": "涉密事件相关人员", "supervisor": None, "counts": unnamed,
                       "entries": {c: [{"event_id": None, "event_number": None, "kind": None,
                                        "reason": f"涉密事件 {n} 件", "at": None, "sensitive": True}] if n else []
                                   for c, n in unnamed.items()}})
    out["people"] = people
    return out


def table(circular: dict) -> tuple[list[str], list[list]]:
    """One row per named entry, for the Excel file."""
    header = ["对象类别", "代码", "名称", "分管领导", "问题类别", "事件编号", "情况", "时间"]
    rows = []
    for level, word in (("units", "单位"), ("people", "个人"), ("communities", "社区")):
        for party in circular[level]:
            supervisor = party["supervisor"] or {}
            lead = f"{supervisor.get('title', '')}{supervisor.get('name', '')}" if supervisor else ""
            for category, entries in party["entries"].items():
                for entry in entries:
                    rows.append([word, party["key"] or "", party["name"], lead, CATEGORIES[category],
                                 entry["event_number"] or "", entry["reason"], entry["at"] or ""])
    return header, rows
