"""通报 — the circular of §9.1 for a period (issue #8): 对因事件处置超期或事件处置不到位、反馈不及时等现象的单位和
个人，进行通报.

For [from, to) it names every unit and person (and community, for its own obligations) with:
- **响应超期** (late response): a missed deadline of acceptance, arrival or a superior's assignment
  (`accept`, `arrive`, `superior`) — its supervision record (督办) opened in the period;
- **反馈不及时** (late feedback): a missed handling deadline (`community_handle`, `close`,
  `close_difficult`) — 处置反馈 not given by its due time — or a 回访 not done in its limit (`revisit`, the
  community's own); its supervision record opened in the period;
- **处置不到位** (poorly handled): a 核查 that failed in the period, or a closure the whistle officer sent back
  at 结案接收 (§7.3.3; the work went back for 重办 either way), named against the event's lead unit, or the
  community when the community handled it, and against the person who did the handling work (who met its
  limit);
- **到场位置偏离** (checked in off site, §8.3): a 到场 whose position lay further from the event than
  EVENTFLOW_ARRIVAL_FAR_M (engine/casework/arrivals.py), named against the unit that arrived and the person
  who checked in. Like the failed checks they are few, and counted from their own indexed table.

Each entry names the event, the limit or the check and when, and takes points off the assessment score
(engine/oversight/assessment.py).

A year names tens of thousands of entries (issue #17), so what is read is bounded by what is shown:
- `overview` (the page and the API): each party's counts (`counts`, kept per day) and its first `FIRST`
  entries of each category, newest first: the first keyset page (engine/store/paging.py) of `party_entries`,
  which pages through the rest of one party's category, read by the party's index (migration 0026).
- `lines` (the Excel and PDF files): every entry, in the printed order, read from the database as it is
  written out, so memory does not grow with the period.
- `build` lists everything in memory: the full computation the others are checked against (tests), and the
  督办 board's 30 days of 处置不到位.
For a viewer who may not see a sensitive event (engine/accounts/privacy.py), every one of these shows its
entries as `for_viewer` does: counted, without number, text or names.

§9.3 publishes the results to whom they name: a community's people read the lines of their community and of
its joint party committee, and no other party's (`parties`, from engine/accounts/permissions.py
`circular_parties`; the city reads every party's). The monthly report shows a community its own
(engine/oversight/monthly_report.py).
"""
from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from sqlalchemy import JSON, String, case, cast, false, func, literal_column, null, select, true, union_all
from sqlalchemy.orm import aliased

from engine.accounts import permissions, privacy
from engine.casework import record
from engine.core import contracts
from engine.core.clock import local
from engine.core.errors import Forbidden, InvalidData
from engine.oversight import indicators
from engine.oversight import rollups
from engine.oversight.counting import RESPONSE, constant, dialect, failed_check
from engine.store import paging
from engine.store.models import ArrivalCheck, Audit, Deadline, Event, Supervision

FEEDBACK = ("community_handle", "close", "close_difficult")
CATEGORIES = {"late_response": "响应超期", "late_feedback": "反馈不及时", "poorly_handled": "处置不到位",
              "off_site": "到场位置偏离"}
#: entries of each party and category in the circular's answer (its page and its API), unless asked otherwise
FIRST, FIRST_MAX = 20, 100
#: a party's entries of one category on a page of `party_entries`
PAGE, PAGE_MAX = 50, 500
LEVELS = {"unit": "units", "person": "people", "community": "communities"}
LEVEL_WORDS = {"units": "单位", "people": "个人", "communities": "社区"}
#: the name of the row that gathers the people named only for sensitive events a viewer may not see
UNNAMED = "涉密事件相关人员"
HEADER = ["对象类别", "代码", "名称", "分管领导", "问题类别", "事件编号", "情况", "时间"]


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
                 "reason": _check_reason(audit.data),
                 "at": local(audit.at)}
        for level, party in _held_against(event, doers):
            parties[level][party]["poorly_handled"].append(entry)
    for row, number in session.execute(select(ArrivalCheck, Event.number).join(Event, Event.id == ArrivalCheck.event_id)
                                       .where(*_far(start, end)).order_by(ArrivalCheck.checked_at, ArrivalCheck.id)):
        entry = {"event_id": row.event_id, "event_number": number, "kind": "arrival", "reason": row.reason,
                 "at": local(row.checked_at)}
        for level, party in (("unit", row.unit), ("person", row.person)):
            if party:
                parties[level][party]["off_site"].append(entry)

    names = record.named(session, catalogs, parties["person"])     # people by name and unit, never the login

    def rows(level, found):
        out = []
        for key in sorted(found):
            entries = found[key]
            out.append({**describe(catalogs, level, key, names),
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
    return _counts_failed(session, start, end, _counts_off_site(session, start, end, _supervised(session, start, end)))


def _far(start, end) -> list:
    """SQL on ArrivalCheck: the check-ins of [start, end) further than their limit (§8.3, read by its index)."""
    return [ArrivalCheck.far.is_(True), ArrivalCheck.checked_at >= start, ArrivalCheck.checked_at < end]


def _off_site(session, start, end, hidden=None) -> dict[tuple, tuple[int, int]]:
    """{(level, party): (到场位置偏离 entries, those of the events of `hidden`)} of [start, end): the unit that
    arrived and the person who checked in."""
    secret = case((ArrivalCheck.event_id.in_(hidden), 1), else_=0) if hidden is not None else literal_column("0")
    found = {}
    for level, column in (("unit", ArrivalCheck.unit), ("person", ArrivalCheck.person)):
        for party, number, hid in session.execute(select(column, func.count(), func.sum(secret))
                                                  .where(*_far(start, end), _named(column)).group_by(column)):
            found[(level, party)] = (int(number), int(hid or 0))
    return found


def _counts_off_site(session, start, end, found) -> dict:
    """`found` (`_supervised`) with the check-ins off site counted in."""
    for (level, party), (number, _hidden) in _off_site(session, start, end).items():
        found[level][party]["off_site"] += number
    return found


def _supervised(session, start, end) -> dict[str, dict[str, dict[str, int]]]:
    """`counts` of the 督办 records alone (响应超期, 反馈不及时): kept per day for whole days."""
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
    return found


def _counts_failed(session, start, end, found) -> dict:
    """`found` (`_supervised`) with the failed checks counted in."""
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


def for_period(cmd, start, end, first: int = FIRST) -> dict:
    """The circular of [start, end) as `cmd.user` may read it — the parties they may read (§9.3), each with
    its first entries (`overview`) — the reads of the sensitive events it shows recorded
    (engine/accounts/privacy.py)."""
    found = overview(cmd.session, cmd.catalogs, start, end, cmd.user, first,
                     permissions.circular_parties(cmd.user, cmd.catalogs))
    privacy.disclose_listed(cmd, event_ids(found), "circular")
    return found


def entries_page(cmd, start, end, level: str, party: str, category: str, page: paging.PageRequest) -> paging.Page:
    """A page of one party's entries of one category (`party_entries`) as `cmd.user` may read them, the reads
    of the sensitive events it shows recorded; a party the user may not read is refused (403 naming `party`)."""
    found = party_entries(cmd.session, cmd.catalogs, start, end, level, party, category, page, cmd.user,
                          permissions.circular_parties(cmd.user, cmd.catalogs))
    privacy.disclose_listed(cmd, [e["event_id"] for e in found.items], "circular")
    return found


def export(cmd, start, end, write):
    """`write(summary, lines)` — an Excel or PDF writer given `Summary` and the `lines` generator — with the
    whole circular of [start, end) as `cmd.user` may read it, the reads of the sensitive events it names
    recorded (found in the database: what is written out is not kept). A community's people get their own
    parties' lines (§9.3)."""
    parties = permissions.circular_parties(cmd.user, cmd.catalogs)
    summary = Summary(cmd.session, cmd.catalogs, start, end, cmd.user, parties=parties)
    codes = cmd.catalogs.sensitive_codes()
    if codes:
        entries = [_entries(cmd.session, start, end)] if parties is None else \
            [_entries(cmd.session, start, end, level, None, party) for level, party in sorted(parties)]
        for e in entries:
            named = select(e.c.event_id)
            privacy.disclose_listed(cmd, cmd.session.scalars(select(Event.id).where(
                Event.id.in_(named), Event.type_code.in_(codes))), "circular")
    return write(summary, lines(cmd.session, cmd.catalogs, start, end, cmd.user, summary, parties))


def _full_for_period(cmd, start, end) -> dict:
    """The whole circular of [start, end) in memory (`build`) as `cmd.user` may read it, its sensitive reads
    recorded: for short periods only (the 督办 board's 30 days)."""
    found = build(cmd.session, cmd.catalogs, start, end, cmd.user)
    privacy.disclose_listed(cmd, event_ids(found), "circular")
    return found


def poorly_handled(cmd, days: int = 30) -> list[dict]:
    """处置不到位 (§9.1, failed 核查) of the last `days` days, for the units and communities `cmd.user` may see
    (the 督办 board): each entry with the party it is held against."""
    now = cmd.now()
    found = _full_for_period(cmd, now - timedelta(days=days), now)
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


# -- a period of any length: read what is shown (issue #17) ---------------------------------------------


def _named(column):
    return func.coalesce(column, "") != ""


def _unnamed(column):
    return func.coalesce(column, "") == ""


def _entries(session, start, end, level: str | None = None, category: str | None = None, party: str | None = None,
             events=None, checks: bool = True):
    """The circular's entries of [start, end) in SQL, one row per party an entry names, as `build` names them:
    (level, party, category, at, id, event_id, kind, reason, data) — `id` the 督办 record's or the failed
    核查's audit row's (unique within a party's category), `reason` a 督办's, `data` a 核查's form. Narrowed to
    one level, category or party when asked (a party's rows are then read by its index, migration 0026), or
    to the events of `events` (a select of ids: they are then read by event); without `checks`, the 督办
    records' alone (no failed checks, no check-ins off site)."""
    parts = []
    if category in (None, "late_response", "late_feedback"):
        kinds = {"late_response": [Supervision.kind.in_(RESPONSE)],
                 "late_feedback": [Supervision.kind.not_in(RESPONSE)]}.get(category, [])
        named = case((Supervision.kind.in_(RESPONSE), constant("late_response")), else_=constant("late_feedback")) \
            if category is None else constant(category)
        for found, column, where in (("unit", Supervision.unit, []), ("person", Supervision.person, []),
                                     ("community", Supervision.community,
                                      [_unnamed(Supervision.unit), _unnamed(Supervision.person)])):
            if level not in (None, found):
                continue
            whose = [column == party] if party is not None else [_named(column)]
            if events is not None:
                whose.append(Supervision.event_id.in_(events))
            parts.append(select(constant(found).label("level"), column.label("party"), named.label("category"),
                                Supervision.opened_at.label("at"), Supervision.id.label("id"),
                                Supervision.event_id.label("event_id"), Supervision.kind.label("kind"),
                                Supervision.reason.label("reason"), cast(null(), JSON).label("data"))
                         .where(Supervision.opened_at >= start, Supervision.opened_at < end, *kinds, *where, *whose))
    if category in (None, "poorly_handled") and checks:
        doer = _doer()
        for found, column, where in (("unit", Event.lead_unit, []),
                                     ("community", Event.community, [_unnamed(Event.lead_unit)]),
                                     ("person", Deadline.met_by, doer)):
            if level not in (None, found):
                continue
            if party is not None:
                whose = [column == party]
            else:
                whose = [column.is_not(None)] if found == "person" else [_named(column)]
            if events is not None:
                whose.append(Audit.event_id.in_(events))
            query = (select(constant(found).label("level"), column.label("party"),
                            constant("poorly_handled").label("category"), Audit.at.label("at"), Audit.id.label("id"),
                            Audit.event_id.label("event_id"), constant("check").label("kind"),
                            cast(null(), String).label("reason"), Audit.data.label("data"))
                     .join_from(Audit, Event, Event.id == Audit.event_id)
                     .where(failed_check(session), Audit.at >= start, Audit.at < end, *where, *whose))
            if found == "person":
                query = query.join(Deadline, Deadline.event_id == Audit.event_id)
            parts.append(query)
    if category in (None, "off_site") and checks:
        # a check-in off site names the unit that arrived and who checked in; never a community (its rows: none)
        for found, column, where in (("unit", ArrivalCheck.unit, []), ("person", ArrivalCheck.person, []),
                                     ("community", ArrivalCheck.community, [false()])):
            if level not in (None, found) or (level is None and where):
                continue
            whose = [column == party] if party is not None else [_named(column)]
            if events is not None:
                whose.append(ArrivalCheck.event_id.in_(events))
            parts.append(select(constant(found).label("level"), column.label("party"),
                                constant("off_site").label("category"), ArrivalCheck.checked_at.label("at"),
                                ArrivalCheck.id.label("id"), ArrivalCheck.event_id.label("event_id"),
                                constant("arrival").label("kind"), ArrivalCheck.reason.label("reason"),
                                cast(null(), JSON).label("data"))
                         .where(*_far(start, end), *where, *whose))
    if not parts:
        raise ValueError(f"no entries of level {level!r} and category {category!r}")
    return (parts[0] if len(parts) == 1 else parts[0].union_all(*parts[1:])).subquery("entries")


def _doer() -> list:
    """SQL on Deadline: a handling limit met by someone, and the first of theirs on its event — who did the work a
    failed check is held against, each person once an event (no DISTINCT: a subquery made distinct first would
    be read whole for every failed check)."""
    other = aliased(Deadline)
    return [Deadline.met_by.is_not(None), Deadline.kind.in_(FEEDBACK),
            ~select(other.id).where(other.event_id == Deadline.event_id, other.met_by == Deadline.met_by,
                                    other.kind.in_(FEEDBACK), other.id < Deadline.id).exists()]


def _check_reason(data) -> str:
    """What a failed 核查 entry says — or a closure the whistle officer sent back at 结案接收 (§7.3.3), which
    answers with the same key (engine/core/contracts.py) and its own note."""
    data = data if isinstance(data, dict) else {}
    if contracts.RECEIPT_NOTE in data:
        return f"结案接收退回：{data.get(contracts.RECEIPT_NOTE) or ''}".rstrip("：") + "（§7.3.3 重办）"
    return f"核查不通过：{data.get('check_note') or ''}".rstrip("：") + "（§8.5 重办）"


def _entry(row) -> dict:
    """An entry as the circular shows it, from a row of `_entries` with its event's `number`."""
    return _shown(row.at, row.event_id, row.kind, row.reason, row.data, row.number)


def _shown(at, event_id, kind, reason, data, number) -> dict:
    return {"event_id": event_id, "event_number": number, "kind": kind,
            # a failed 核查 has no reason of its own (its words are in its data); a missed 核查 limit (§8.1, kind
            # `check` too) has its 督办's
            "reason": _check_reason(data) if kind == "check" and reason is None else reason, "at": local(at)}


def _sensitive_line(count: int) -> dict:
    """What stands for a party's entries of sensitive events its reader may not see (`for_viewer`)."""
    return {"event_id": None, "event_number": None, "kind": None, "reason": f"涉密事件 {count} 件", "at": None,
            "sensitive": True}


def _hidden_events(catalogs, viewer):
    """SQL: the ids of the sensitive events `viewer` may not see; None when there are none to hide (no
    viewer: everything as recorded)."""
    if viewer is None or not permissions.forbidden_codes(viewer, catalogs):
        return None
    return select(Event.id).where(permissions.sensitive_hidden(viewer, catalogs))


def _hidden_counts(session, start, end, hidden) -> dict:
    """{(level, party): {category: entries}} of the 督办 records of the sensitive events a viewer may not see
    (`hidden`, a select of their ids; None: none)."""
    found = defaultdict(lambda: dict.fromkeys(CATEGORIES, 0))
    if hidden is not None:
        e = _entries(session, start, end, events=hidden, checks=False)
        for level, party, category, number in session.execute(
                select(e.c.level, e.c.party, e.c.category, func.count()).group_by(e.c.level, e.c.party, e.c.category)):
            found[(level, party)][category] += number
    return found


def describe(catalogs, level: str, key: str, names: dict | None = None) -> dict:
    """A party's key, name and 分管领导 (a unit's supervisor, from the units catalog); a person by the name and
    unit `names` gives (engine/casework/record.py `named`), never the login name."""
    unit = catalogs.unit(key) if level == "unit" else None
    name = ((catalogs.community(key) or {}).get("name", key) if level == "community"
            else (unit or {}).get("name", key) if level == "unit" else (names or {}).get(key) or record.UNKNOWN_NAME)
    return {"key": key, "name": name, "supervisor": (unit or {}).get("supervisor") or None}


def party(cmd, level: str, key: str) -> dict:
    """`describe` of one party, a person named from the accounts."""
    names = record.named(cmd.session, cmd.catalogs, [key]) if level == "person" else None
    return describe(cmd.catalogs, level, key, names)


class Summary:
    """Who the circular of [start, end) names, in its order, and how many entries each shows `viewer`: each
    party's counts (kept per day: `counts`) less, for a person, the sensitive entries the viewer may not see
    (those are gathered in one row without a name, `UNNAMED`); a unit's or a community's are counted in full,
    the hidden ones shown as one line a category. `lines` is how many lines the full listing has. With
    `parties` ({(level, party)}; None: all), only those parties are named (§9.3: a community its own)."""

    def __init__(self, session, catalogs, start, end, viewer=None, first: int = FIRST, parties=None):
        self.hidden_events = _hidden_events(catalogs, viewer)
        counted = _supervised(session, start, end)
        hidden = _hidden_counts(session, start, end, self.hidden_events)
        #: each party's first page of 处置不到位 (`_checks`), counted in with the 督办 records
        self.checks = {}
        for (level, party), (number, secret, page) in _checks(session, start, end, self.hidden_events, first).items():
            counted[level][party]["poorly_handled"] = number
            hidden[(level, party)]["poorly_handled"] = secret
            self.checks[(level, party)] = page
        for (level, party), (number, secret) in _off_site(session, start, end, self.hidden_events).items():
            counted[level][party]["off_site"] = number
            hidden[(level, party)]["off_site"] = secret
        self.parties: dict[str, list[dict]] = {}
        self.hidden: dict[tuple, dict] = {}
        self.unnamed = dict.fromkeys(CATEGORIES, 0)
        self.lines = 0
        #: the people named, by name and unit (never the login name)
        self.names = record.named(session, catalogs, counted["person"])
        for level, key in LEVELS.items():
            found = counted[level]
            rows = []
            for party in sorted(found, key=lambda p: (-sum(found[p].values()), p)):
                full, secret = found[party], hidden.get((level, party), dict.fromkeys(CATEGORIES, 0))
                if not any(full.values()) or (parties is not None and (level, party) not in parties):
                    continue
                if level == "person":
                    shown = {c: full[c] - secret[c] for c in CATEGORIES}
                    for c in CATEGORIES:
                        self.unnamed[c] += secret[c]
                    if not any(shown.values()):
                        continue
                    self.lines += sum(shown.values())
                    rows.append({**describe(catalogs, level, party, self.names), "counts": shown, "_open": shown})
                else:
                    self.hidden[(level, party)] = secret
                    self.lines += sum(full.values()) - sum(secret.values()) + sum(1 for n in secret.values() if n)
                    rows.append({**describe(catalogs, level, party, self.names), "counts": dict(full),
                                 "_open": {c: full[c] - secret[c] for c in CATEGORIES}})
            self.parties[key] = rows
        self.lines += sum(1 for n in self.unnamed.values() if n)

    def unnamed_row(self, entries) -> dict | None:
        if not any(self.unnamed.values()):
            return None
        return {"key": None, "name": UNNAMED, "supervisor": None, "counts": dict(self.unnamed), "entries": entries}


def first_of(value) -> int:
    """`?first=`: entries of each party and category to show, 1 … FIRST_MAX (None or "": FIRST)."""
    if value is None or value == "":
        return FIRST
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 4:
        number = int(value)
    else:
        number = 0
    if not 1 <= number <= FIRST_MAX:
        raise InvalidData([{"field": "first", "reason": f"须为 1 到 {FIRST_MAX} 的整数 (a whole number from 1 to {FIRST_MAX})"}])
    return number


def overview(session, catalogs, start, end, viewer=None, first: int = FIRST, parties=None) -> dict:
    """The circular of [start, end) as the page and the API show it: `build`'s shape (as `for_viewer` shows it
    to `viewer`), each party with its counts and its first `first` entries of each category, newest first,
    and `more`: {category: the cursor of `party_entries`' next page, or None when nothing more}. `lines`: how
    many lines the whole listing (the Excel and PDF files) has.

    A party's first 督办 entries are the first keyset page of `party_entries`, read by the party's index: the
    cost grows with the parties named, not with the entries of the period (a year's are tens of thousands).
    The failed checks (处置不到位) are few, and a person's are found through the limits they met: they are read
    in one pass (`_checks`), which counts them and keeps each party's first ones. With `parties`, only those
    parties (`Summary`)."""
    summary = Summary(session, catalogs, start, end, viewer, first, parties)
    page = paging.PageRequest(first)
    notice = {"from": local(start), "to": local(end), "categories": CATEGORIES, "first": first,
              "lines": summary.lines}
    for level, key in LEVELS.items():
        rows = []
        for party in summary.parties[key]:
            secret = summary.hidden.get((level, party["key"]), {})
            entries, more = {}, {}
            for c in CATEGORIES:
                if not party["_open"][c]:
                    found = paging.Page([])
                elif c == "poorly_handled":
                    found = summary.checks.get((level, party["key"]), paging.Page([]))
                else:
                    found = party_entries(session, catalogs, start, end, level, party["key"], c, page, viewer)
                entries[c] = found.items + ([_sensitive_line(secret[c])] if secret.get(c) else [])
                more[c] = found.next_cursor
            rows.append({**{k: v for k, v in party.items() if k != "_open"}, "entries": entries, "more": more})
        notice[key] = rows
    unnamed = summary.unnamed_row({c: [_sensitive_line(n)] if n else [] for c, n in summary.unnamed.items()})
    if unnamed:
        notice["people"].append({**unnamed, "more": dict.fromkeys(CATEGORIES)})
    return notice


def _checks(session, start, end, hidden, first: int) -> dict[tuple, tuple[int, int, paging.Page]]:
    """{(level, party): (its 处置不到位 entries, those of the events of `hidden`, the first page of the others)} —
    every party's from one pass over the period's failed checks (they are few: a partial index holds them),
    newest first, the page at most `first` entries and the cursor of the next one if there is more. The pass
    reads keys alone; what the pages show is read for their entries only."""
    secret = case((Audit.event_id.in_(hidden), 1), else_=0) if hidden is not None else literal_column("0")
    failed = (select(Audit.id, Audit.at, Audit.event_id, Event.lead_unit, Event.community, secret.label("secret"))
              .join_from(Audit, Event, Event.id == Audit.event_id)
              .where(failed_check(session), Audit.at >= start, Audit.at < end).cte("failed"))
    keys = (failed.c.at, failed.c.id, failed.c.event_id, failed.c.secret)
    rows = union_all(
        select(constant("unit").label("level"), failed.c.lead_unit.label("party"), *keys)
        .where(_named(failed.c.lead_unit)),
        select(constant("community"), failed.c.community, *keys)
        .where(_unnamed(failed.c.lead_unit), _named(failed.c.community)),
        select(constant("person"), Deadline.met_by, *keys).join_from(failed, Deadline, Deadline.event_id == failed.c.event_id)
        .where(*_doer())).subquery()
    found = defaultdict(lambda: [0, 0, []])
    for row in session.execute(select(rows).order_by(rows.c.at.desc(), rows.c.id.desc())):
        party = found[(row.level, row.party)]
        party[0] += 1
        if row.secret:
            party[1] += 1
        elif len(party[2]) <= first:
            party[2].append(row)
    shown = {row.id for _, _, kept in found.values() for row in kept}
    details = {}
    ids = sorted(shown)
    for begin in range(0, len(ids), privacy.CHUNK):
        for audit_id, data, number in session.execute(
                select(Audit.id, Audit.data, Event.number).join(Event, Event.id == Audit.event_id)
                .where(Audit.id.in_(ids[begin:begin + privacy.CHUNK]))):
            details[audit_id] = (data, number)
    order = _order(rows)
    return {key: (number, secret, paging.Page(
                [_shown(row.at, row.event_id, "check", None, *details[row.id]) for row in kept[:first]],
                order.encode((kept[first - 1].at, kept[first - 1].id), paging.FORWARD) if len(kept) > first else None))
            for key, (number, secret, kept) in found.items()}


def _order(entries) -> paging.Order:
    """A party's entries of one category, newest first (`entries` being an `_entries` subquery)."""
    return paging.Order("circular", entries.c.at, entries.c.id, descending=True)


def _asked(level, category, party) -> None:
    errors = []
    if level not in LEVELS:
        errors.append({"field": "level", "reason": f"应为 {' | '.join(LEVELS)} (one of {', '.join(LEVELS)})"})
    if category not in CATEGORIES:
        errors.append({"field": "category", "reason": f"应为 {' | '.join(CATEGORIES)} (one of {', '.join(CATEGORIES)})"})
    if not isinstance(party, str) or not party.strip() or len(party) > 100:
        errors.append({"field": "party", "reason": "必填：单位、个人或社区的代码 (the code of a unit, person or community)"})
    if errors:
        raise InvalidData(errors)


def party_entries(session, catalogs, start, end, level: str, party: str, category: str,
                  page: paging.PageRequest, viewer=None, parties=None) -> paging.Page:
    """One page of a party's entries of one category in [start, end), newest first, by keyset: the entries
    after `overview`'s first ones (its `more` cursor), or from the start. A sensitive event `viewer` may not
    see is left out (`overview` counts it in one line). A party not among `parties` (None: all) is refused."""
    _asked(level, category, party)
    if parties is not None and (level, party) not in parties:
        raise Forbidden("只能查看本社区及其联合党委的通报 (only your own community's and its committee's lines, §9.3)",
                        field="party")
    e = _entries(session, start, end, level, category, party)
    query = select(e.c.at, e.c.event_id, e.c.kind, e.c.reason, e.c.data, Event.number) \
        .join(Event, Event.id == e.c.event_id)
    if _hidden_events(catalogs, viewer) is not None:
        query = query.where(~permissions.sensitive_hidden(viewer, catalogs))
    return paging.fetch(session, query, _order(e), page).map(lambda rows: [_shown(*row) for row in rows])


def lines(session, catalogs, start, end, viewer=None, summary: Summary | None = None, parties=None):
    """Every line of the circular of [start, end) as `table(for_viewer(build(…)))` lists them, in that order —
    (level, row), the row as `HEADER` says — read from the database a batch at a time as they are used, so a
    year is written out in bounded memory. Per level one query orders the entries as `build` does: parties by
    their count, most first, then code (code points, as Python sorts), categories in order, entries by time.
    With `parties` ({(level, party)}; None: all), those parties' lines alone."""
    summary = summary or Summary(session, catalogs, start, end, viewer, parties=parties)
    hidden = summary.hidden_events
    pg = dialect(session) == "postgresql"
    for level, key in LEVELS.items():
        word = LEVEL_WORDS[key]
        named = None if parties is None else sorted(party for found, party in parties if found == level)
        if named == []:
            continue
        e = _entries(session, start, end, level)
        counted = select(e, func.count().over(partition_by=e.c.party).label("total")).subquery()
        secret = case((counted.c.event_id.in_(hidden), 1), else_=0) if hidden is not None else literal_column("0")
        category = case((counted.c.category == constant("late_response"), 0),
                        (counted.c.category == constant("late_feedback"), 1),
                        (counted.c.category == constant("poorly_handled"), 2), else_=3)
        query = (select(counted, Event.number, secret.label("secret"))
                 .join(Event, Event.id == counted.c.event_id)
                 .where(counted.c.party.in_(named) if named is not None else true())
                 .order_by(counted.c.total.desc(), counted.c.party.collate("C") if pg else counted.c.party,
                           category, counted.c.at, counted.c.id)
                 .execution_options(yield_per=1000))
        head, group, withheld = None, None, 0
        for row in session.execute(query):
            if (row.party, row.category) != group:
                if withheld and level != "person":
                    yield key, _row(word, head, group[1], _sensitive_line(withheld))
                group, withheld = (row.party, row.category), 0
                if head is None or head["key"] != row.party:
                    head = describe(catalogs, level, row.party, summary.names)
            if row.secret:
                withheld += 1
                continue
            yield key, _row(word, head, row.category, _entry(row))
        if withheld and level != "person":
            yield key, _row(word, head, group[1], _sensitive_line(withheld))
        unnamed = summary.unnamed_row(None) if level == "person" else None
        for category, number in (summary.unnamed.items() if unnamed else ()):
            if number:
                yield key, _row(word, unnamed, category, _sensitive_line(number))


def _row(word: str, party: dict, category: str, entry: dict) -> list:
    supervisor = party["supervisor"] or {}
    lead = f"{supervisor.get('title', '')}{supervisor.get('name', '')}" if supervisor else ""
    return [word, party["key"] or "", party["name"], lead, CATEGORIES[category], entry["event_number"] or "",
            entry["reason"], entry["at"] or ""]


def table(circular: dict) -> tuple[list[str], list[list]]:
    """One row per named entry of a circular in memory (`build`): what `lines` writes out, as a check of it."""
    header = HEADER
    rows = []
    for level, word in LEVEL_WORDS.items():
        for party in circular[level]:
            supervisor = party["supervisor"] or {}
            lead = f"{supervisor.get('title', '')}{supervisor.get('name', '')}" if supervisor else ""
            for category, entries in party["entries"].items():
                for entry in entries:
                    rows.append([word, party["key"] or "", party["name"], lead, CATEGORIES[category],
                                 entry["event_number"] or "", entry["reason"], entry["at"] or ""])
    return header, rows
