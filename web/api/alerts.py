"""智慧社区预警 (§5.4) over HTTP: IoT sensors and video-AI cameras post signed alerts (docs/devices.md).

No bearer token: the device's HMAC signature is the authentication (engine/channels/devices.py).
"""
from datetime import timedelta

from flask import Blueprint, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from engine.channels.devices import DEVICE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER
from web.auth import public, services

bp = Blueprint("alerts", __name__, url_prefix="/api/alerts")

#: an alert is a small JSON document; its snapshot travels as a URL, never in the body
MAX_ALERT_BYTES = 64 * 1024


def _too_large():
    return jsonify({"error": "too_large", "field": "(body)",
                    "message": f"an alert is at most {MAX_ALERT_BYTES} bytes"}), 413


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
    svc = services()
    device_id = request.headers.get(DEVICE_HEADER)
    timestamp = request.headers.get(TIMESTAMP_HEADER)
    signature = request.headers.get(SIGNATURE_HEADER)
    repeat_window = timedelta(minutes=svc.settings.alert_repeat_window_min)

    def receive_alert(s):
        return svc.runtime.receive_alert(s, device_id, timestamp, signature, body,
                                         signature_window=svc.settings.alert_signature_window_s,
                                         repeat_window=repeat_window)
    # The accepted alert and its receipt are committed before the process starts (a racing copy of the
    # same request is then a replay, 409, or a retry).
    accepted = svc.store_submission(receive_alert)
    svc.start_process(accepted.event_id, f"device:{device_id}")   # a no-op for a repeat or a started retry
    body = {"event_id": accepted.event_id, "number": accepted.number, "alert_count": accepted.alert_count,
            "created": accepted.created}
    return jsonify(body), 201 if accepted.created else 200, {"Location": f"/api/events/{accepted.event_id}"}
