"""通知渠道 over HTTP (issue #18): the channels outside the app that units, people and communities hear
their notices on, and the delivery log with resending (engine/notices/delivery.py). System administrators
only; a channel's URL is a secret and is shown with its secrets starred."""
from flask import Blueprint, request

from engine.accounts import permissions
from engine.notices import delivery
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


@bp.delete("/<int:channel_id>")
@signed_in(permissions.NOTICE_CHANNELS)
def remove(channel_id):
    """Stop using a channel: what is still due to it is not sent (given up)."""
    return run(delivery.delete_channel, channel_id)


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
