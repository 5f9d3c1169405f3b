"""智慧社区预警 (§5.4) over HTTP: IoT sensors and video-AI cameras post signed alerts (docs/devices.md).

No bearer token: the device's HMAC signature is the authentication (engine/channels/devices.py).
"""
from datetime import timedelta

from flask import Blueprint, request
from werkzeug.exceptions import RequestEntityTooLarge

from engine.channels import devices
from engine.channels.devices import DEVICE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER
from web.auth import public
from web.units import services, start, store

bp = Blueprint("alerts", __name__, url_prefix="/api/alerts")

#: an alert is a small JSON document; its snapshot travels as a URL, never in the body
MAX_ALERT_BYTES = 64 * 1024


def _too_large():
    return {"error": "too_large", "field": "(body)", "message": f"an alert is at most {MAX_ALERT_BYTES} bytes"}, 413


@bp.post("")
@public
def receive():
    """A signed alert → 201 with a new event, or 200 when it repeats an open one (alert_count) or
    retries an alert_id already received. The body is read raw: the signature covers its exact bytes."""
    if request.content_length is not None and request.content_length > MAX_ALERT_BYTES:
        return _too_large()
    request.max_content_length = MAX_ALERT_BYTES  # also bounds a body sent without Content-Length
    try:
        body = request.get_data()
    except RequestEntityTooLarge:
        return _too_large()
    device_id = request.headers.get(DEVICE_HEADER)
    settings = services().settings
    # The accepted alert and its receipt are committed before the process starts (a racing copy of the
    # same request is then a replay, 409, or a retry).
    accepted = store(devices.receive, device_id, request.headers.get(TIMESTAMP_HEADER),
                     request.headers.get(SIGNATURE_HEADER), body, signature_window=settings.alert_signature_window_s,
                     repeat_window=timedelta(minutes=settings.alert_repeat_window_min))
    start(accepted.event_id, f"device:{device_id}")   # a no-op for a repeat or a started retry
    body = {"event_id": accepted.event_id, "number": accepted.number, "alert_count": accepted.alert_count,
            "created": accepted.created}
    return body, 201 if accepted.created else 200, {"Location": f"/api/events/{accepted.event_id}"}
