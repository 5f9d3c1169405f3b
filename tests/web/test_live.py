"""The live inbox (issue #18): `GET /api/live` and the web app's `GET /live` stream what is new for the user
the moment it is committed — on SQLite and on PostgreSQL, through a second app object on the same database
(another app node: LISTEN/NOTIFY, or the SQLite poll) — scoped and redacted exactly as 待办 and 消息 are;
a reconnect with Last-Event-ID misses nothing; an expired or revoked session ends the stream; a stream has
a bounded life, heartbeats, and a bounded number per process. The real app, no sleeps: each test waits on
the event it expects, and the stream's clock is injected where its life and heartbeats are the point."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from engine.accounts import users
from engine.accounts.privacy import REDACTED
from engine.core.clock import SimulatedClock
from engine.notices import outbox
from engine.store.models import Audit, LiveFeed, Notification
from engine.store.wakeups import newest_id
from tests.conftest import build_app, make_settings
from tests.web.client import Api
from tests.web.live_stream import Stream
from tests.web.test_sensitive import staff3, web_session

MARK = "LIVE7MARK"


@pytest.fixture
def live_settings(database_url, tmp_path, seeded):
    """Streams that live 30 s (a test reads only until what it expects), SQLite polled every 20 ms."""
    return make_settings(database_url, tmp_path / "media", live_stream_seconds=30, live_poll_ms=20)


def started(settings):
    app = build_app(settings)
    app.extensions["eventflow"].wakeups.linger_seconds = 0     # the watching thread ends with the last stream
    return app


def stopped(app):
    svc = app.extensions["eventflow"]
    svc.wakeups.stop()
    svc.db.dispose()


@pytest.fixture
def app(live_settings):
    app = started(live_settings)
    yield app
    stopped(app)


@pytest.fixture
def node2(live_settings):
    """A second app node on the same database."""
    app = started(live_settings)
    yield Api(app)
    stopped(app)


def open_stream(api, user, **kwargs) -> Stream:
    stream = Stream(api.client, "/api/live", headers={**api.headers(user), **kwargs.pop("headers", {})}, **kwargs)
    assert stream.status == 200
    return stream


def feed_high(app) -> int:
    svc = app.extensions["eventflow"]
    return svc.read(newest_id)


def test_new_work_reaches_the_streams_of_another_app_node_in_scope_only(app, api, node2):
    staff = open_stream(api, "staff1")
    assert staff.response.headers["Content-Type"].startswith("text/event-stream")
    assert staff.response.headers["X-Accel-Buffering"] == "no"          # nginx passes each event on at once
    assert staff.response.headers["Cache-Control"] == "no-cache"
    assert staff.next("counts") == {"tasks": 0} and staff.retry
    other = open_stream(api, "staff2")                                    # 龙港社区: not theirs
    assert other.next("counts") == {"tasks": 0}

    event = node2.report("grid1")                                         # made through the other node
    work = staff.next("work")
    assert (work["task"]["name"], work["task"]["title"], work["task"]["event_number"]) == ("verify", "核实", event["number"])
    assert work["event"]["description"] == event["description"] and work["sensitive"] is False
    assert "form" not in work["task"] and "deadline" in work["task"]      # as 待办 lists it, with its limit
    assert staff.next("counts") == {"tasks": 1}
    assert other.until(feed_high(app)) == []                              # the same rows read: nothing for them
    staff.close()
    other.close()


def test_done_work_leaves_and_the_next_task_arrives(app, api):
    event = api.report("grid1")
    task = api.task("staff1", event["id"], "verify")
    staff, grid = open_stream(api, "staff1"), open_stream(api, "grid1")
    assert staff.next("counts") == {"tasks": 1} and grid.next("counts") == {"tasks": 0}
    api.complete("staff1", event["id"], "verify", {"verdict": "accept", "verify_note": "属实"})
    done = staff.next("done")
    assert done == {"kind": "done", "task_id": task["id"], "feed": staff_feed(app, task["id"])}
    assert staff.next("work")["task"]["name"] == "analyse"
    assert grid.until(feed_high(app)) == []                                # not a grid worker's task
    staff.close()
    grid.close()


def staff_feed(app, task_id) -> int:
    svc = app.extensions["eventflow"]
    return svc.read(lambda s: s.scalar(select(LiveFeed.id).where(LiveFeed.ref == task_id, LiveFeed.kind == "done")))


def test_a_reconnect_with_last_event_id_misses_nothing(app, api):
    stream = open_stream(api, "staff1")
    stream.next("counts")
    cursor = stream.last_id
    stream.close()
    event = api.report("grid1")                                           # while no stream was open
    resumed = open_stream(api, "staff1", headers={"Last-Event-ID": cursor})
    assert resumed.next("work")["task"]["event_number"] == event["number"]
    resumed.close()
    by_query = open_stream(api, "staff1", query_string={"since": cursor})   # a page passes where it was rendered
    assert by_query.next("work")["task"]["event_number"] == event["number"]
    by_query.close()
    fresh = open_stream(api, "staff1")                                    # no cursor: from now on
    assert fresh.next("counts") == {"tasks": 1}
    assert fresh.until(feed_high(app)) == []
    fresh.close()


def test_messages_arrive_as_the_inbox_lists_them_and_sensitive_ones_redacted(app, api):
    staff3(app)                                                           # a cadre of 新城社区, not designated
    svc = app.extensions["eventflow"]
    police = api.report("grid1", type_code="A03", description=f"{MARK} 邻里纠纷警情")
    streams = {user: open_stream(api, user) for user in ("staff1", "staff3", "zhifa1")}
    for stream in streams.values():
        stream.next("counts")
    svc.run(lambda s: outbox.notify(s, svc.catalogs, svc.clock.now(), police["id"], "community", "lg-xincheng",
                                    "comment", f"{MARK} 社区留言"))
    svc.run(lambda s: outbox.notify(s, svc.catalogs, svc.clock.now(), police["id"], "unit", "zhifa", "urged",
                                    f"{MARK} 催办"))
    designated = streams["staff1"].next("notice")
    assert designated["notice"]["message"] == f"{MARK} 社区留言" and designated["notice"]["event_number"] == police["number"]
    assert designated["sensitive"] is True                                # so nothing of it leaves the page
    for user in ("staff3", "zhifa1"):                                     # told that, not what
        notice = streams[user].next("notice")
        assert notice["notice"]["message"] == REDACTED and notice["notice"]["event_number"] is None
        assert notice["notice"]["event_id"] is None and notice["sensitive"] is True
    assert [v for v in views(app, police["id"]) if v[1] == "notifications"] == [("staff1", "notifications")]
    for stream in streams.values():
        stream.close()


def test_sensitive_work_reaches_only_those_who_may_see_it(app, api):
    staff3(app)
    plain, designated = open_stream(api, "staff3"), open_stream(api, "staff1")
    plain.next("counts")
    designated.next("counts")
    police = api.report("grid1", type_code="A03", description=f"{MARK} 邻里纠纷警情")
    work = designated.next("work")
    assert work["event"]["description"] == f"{MARK} 邻里纠纷警情" and work["sensitive"] is True
    assert ("staff1", "tasks") in views(app, police["id"])                # the read of its content is recorded
    said = plain.until(feed_high(app))
    # no work; the community's §4.1 notice of a new report (the escalation ladder) says only that there is one
    assert all(name != "work" for name, _ in said) and MARK not in repr(said)
    notices = [body for name, body in said if name == "notice"]
    assert all(n.get("sensitive") and n.get("event_number") is None for n in notices), notices
    plain.close()
    designated.close()


def views(app, event_id):
    svc = app.extensions["eventflow"]
    return svc.read(lambda s: [(a.actor, a.data["view"]) for a in s.scalars(
        select(Audit).where(Audit.event_id == event_id, Audit.action == "sensitive_viewed").order_by(Audit.id))])


def test_an_expired_or_revoked_session_ends_the_stream(app, api):
    svc = app.extensions["eventflow"]
    stream = open_stream(api, "staff1")
    stream.next("counts")
    wall = svc.env.wall_clock
    svc.env.wall_clock = SimulatedClock(wall.now() + timedelta(seconds=svc.settings.token_ttl_seconds + 1))
    try:
        svc.wakeups.wake()                                                # the next pass checks the token again
        assert stream.next("end")["reason"] == "signed_out"
        assert stream.rest() == [] and stream.ended
    finally:
        svc.env.wall_clock = wall
    stream = open_stream(api, "grid1")
    stream.next("counts")
    token = api.headers("grid1")["Authorization"].split(" ", 1)[1]
    svc.run(lambda s: users.revoke_token(s, token))                       # signed out elsewhere
    svc.wakeups.wake()
    assert stream.next("end")["reason"] == "signed_out" and stream.rest() == []


def test_a_stream_lives_its_time_with_heartbeats_on_the_injected_clock(app, api):
    svc, streams = app.extensions["eventflow"], app.extensions["eventflow_live"]
    now = [1000.0]
    streams.clock = lambda: now[0]
    stream = open_stream(api, "staff1")
    stream.next("counts")
    now[0] += svc.settings.live_heartbeat_seconds + 1
    svc.wakeups.wake()
    assert next(stream.blocks()) == ("comment", "♥")
    now[0] += svc.settings.live_stream_seconds
    svc.wakeups.wake()
    assert stream.rest() == [] and stream.ended                          # then the browser reconnects
    assert streams.open == 0


def test_streams_per_process_are_bounded(live_settings, database_url, tmp_path):
    app = started(make_settings(database_url, tmp_path / "media2", live_stream_seconds=30, live_streams=1))
    try:
        api = Api(app)
        first = open_stream(api, "staff1")
        first.next("counts")
        busy = open_stream(api, "grid1")
        blocks = busy.rest()
        assert [name for name, _ in blocks] == ["busy"] and busy.retry >= 15000 and busy.ended
        first.close()
        again = open_stream(api, "grid1")
        assert again.next("counts") == {"tasks": 0}
        again.close()
    finally:
        stopped(app)


def test_a_bad_cursor_or_no_token_is_refused_before_streaming(app, api):
    assert api.client.get("/api/live").status_code == 401
    for headers, query, field in (({"Last-Event-ID": "abc"}, {}, "Last-Event-ID"), ({}, {"since": "5:7"}, "since"),
                                  ({}, {"since": "99999999999"}, "since")):
        r = api.client.get("/api/live", headers={**api.headers("staff1"), **headers}, query_string=query)
        assert r.status_code == 422 and r.json["errors"][0]["field"] == field
    assert app.test_client().get("/live").status_code == 401              # the page's stream: a session only


def test_the_pages_stream_carries_each_entry_as_the_lists_render_it(app, api):
    page = web_session(app, "staff1")
    assert 'data-live-url="/live"' in page.get("/").get_data(as_text=True)
    stream = Stream(page, "/live")
    assert stream.next("counts") == {"tasks": 0}
    event = api.report("grid1")
    work = stream.next("work")
    assert f'data-task-id="{work["task"]["id"]}"' in work["html"] and event["number"] in work["html"]
    assert work["alert"]["title"] == "新待办：核实" and event["number"] in work["alert"]["body"]
    police = api.report("grid1", type_code="A03", description=f"{MARK} 邻里纠纷警情")
    secret = stream.next("work")
    assert secret["task"]["event_number"] == police["number"] and MARK in secret["html"]     # in the app: theirs
    assert secret["alert"]["body"] == "您有一件涉密事件待办"                  # outside it: that there is one
    stream.close()


def test_a_gap_left_by_a_later_commit_is_filled_when_it_commits(app, api):
    """On PostgreSQL a transaction that took a feed id first may commit after one that took the next: the
    stream reads the later one and then, once it commits, the earlier (the cursor keeps the gap)."""
    svc = app.extensions["eventflow"]
    if svc.db.dialect.name != "postgresql":
        pytest.skip("SQLite writers commit one at a time, in id order")
    stream = open_stream(api, "grid1")
    stream.next("counts")
    now = svc.clock.now()
    with svc.db.connect() as slow:                    # (closed, its transaction rolled back, whatever happens)
        slow_tx = slow.begin()
        slow.execute(insert(Notification).values(at=now, event_id=None, recipient_kind="person", recipient="grid1",
                                                 kind="test", message="先写后提交"))
        svc.run(lambda s: outbox.notify(s, svc.catalogs, now, None, "person", "grid1", "test", "后写先提交"))
        assert stream.next("notice")["notice"]["message"] == "后写先提交"
        committed = svc.read(lambda s: s.scalar(select(LiveFeed.id).where(LiveFeed.kind == "notice")))  # the later
        stream.next("counts")
        assert stream.last_id == f"{committed}:{committed - 1}"           # the earlier one is still looked for
        slow_tx.commit()
    assert stream.next("notice")["notice"]["message"] == "先写后提交"
    stream.close()


def test_a_task_passed_down_reaches_the_assignees_live_list_and_leaves_it_when_taken_back(app, api):
    """下派 (issue #19) makes no work item of its own: the pass's notice brings the task to the person's live 待办
    and taking it back takes it off, as their 待办 lists it."""
    from tests.web.test_delegation import at, whistled_to_police
    event_id, task_id = whistled_to_police(api)
    person = open_stream(api, "pcs1")
    assert person.next("counts") == {"tasks": 0}
    r = api.post(f"/api/tasks/{task_id}/delegate", "police1", json={"to_person": "pcs1", "due_at": at(20)})
    assert r.status_code == 200, r.json
    seen = person.until(feed_high(app))
    kinds = [name for name, _data in seen]
    assert kinds == ["notice", "work"], seen
    work = seen[1][1]
    assert (work["task"]["id"], work["task"]["event_id"]) == (task_id, event_id)
    assert [t["id"] for t in api.tasks("pcs1", event_id)] == [task_id]
    assert api.post(f"/api/tasks/{task_id}/take-back", "police1", json={"reason": "本局直接签收"}).status_code == 200
    assert [(name, data.get("task_id")) for name, data in person.until(feed_high(app))] == \
        [("notice", None), ("done", task_id)]
    person.close()
