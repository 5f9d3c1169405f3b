"""智慧社区预警 (§5.4) through POST /api/alerts: signed by registered devices only, stale and replayed
requests refused, repeats of one device and type counted on one open event (issue #5).

The wall clock (signatures) is a simulated clock set by the test; the business clock (events, the
repeat window) is the app's simulated clock, moved by POST /api/sim/advance. Nothing sleeps.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from engine.channels import devices
from engine.core.clock import SimulatedClock
from engine.store.models import AlertReceipt, Audit, Device, Event
from web.cli import main

WALL = datetime(2026, 10, 8, 1, 0, 30, tzinfo=timezone.utc)
XINCHENG = {"lat": 27.52, "lng": 120.60, "address": "新城大道 88 号"}
LONGGANG = {"lat": 27.58, "lng": 120.60, "address": "龙港大道"}
ALERT = {"alert_id": "a-1", "type_code": "A05", "description": "视频AI识别：人行道占道经营",
         "occurred_at": "2026-10-08T08:59:40+08:00", "location": XINCHENG, "confidence": 0.93,
         "snapshot_url": "https://cam.example/snap/a-1.jpg"}


class Sender:
    """A device: signs each request with its secret and the test's wall clock."""

    def __init__(self, app, device_id, secret):
        self.app, self.device_id, self.secret = app, device_id, secret
        self.client = app.test_client()

    @property
    def wall(self):
        return self.app.extensions["eventflow"].env.wall_clock

    def request(self, alert=None, *, body=None, timestamp=None, signature=None, secret=None, device_id=None,
                **changes):
        body = body if body is not None else json.dumps({**(alert or ALERT), **changes}).encode()
        timestamp = str(int(self.wall.now().timestamp())) if timestamp is None else str(timestamp)
        signature = signature or devices.sign(secret or self.secret, timestamp, body)
        headers = {"X-Device-Id": device_id or self.device_id, "X-Timestamp": timestamp, "X-Signature": signature}
        return body, headers

    def send(self, alert=None, **kw):
        body, headers = self.request(alert, **kw)
        return self.post(body, headers)

    def post(self, body, headers):
        return self.client.post("/api/alerts", data=body, headers=headers, content_type="application/json")


def svc_of(app):
    return app.extensions["eventflow"]


def register(app, device_id, community="lg-xincheng", kind="camera"):
    svc = svc_of(app)
    return svc.run(lambda s: devices.register(s, device_id, community, kind, svc.clock.now(), svc.catalogs))


@pytest.fixture
def camera(app):
    svc_of(app).env.wall_clock = SimulatedClock(WALL)
    return Sender(app, "cam-7", register(app, "cam-7"))


def count(app, model):
    return svc_of(app).read(lambda s: s.scalar(select(func.count()).select_from(model)))


def stored(app, event_id) -> Event:
    return svc_of(app).read(lambda s: s.get(Event, event_id))


def tick(app, seconds):
    wall = svc_of(app).env.wall_clock
    wall.set(wall.now() + timedelta(seconds=seconds))


def test_a_signed_alert_registers_an_event_and_starts_its_process(app, api, camera):
    r = camera.send()
    assert r.status_code == 201, r.json
    assert r.json["created"] is True and r.json["alert_count"] == 1
    assert r.json["number"].startswith("LG-20261008-")
    event = stored(app, r.json["event_id"])
    assert (event.source, event.channel, event.community) == ("iot_alert", "cam-7", "lg-xincheng")
    assert event.reporter == "device:cam-7" and event.intake_key == "device:cam-7:a-1"
    assert event.photos == ["https://cam.example/snap/a-1.jpg"] and event.alert_count == 1
    assert [t["name"] for t in api.tasks("staff1", event.id)] == ["verify"]   # §7.1 核实 by the community
    detail = api.event(event.id)
    assert detail["status"] == "open" and detail["source"] == "iot_alert"
    assert count(app, AlertReceipt) == 1


def test_the_location_decides_the_community(app, api, camera):
    tick(app, 1)
    r = camera.send(alert_id="a-lg", location=LONGGANG)
    assert r.status_code == 201, r.json
    assert stored(app, r.json["event_id"]).community == "lg-longgang"   # §7.1 属地, not the device's own
    detail = api.event(r.json["event_id"], user="staff2")
    assert "jurisdiction_routed" in [a["action"] for a in detail["timeline"]]
    assert api.tasks("staff1", r.json["event_id"]) == []


def test_a_forged_signature_is_refused_and_nothing_stored(app, camera):
    r = camera.send(secret="not-the-device-secret")
    assert r.status_code == 401 and r.json["field"] == "X-Signature" and r.json["error"] == "bad_signature"
    body, headers = camera.request()
    r = camera.post(body.replace(b"a-1", b"a-2"), headers)                 # the body changed after signing
    assert r.status_code == 401 and r.json["field"] == "X-Signature"
    r = camera.send(signature="zz" * 32)
    assert r.status_code == 401 and r.json["field"] == "X-Signature"
    assert count(app, Event) == 0 and count(app, AlertReceipt) == 0


def test_unknown_and_revoked_devices_are_refused(app, camera):
    r = camera.send(device_id="cam-unknown")
    assert r.status_code == 403 and r.json["field"] == "X-Device-Id"
    svc = svc_of(app)
    svc.run(lambda s: devices.revoke(s, "cam-7", svc.clock.now()))
    r = camera.send()
    assert r.status_code == 403 and r.json["field"] == "X-Device-Id" and "revoked" in r.json["message"]
    assert count(app, Event) == 0


def test_missing_headers_are_named(app, camera):
    body, headers = camera.request()
    for name in ("X-Device-Id", "X-Timestamp", "X-Signature"):
        r = camera.post(body, {k: v for k, v in headers.items() if k != name})
        assert r.status_code == 401 and r.json["field"] == name, r.json


def test_stale_timestamps_are_refused(app, camera):
    now = int(WALL.timestamp())
    for timestamp in (now - 301, now + 301, "1.7e9", "yesterday"):
        r = camera.send(timestamp=timestamp)
        assert r.status_code == 401 and r.json["error"] == "stale" and r.json["field"] == "X-Timestamp", r.json
    body, headers = camera.request()
    tick(app, 301)                                   # signed, then held back longer than the window
    r = camera.post(body, headers)
    assert r.status_code == 401 and r.json["error"] == "stale"
    assert count(app, Event) == 0
    assert camera.send(timestamp=int(camera.wall.now().timestamp()) - 299).status_code == 201


def test_a_replayed_request_is_refused(app, camera):
    body, headers = camera.request()
    first = camera.post(body, headers)
    assert first.status_code == 201
    tick(app, 5)
    r = camera.post(body, headers)
    assert r.status_code == 409 and r.json["error"] == "replay" and r.json["field"] == "X-Signature"
    r = camera.post(body, {**headers, "X-Signature": headers["X-Signature"].upper()})   # same signature, other case
    assert r.status_code == 409
    assert stored(app, first.json["event_id"]).alert_count == 1
    assert count(app, AlertReceipt) == 1 and count(app, Event) == 1


def test_repeats_within_the_window_count_on_one_event(app, api, camera):
    first = camera.send()
    tick(app, 10)
    api.advance("PT10M")
    r = camera.send(alert_id="a-2", occurred_at="2026-10-08T09:09:50+08:00")
    assert r.status_code == 200, r.json
    assert r.json == {"event_id": first.json["event_id"], "number": first.json["number"], "alert_count": 2,
                      "created": False}
    tick(app, 10)
    assert camera.send(alert_id="a-3").json["alert_count"] == 3
    detail = api.event(first.json["event_id"])
    repeated = [a for a in detail["timeline"] if a["action"] == "alert_repeated"]
    assert [a["data"]["alert_id"] for a in repeated] == ["a-2", "a-3"] and repeated[0]["actor"] == "device:cam-7"
    assert count(app, Event) == 1 and count(app, AlertReceipt) == 3

    tick(app, 10)                                    # another type, or another device: a new event
    assert camera.send(alert_id="b-1", type_code="A08").status_code == 201
    other = Sender(app, "cam-8", register(app, "cam-8"))
    assert other.send(alert_id="c-1").status_code == 201
    assert count(app, Event) == 3


def test_after_the_repeat_window_a_new_event_is_opened(app, api, camera):
    first = camera.send()
    r = api.post("/api/sim/advance", "admin1", json={"to": "2026-10-08T09:30:01+08:00"})
    assert r.status_code == 200, r.json
    tick(app, 60)
    r = camera.send(alert_id="a-2")
    assert r.status_code == 201 and r.json["event_id"] != first.json["event_id"] and r.json["alert_count"] == 1
    assert stored(app, first.json["event_id"]).alert_count == 1


def test_a_repeat_of_a_closed_event_opens_a_new_one(app, api, camera):
    first = camera.send()
    api.complete("staff1", first.json["event_id"], "verify", {"verdict": "invalid", "verify_note": "误报，现场无占道"})
    assert stored(app, first.json["event_id"]).status != "open"
    tick(app, 10)
    r = camera.send(alert_id="a-2")
    assert r.status_code == 201 and r.json["event_id"] != first.json["event_id"]


def test_a_retry_of_the_same_alert_returns_its_event_uncounted(app, camera):
    first = camera.send()
    tick(app, 5)                                     # signed anew: not a replay, a retry
    r = camera.send()
    assert r.status_code == 200 and r.json["event_id"] == first.json["event_id"]
    assert r.json["alert_count"] == 1 and r.json["created"] is False
    tick(app, 5)
    assert camera.send(alert_id="a-2").json["alert_count"] == 2
    tick(app, 5)
    again = camera.send(alert_id="a-2")              # a retry of a counted repeat counts once
    assert again.status_code == 200 and again.json["alert_count"] == 2
    assert count(app, Event) == 1 and count(app, AlertReceipt) == 4


@pytest.mark.parametrize("changes, field", [
    ({"type_code": "Z99"}, "type_code"),
    ({"location": None}, "location"),
    ({"location": {"lat": 30.0, "lng": 120.0}}, "location"),
    ({"location": {"lat": 27.52, "lng": 120.60, "crs": "utm"}}, "location.crs"),
    ({"occurred_at": "2026-10-08 09:00"}, "occurred_at"),
    ({"confidence": 1.5}, "confidence"),
    ({"alert_id": " "}, "alert_id"),
    ({"colour": "red"}, "colour"),
])
def test_bad_alerts_name_the_field(app, camera, changes, field):
    alert = {**ALERT, **changes}
    alert = {k: v for k, v in alert.items() if v is not None}
    r = camera.send(alert)
    assert r.status_code == 422, r.json
    assert field in [e["field"] for e in r.json["errors"]], r.json
    assert count(app, Event) == 0 and count(app, AlertReceipt) == 0


def test_a_body_that_is_not_json_or_too_large_is_refused(app, camera):
    r = camera.send(body=b"type_code=A05")
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "(body)"
    r = camera.send(body=b"[1, 2]")
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "(body)"
    r = camera.send(description="长" * 30000)
    assert r.status_code == 413 and r.json["field"] == "(body)"
    assert count(app, Event) == 0 and count(app, AlertReceipt) == 0


def cli(settings, *args):
    env = {"EVENTFLOW_DATABASE_URL": settings.database_url, "EVENTFLOW_SCRYPT_N": "1024",
           "EVENTFLOW_CLOCK": "simulated", "EVENTFLOW_SIM_START": "2026-10-08T09:00:00+08:00"}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_devices_are_registered_and_revoked_with_the_cli(settings, app):
    out = cli(settings, "device", "register", "sensor-1", "--community", "lg-xincheng", "--kind", "sensor")
    assert out.exit_code == 0, out.output
    secret = next(line.split(": ", 1)[1] for line in out.output.splitlines() if line.startswith("secret: "))
    device = svc_of(app).read(lambda s: s.get(Device, "sensor-1"))
    assert (device.kind, device.community, device.secret, device.revoked_at) == ("sensor", "lg-xincheng", secret, None)

    again = cli(settings, "device", "register", "sensor-1", "--community", "lg-xincheng")
    assert again.exit_code != 0 and "device_id" in again.output and "Traceback" not in again.output
    nowhere = cli(settings, "device", "register", "sensor-2", "--community", "lg-atlantis")
    assert nowhere.exit_code != 0 and "community" in nowhere.output

    svc_of(app).env.wall_clock = SimulatedClock(WALL)
    sensor = Sender(app, "sensor-1", secret)
    assert sensor.send(alert_id="s-1").status_code == 201
    out = cli(settings, "device", "revoke", "sensor-1")
    assert out.exit_code == 0 and "revoked" in out.output
    tick(app, 1)
    assert sensor.send(alert_id="s-2").status_code == 403
    assert cli(settings, "device", "revoke", "sensor-1").exit_code != 0
    missing = cli(settings, "device", "revoke", "no-such-device")
    assert missing.exit_code != 0 and "no-such-device" in missing.output
    audit = svc_of(app).read(lambda s: [a.action for a in s.scalars(select(Audit).where(Audit.event_id.is_(None)))])
    assert {"device_registered", "device_revoked"} <= set(audit)
