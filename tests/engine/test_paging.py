"""Keyset pages (engine/store/paging.py, issue #17), on SQLite and PostgreSQL: every row once in a walk however
rows come and go between pages, back and forth; a cursor only positions (the caller's filter holds); a bad
cursor or limit is refused naming its field; and on PostgreSQL the first page of 待办, 已办 and of the pool is
read by an index in its order, not by sorting every row the user may see."""
from __future__ import annotations

import base64
import dataclasses
import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event as sa_event, insert, select, text as sql

from engine.casework import tasks, todo
from engine.core.errors import InvalidQuery
from engine.notices import inbox
from engine.pool import events
from engine.store import paging, uow
from engine.store.db import init_db, make_engine, make_session_factory
from engine.store.models import Audit, Event, Instance, Notification, ProcessVersion, WorkItem
from tests.engine.conftest import load_user

T0 = datetime(2026, 10, 8, 1, 0, tzinfo=timezone.utc)
#: notifications newest first, by time then id: a date-time key and a whole-number tiebreaker
BY_TIME = paging.Order("probe", Notification.at, Notification.id, descending=True)


@pytest.fixture
def db(database_url):
    engine = make_engine(database_url)
    init_db(engine)
    yield engine
    engine.dispose()


def add(db, *moments, recipient="a") -> list[int]:
    """A notification to `recipient` at each moment (minutes after T0); their ids."""
    with db.begin() as conn:
        return list(conn.scalars(insert(Notification).returning(Notification.id),
                                 [dict(at=T0 + timedelta(minutes=m), recipient_kind="person", recipient=recipient,
                                       kind="probe", message=str(m)) for m in moments]))


def page(db, asked: paging.PageRequest, recipient="a", order=BY_TIME) -> paging.Page:
    query = select(Notification).where(Notification.recipient == recipient)
    with make_session_factory(db)() as session:
        return paging.fetch(session, query, order, asked).map(lambda rows: [n.id for n in rows])


def walk(db, limit, between=lambda n: None, recipient="a") -> list[int]:
    """Every id from the first page to the last, following next_cursor; `between(n)` after page n."""
    seen, cursor, n = [], None, 0
    while True:
        found = page(db, paging.PageRequest(limit, cursor), recipient)
        assert found.items or cursor is None, "a next_cursor led to an empty page"
        seen += found.items
        assert (found.prev_cursor is None) == (n == 0)
        cursor, n = found.next_cursor, n + 1
        if cursor is None:
            return seen
        between(n)


def in_order(db, recipient="a") -> list[int]:
    with db.connect() as conn:
        return list(conn.scalars(select(Notification.id).where(Notification.recipient == recipient)
                                 .order_by(Notification.at.desc(), Notification.id.desc())))


def test_a_walk_gives_every_row_once_in_order_ties_broken_by_id(db):
    add(db, *[m // 3 for m in range(23)])            # three rows at each minute: the tiebreaker decides
    for limit in (1, 2, 3, 5, 22, 23, 24):
        assert walk(db, limit) == in_order(db), limit
    first = page(db, paging.PageRequest(23))
    assert first.next_cursor is None and first.prev_cursor is None


def test_rows_inserted_or_removed_between_pages_are_neither_repeated_nor_skipped(db):
    add(db, *range(0, 40, 2))                         # minutes 0, 2, … 38
    before = in_order(db)
    late = []

    def between(n):
        if n == 1:                                     # newer than every row shown: before the cursor, not shown
            late.extend(add(db, 100, 101))
        if n == 2:                                     # older than the cursor: still ahead, shown once
            late.extend(add(db, 1, 3))
            with db.begin() as conn:                   # one not yet shown goes away: no gap, no shift
                conn.execute(Notification.__table__.delete().where(Notification.id == before[-1]))
    seen = walk(db, 5, between)
    assert len(seen) == len(set(seen))
    assert seen == [i for i in in_order(db) if i not in late[:2]]    # with OFFSET, rows would repeat here
    assert set(late[2:]) <= set(seen) and before[-1] not in seen


def test_going_back_gives_the_same_pages_and_the_first_page_full(db):
    add(db, *range(12))
    pages, cursor = [], None
    while True:
        found = page(db, paging.PageRequest(5, cursor))
        pages.append(found)
        cursor = found.next_cursor
        if cursor is None:
            break
    assert [len(p.items) for p in pages] == [5, 5, 2]
    back = page(db, paging.PageRequest(5, pages[2].prev_cursor))
    assert back.items == pages[1].items and back.next_cursor and back.prev_cursor
    assert page(db, paging.PageRequest(5, back.prev_cursor)).items == pages[0].items
    newer = add(db, 50, 51, 52)                        # three newer rows, before the first page shown
    back = page(db, paging.PageRequest(5, pages[1].prev_cursor))
    assert back.items == pages[0].items and back.prev_cursor                # the page as it was, and one before it
    back = page(db, paging.PageRequest(5, back.prev_cursor))                 # three rows there: back at the start,
    assert back.items == in_order(db)[:5] and back.items[:3] == newer[::-1]  # which is the first page, full
    assert back.prev_cursor is None and back.next_cursor


def test_a_cursor_only_positions_the_callers_own_rows(db):
    add(db, *range(6), recipient="a")
    theirs = add(db, *range(6), recipient="b")
    cursor = page(db, paging.PageRequest(2), recipient="a").next_cursor
    found = page(db, paging.PageRequest(10, cursor), recipient="b")   # a's cursor, b's filter: b's rows only
    assert set(found.items) <= set(theirs) and found.items == in_order(db, "b")[2:]


def _cursor(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor", [
    "not a cursor", "%%%", "é", "A" * 401, _cursor(["other", "n", ["2026-10-08T01:00:00+00:00", 1]]),
    _cursor(["probe", "x", ["2026-10-08T01:00:00+00:00", 1]]), _cursor(["probe", "n", [1, 1]]),
    _cursor(["probe", "n", ["2026-10-08T01:00:00", 1]]), _cursor(["probe", "n", ["2026-10-08T01:00:00+00:00", True]]),
    _cursor(["probe", "n", ["2026-10-08T01:00:00+00:00", 2**64]]), _cursor(["probe", "n", ["2026-10-08T01:00:00+00:00"]]),
    _cursor(["probe", "n", ["0001-01-01T00:00:00+05:00", 1]]), _cursor(["probe", "n", ["9999-12-31T23:59:59-14:00", 1]]),
    _cursor(["probe", "n", ["2026-10-08T01:00:00+00:00", 1.5]]),
    _cursor({"probe": 1}), _cursor("probe"), base64.urlsafe_b64encode(b"\xff\xfe").decode()])
def test_a_cursor_the_list_did_not_give_is_refused_naming_it(db, cursor):
    with pytest.raises(InvalidQuery) as err:
        page(db, paging.page_request(cursor, None, 20, 100))
    assert err.value.status == 400 and err.value.details["errors"][0]["field"] == "cursor"
    assert "游标" in err.value.details["errors"][0]["reason"]


@pytest.mark.parametrize("limit", ["0", "101", "-1", "1.5", "abc", "１", "9" * 30, 0, 101, True])
def test_a_limit_out_of_range_is_refused_naming_it(limit):
    with pytest.raises(InvalidQuery) as err:
        paging.page_request(None, limit, 20, 100)
    assert err.value.status == 400 and err.value.details["errors"][0]["field"] == "limit"
    assert "1 到 100" in err.value.details["errors"][0]["reason"]


def test_limit_and_cursor_as_sent(db):
    assert paging.page_request(None, None, 20, 100) == paging.PageRequest(20)
    assert paging.page_request("", "", 20, 100) == paging.PageRequest(20)
    assert paging.page_request(None, "100", 20, 100).limit == 100
    ids = add(db, 1, 2)
    found = page(db, paging.page_request(None, "1", 20, 100))
    assert found.items == [ids[1]] and page(db, paging.page_request(found.next_cursor, "1", 20, 100)).items == [ids[0]]


def test_a_text_key_in_ascending_order(db):
    """The accounts' order: a unique text, ascending (engine/accounts/users.py)."""
    add(db, *range(7))
    by_message = paging.Order("by_message", Notification.message)
    assert walk_order(db, by_message, 3) == sorted(str(m) for m in range(7))
    for text in ("\x00", "\ud800", "x" * 201):            # neither database takes them: refused before it is asked
        with pytest.raises(InvalidQuery):
            with make_session_factory(db)() as session:
                paging.fetch(session, select(Notification.message), by_message,
                             paging.PageRequest(3, _cursor(["by_message", "n", [text]])))


def walk_order(db, order, limit):
    seen, cursor = [], None
    with make_session_factory(db)() as session:
        while True:
            found = paging.fetch(session, select(Notification.message), order, paging.PageRequest(limit, cursor))
            seen += found.items
            if not (cursor := found.next_cursor):
                return seen


# -- PostgreSQL: the first pages of 待办, 已办 and the pool are index scans --------------------------------

def _community(n: int) -> str:
    """新城 and 龙港 half each of the filler, but for one in a hundred: 沿江's (a filter that picks few)."""
    return "lg-yanjiang" if n % 100 == 0 else ("lg-xincheng", "lg-longgang")[n % 2]


def _fill(sessions, count: int, community=_community) -> None:
    """`count` events, each with a ready task for its community's cadres (`community(n)`); one in a hundred
    closed."""
    db = sessions.kw["bind"]
    with db.begin() as conn:
        version = conn.scalar(select(ProcessVersion.id).order_by(ProcessVersion.id))
        rows = [dict(number=f"PAGE-{i}", source="grid_worker", type_code="A05", description="分页", address="x",
                     photos=[], community=community(i), reporter="grid9", status="closed" if i % 100 == 50 else "open",
                     stage="核实", created_at=T0 + timedelta(seconds=i)) for i in range(count)]
        ids = list(conn.scalars(insert(Event).returning(Event.id), rows))
        instances = list(conn.scalars(insert(Instance).returning(Instance.id), [
            dict(event_id=i, version_id=version, state="", serializer_version="1.5", status="running", row_version=1,
                 updated_at=T0) for i in ids]))
        conn.execute(insert(WorkItem), [
            dict(id=str(uuid.UUID(int=n + 1)), instance_id=instance, event_id=event_id, spec_name="verify", title="核实",
                 lane="社区", role="community_staff", assignee_kind="community", community=community(n),
                 form="forms/verify.json", created_at=T0 + timedelta(seconds=n))
            for n, (event_id, instance) in enumerate(zip(ids, instances, strict=True))])
        # 已办: a completion on each, by one of twenty cadres, as a city's many (with two, walking every completion
        # newest first and skipping the other's half costs the planner about as much as the cadre's own index)
        conn.execute(insert(Audit), [
            dict(at=T0 + timedelta(seconds=n), actor="staff1" if n % 20 == 0 else f"cadre{n % 20}",
                 action="task_completed", event_id=event_id, task_name="核实") for n, event_id in enumerate(ids)])
        if conn.dialect.name == "postgresql":     # as autovacuum keeps a live one; nothing analyzes SQLite's
            conn.exec_driver_sql("ANALYZE")


def _plans(sessions, run) -> list[str]:
    """EXPLAIN (SQLite: EXPLAIN QUERY PLAN) of each statement `run()` sends that pages (its ORDER BY … LIMIT), with its own parameters."""
    db, sent = sessions.kw["bind"], []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if "ORDER BY" in statement and "LIMIT" in statement:
            sent.append((statement, parameters))
    sa_event.listen(db, "before_cursor_execute", keep)
    try:
        run()
    finally:
        sa_event.remove(db, "before_cursor_execute", keep)
    assert sent, "no paged statement was sent"
    with db.connect() as conn:
        if db.dialect.name == "sqlite":       # EXPLAIN QUERY PLAN's rows: (id, parent, notused, detail)
            return ["\n".join(row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters))
                    for statement, parameters in sent]
        return ["\n".join(conn.exec_driver_sql(f"EXPLAIN {statement}", parameters).scalars())
                for statement, parameters in sent]


def _an_index_scan_in_order(plan: str, index: str) -> None:
    """The plan reads `index` and never sorts: its rows come in the list's order, the LIMIT stops it early."""
    assert f"using {index} on" in plan, plan
    assert "Sort" not in plan and "Seq Scan on event " not in plan and "Seq Scan on work_item" not in plan, plan


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_on_postgresql_the_first_pages_of_tasks_done_and_events_are_index_scans(sessions, read, database_url):
    _fill(sessions, 6000)
    with sessions() as session:
        staff, city = load_user(session, "staff1"), load_user(session, "city1")
    first = paging.PageRequest(20)
    for plan in _plans(sessions, lambda: read(tasks.ready, first, user=staff)):
        _an_index_scan_in_order(plan, "ix_work_item_time_left")
    # 待办 by time left (issue #19): a light's tasks are one range of the same index
    for plan in _plans(sessions, lambda: read(tasks.ready, first, {"light": "none"}, user=staff)):
        _an_index_scan_in_order(plan, "ix_work_item_time_left")
    later = read(tasks.ready, first, user=staff).next_cursor
    for plan in _plans(sessions, lambda: read(tasks.ready, paging.PageRequest(20, later), user=staff)):
        _an_index_scan_in_order(plan, "ix_work_item_time_left")          # the next page seeks: no offset
    for plan in _plans(sessions, lambda: read(tasks.done, first, user=staff)):
        _an_index_scan_in_order(plan, "ix_audit_completed_by")

    def pool(user, filters, asked):
        return lambda: read(lambda cmd: events.search(cmd.session, cmd.user, cmd.catalogs, filters, asked), user=user)
    for user, filters, index in ((city, {}, "event_pkey"), (staff, {}, "event_pkey"),
                                 (city, {"community": "lg-longgang"}, "event_pkey"),      # half the rows: walk them
                                 (city, {"community": "lg-yanjiang"}, "ix_event_community_id"),   # few: seek them
                                 (city, {"status": "closed"}, "ix_event_status_id")):
        for plan in _plans(sessions, pool(user, filters, first)):
            _an_index_scan_in_order(plan, index)
    _total, found = read(lambda cmd: events.search(cmd.session, cmd.user, cmd.catalogs, {}, first), user=city)
    plan, = _plans(sessions, pool(city, {}, paging.PageRequest(20, found.next_cursor)))
    _an_index_scan_in_order(plan, "event_pkey")
    assert "Index Cond: (id <" in plan, plan                               # the cursor is the index's own bound


def test_a_community_with_few_of_the_citys_tasks_reads_them_through_its_own_index(sessions, read, database_url):
    """待办 of a community holding few of the city's ready tasks of its role (沿江: 12 of 6,000): each part of the
    user's scope is an index look-up, combined (SQLite's MULTI-INDEX OR, PostgreSQL's BitmapOr) before the few
    rows are sorted; not every task of the role read (as SQLite did, through an index on the role), nor 待办's
    order walked past the other communities' tasks (as PostgreSQL did): it stays as fast as the city grows
    (bench/growth.py; engine/accounts/permissions.py `work_items_of`)."""
    _fill(sessions, 6000, lambda n: "lg-yanjiang" if n % 500 == 0 else ("lg-xincheng", "lg-longgang")[n % 2])
    with sessions() as session:
        yanjiang = dataclasses.replace(load_user(session, "staff1"), community="lg-yanjiang")
    found = read(tasks.ready, paging.PageRequest(20), user=yanjiang)
    assert len(found.items) == 12 and found.next_cursor is None
    [plan] = _plans(sessions, lambda: read(tasks.ready, paging.PageRequest(20), user=yanjiang))
    combined = "MULTI-INDEX OR" if sessions.kw["bind"].dialect.name == "sqlite" else "BitmapOr"
    assert combined in plan and "ix_work_item_community" in plan, plan


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_on_postgresql_the_users_lists_are_planned_with_their_own_values_every_time(env, database_url):
    """psycopg prepares a statement once it has run five times, and PostgreSQL may then keep one generic plan for
    every value: 待办's for a community holding few of the city's tasks walked all of them in 待办's order. The
    reads of a user's tasks (a page, the counts per light, the communities, the badge, the map) and every page
    of a list with its total (已办, the pool, 消息) are sent unprepared, planned with their own values
    (engine/store/db.py PLANNED_EACH_TIME); a statement not marked so is prepared as before, checked on the
    same connection (the reads run one at a time). A marked statement read through a server-side cursor (a
    list's export) runs as it did: such a cursor is never prepared."""
    db = make_engine(database_url)
    factory = make_session_factory(db)
    staff = uow.read(factory, lambda s: load_user(s, "staff1"))
    first = paging.PageRequest(20)
    mine = (lambda cmd: tasks.ready(cmd, first), todo.counts, todo.communities, todo.map_of,
            lambda cmd: tasks.count_for(cmd.session, cmd.user, cmd.catalogs), lambda cmd: tasks.done(cmd, first),
            lambda cmd: events.search(cmd.session, cmd.user, cmd.catalogs, {}, first),
            lambda cmd: inbox.listing(cmd.session, cmd.user, cmd.catalogs, page=first))
    pid = sql("SELECT pg_backend_pid()")
    try:
        pids = set()
        for _ in range(7):
            for op in mine:
                uow.read(factory, lambda s, op=op: op(env.command(s, staff)))
            pids.add(uow.read(factory, lambda s: (s.scalar(select(WorkItem.id).where(WorkItem.community == "lg-x")),
                                                  s.scalar(pid))[1]))
        streamed = uow.read(factory, lambda s: list(s.execute(todo.query(env.command(s, staff)).execution_options(
            yield_per=5))))
        with db.connect() as conn:
            assert {conn.scalar(pid)} == pids                      # the connection the reads used
            prepared = conn.scalars(sql("SELECT statement FROM pg_prepared_statements")).all()
    finally:
        db.dispose()
    assert streamed == []                                          # staff1 has no task here: it ran
    assert any("FROM work_item" in s and "ORDER BY" not in s and "count" not in s for s in prepared), prepared
    assert [s for s in prepared if "JOIN" in s or "count(" in s or "ORDER BY" in s] == [], prepared
