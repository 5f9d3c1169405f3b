"""消息 over HTTP: the caller's notifications (engine/notices/inbox.py) — how each of their reports ended (§4.3,
§7.1 反馈来源), dispatches, warnings (预警) and supervision (督办, §9.1)."""
from flask import Blueprint, g, jsonify, request

from engine.core.ids import MAX_ID
from web.api.events import _int_arg
from web.auth import services, signed_in

bp = Blueprint("inbox", __name__, url_prefix="/api")


@bp.get("/notifications")
@signed_in()
def notifications():
    """Newest first; `after_id` for only those newer than the last one seen, `kind` to filter."""
    svc = services()
    user = g.user
    page, per_page = _int_arg("page", 1, 1, 10**6), _int_arg("per_page", 20, 1, 100)
    after_id = _int_arg("after_id", None, 0, MAX_ID)
    kind = request.args.get("kind")
    total, items = svc.read(lambda s: svc.runtime.inbox(s, user, after_id, kind, page, per_page))
    return jsonify({"total": total, "page": page, "per_page": per_page, "items": items})
