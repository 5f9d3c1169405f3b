"""The live inbox's feed (issue #18), without the web app: the triggers of migration 0029 write a row for every
work item made or gone and every notification, in the writer's own transaction (a rollback leaves none); two
`Wakeups` on one database — two app processes, on SQLite by the poll, on PostgreSQL by LISTEN/NOTIFY — both
wake at a commit made through neither; the cursor keeps the ids a later commit skipped until they turn up or
their time is up (the reader's clock, injected); the feed is pruned to its newest rows."""
from __future__ import annotations

from contextlib import ExitStack

import pytest
from sqlalchemy import func, select, text

from engine.core.errors import InvalidData
from engine.notices import live, outbox
from engine.store import uow
from engine.store.db import make_engine, make_session_factory
from engine.store.models import LiveFeed, WorkItem
from engine.store.wakeups import CHANNEL, Wakeups
from tests.engine.steps import complete, reported_and_started, whistled


def notify(env, sessions, message="新消息", to="grid1"):
    uow.run(sessions, lambda s: outbox.notify(s, env.catalogs, env.clock.now(), None, "person", to, "test", message))


def feed(sessions) -> list[tuple]:
    return uow.read(sessions, lambda s: [(r.kind, r.ref) for r in s.scalars(select(LiveFeed).order_by(LiveFeed.id))])


def test_triggers_write_the_feed_in_the_writers_transaction(env, sessions, run):
    notify(env, sessions, "一")
    with pytest.raises(RuntimeError):
        def fails(session):
            outbox.notify(session, env.catalogs, env.clock.now(), None, "person", "grid1", "test", "二")
            session.flush()
            raise RuntimeError("the step failed")
        uow.run(sessions, fails)
    assert [kind for kind, _ in feed(sessions)] == ["notice"]            # the rolled-back one left nothing
    event_id = reported_and_started(run)
    verify = feed(sessions)[-1]
    assert verify[0] == "work"                                           # 核实, made for the community
    run(complete, event_id, "verify", {"verdict": "accept"}, user="staff1")
    assert ("done", verify[1]) in feed(sessions) and feed(sessions)[-1][0] == "work"    # gone; 研判 made


def test_two_processes_wake_at_a_commit_made_through_neither(database_url, seeded, env, sessions):
    """Each `Wakeups` watches with its own engine, as each app process does; the commit comes through a third.
    The test waits on each one's condition, with a bound: no sleep."""
    engines = [make_engine(database_url) for _ in range(2)]
    hubs = [Wakeups(db, make_session_factory(db), poll_seconds=0.02, linger_seconds=0) for db in engines]
    try:
        with ExitStack() as streams:
            for hub in hubs:
                streams.enter_context(hub.joined())                      # a stream: the watching thread starts
            for hub in hubs:
                assert hub.wait(0, 10) > 0                               # it has looked once (PostgreSQL: listens)
            seen = [hub.generation for hub in hubs]
            notify(env, sessions)
            for hub, before in zip(hubs, seen, strict=True):
                assert hub.wait(before, 10) != before, "a process was not woken by the commit"
    finally:
        for hub in hubs:
            hub.stop()
            assert not hub.watching
        for db in engines:
            db.dispose()


def test_a_cursor_reads_after_itself_and_looks_for_what_a_later_commit_skipped():
    cursor = live.Cursor(10)
    after = cursor.after([11, 14], now=100.0)                            # 12 and 13 not committed yet
    assert (after.high, sorted(after.gaps)) == (14, [12, 13]) and after.text() == "14:12,13"
    later = after.after([13], now=110.0)
    assert (later.high, sorted(later.gaps)) == (14, [12])
    assert later.after([], now=100.0 + live.GAP_WAIT_S).gaps == {}        # 12 rolled back: given up in time
    assert live.Cursor.parse("14:12,13", "since", 5.0) == live.Cursor(14, {12: 5.0, 13: 5.0})
    for bad in ("x", "14:15", "14:", "-1", "1" * 12, ",".join(["20"] + ["1"] * 200)):
        with pytest.raises(InvalidData) as err:
            live.Cursor.parse(bad, "Last-Event-ID", 0.0)
        assert err.value.details["errors"][0]["field"] == "Last-Event-ID"


def test_the_feed_is_pruned_to_its_newest_rows(env, sessions, run):
    for n in range(5):
        notify(env, sessions, f"第{n}条")
    before = feed(sessions)
    assert run(live.prune, keep=2) == [3]
    assert feed(sessions) == before[-2:]
    assert run(live.prune, keep=2) == []
    notify(env, sessions, "又一条")                                       # ids go on after the newest, never reused
    assert uow.read(sessions, lambda s: s.scalar(select(func.max(LiveFeed.id)))) == 6


def test_a_listener_whose_connection_is_lost_listens_again(database_url, seeded, env, sessions):
    """PostgreSQL: the listener's backend terminated (a server restart, a failover) wakes the streams — each
    reads after its own cursor, so nothing is lost — and the listener connects again and hears the next commit."""
    db = make_engine(database_url)
    if db.dialect.name != "postgresql":
        db.dispose()
        pytest.skip("SQLite is polled: no connection to lose")
    hub = Wakeups(db, make_session_factory(db), linger_seconds=0)
    try:
        with hub.joined():
            listening = hub.wait(0, 10)
            assert listening > 0
            uow.run(sessions, lambda s: s.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                f"AND query = 'LISTEN {CHANNEL}'")))
            lost = hub.wait(listening, 10)
            assert lost != listening                                     # the loss woke the streams
            again = hub.wait(lost, 10)
            assert again != lost                                         # connected and listening again
            notify(env, sessions)
            assert hub.wait(again, 10) != again
    finally:
        hub.stop()
        db.dispose()


def test_passes_read_together_each_bring_their_own_task_once(run, read):
    """下派 makes no work item: each pass's notice brings its own task to the assignee's live 待办 (its delegation,
    matched by event, recipient and moment), and a task is in one read of the feed once until it is gone. Read in
    one batch: a task passed, taken back and passed again comes once, with the second pass (not once per
    notice); a pass whose task pcs1 has since done brings nothing — not the event's next task passed to them —
    but its going is told to pcs1 (`done`: it was passed to them, so a page of theirs that showed it drops it);
    and that next task, made for the unit and passed before the feed is read, comes once, where it was made."""
    from engine.casework import delegation
    from engine.core.clock import local
    from tests.engine.test_delegation import accept_task, after
    again = whistled(run, department="gongan")
    onward = whistled(run, department="gongan")
    accept, first = accept_task(read, again), accept_task(read, onward)
    start = read(lambda cmd: live.position(cmd.session, 0.0))
    due = {"to_person": "pcs1", "due_at": local(after(25))}
    run(delegation.pass_down, accept, due, user="police1")
    run(delegation.take_back, accept, {}, user="police1")
    run(delegation.pass_down, accept, due, user="police1")                      # the same task, passed again
    run(delegation.pass_down, first, due, user="police1")
    run(complete, onward, "accept_whistle", {"decision": "accept"}, user="pcs1")
    feedback = read(lambda cmd: cmd.session.scalar(select(WorkItem.id).where(
        WorkItem.event_id == onward, WorkItem.spec_name == "dispose_feedback")))
    run(delegation.pass_down, feedback, due, user="police1")                    # the next task of the same event

    news = read(live.news, start, 0.0, user="pcs1")
    shown = [(item["kind"], item["notice"]["kind"] if item["kind"] == "notice" else
              item["task"]["id"] if item["kind"] == "work" else item["task_id"]) for item in news.items]
    assert shown == [("notice", "delegated"), ("notice", "delegation_taken_back"), ("notice", "delegated"),
                     ("work", accept), ("notice", "delegated"), ("done", first), ("work", feedback),
                     ("notice", "delegated")], shown
    assert [i["feed"] for i in news.items] == sorted(i["feed"] for i in news.items)


def test_a_passed_task_done_is_gone_from_its_holders_other_pages(run, read):
    """A task passed to pcs1 (下派, not their role's by its assignee) and done by them: the feed tells pcs1 it is
    gone, so another device of theirs drops it; a colleague it was never passed to hears nothing of it."""
    from engine.casework import delegation
    from engine.core.clock import local
    from tests.engine.test_delegation import accept_task, after
    event_id = whistled(run, department="gongan")
    accept = accept_task(read, event_id)
    run(delegation.pass_down, accept, {"to_person": "pcs1", "due_at": local(after(25))}, user="police1")
    start = read(lambda cmd: live.position(cmd.session, 0.0))
    run(complete, event_id, "accept_whistle", {"decision": "accept"}, user="pcs1")
    gone = [item["task_id"] for item in read(live.news, start, 0.0, user="pcs1").items if item["kind"] == "done"]
    assert gone == [accept]
    assert [i for i in read(live.news, start, 0.0, user="zhifa1").items if i["kind"] == "done"] == []
