"""The live inbox over HTTP (issue #18): `GET /api/live`, a Server-Sent Events stream of what is new for the
caller — their 待办 made and gone, their 消息 — as the lists show it (web/live.py). The web app's pages use
`GET /live` (web/ui/live.py), the same stream on the session cookie."""
from flask import Blueprint, request

from engine.accounts import permissions
from web.auth import signed_in
from web.live import streams

bp = Blueprint("live", __name__, url_prefix="/api")


@bp.get("/live")
@signed_in(permissions.LIVE)
def stream():
    """Server-Sent Events until EVENTFLOW_LIVE_STREAM_S has passed or the token stops working; reconnect with
    `Last-Event-ID` (or `?since=`, the `id` of the last event received) to miss nothing in between."""
    token = request.headers["Authorization"].partition(" ")[2].strip()
    header = request.headers.get("Last-Event-ID")
    since, name = (header, "Last-Event-ID") if header else (request.args.get("since"), "since")
    return streams().respond(token, since, name)
