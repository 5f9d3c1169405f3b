"""消息 over HTTP: the caller's notifications (engine/notices/inbox.py) — how each of their reports ended (§4.3,
§7.1 反馈来源), dispatches, warnings (预警) and supervision (督办, §9.1)."""
from flask import Blueprint, request

from engine.core.ids import MAX_ID
from engine.notices import inbox
from web.api.events import _int_arg, paged
from web.auth import signed_in
from web.units import read

bp = Blueprint("inbox", __name__, url_prefix="/api")


@bp.get("/notifications")
@signed_in()
def notifications():
    """Newest first, a page at a time (follow `next_cursor`); `after_id` for only those newer than the last
    one seen, `kind` to filter."""
    number, asked = paged(20, 100)
    total, found = read(inbox.messages, _int_arg("after_id", None, 0, MAX_ID), request.args.get("kind"), asked)
    return {"total": total, "page": number, "per_page": asked.limit, "limit": asked.limit, **found.body()}
