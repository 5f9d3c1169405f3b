"""消息 over HTTP: the caller's notifications (engine/notices/inbox.py) — how each of their reports ended (§4.3,
§7.1 反馈来源), dispatches, warnings (预警) and supervision (督办, §9.1)."""
from flask import Blueprint, request

from engine.core.ids import MAX_ID
from engine.notices import inbox
from web.api.events import _int_arg
from web.auth import signed_in
from web.units import read

bp = Blueprint("inbox", __name__, url_prefix="/api")


@bp.get("/notifications")
@signed_in()
def notifications():
    """Newest first; `after_id` for only those newer than the last one seen, `kind` to filter."""
    page, per_page = _int_arg("page", 1, 1, 10**6), _int_arg("per_page", 20, 1, 100)
    total, found = read(inbox.messages, _int_arg("after_id", None, 0, MAX_ID), request.args.get("kind"), page, per_page)
    return {"total": total, "page": page, "per_page": per_page, "items": found}
