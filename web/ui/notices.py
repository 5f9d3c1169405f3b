"""通知渠道 in the web app (issue #18): a system administrator sets up where units, people and communities
hear their notices outside the app (e-mail, webhooks, DingTalk and WeCom robots, through apprise), sees
the delivery log — what failed, what was given up, what quiet hours held — and sends one again. The engine
does each step (engine/notices/delivery.py); a refused channel keeps what was typed."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.accounts import permissions
from engine.core.errors import Conflict, InvalidData, InvalidQuery, NotFound
from engine.notices import channel_edits, delivery
from web.ui.session import page
from web.units import page_asked, read, run
from web.words import by_field, say

bp = Blueprint("ui_notices", __name__, url_prefix="/admin/notices")
FIELDS = ("owner_kind", "owner", "label", "url", "quiet_from", "quiet_until")


def _page(typed: dict | None = None, errors: dict | None = None, status_code: int = 200):
    """The page: the channels, the add form (`typed` kept, `errors` by field) and a page of the log."""
    errors, status, counts, log = dict(errors or {}), None, {}, None
    try:
        status = delivery.check_status(request.args.get("status"))
        counts, log = read(delivery.delivery_log, status, page_asked())
    except InvalidQuery as err:            # a made-up status or cursor: said, and the rest still shown
        errors.update(by_field(err.details["errors"]))
        status_code = 400
    return render_template("ui/admin/notices.html", nav="admin", channels=read(delivery.list_channels),
                           categories=delivery.CATEGORIES, owner_kinds=delivery.OWNER_KINDS, status=status,
                           status_names=delivery.STATUS_NAMES, counts=counts, log=log, typed=typed or {},
                           errors=errors), status_code


@bp.get("")
@page(rule=permissions.NOTICE_CHANNELS)
def index():
    return _page()


@bp.post("/channels")
@page(rule=permissions.NOTICE_CHANNELS)
def add():
    typed = {name: request.form.get(name, "").strip() for name in FIELDS}
    typed["categories"] = request.form.getlist("categories")
    try:
        added = run(delivery.create_channel, typed)
    except InvalidData as err:
        return _page(typed, by_field(err.details["errors"]), 422)
    flash(_("已添加通知渠道「%(label)s」", label=added["label"]))
    return redirect(url_for("ui_notices.index"))


@bp.post("/channels/<int:channel_id>/remove")
@page(rule=permissions.NOTICE_CHANNELS)
def remove(channel_id):
    try:
        run(channel_edits.remove, channel_id)
        flash(_("已停用该通知渠道"))
    except NotFound as err:
        flash(say(err.message), "error")
    return redirect(url_for("ui_notices.index"))


@bp.post("/deliveries/<int:delivery_id>/resend")
@page(rule=permissions.NOTICE_CHANNELS)
def resend(delivery_id):
    try:
        run(delivery.resend_one, delivery_id)
        flash(_("已重新排队发送"))
    except (NotFound, Conflict) as err:
        flash(say(err.message), "error")
    return redirect(url_for("ui_notices.index", status=request.form.get("status") or None))
