"""通知渠道 over HTTP (issue #18): the channels outside the app that units, people and communities hear
their notices on, and the delivery log with resending (engine/notices/delivery.py): system administrators.
One channel — edited, paused, tested, removed — by whoever may manage it (`may_manage_channel`: an
administrator any, a person their own; engine/notices/channel_edits.py); a person's own list and log are
/api/me/notice-channels (web/api/my_notices.py). A channel's URL is a secret, shown with its secrets starred."""
from flask import Blueprint, request

from engine.accounts import permissions
from engine.notices import channel_edits, delivery
from web.auth import json_body, signed_in
from web.units import page_asked, read, run

bp = Blueprint("notices", __name__, url_prefix="/api/notice-channels")


@bp.get("")
@signed_in(permissions.NOTICE_CHANNELS)
def index():
    """Every channel in use, by owner; the categories of notice a channel takes (none named: all)."""
    return {"items": read(delivery.list_channels), "categories": {c: n for c, (n, _k) in delivery.CATEGORIES.items()}}


@bp.post("")
@signed_in(permissions.NOTICE_CHANNELS)
def create():
    """A channel: `owner_kind` (person, unit, community), `owner`, `label`, `url` (apprise: mailto://,
    json://, form://, dingtalk://, wecombot:// …), `categories`, `quiet_from`/`quiet_until` (HH:MM)."""
    return run(delivery.create_channel, json_body()), 201


@bp.patch("/<int:channel_id>")
@signed_in(permissions.MY_NOTICE_CHANNELS)
def edit(channel_id):
    """Change a channel (an administrator any, a person their own; anyone else's: 404): `label`, `url` (empty
    or absent: kept), `categories`, `quiet_from`/`quiet_until`, `enabled` (false pauses it)."""
    return run(channel_edits.edit, channel_id, json_body())


@bp.delete("/<int:channel_id>")
@signed_in(permissions.MY_NOTICE_CHANNELS)
def remove(channel_id):
    """Stop using a channel (an administrator any, a person their own): what is still due to it is not sent."""
    return run(channel_edits.remove, channel_id)


@bp.post("/<int:channel_id>/test")
@signed_in(permissions.MY_NOTICE_CHANNELS)
def test(channel_id):
    """发送测试: a test notice to the channel's owner on this channel alone, due at once (see the delivery log)."""
    return run(channel_edits.send_test, channel_id), 201


@bp.get("/deliveries")
@signed_in(permissions.NOTICE_CHANNELS)
def deliveries():
    """The delivery log newest first, a page at a time (`?status=` one of pending, sending, sent, failed,
    gave_up, held, unknown; `all` or none: every one), with how many there are in each status."""
    status = delivery.check_status(request.args.get("status"))
    counts, found = read(delivery.delivery_log, status, page_asked(50, 200))
    return found.body(counts=counts)


@bp.post("/deliveries/<int:delivery_id>/resend")
@signed_in(permissions.NOTICE_CHANNELS)
def resend(delivery_id):
    """Send a delivery again (after it failed, was given up, held or interrupted): due at once, audited."""
    return run(delivery.resend_one, delivery_id)
