"""智慧社区预警 (§5.4): registered IoT sensors and video-AI cameras, and the alerts they sign.

- **Devices.** A device is registered to its community with a secret shown once (`eventflow device
  register`); a revoked device is refused from then on.
- **Signature.** A device signs each request: hex HMAC-SHA256 with its secret (UTF-8) as the key over
  `f"{X-Timestamp}."` followed by the raw body bytes (docs/devices.md). The signature is the
  authentication: there is no bearer token.
- **Freshness and replay.** The timestamp (integer Unix seconds) must lie within the signature window of
  the *wall* clock, either way; an accepted signature is kept (AlertReceipt) and refused if sent again.
- **Registration (§7.1).** An alert becomes an event of the pool like any other source: its type is a
  Table A.1 type, its location is converted to WGS-84 and the community that holds it owns the event
  (engine/pool/intake.py). Its channel is the device, its idempotency key the device's `alert_id`.
- **Repeats.** A camera sees the same problem again and again: an alert of the same device and type while
  an event it raised is still open and younger than the repeat window (business clock) is counted on
  that event (`alert_count`, audited `alert_repeated`) instead of opening another.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from engine.pool import duplicates, events, intake
from engine.runtime import forms
from engine.core.clock import parse_instant
from engine.core.errors import Conflict, Forbidden, InvalidData, NotFound, Unauthorized
from engine.pool.location import SYSTEMS
from engine.store.models import AlertReceipt, Audit, Device, Event

SOURCE = "iot_alert"
KINDS = {"sensor": "物联感知设备 (IoT sensor)", "camera": "视频AI分析摄像头 (video-AI camera)"}
DEVICE_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER = "X-Device-Id", "X-Timestamp", "X-Signature"
#: a device id travels in a header and is kept as the event's channel (40 characters at most)
DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_SIGNATURE = re.compile(r"^[0-9a-fA-F]{64}$")

ALERT_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["alert_id", "type_code", "description", "occurred_at", "location"],
    "properties": {
        #: the device's own reference: a retry of the same alert finds the event it created
        "alert_id": {"type": "string", "minLength": 1, "maxLength": intake.MAX_KEY, "pattern": "\\S"},
        "type_code": {"type": "string", "minLength": 1, "maxLength": 20},
        "description": {"type": "string", "minLength": 2, "maxLength": 2000},
        "occurred_at": {"type": "string", "minLength": 10, "maxLength": 40},
        #: required: a device knows where it is (its community is only where it was registered)
        "location": {
            "type": "object", "additionalProperties": False, "required": ["lat", "lng"],
            "properties": {"lat": {"type": "number", "minimum": -90, "maximum": 90},
                           "lng": {"type": "number", "minimum": -180, "maximum": 180},
                           "address": {"type": "string", "minLength": 1, "maxLength": 300},
                           "crs": {"type": "string", "enum": sorted(SYSTEMS)}}},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        #: §7.1 实时照片: the camera's snapshot, kept as the event's photo
        "snapshot_url": {"type": "string", "pattern": "^https?://", "maxLength": 300},
    },
}


class StaleRequest(Unauthorized):
    """X-Timestamp is not an integer Unix time, or too far from the wall clock (either way)."""

    code = "stale"


class BadSignature(Unauthorized):
    code = "bad_signature"


class Replayed(Conflict):
    """This exact signed request was accepted before."""

    code = "replay"


@dataclass(frozen=True)
class Accepted:
    """What an accepted alert did: created an event, or was counted on (or retried against) one."""

    event_id: int
    number: str
    alert_count: int
    created: bool


def sign(secret: str, timestamp, body: bytes) -> str:
    """The X-Signature of a request: hex HMAC-SHA256(secret, b"<timestamp>." + body)."""
    return hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256).hexdigest()


# -- registry -------------------------------------------------------------------------------------
def register(session, device_id, community, kind, now: datetime, catalogs, actor: str = "cli") -> str:
    """Register a device to its community; returns its secret (kept for signing, shown once)."""
    errors = []
    if not isinstance(device_id, str) or not DEVICE_ID.match(device_id):
        errors.append({"field": "device_id", "reason": "1至40个字母、数字或 . _ - (1 to 40 letters, digits, '.', '_' "
                                                       "or '-', starting with a letter or digit)"})
    elif session.get(Device, device_id) is not None:
        errors.append({"field": "device_id", "reason": f"设备 {device_id} 已登记 (already registered)"})
    if not isinstance(community, str) or catalogs.community(community) is None:
        errors.append({"field": "community", "reason": f"unknown community {community!r}"})
    if kind not in KINDS:
        errors.append({"field": "kind", "reason": f"应为 {' / '.join(KINDS)} (one of {', '.join(KINDS)})"})
    if errors:
        raise InvalidData(errors)
    secret = secrets.token_urlsafe(32)
    session.add(Device(id=device_id, community=community, kind=kind, secret=secret, created_at=now))
    session.add(Audit(at=now, actor=actor, action="device_registered",
                      data={"device_id": device_id, "community": community, "kind": kind}))
    return secret


def revoke(session, device_id: str, now: datetime, actor: str = "cli") -> Device:
    """From now on the device's alerts are refused (403); its events stay as they are."""
    device = session.get(Device, device_id)
    if device is None:
        raise NotFound(f"no device {device_id!r} is registered", field="device_id")
    if device.revoked_at is not None:
        raise Conflict(f"device {device_id} was already revoked", field="device_id")
    device.revoked_at = now
    session.add(Audit(at=now, actor=actor, action="device_revoked", data={"device_id": device_id}))
    return device


# -- a signed request -----------------------------------------------------------------------------
def verify(session, device_id, timestamp_header, signature_header, body: bytes, wall_now: datetime,
           window: int = 300) -> Device:
    """The registered device that signed this request, or an error naming the header at fault: unknown or
    revoked device 403; a missing header, bad signature or stale timestamp 401; a replay 409.
    The signature is checked before the time, so only the device itself learns its clock is off."""
    if not device_id:
        raise Unauthorized(f"send {DEVICE_HEADER}, {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} (docs/devices.md)",
                           field=DEVICE_HEADER)
    device = session.get(Device, device_id) if DEVICE_ID.match(device_id) else None
    if device is None or device.revoked_at is not None:
        state = "is not registered" if device is None else "has been revoked"
        raise Forbidden(f"device {device_id!r} {state}", field=DEVICE_HEADER)
    if not timestamp_header:
        raise Unauthorized(f"send {TIMESTAMP_HEADER}: the Unix time of the request, seconds", field=TIMESTAMP_HEADER)
    if not _TIMESTAMP.match(timestamp_header):
        raise StaleRequest(f"{TIMESTAMP_HEADER} must be an integer Unix time in seconds", field=TIMESTAMP_HEADER)
    if not signature_header:
        raise Unauthorized(f"send {SIGNATURE_HEADER}: hex HMAC-SHA256 of '<timestamp>.<body>'", field=SIGNATURE_HEADER)
    if not _SIGNATURE.match(signature_header):
        raise BadSignature(f"{SIGNATURE_HEADER} must be 64 hex digits (HMAC-SHA256)", field=SIGNATURE_HEADER)
    expected = sign(device.secret, timestamp_header, body)
    if not hmac.compare_digest(expected, signature_header.lower()):
        raise BadSignature("the signature does not match the body and timestamp", field=SIGNATURE_HEADER)
    skew = int(timestamp_header) - wall_now.timestamp()
    if abs(skew) > window:
        side = "ahead of" if skew > 0 else "behind"
        raise StaleRequest(f"{TIMESTAMP_HEADER} is {abs(int(skew))} s {side} the server's clock; "
                           f"requests are accepted within ±{window} s", field=TIMESTAMP_HEADER)
    if session.scalar(select(AlertReceipt.id).where(AlertReceipt.device_id == device.id,
                                                    AlertReceipt.signature == signature_header.lower())):
        raise Replayed("this signed request was already received (a replay); sign a retry anew",
                       field=SIGNATURE_HEADER)
    return device


def check_alert(body: bytes, device: Device, catalogs) -> tuple[dict, dict]:
    """(the report as registered, the alert as received). InvalidData names each bad field."""
    try:
        alert = json.loads(body)
    except ValueError:  # also a body that is not UTF-8
        alert = None
    if not isinstance(alert, dict):
        raise InvalidData([{"field": "(body)", "reason": "expected a JSON object (Content-Type: application/json)"}])
    errors = forms.validate(ALERT_SCHEMA, alert)
    if not errors:
        if catalogs.event_type(alert["type_code"]) is None:  # a Table A.1 type
            errors.append({"field": "type_code", "reason": f"unknown event type {alert['type_code']!r} (Table A.1)"})
        try:
            parse_instant(alert["occurred_at"])
        except ValueError:
            errors.append({"field": "occurred_at",
                           "reason": "应为带时区的日期时间 (an ISO date-time with offset, e.g. 2026-10-08T09:00:00+08:00)"})
    if errors:
        raise InvalidData(errors)
    location, holder = intake.locate(alert["location"], catalogs)
    location["address"] = location["address"] or f"设备 {device.id} ({device.kind})"
    clean = {"source": SOURCE, "type_code": alert["type_code"], "description": alert["description"],
             "location": location, "community": holder,
             "photos": [alert["snapshot_url"]] if alert.get("snapshot_url") else []}
    if holder != device.community:  # §7.1 属地: the point's community owns it (audited by events.register)
        clean["routed_from"] = device.community
    return clean, alert


def receive(cmd, device_id, timestamp_header, signature_header, body: bytes, *, signature_window: int = 300,
            repeat_window: timedelta = timedelta(minutes=30)) -> Accepted:
    """智慧社区预警 (§5.4): verify a signed alert (against the wall clock) and register it (by the business
    clock), count it as a repeat, or find the event a retry of the same alert_id created. A new one is
    flagged if it repeats a citizen's or a grid worker's report (engine/pool/duplicates.py). The receipt
    is stored in the same unit; the process is started by the caller in the next one (as for any report:
    the submission is committed first)."""
    session, catalogs, now, wall_now = cmd.session, cmd.catalogs, cmd.now(), cmd.env.wall_clock.now()
    device = verify(session, device_id, timestamp_header, signature_header, body, wall_now, signature_window)
    clean, alert = check_alert(body, device, catalogs)
    # alerts of one device are taken one at a time, so two repeats cannot both open an event
    session.execute(select(Device.id).where(Device.id == device.id).with_for_update())
    actor = f"device:{device.id}"
    key = intake.key_for(actor, alert["alert_id"])
    event = intake.existing(session, key) or _earlier_delivery(session, device, alert["alert_id"])
    created = False
    if event is None:
        event = _open_repeat(session, device, alert["type_code"], now, repeat_window)
        if event is not None:
            event.alert_count = (event.alert_count or 1) + 1
            session.add(Audit(at=now, actor=actor, action="alert_repeated", event_id=event.id,
                              data={"alert_id": alert["alert_id"], "alert_count": event.alert_count,
                                    "occurred_at": alert["occurred_at"], "confidence": alert.get("confidence"),
                                    "snapshot_url": alert.get("snapshot_url"), "location": alert["location"]}))
        else:
            event = events.register(session, catalogs, clean, actor, now, key=key, channel=device.id, raw=alert)
            created = True
    # received_at is wall time: receipts are about requests and their signature window, not business time
    session.add(AlertReceipt(device_id=device.id, signature=signature_header.lower(), alert_id=alert["alert_id"],
                             received_at=wall_now, event_id=event.id))
    session.flush()
    if created:
        duplicates.flag(session, event, cmd.env.duplicate_window, now)
    return Accepted(event.id, event.number, event.alert_count or 1, created)


def _open_repeat(session, device: Device, type_code: str, now: datetime, window: timedelta) -> Event | None:
    """The device's open event of this type raised within the repeat window, if any."""
    return session.scalar(select(Event).where(Event.channel == device.id, Event.source == SOURCE,
                                              Event.type_code == type_code, Event.status == "open",
                                              Event.created_at >= now - window)
                          .order_by(Event.created_at.desc(), Event.id.desc()).limit(1))


def _earlier_delivery(session, device: Device, alert_id: str) -> Event | None:
    """The event an earlier delivery of this alert_id went to (registered or counted as a repeat): a
    retry is answered with it and counts nothing."""
    event_id = session.scalar(select(AlertReceipt.event_id).where(AlertReceipt.device_id == device.id,
                                                                  AlertReceipt.alert_id == alert_id)
                              .order_by(AlertReceipt.id).limit(1))
    return session.get(Event, event_id) if event_id is not None else None
