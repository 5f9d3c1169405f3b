"""Notices leave the app (issue #18, engine/notices/delivery.py): a whistle order (§8.3: 30 minutes to
accept, around the clock) reaches the department's e-mail and webhook through apprise, sent by the
worker's job from rows written with the step; a channel that is down is retried with back-off and never
holds up the step; quiet hours hand the notice to the duty officer (值班); a sensitive event's notice says
only that there is one; a notice goes at most once per channel, however many senders run.

The receivers are real servers on 127.0.0.1 (tests/receivers.py: aiosmtpd, http.server); sending is a call
the test makes and retries fall due as the test moves the business clock. Nothing sleeps."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.core.clock import parse_instant
from engine.core.errors import InvalidData
from engine.notices import delivery, outbox, targets
from engine.store import uow
from engine.store.models import Event, NoticeDelivery, Notification, WorkItem
from tests.engine.steps import report, whistled
from tests.receivers import MailReceiver, Receiver


@pytest.fixture
def mail():
    receiver = MailReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def hook():
    receiver = Receiver("/sms-gateway")
    yield receiver
    receiver.close()


def channel(run, public_only=False, **data) -> int:
    def add(cmd):
        return delivery.add_channel(cmd.session, cmd.catalogs, "admin1", {"label": "测试渠道", **data}, cmd.now(),
                                    public_only).id
    return run(add)


def send(env, sessions) -> delivery.Sent:
    return delivery.send_due(sessions, env, "https://lg.example.cn")


def rows(sessions, **where) -> list[NoticeDelivery]:
    return uow.read(sessions, lambda s: list(s.scalars(select(NoticeDelivery).filter_by(**where)
                                                       .order_by(NoticeDelivery.id))))


def test_a_whistle_order_reaches_the_units_mail_and_webhook_once(run, env, sessions, mail, hook):
    channel(run, owner_kind="unit", owner="zhifa", url=mail.url("zhifa-duty@example.cn"), categories=["dispatch"])
    channel(run, owner_kind="unit", owner="zhifa", url=hook.url.replace("http://", "json://"))
    channel(run, owner_kind="unit", owner="zhifa", url=mail.url("zhifa-lead@example.cn"), categories=["overdue"])
    event_id = whistled(run, department="zhifa")
    number = uow.read(sessions, lambda s: s.get(Event, event_id).number)
    # the step is stored with its deliveries before anything is sent: two channels take 派单
    pending = rows(sessions, status="pending")
    assert len(pending) == 2 and mail.messages == [] and hook.requests == []

    done = send(env, sessions)
    assert sorted(done.sent) == sorted(r.id for r in pending) and done.retried == done.gave_up == []
    (message,) = mail.messages
    assert message.to == ["zhifa-duty@example.cn"]
    assert "派单" in message.subject and number in message.subject
    assert number in message.text and "https://lg.example.cn/events/" in message.text
    ((headers, _body),) = hook.requests
    (body,) = hook.bodies()
    assert number in body["title"] and "派单" in body["title"] and number in body["message"]
    assert headers[delivery.IDEMPOTENCY_HEADER].startswith("notice-")
    assert {r.status for r in rows(sessions)} == {"sent"}

    assert send(env, sessions).attempted == []            # sent is sent: never again
    assert len(mail.messages) == 1 and len(hook.requests) == 1


def test_a_sensitive_events_notice_outside_the_app_says_only_that_there_is_one(run, env, sessions, mail):
    channel(run, owner_kind="unit", owner="gongan", url=mail.url("police@example.cn"))
    description = "家暴纠纷，当事人王某某"
    event_id = run(report, type_code="A03", description=description, user="grid1")
    number = uow.read(sessions, lambda s: s.get(Event, event_id).number)

    def tell(cmd):
        outbox.notify(cmd.session, cmd.catalogs, cmd.now(), event_id, "unit", "gongan", "whistle_dispatched",
                      f"事件 {number}（警情流转）：{description}")
    run(tell)
    assert send(env, sessions).sent
    (message,) = mail.messages
    assert delivery.SENSITIVE_WORDS in message.subject and delivery.SENSITIVE_WORDS in message.text
    for secret in (description, "王某某", "家暴", number, "警情"):
        assert secret not in message.whole
    assert f"https://lg.example.cn/events/{event_id}" in message.text


def test_a_channel_that_is_down_is_retried_with_back_off_and_given_up(run, env, sessions, clock, hook):
    hook.close()                                           # nobody listens there any more
    down = channel(run, owner_kind="unit", owner="zhifa", url=hook.url.replace("http://", "json://"))
    event_id = whistled(run, department="zhifa")
    # the step committed: the department has its 签收 task, whatever the channel does
    assert uow.read(sessions, lambda s: s.scalar(select(WorkItem.spec_name).where(WorkItem.event_id == event_id)
                                                 .where(WorkItem.spec_name == "accept_whistle")))
    (row,) = rows(sessions, channel_id=down)
    assert send(env, sessions).retried == [row.id]
    (row,) = rows(sessions, channel_id=down)
    assert row.status == "failed" and row.attempts == 1 and row.last_error
    assert row.next_attempt_at == clock.now() + timedelta(seconds=delivery.BACKOFF[0])
    assert send(env, sessions).attempted == []             # not due yet
    for pause in delivery.BACKOFF:
        clock.set(clock.now() + timedelta(seconds=pause))
        done = send(env, sessions)
        assert done.attempted == [row.id]
    assert done.gave_up == [row.id]
    (row,) = rows(sessions, channel_id=down)
    assert row.status == "gave_up" and row.attempts == len(delivery.BACKOFF) + 1

    # an administrator sends it again once the receiver is back
    back = Receiver("/sms-gateway")
    try:
        def repoint(cmd):
            from engine.store.models import NoticeChannel
            cmd.session.get(NoticeChannel, down).url = back.url.replace("http://", "json://")
        run(repoint)
        run(lambda cmd: delivery.resend(cmd.session, "admin1", row.id, cmd.now()))
        assert send(env, sessions).sent == [row.id]
        assert len(back.requests) == 1
    finally:
        back.close()


def test_quiet_hours_hand_the_notice_to_the_duty_officer(run, env, sessions, clock, mail):
    """02:00 on Sunday 11 October 2026: the unit's mailbox is in its quiet hours; zhifa1 is on duty
    (catalogs/data/duty_rosters.json) and hears it on his own channel."""
    office = channel(run, owner_kind="unit", owner="zhifa", url=mail.url("office@example.cn"),
                     quiet_from="22:00", quiet_until="07:00")
    duty = channel(run, owner_kind="person", owner="zhifa1", url=mail.url("zhifa1@example.cn"))
    clock.set(parse_instant("2026-10-11T02:00:00+08:00"))
    whistled(run, department="zhifa")
    (held,) = rows(sessions, channel_id=office)
    assert held.status == "held"
    send(env, sessions)
    assert [m.to for m in mail.messages] == [["zhifa1@example.cn"]]     # once: the duty copy
    assert "派单" in mail.messages[0].subject
    assert rows(sessions, channel_id=duty)[0].status == "sent"

    clock.set(parse_instant("2026-10-12T09:00:00+08:00"))                # Monday, office hours
    whistled(run, department="zhifa")
    send(env, sessions)
    assert [m.to for m in mail.messages][1:] == [["office@example.cn"]]


def test_a_sender_stopped_mid_send_never_sends_it_again(run, env, sessions, clock, hook):
    channel(run, owner_kind="unit", owner="zhifa", url=hook.url.replace("http://", "json://"))
    whistled(run, department="zhifa")
    (row,) = rows(sessions)
    claimed = uow.run(sessions, lambda s: delivery._claim(s, env.catalogs, row.id, clock.now(), "https://x"))
    assert claimed is not None                              # … and the sender dies before it sends or records
    assert send(env, sessions).attempted == []
    clock.set(clock.now() + delivery.LEASE)
    assert send(env, sessions).attempted == []
    (row,) = rows(sessions)
    assert row.status == "unknown" and hook.requests == []


def test_two_senders_send_each_notice_once(run, env, sessions, hook, database_url):
    """Two workers (threads here, each its own sessions) send the same due rows at once: each notice
    arrives once (PostgreSQL: claimed with SKIP LOCKED; SQLite: one writer at a time)."""
    channel(run, owner_kind="unit", owner="zhifa", url=hook.url.replace("http://", "json://"))
    for _ in range(6):
        whistled(run, department="zhifa")
    due = rows(sessions, status="pending")
    assert len(due) == 6
    results, gate = [], threading.Barrier(2)

    def worker():
        gate.wait()
        results.append(send(env, sessions))
    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(i for r in results for i in r.sent) == sorted(r.id for r in due)
    keys = [headers[delivery.IDEMPOTENCY_HEADER] for headers, _ in hook.requests]
    assert len(keys) == 6 == len(set(keys))


def test_a_channel_is_checked_field_by_field(run):
    with pytest.raises(InvalidData) as refused:
        channel(run, owner_kind="unit", owner="nowhere", url="ftp://example.cn", categories=["everything"],
                quiet_from="25:00", label="")
    fields = {e["field"]: e["reason"] for e in refused.value.details["errors"]}
    assert set(fields) == {"owner", "url", "categories", "quiet_from", "label"}
    assert "nowhere" in fields["owner"] and "mailto://" in fields["url"]
    with pytest.raises(InvalidData) as refused:
        channel(run, owner_kind="person", owner="zhifa1", url="mailto://127.0.0.1:25?from=n@lg.cn&to=a@b.cn", quiet_from="22:00")
    assert [e["field"] for e in refused.value.details["errors"]] == ["quiet_until"]


def test_the_shown_url_hides_the_secrets():
    shown = delivery.shown_url("json://user:hunter2@hooks.example.cn/x?+Authorization=Bearer%20abc")
    assert "hunter2" not in shown and "abc" not in shown and "hooks.example.cn" in shown
    assert "s3cr3t" not in delivery.shown_url("dingtalk://s3cr3ttokenvalue/")


def test_no_channel_no_delivery(run, sessions):
    whistled(run, department="zhifa")
    assert uow.read(sessions, lambda s: s.scalar(select(func.count(Notification.id)))) > 0
    assert rows(sessions) == []


def test_a_persons_channel_whose_name_now_points_inside_is_not_sent_to(run, env, sessions, clock, hook):
    """Server-side request forgery at sending (engine/notices/targets.py): a person's own channel (`public_only`)
    names a host that resolves to this machine now — as a name checked when it was set and re-pointed since
    would. The notice is not sent there: the delivery fails naming why, and the receiver hears nothing, while
    a channel a system administrator set to the same receiver gets it. Once the operator allows that host
    (EVENTFLOW_OWN_CHANNEL_HOSTS), the retry goes through."""
    inner = hook.url.replace("http://127.0.0.1", "json://localhost")
    own = channel(run, public_only=True, owner_kind="person", owner="zhifa1", url=inner)
    admins = channel(run, owner_kind="person", owner="zhifa1", url=inner.replace("/sms-gateway", "/set-by-admin"))
    run(lambda cmd: outbox.notify(cmd.session, cmd.catalogs, cmd.now(), None, "person", "zhifa1", "urge", "请尽快签收"))
    env.own_channel_hosts = frozenset()
    done = send(env, sessions)
    (row,) = rows(sessions, channel_id=own)
    assert done.retried == [row.id] and row.status == "failed"
    assert "内部网络" in row.last_error and "localhost" in row.last_error
    assert [headers["Host"] for headers, _ in hook.requests] == [f"localhost:{hook.port}"]
    assert rows(sessions, channel_id=admins)[0].status == "sent"

    env.own_channel_hosts = frozenset({"localhost"})
    clock.set(clock.now() + timedelta(seconds=delivery.BACKOFF[0]))
    assert send(env, sessions).sent == [row.id]
    assert len(hook.requests) == 2 and hook.bodies()[1]["message"].startswith("请尽快签收")


def test_a_host_is_judged_by_every_address_it_resolves_to():
    assert targets.judge("1.1.1.1") == targets.Verdict("1.1.1.1", ("1.1.1.1",))
    for host in ("127.0.0.1", "localhost", "10.1.2.3", "169.254.169.254", "100.64.0.1", "::1", "224.0.0.1"):
        assert targets.judge(host).inner == "inner", host
    assert targets.judge("no-such-host.invalid").inner == "unresolved"
    assert targets.judge("").inner == "?"


def test_a_pinned_name_reaches_only_the_addresses_checked_and_only_in_its_thread(hook):
    """`targets.pinned`: while a send is on its way, the name resolves to the addresses checked a moment
    before (no second look-up a resolver could answer differently: DNS rebinding), in the sending thread alone;
    afterwards it resolves as before. A real request (requests, what apprise's webhooks use) to the receiver."""
    import requests

    name = "hook.eventflow.invalid"
    url = f"http://{name}:{hook.port}/sms-gateway"
    with pytest.raises(requests.ConnectionError):
        requests.post(url, json={"n": 0}, timeout=5)
    elsewhere = []
    with targets.pinned(name, ("127.0.0.1",)):
        assert requests.post(url, json={"n": 1}, timeout=5).status_code == 200
        thread = threading.Thread(target=lambda: elsewhere.append(targets.judge(name).inner))
        thread.start()
        thread.join()
    assert elsewhere == ["unresolved"]
    with pytest.raises(requests.ConnectionError):
        requests.post(url, json={"n": 2}, timeout=5)
    assert hook.bodies() == [{"n": 1}] and hook.requests[0][0]["Host"] == f"{name}:{hook.port}"


def test_while_pinned_every_other_name_must_be_public_too(hook):
    """A sending fails closed: the pinned host answering with a redirect to this machine (or apprise asking a key
    server) makes the thread look up another name, and that one is judged as the channel's was: refused, and the
    inner receiver hears nothing. An address of another family than the one asked for is skipped, not fatal."""
    import socket

    import requests

    inner = Receiver("/admin")
    try:
        name = "hook.eventflow.invalid"
        hook.script = [(307, {"Location": f"http://localhost:{inner.port}/admin"})]
        with targets.pinned(name, ("127.0.0.1",)):
            with pytest.raises(requests.ConnectionError):
                requests.post(f"http://{name}:{hook.port}/sms-gateway", json={"n": 1}, timeout=5)
            with pytest.raises(socket.gaierror):
                socket.getaddrinfo("127.0.0.1", 80)
        assert len(hook.requests) == 1 and inner.requests == []
        assert socket.getaddrinfo("localhost", inner.port)                      # unpinned: as usual
        with targets.pinned(name, ("::1", "127.0.0.1")):
            found = socket.getaddrinfo(name, 80, socket.AF_INET)
        assert {info[4][0] for info in found} == {"127.0.0.1"}
    finally:
        inner.close()


def test_a_host_is_compared_as_apprise_names_it():
    assert delivery.target_host("json://[2606:4700:4700::1111]/hook") == "2606:4700:4700::1111"
    assert targets.judge(delivery.target_host("json://[2606:4700:4700::1111]/hook")).inner is None
    assert delivery.inner_host("json://LocalHost./hook", frozenset({"localhost"})) is None
    assert delivery.inner_host("json://localhost/hook", frozenset({"LOCALHOST"})) is None
    assert delivery.inner_host("json://localhost/hook") == "localhost"
