"""我的通知方式 (issue #18; engine/notices/channel_edits.py, web/api/my_notices.py, web/ui/my_notices.py) over HTTP, on
both databases: a person adds their own e-mail channel, edits it (an empty URL keeps it), pauses and resumes
it, sends a test notice to themselves and reads it sent in their own log, then deletes it; a refused channel
names its field. A person never sees, edits, tests or reads the log of another's channel (404: nothing says it
exists), nor a unit's; an administrator still manages any. A person's own mailbox (a real SMTP server, aiosmtpd)
receives a 下派 (派单) addressed to them, and a sensitive event's notice says only 「您有一件涉密事件待办」.
Nothing sleeps: sending is the worker's job, called by the test."""
from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from engine import jobs
from engine.notices import delivery
from engine.store.models import Audit, NoticeChannel
from tests.receivers import MailReceiver, Receiver
from tests.web.test_delegation import at, whistled_to_police
from tests.web.test_notice_channels import csrf
from tests.web.test_sensitive import web_session

MINE = "/api/me/notice-channels"


@pytest.fixture
def settings(settings):
    """This machine's receivers (and the example mail server of the page's test) allowed as a person's own
    channel: an inner or unresolvable host is refused by default (test_an_inner_address_is_refused_...)."""
    return dataclasses.replace(settings, own_channel_hosts="127.0.0.1,smtp.example.cn")


@pytest.fixture
def mail():
    receiver = MailReceiver()
    yield receiver
    receiver.close()


def send(app) -> list[int]:
    svc = app.extensions["eventflow"]
    return jobs.send_notices(svc.session_factory, svc.env)


def add(api, user, expect=201, **data):
    r = api.post(MINE, user, json={"label": "我的邮箱", **data})
    assert r.status_code == expect, r.json
    return r.json


def patch(api, user, channel_id, data):
    return api.client.patch(f"/api/notice-channels/{channel_id}", headers=api.headers(user), json=data)


def delete(api, user, channel_id):
    return api.client.delete(f"/api/notice-channels/{channel_id}", headers=api.headers(user))


def my_log(api, user, **query):
    r = api.get(f"{MINE}/deliveries", user, query_string=query)
    assert r.status_code == 200, r.json
    return r.json


def test_a_person_adds_edits_pauses_tests_and_deletes_their_own_channel(app, api, mail):
    url = mail.url("chenfang@example.cn")
    added = add(api, "staff1", url=url, categories=["dispatch", "overdue"], quiet_from="22:00", quiet_until="07:00")
    assert (added["owner_kind"], added["owner"], added["enabled"]) == ("person", "staff1", True)
    assert added["category_names"] == ["派单", "超期"] and added["url"] == delivery.shown_url(url)
    assert "chenfang@example.cn" not in api.get(MINE, "staff1").get_data(as_text=True)   # no query, no address
    assert [c["id"] for c in api.get(MINE, "staff1").json["items"]] == [added["id"]]

    # edited: the categories, no quiet hours; an empty URL keeps the one stored
    r = patch(api, "staff1", added["id"], {"label": "工作邮箱", "url": "", "categories": ["message"],
                                          "quiet_from": "", "quiet_until": ""})
    assert r.status_code == 200, r.json
    assert (r.json["label"], r.json["categories"], r.json["quiet_from"]) == ("工作邮箱", ["message"], None)
    svc = app.extensions["eventflow"]
    assert svc.read(lambda s: s.get(NoticeChannel, added["id"]).url) == url

    # 发送测试: to the channel alone, whatever its categories; the outcome in the person's own log
    r = api.post(f"/api/notice-channels/{added['id']}/test", "staff1")
    assert r.status_code == 201 and r.json["status"] == "pending", r.json
    again = api.post(f"/api/notice-channels/{added['id']}/test", "staff1")      # still on its way
    assert again.status_code == 409
    assert send(app) == [r.json["delivery"]]
    (message,) = mail.messages
    assert message.to == ["chenfang@example.cn"] and "测试" in message.subject and "工作邮箱" in message.text
    log = my_log(api, "staff1")
    assert [(d["id"], d["status"], d["attempts"], d["notice"]["category"]) for d in log["items"]] == [
        (r.json["delivery"], "sent", 1, "测试")]
    assert log["counts"]["sent"] == 1
    assert any("测试通知" in n["message"] for n in api.get("/api/notifications", "staff1").json["items"])

    # paused: nothing is sent to it, and a test is refused; resumed: it is in use again
    r = patch(api, "staff1", added["id"], {"enabled": False})
    assert r.status_code == 200 and r.json["enabled"] is False
    assert api.post(f"/api/notice-channels/{added['id']}/test", "staff1").status_code == 409
    event = api.report()
    task = api.task("staff1", event["id"], "verify")
    assert api.post(f"/api/tasks/{task['id']}/claim", "staff1").status_code == 200    # 留言 now reach staff1
    assert api.post(f"/api/events/{event['id']}/comments", "grid1", json={"text": "请尽快处理"}).status_code == 201
    assert patch(api, "staff1", added["id"], {"enabled": True}).json["enabled"] is True
    assert send(app) == [] and len(mail.messages) == 1
    assert api.post(f"/api/events/{event['id']}/comments", "grid1", json={"text": "人还在等"}).status_code == 201
    assert len(send(app)) == 1 and "人还在等" in mail.messages[-1].text and "留言/催办" in mail.messages[-1].subject

    # refused: each field named; another's channel or a unit's is not the person's to add
    bad = api.post(MINE, "staff1", json={"label": "", "url": "smtp://nowhere", "quiet_from": "25:00",
                                          "categories": ["sms"]})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json["errors"]} == {"label", "url", "quiet_from", "categories"}
    for owner in ({"owner_kind": "unit", "owner": "zhifa"}, {"owner": "zhifa1"}):
        r = api.post(MINE, "staff1", json={"label": "x", "url": url, **owner})
        assert r.status_code == 403 and r.json["field"] == "owner", r.json
    r = patch(api, "staff1", added["id"], {"owner": "zhifa1", "enabled": "yes"})
    assert r.status_code == 422 and {e["field"] for e in r.json["errors"]} == {"owner", "enabled"}

    assert delete(api, "staff1", added["id"]).status_code == 200
    assert api.get(MINE, "staff1").json["items"] == []
    assert delete(api, "staff1", added["id"]).status_code == 404
    actions = svc.read(lambda s: [a.action for a in s.scalars(select(Audit).where(Audit.action.like("notice_channel%"))
                                                              .order_by(Audit.id))])
    assert actions == ["notice_channel_added", "notice_channel_changed", "notice_channel_tested",
                       "notice_channel_changed", "notice_channel_changed", "notice_channel_removed"]


def test_a_person_cannot_see_edit_test_or_read_the_log_of_anothers_channel(app, api):
    hook = Receiver("/zhifa1")
    try:
        secret = hook.url.replace("http://", "json://") + "?+Authorization=Bearer%20sekrit"
        theirs = add(api, "zhifa1", label="王科长的短信网关", url=secret)
        assert api.post(f"/api/notice-channels/{theirs['id']}/test", "zhifa1").status_code == 201
        send(app)
        assert len(hook.requests) == 1
        unit = api.post("/api/notice-channels", "admin1", json={"owner_kind": "unit", "owner": "zhifa",
                                                                 "label": "执法局值班群", "url": secret}).json
        mine = add(api, "staff1", url="mailto://127.0.0.1:2525?from=cf@example.cn&to=cf@example.cn&mode=insecure")

        for channel in (theirs, unit):
            for r in (patch(api, "staff1", channel["id"], {"label": "改掉", "enabled": False}),
                      delete(api, "staff1", channel["id"]),
                      api.post(f"/api/notice-channels/{channel['id']}/test", "staff1")):
                assert r.status_code == 404, r.json
                assert channel["label"] not in r.get_data(as_text=True) and "sekrit" not in r.get_data(as_text=True)
        for r in (patch(api, "zhifa1", unit["id"], {"enabled": False}), delete(api, "zhifa1", unit["id"]),
                  api.post(f"/api/notice-channels/{unit['id']}/test", "zhifa1")):
            assert r.status_code == 404, r.json                  # a unit's channels stay the administrators'
        for path in (MINE, f"{MINE}/deliveries"):
            text = api.get(path, "staff1").get_data(as_text=True)
            assert "王科长" not in text and "sekrit" not in text and "执法局值班群" not in text
        assert [c["id"] for c in api.get(MINE, "staff1").json["items"]] == [mine["id"]]
        log = my_log(api, "staff1")
        assert log["items"] == [] and sum(log["counts"].values()) == 0
        assert [d["channel"]["id"] for d in my_log(api, "zhifa1")["items"]] == [theirs["id"]]
        for path in ("/api/notice-channels", "/api/notice-channels/deliveries"):   # the administrators' lists
            assert api.get(path, "staff1").status_code == 403

        page = web_session(app, "staff1")
        html = page.get("/me/notices").get_data(as_text=True)
        assert "王科长" not in html and "sekrit" not in html and f'data-channel="{mine["id"]}"' in html
        token = csrf(page, "/me/notices")
        for action in ("", "/pause", "/remove", "/test"):
            r = page.post(f"/me/notices/channels/{theirs['id']}{action}",
                          data={"csrf_token": token, "label": "改掉", "url": "", "enabled": "false"})
            assert r.status_code == 404 and "王科长" not in r.get_data(as_text=True), action

        svc = app.extensions["eventflow"]
        row = svc.read(lambda s: s.get(NoticeChannel, theirs["id"]))
        assert (row.label, row.url, row.enabled, row.removed_at) == ("王科长的短信网关", secret, True, None)
        # an administrator manages any channel, through the same endpoints
        r = patch(api, "admin1", theirs["id"], {"enabled": False})
        assert r.status_code == 200 and r.json["enabled"] is False
        assert delete(api, "admin1", unit["id"]).status_code == 200
    finally:
        hook.close()


def test_a_persons_own_mailbox_receives_a_dispatch_to_them(app, api, mail):
    """下派 to a person (issue #19) is a 派单: pcs1's own mailbox, set for 派单 only, receives it once."""
    add(api, "pcs1", url=mail.url("pcs1@example.cn"), categories=["dispatch"])
    event_id, task_id = whistled_to_police(api)
    number = api.event(event_id, user="police1")["number"]
    r = api.post(f"/api/tasks/{task_id}/delegate", "police1",
                 json={"to_person": "pcs1", "due_at": at(20), "note": "请立即签收"})
    assert r.status_code == 200, r.json
    assert len(send(app)) == 1
    (message,) = mail.messages
    assert message.to == ["pcs1@example.cn"] and "派单" in message.subject and number in message.subject
    assert number in message.text and "请立即签收" in message.text and f"/events/{event_id}" in message.text
    assert send(app) == [] and len(mail.messages) == 1
    (row,) = my_log(api, "pcs1")["items"]
    assert (row["status"], row["notice"]["kind"], row["notice"]["category"]) == ("sent", "delegated", "派单")


def test_a_sensitive_events_notice_to_a_persons_own_channel_says_only_that_there_is_one(app, api, mail):
    """A police matter (Table A.1 row 3): its reporter leaves a comment while staff1 (a designated cadre) holds its
    核实; staff1's own mailbox hears only that there is one, and the link."""
    add(api, "staff1", url=mail.url("chenfang@example.cn"))
    description = "家暴纠纷，当事人王某某"
    event = api.report(type_code="A03", description=description)
    task = api.task("staff1", event["id"], "verify")
    assert api.post(f"/api/tasks/{task['id']}/claim", "staff1").status_code == 200
    r = api.post(f"/api/events/{event['id']}/comments", "grid1", json={"text": "王某某情绪激动，请尽快核实"})
    assert r.status_code == 201 and r.json["told"] == ["person:staff1"], r.json
    send(app)
    (message,) = mail.messages
    assert delivery.SENSITIVE_WORDS in message.subject and delivery.SENSITIVE_WORDS in message.text
    for secret in (description, "王某某", "家暴", event["number"], "警情", "留言"):
        assert secret not in message.whole, secret
    assert f"/events/{event['id']}" in message.text


def test_the_page_adds_edits_and_refuses_in_chinese_keeping_what_was_typed(app):
    page = web_session(app, "zhifa1")
    html = page.get("/messages").get_data(as_text=True)
    assert 'data-testid="me"' in html and 'href="/me/notices"' in html and 'data-testid="my-notices-link"' in html
    token = csrf(page, "/me/notices")
    r = page.post("/me/notices/channels", data={"csrf_token": token, "label": "值班邮箱", "url": "smtp://nowhere",
                                                "quiet_from": "22:00", "categories": ["dispatch", "overdue"]})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "「地址」" in html and "「免打扰结束」" in html
    assert 'value="值班邮箱"' in html and 'value="smtp://nowhere"' in html and 'value="22:00"' in html
    assert html.count("checked") == 2
    url = "mailtos://zhifa1:pa55word@smtp.example.cn?to=zhifa1@example.cn"
    r = page.post("/me/notices/channels", data={"csrf_token": token, "label": "值班邮箱", "url": url,
                                                "categories": ["dispatch"]})
    assert r.status_code == 302
    html = page.get("/me/notices").get_data(as_text=True)
    assert "pa55word" not in html and "zhifa1@example.cn" not in html and "值班邮箱" in html
    channel_id = int(html.split('data-channel="')[1].split('"')[0])
    # an edit refused names its field, keeps what was typed, and never puts the stored URL back in the form
    r = page.post(f"/me/notices/channels/{channel_id}", data={"csrf_token": token, "label": "值班邮箱",
                                                              "url": "", "quiet_until": "7点"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "「免打扰结束」" in html and 'value="7点"' in html and "pa55word" not in html
    r = page.post(f"/me/notices/channels/{channel_id}", data={"csrf_token": token, "label": "夜间值班邮箱",
                                                              "url": "", "quiet_from": "23:00", "quiet_until": "06:30",
                                                              "categories": ["dispatch", "supervise"]})
    assert r.status_code == 302
    r = page.post(f"/me/notices/channels/{channel_id}/pause", data={"csrf_token": token, "enabled": "false"})
    assert r.status_code == 302
    html = page.get("/me/notices").get_data(as_text=True)
    assert "夜间值班邮箱" in html and "23:00–06:30" in html and "派单、督办" in html and "已暂停" in html
    assert f'data-channel="{channel_id}" data-enabled="false"' in html
    r = page.post(f"/me/notices/channels/{channel_id}/test", data={"csrf_token": token}, follow_redirects=True)
    assert "该渠道已暂停" in r.get_data(as_text=True)
    assert page.post(f"/me/notices/channels/{channel_id}/remove", data={"csrf_token": token}).status_code == 302
    assert f'data-channel="{channel_id}"' not in page.get("/me/notices").get_data(as_text=True)


@pytest.mark.parametrize("url", ["json://127.0.0.1:8080/hook", "jsons://169.254.169.254/latest/meta-data",
                                 "form://10.1.2.3/sms", "mailto://u:p@example.cn?smtp=192.168.1.5",
                                 "ntfy://localhost/topic", "json://no-such-host.invalid/x"])
def test_an_inner_address_is_refused_for_a_persons_own_channel(app, api, url):
    """A person's own channel may not make the worker reach into the city's network (SSRF): this machine, a
    private or link-local network, a name that does not resolve. The field is named, in Chinese, and nothing is
    stored; a system administrator may still set it (an SMS gateway inside the network)."""
    app.extensions["eventflow"].env.own_channel_hosts = frozenset()     # the default: no inner host allowed
    r = api.post(MINE, "staff1", json={"label": "内网", "url": url})
    assert r.status_code == 422, r.json
    [error] = r.json["errors"]
    assert error["field"] == "url" and "内部网络" in error["reason"]
    assert api.get(MINE, "staff1").json["items"] == []
    admin = api.post("/api/notice-channels", "admin1", json={"owner_kind": "person", "owner": "staff1",
                                                            "label": "内网短信网关", "url": url})
    assert admin.status_code == 201, admin.json


def test_whoever_set_the_address_says_whether_it_is_checked_at_each_sending(app, api):
    """A person's own address is kept to the public internet at each sending too (`public_only`,
    engine/notices/targets.py); once a system administrator sets that channel's address it is the
    administrator's (an inner gateway may be meant), and the person setting it again makes it theirs again."""
    svc = app.extensions["eventflow"]

    def checked(channel_id):
        return svc.read(lambda s: s.get(NoticeChannel, channel_id).public_only)
    mine = add(api, "staff1", url="json://1.1.1.1/hook")
    assert checked(mine["id"]) is True
    assert patch(api, "admin1", mine["id"], {"label": "改名"}).status_code == 200
    assert checked(mine["id"]) is True                        # the address is still the person's
    assert patch(api, "admin1", mine["id"], {"url": "json://10.1.2.3/sms"}).status_code == 200
    assert checked(mine["id"]) is False
    assert patch(api, "staff1", mine["id"], {"url": "json://1.0.0.1/hook"}).status_code == 200
    assert checked(mine["id"]) is True
    theirs = api.post("/api/notice-channels", "admin1", json={"owner_kind": "person", "owner": "staff1",
                                                             "label": "短信网关", "url": "json://10.1.2.3/sms"})
    assert theirs.status_code == 201 and checked(theirs.json["id"]) is False


def test_a_public_address_and_a_vendors_robot_are_a_persons_own_to_set(app, api):
    app.extensions["eventflow"].env.own_channel_hosts = frozenset()
    for url in ("json://1.1.1.1/hook", "dingtalk://abcdef0123456789/", "wecombot://key0123456789"):
        assert api.post(MINE, "staff1", json={"label": url[:8], "url": url}).status_code == 201, url


def test_a_person_resends_their_own_failed_delivery_and_nobody_elses(app, api):
    """重发 on 我的通知方式: a test notice to the person's own webhook that answered 500 is failed; they send it
    again (due at once, audited) and it arrives; another person's resend of it is 404, as for none; a paused
    channel's is refused (409), and the page shows 重发 only beside what did not arrive."""
    hook = Receiver("/mine")
    hook.script = [500]
    try:
        mine = add(api, "staff1", url=hook.url.replace("http://", "json://"))
        assert api.post(f"/api/notice-channels/{mine['id']}/test", "staff1").status_code == 201
        send(app)
        [failed] = my_log(api, "staff1")["items"]
        assert failed["status"] == "failed" and len(hook.requests) == 1

        assert api.post(f"{MINE}/deliveries/{failed['id']}/resend", "zhifa1").status_code == 404
        page = web_session(app, "staff1")
        html = page.get("/me/notices").get_data(as_text=True)
        assert html.count('data-testid="resend"') == 1
        r = api.post(f"{MINE}/deliveries/{failed['id']}/resend", "staff1")
        assert r.status_code == 200 and r.json["status"] == "pending"
        send(app)
        assert len(hook.requests) == 2 and my_log(api, "staff1")["items"][0]["status"] == "sent"
        assert 'data-testid="resend"' not in page.get("/me/notices").get_data(as_text=True)

        patch(api, "staff1", mine["id"], {"enabled": False})
        r = api.post(f"{MINE}/deliveries/{failed['id']}/resend", "staff1")
        assert r.status_code == 409 and "暂停" in r.json["message"]
        svc = app.extensions["eventflow"]
        assert svc.read(lambda s: s.scalar(select(Audit.actor).where(Audit.action == "notice_resent"))) == "staff1"
    finally:
        hook.close()
