"""通知渠道 over HTTP and on the page (issue #18, web/api/notices.py, web/ui/notices.py): a system
administrator adds a webhook channel for 执法局; a whistle order is stored and answered while the channel
is down; the worker's job fails to send it; the page shows it failed with the reason; once the receiver is
back, 重发 sends it. A refused channel keeps what was typed; a sensitive event's notice is redacted in the
log; nobody else may see or change the channels. Receivers are real (tests/receivers.py); nothing sleeps."""
from __future__ import annotations

import re

from sqlalchemy import select

from engine import jobs
from engine.store.models import NoticeChannel, NoticeDelivery
from tests.receivers import Receiver
from tests.web.test_sensitive import web_session


def csrf(page, path):
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get(path).get_data(as_text=True)).group(1)


def send(app) -> list[int]:
    svc = app.extensions["eventflow"]
    return jobs.send_notices(svc.session_factory, svc.env)


def test_a_channel_down_shows_failed_on_the_page_and_is_resent(app, api):
    receiver = Receiver("/gateway")
    receiver.close()                                              # down
    added = api.post("/api/notice-channels", "admin1", json={
        "owner_kind": "unit", "owner": "zhifa", "label": "执法局短信网关",
        "url": receiver.url.replace("http://", "json://") + "?+Authorization=Bearer%20sekrit",
        "categories": ["dispatch"]})
    assert added.status_code == 201, added.json
    assert "sekrit" not in added.get_data(as_text=True)
    assert "sekrit" not in api.get("/api/notice-channels", "admin1").get_data(as_text=True)

    event = api.report()
    api.whistle_to(event["id"], department="zhifa")                # answered: the step does not wait
    assert api.task("zhifa1", event["id"], "accept_whistle")
    assert send(app)                                              # tried, and failed
    log = api.get("/api/notice-channels/deliveries?status=failed", "admin1").json
    (row,) = log["items"]
    assert log["counts"]["failed"] == 1 and row["attempts"] == 1 and row["last_error"]
    assert row["notice"]["category"] == "派单" and event["number"] in row["notice"]["message"]

    page = web_session(app, "admin1")
    html = page.get("/admin/notices?status=failed").get_data(as_text=True)
    assert f'data-delivery="{row["id"]}" data-status="failed"' in html and "失败待重试" in html
    assert "sekrit" not in html

    back = Receiver("/gateway")
    try:
        svc = app.extensions["eventflow"]
        svc.run(lambda s: setattr(s.get(NoticeChannel, added.json["id"]), "url",
                                  back.url.replace("http://", "json://")))
        answer = page.post(f"/admin/notices/deliveries/{row['id']}/resend",
                           data={"csrf_token": csrf(page, "/admin/notices")})
        assert answer.status_code == 302
        assert send(app) == [row["id"]]
        assert len(back.requests) == 1 and event["number"] in back.bodies()[0]["message"]
        status = svc.read(lambda s: s.scalar(select(NoticeDelivery.status).where(NoticeDelivery.id == row["id"])))
        assert status == "sent"
    finally:
        back.close()


def test_a_refused_channel_keeps_what_was_typed_and_names_each_field(app):
    page = web_session(app, "admin1")
    answer = page.post("/admin/notices/channels", data={
        "csrf_token": csrf(page, "/admin/notices"), "owner_kind": "unit", "owner": "zhifa", "label": "值班邮箱",
        "url": "smtp://nowhere", "quiet_from": "22:00", "categories": ["dispatch", "overdue"]})
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert "「地址」" in html and "「免打扰结束」" in html                 # each refused field by its label
    assert 'value="值班邮箱"' in html and 'value="smtp://nowhere"' in html and 'value="22:00"' in html
    assert html.count("checked") == 2


def test_only_system_administrators_reach_the_channels(app, api):
    for user in ("zhifa1", "staff1", "owner1"):
        assert api.get("/api/notice-channels", user).status_code == 403
        assert api.post("/api/notice-channels", user, json={}).status_code == 403
    assert web_session(app, "zhifa1").get("/admin/notices").status_code == 403


def test_a_sensitive_events_notice_is_redacted_in_the_log(app, api):
    receiver = Receiver("/police")
    try:
        api.post("/api/notice-channels", "admin1", json={
            "owner_kind": "community", "owner": "lg-xincheng", "label": "新城社区群",
            "url": receiver.url.replace("http://", "json://")})
        event = api.report(type_code="A03", description="家暴纠纷，当事人王某某")
        api.post(f"/api/events/{event['id']}/urge", "city1", json={"text": "请尽快核实"})
        api.post(f"/api/events/{event['id']}/comments", "staff1", json={"text": "王某某已联系"})
        send(app)
        log = api.get("/api/notice-channels/deliveries", "admin1")
        text = log.get_data(as_text=True)
        assert log.json["items"] and "王某某" not in text and event["number"] not in text
        for _headers, body in receiver.requests:
            assert "王某某" not in body.decode() and event["number"] not in body.decode()
    finally:
        receiver.close()
