"""Every source hears back (issue #5, §4.3, §7.1 反馈来源): a channel that cannot poll gets a signed
callback of its event's outcome, from an outbox, retried with back-off until delivered or failed.

The receiver is a real HTTP server on 127.0.0.1 (a thread of this process) whose answers the test
scripts; delivery runs by calling the delivery job, and retries fall due as the simulated business clock
is advanced. Nothing sleeps."""
from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from engine.channels import callbacks
from engine.store.models import Callback, Event
from tests.receivers import Receiver
from tests.web.test_alerts import ALERT, WALL, camera, svc_of  # noqa: F401, F811 (the camera fixture)
from tests.web.test_open311 import new_key, reported
from web.cli import main

NEAR = 0.0009


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def cli(settings, *args):
    env = {"EVENTFLOW_DATABASE_URL": settings.database_url, "EVENTFLOW_SCRYPT_N": "1024",
           "EVENTFLOW_CLOCK": "simulated", "EVENTFLOW_SIM_START": "2026-10-08T09:00:00+08:00"}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def set_callback(settings, channel, url) -> str:
    out = cli(settings, "callback", "set", channel, url)
    assert out.exit_code == 0, out.output
    return next(line.split(": ", 1)[1] for line in out.output.splitlines() if line.startswith("secret: "))


def deliver(app):
    svc = svc_of(app)
    return callbacks.deliver_due(svc.session_factory, svc.clock, svc.env.wall_clock, timeout=5)


def rows(app):
    svc = svc_of(app)
    return svc.read(lambda s: list(s.scalars(select(Callback).order_by(Callback.id))))


def test_a_device_hears_its_withdrawn_event_by_a_signed_callback(app, api, settings, camera, receiver):
    secret = set_callback(settings, "cam-7", receiver.url)
    r = camera.send()
    assert r.status_code == 201, r.json
    event_id = r.json["event_id"]
    assert deliver(app).attempted == 0                   # nothing to say while the event is open
    api.withdraw("staff1", event_id, reason="设备误报，已核实无占道")
    assert [c["status"] for c in api.event(event_id)["callbacks"]] == ["pending"]

    sent = deliver(app)
    assert len(sent.delivered) == 1 and len(receiver.requests) == 1
    headers, body = receiver.requests[0]
    timestamp = headers["X-Eventflow-Timestamp"]
    assert timestamp == str(int(WALL.timestamp()))       # the wall clock signs, as for the device's own alerts
    expected = "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Eventflow-Signature"], expected)
    assert headers["X-Eventflow-Delivery"] == str(sent.delivered[0])
    payload = json.loads(body)
    assert payload["outcome"] == "withdrawn" and payload["outcome_name"] == "已撤单"
    assert payload["source_refs"] == [ALERT["alert_id"]] and payload["reason"] == "设备误报，已核实无占道"
    assert api.event(event_id)["callbacks"][0]["status"] == "delivered"
    assert deliver(app).attempted == 0                   # delivered once


def test_a_failed_callback_is_retried_with_back_off_then_given_up(app, api, settings, camera, receiver):
    set_callback(settings, "cam-7", receiver.url)
    event_id = camera.send().json["event_id"]
    api.withdraw("staff1", event_id)
    receiver.script = [500, 503]
    assert len(deliver(app).retried) == 1
    assert deliver(app).attempted == 0                   # not before its back-off (1 minute)
    api.advance("PT59S")
    assert deliver(app).attempted == 0
    api.advance("PT1S")
    assert len(deliver(app).retried) == 1                # the 503; next after 5 minutes
    api.advance("PT5M")
    assert len(deliver(app).delivered) == 1
    assert [json.loads(b)["event"] for _, b in receiver.requests] == [api.event(event_id)["number"]] * 3
    assert len({h["X-Eventflow-Delivery"] for h, _ in receiver.requests}) == 1   # one id: the receiver dedups

    second = camera.send(alert_id="a-2", type_code="A06").json["event_id"]
    api.withdraw("staff1", second)
    receiver.script = [500] * 20
    assert len(deliver(app).retried) == 1
    for wait in ("PT1M", "PT5M", "PT15M", "PT1H", "PT3H", "PT6H", "PT12H"):
        api.advance(wait)
        assert len(deliver(app).retried) == 1, wait
    api.advance("PT24H")
    assert len(deliver(app).failed) == 1
    row = [c for c in api.event(second)["callbacks"]][0]
    assert (row["status"], row["attempts"], row["last_status"]) == ("failed", 9, 500)


def test_an_unreachable_receiver_is_an_error_recorded_not_a_crash(app, api, settings, camera, receiver):
    set_callback(settings, "cam-7", receiver.url)
    event_id = camera.send().json["event_id"]
    receiver.server.shutdown()
    receiver.server.server_close()                       # nothing listens on the port any more
    api.withdraw("staff1", event_id)
    assert len(deliver(app).retried) == 1
    row = api.event(event_id)["callbacks"][0]
    assert row["status"] == "pending" and row["last_status"] is None and "Error" in row["last_error"]


def test_a_hotline_report_merged_into_another_hears_both_outcomes(app, api, settings, receiver):
    set_callback(settings, "hotline_12345", receiver.url)
    original = api.report()
    citizen = reported(api, new_key(app, "hotline_12345"), lat=str(27.52 + NEAR), source_ref="GD-2026-0001")
    dup = api.get("/api/events", "staff1", query_string={"number": citizen["service_request_id"]}).json["items"][0]
    r = api.post(f"/api/events/{dup['id']}/merge", "staff1", json={"into": original["id"], "reason": "同一占道问题"})
    assert r.status_code == 200, r.json
    api.whistle_to(original["id"])
    api.close_whistle(original["id"])
    deliver(app)
    bodies = receiver.bodies()
    assert [(b["event"], b["outcome"], b["merged_into"]) for b in bodies] == [
        (dup["number"], "merged", None), (dup["number"], "closed", original["number"])]
    assert all(b["source_refs"] == ["GD-2026-0001"] for b in bodies)
    assert "并入 " + original["number"] in bodies[0]["reason"]


def test_callback_endpoints_are_set_by_an_administrator_only_for_known_channels(app, settings, camera, receiver):
    bad = cli(settings, "callback", "set", "no-such-channel", receiver.url)
    assert bad.exit_code != 0 and "channel" in bad.output
    bad = cli(settings, "callback", "set", "cam-7", "ftp://example.org/x")
    assert bad.exit_code != 0 and "url" in bad.output
    first, second = set_callback(settings, "cam-7", receiver.url), set_callback(settings, "cam-7", receiver.url)
    assert first != second                               # a new secret each time; the old one stops working
    assert cli(settings, "callback", "remove", "cam-7").exit_code == 0
    assert cli(settings, "callback", "remove", "cam-7").exit_code != 0


def test_a_removed_endpoint_gets_nothing_more(app, api, settings, camera, receiver):
    set_callback(settings, "cam-7", receiver.url)
    event_id = camera.send().json["event_id"]
    api.withdraw("staff1", event_id)
    cli(settings, "callback", "remove", "cam-7")
    assert len(deliver(app).failed) == 0 and receiver.requests == []
    assert api.event(event_id)["callbacks"][0]["status"] == "failed"


def test_a_transfer_and_a_return_reach_the_hotline_by_callback(app, api, settings, receiver):
    set_callback(settings, "hotline_12345", receiver.url)
    key = new_key(app, "hotline_12345")
    numbers = [reported(api, key, source_ref=f"GD-{n}", service_code=code)["service_request_id"]
               for n, code in ((1, "A05"), (2, "A06"))]
    ids = [api.get("/api/events", "staff1", query_string={"number": n}).json["items"][0]["id"] for n in numbers]
    api.complete("staff1", ids[0], "verify", {"verdict": "transfer", "target_community": "lg-longgang",
                                              "verify_note": "事发地属龙港社区"})
    api.complete("staff1", ids[1], "verify", {"verdict": "return", "verify_note": "不属于社区事务，请向12345反映"})
    deliver(app)
    told = {b["event"]: b for b in receiver.bodies()}
    assert (told[numbers[0]]["outcome"], told[numbers[0]]["source_refs"]) == ("transferred", ["GD-1"])
    assert told[numbers[0]]["reason"].startswith("转办至龙港社区（新编号 LG-") and "事发地属龙港社区" in told[numbers[0]]["reason"]
    assert (told[numbers[1]]["outcome"], told[numbers[1]]["outcome_name"]) == ("returned", "已退回")
    assert told[numbers[1]]["reason"] == "不属于社区事务，请向12345反映"
    linked = api.get("/api/events", "staff2", query_string={"community": "lg-longgang"}).json["items"][0]
    assert linked["transferred_from_id"] == ids[0]
    svc = svc_of(app)
    assert svc.read(lambda s: s.get(Event, linked["id"]).channel) == "hotline_12345"   # its outcome is told too
    api.complete("staff2", linked["id"], "verify", {"verdict": "invalid", "verify_note": "现场核实无此情况"})
    deliver(app)
    told = {b["event"]: b for b in receiver.bodies()}
    # the hotline hears the linked event's outcome under its own work order number and the first number
    assert (told[linked["number"]]["outcome"], told[linked["number"]]["outcome_name"]) == ("invalid", "经核实不予受理")
    assert told[linked["number"]]["source_refs"] == ["GD-1"]
    assert told[linked["number"]]["transferred_from"] == numbers[0]
