"""The circular (§9.1) of any period read a part at a time (issue #17, engine/oversight/circular.py) names
exactly what the full computation names. After ten simulated days through the real engine — each 督办 record,
failed 核查 and 到场 checked in off site then copied in SQL at the same moment and later ones, so parties have
more entries than a page and entries tie on their time — with every other event named made sensitive (Table A.1 rows 1–3) and
some of those reported by the city's own user, for the month, a week, odd runs of days and a period not of
whole days (counted from the tables, not the counts kept per day), and for every kind of reader — none (everything as recorded), the
city (may not see sensitive events), the police (may), the reporter of some — on SQLite and PostgreSQL:
- `overview`'s parties, their order, names, 分管领导 and counts are `build`'s (as `for_viewer` shows them);
- each party's first entries of a category followed by the pages of the rest (`party_entries`, from its
  `more` cursor) are exactly its entries in `build`, newest first; the pages read from the start, and back
  again by `prev_cursor`, are too; a sensitive event hidden from the reader is one line 「涉密事件 N 件」;
- the listing the Excel and PDF files write (`lines`) is `table(build(…))` line for line, and `lines` says
  how many lines it has."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from engine.accounts.users import Principal
from engine.oversight import circular
from engine.oversight.circular import CATEGORIES
from engine.store import paging, uow
from tests.engine.conftest import load_user
from tests.engine.test_rollups import END, START

FIRST, LIMIT = 2, 3
#: the copies of each entry: at the same moment (a tie), and later
SHIFTS = ("0 hours", "0 hours", "1 hours", "5 hours", "2 days")
PERIODS = [(START, END), (START, START + timedelta(days=10)), (START + timedelta(days=2), START + timedelta(days=9)),
           (START - timedelta(days=3), START + timedelta(days=4)), (START + timedelta(days=3), START + timedelta(days=40)),
           (START + timedelta(hours=30), START + timedelta(days=6, hours=7))]      # not whole days


def _later(session, column: str, shift: str) -> str:
    if session.get_bind().dialect.name == "sqlite":        # 'YYYY-MM-DD HH:MM:SS.ffffff': keep the fraction
        return f"datetime({column}, '+{shift}') || substr({column}, 20)"
    return f"{column} + interval '{shift}'"


def _more_and_sensitive(session) -> None:
    """Each 督办 record, failed 核查 and check-in off site again at the same moment and later; every other event named becomes a
    重点人员 matter (A01), every other of those reported by city1."""
    passed = ("json_type(data, '$.passed') = 'false'" if session.get_bind().dialect.name == "sqlite"
              else "json_typeof(data -> 'passed') = 'boolean' AND (data ->> 'passed') = 'false'")
    for shift in SHIFTS:
        session.execute(text(
            "INSERT INTO supervision (event_id, deadline_id, kind, unit, person, community, reason, status, opened_at, "
            f"closed_at) SELECT event_id, deadline_id, kind, unit, person, community, reason || ' +{shift}', status, "
            f"{_later(session, 'opened_at', shift)}, closed_at FROM supervision WHERE reason NOT LIKE '%+%'"))
        session.execute(text(
            "INSERT INTO audit (at, actor, action, event_id, instance_id, task_id, task_name, data) "
            f"SELECT {_later(session, 'at', shift)}, actor, action, event_id, instance_id, NULL, task_name, data "
            f"FROM audit WHERE action = 'task_completed' AND {passed} AND task_id IS NOT NULL"))
        session.execute(text(      # a 到场 checked in off site (§8.3, issue #19)
            "INSERT INTO arrival_check (event_id, instance_id, unit, person, community, lat, lng, distance_m, limit_m, "
            f"far, reason, checked_at) SELECT event_id, instance_id, unit, person, community, lat, lng, distance_m, "
            f"limit_m, far, reason || ' +{shift}', {_later(session, 'checked_at', shift)} FROM arrival_check "
            "WHERE far AND reason NOT LIKE '%+%'"))
    named = sorted(set(session.scalars(text("SELECT event_id FROM supervision UNION SELECT event_id FROM audit "
                                            f"WHERE action = 'task_completed' AND {passed} "
                                            "UNION SELECT event_id FROM arrival_check WHERE far"))))
    assert len(named) >= 4, named
    for event_id in named[::2]:
        session.execute(text("UPDATE event SET type_code = 'A01' WHERE id = :e"), {"e": event_id})
    for event_id in named[::4]:
        session.execute(text("UPDATE event SET reporter = 'city1' WHERE id = :e"), {"e": event_id})


def _walk(session, catalogs, start, end, level, party, category, viewer, cursor) -> tuple[list, list]:
    """Every entry from `cursor` on, a page of LIMIT at a time, and the pages' cursors back."""
    found, backs = [], []
    while True:
        page = circular.party_entries(session, catalogs, start, end, level, party, category,
                                      paging.PageRequest(LIMIT, cursor), viewer)
        found += page.items
        backs.append(page.prev_cursor)
        if not (cursor := page.next_cursor):
            return found, backs


def _differences(session, catalogs, start, end, viewer) -> list:
    found = []
    full = circular.build(session, catalogs, start, end, viewer)
    shown = circular.overview(session, catalogs, start, end, viewer, FIRST)

    def heads(rows):
        return [(p["key"], p["name"], p["supervisor"], p["counts"]) for p in rows]
    for level, key in circular.LEVELS.items():
        if heads(shown[key]) != heads(full[key]):
            found.append((key, "parties", heads(shown[key]), heads(full[key])))
            continue
        for whole, part in zip(full[key], shown[key], strict=True):
            for c in CATEGORIES:
                want = [e for e in whole["entries"][c] if not e.get("sensitive")][::-1]     # newest first
                hidden = [e for e in whole["entries"][c] if e.get("sensitive")]
                first = [e for e in part["entries"][c] if not e.get("sensitive")]
                where = (key, whole["key"], c, start, end)
                if [e for e in part["entries"][c] if e.get("sensitive")] != hidden:
                    found.append((*where, "hidden line"))
                if first != want[:FIRST] or (part["more"][c] is not None) != (len(want) > FIRST):
                    found.append((*where, "first", first, want))
                    continue
                rest = []
                if part["more"][c]:
                    rest, _ = _walk(session, catalogs, start, end, level, whole["key"], c, viewer, part["more"][c])
                if first + rest != want:
                    found.append((*where, "paged", first + rest, want))
                if whole["key"] is None:            # the people named only for hidden events: no pages
                    continue
                again, backs = _walk(session, catalogs, start, end, level, whole["key"], c, viewer, None)
                if again != want:
                    found.append((*where, "from the start", again, want))
                back = []                           # from the last page back to the first, page by page
                for cursor in reversed(backs[1:]):
                    page = circular.party_entries(session, catalogs, start, end, level, whole["key"], c,
                                                  paging.PageRequest(LIMIT, cursor), viewer)
                    back = page.items + back
                if backs[1:] and back != want[:len(back)]:
                    found.append((*where, "back", back, want))
    lines = [row for _, row in circular.lines(session, catalogs, start, end, viewer)]
    if lines != circular.table(full)[1]:
        found.append(("lines", start, end, lines, circular.table(full)[1]))
    if len(lines) != shown["lines"]:
        found.append(("lines counted", start, end, len(lines), shown["lines"]))
    return found


def test_the_first_entries_and_the_pages_of_the_rest_are_the_full_circular(sessions, env, ten_simulated_days):
    outcome = ten_simulated_days
    assert outcome.errors == [] and outcome.refused == []
    uow.run(sessions, _more_and_sensitive)

    def check(session):
        readers = {"none": None, "city": load_user(session, "city1"), "police": load_user(session, "police1"),
                   "a stranger": Principal(999, "nobody", "无名", frozenset({"city_authority"}), None, None)}
        found, sizes = [], []
        for name, viewer in readers.items():
            for start, end in PERIODS:
                found += [(name, *d) for d in _differences(session, env.catalogs, start, end, viewer)]
            full = circular.build(session, env.catalogs, START, END, viewer)
            sizes.append((name, max(len(e) for key in circular.LEVELS.values() for p in full[key]
                                    for e in p["entries"].values()),
                          sum(1 for p in full["people"] if p["key"] is None),
                          sum(1 for key in circular.LEVELS.values() for p in full[key]
                              for e in p["entries"].values() for x in e if x.get("sensitive"))))
        return found, sizes
    found, sizes = uow.read(sessions, check)
    assert found == []
    # the month pages: some party's category is longer than a first page and a page after it, and the city
    # (not the police, nor a reader of everything) sees sensitive entries as lines, with people unnamed
    by = {name: (longest, unnamed, lines) for name, longest, unnamed, lines in sizes}
    assert by["none"][0] > FIRST + LIMIT, sizes
    assert by["city"][1:] != (0, 0) and by["police"][1:] == (0, 0) and by["none"][1:] == (0, 0), sizes
    assert by["a stranger"][2] > by["city"][2], sizes        # city1 sees its own reports
