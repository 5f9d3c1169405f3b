"""我的通知方式 over HTTP (issue #18): a signed-in person's own channels outside the app — an e-mail or a webhook
that their notices also go to — and the log of what was sent to them (engine/notices/channel_edits.py). One of
their channels is changed, paused, tested and removed at /api/notice-channels/{id} (web/api/notices.py), by
the same rule as the administrators' (`may_manage_channel`)."""
from flask import Blueprint, request

from engine.accounts import permissions
from engine.notices import channel_edits, delivery
from web.auth import json_body, signed_in
from web.units import page_asked, read, run

bp = Blueprint("my_notices", __name__, url_prefix="/api/me/notice-channels")


@bp.get("")
@signed_in(permissions.MY_NOTICE_CHANNELS)
def index():
    """The user's own channels (paused ones too), the categories a channel may take and the schemes it may use."""
    return {"items": read(channel_edits.mine), "categories": {c: n for c, (n, _k) in delivery.CATEGORIES.items()},
            "schemes": list(delivery.SCHEMES)}


@bp.post("")
@signed_in(permissions.MY_NOTICE_CHANNELS)
def create():
    """A channel of the user's own: `label`, `url` (mailto://, mailtos://, json://, form:// … as the
    administrators'), `categories`, `quiet_from`/`quiet_until` (HH:MM). The owner is the user."""
    return run(channel_edits.add_mine, json_body()), 201


@bp.get("/deliveries")
@signed_in(permissions.MY_NOTICE_CHANNELS)
def deliveries():
    """What was sent to the user's own channels, newest first, a page at a time (`?status=`), with how many
    there are in each status."""
    status = delivery.check_status(request.args.get("status"))
    counts, found = read(channel_edits.my_log, status, page_asked(50, 200))
    return found.body(counts=counts)


@bp.post("/deliveries/<int:delivery_id>/resend")
@signed_in(permissions.MY_NOTICE_CHANNELS)
def resend(delivery_id):
    """Send again a delivery to one of the user's own channels (after it failed, gave up or was held): due at
    once, audited. Another's delivery: 404, as one that does not exist."""
    return run(channel_edits.resend_mine, delivery_id)
