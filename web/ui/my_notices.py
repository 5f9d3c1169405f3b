"""我的通知方式 in the web app (issue #18): any signed-in person adds the channels outside the app their own notices
also go to — an e-mail or a webhook — chooses their categories and quiet hours (免打扰), edits, pauses and
deletes them, sends a test notice to themselves and reads what was sent to them. The engine does each step
(engine/notices/channel_edits.py) and checks who may act on a channel (`may_manage_channel`): a channel not
theirs is answered as one that does not exist (the 404 page). A refused channel keeps what was typed; a stored
URL is never put back in a form (it is a secret, shown only starred): an edit's empty URL keeps it."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.accounts import permissions
from engine.core.errors import Conflict, InvalidData, InvalidQuery
from engine.notices import channel_edits, delivery
from web.ui.session import page
from web.units import page_asked, read, run
from web.words import by_field, say

bp = Blueprint("ui_my_notices", __name__, url_prefix="/me/notices")
FIELDS = ("label", "url", "quiet_from", "quiet_until")


def _typed() -> dict:
    typed = {name: request.form.get(name, "").strip() for name in FIELDS}
    typed["categories"] = request.form.getlist("categories")
    return typed


def _page(typed: dict | None = None, errors: dict | None = None, editing: int | None = None,
          status_code: int = 200):
    """The page: the user's channels (the one being edited with `typed` and `errors`, or the add form's), and a
    page of what was sent to them."""
    errors, status, counts, log = dict(errors or {}), None, {}, None
    try:
        status = delivery.check_status(request.args.get("status"))
        counts, log = read(channel_edits.my_log, status, page_asked())
    except InvalidQuery as err:            # a made-up status or cursor: said, and the rest still shown
        errors.update(by_field(err.details["errors"]))
        status_code = 400
    return render_template("ui/my_notices.html", nav="me", channels=read(channel_edits.mine),
                           categories=delivery.CATEGORIES, status=status, status_names=delivery.STATUS_NAMES,
                           counts=counts, log=log, typed=typed or {}, errors=errors, editing=editing), status_code


@bp.get("")
@page(rule=permissions.MY_NOTICE_CHANNELS)
def index():
    return _page()


@bp.post("/channels")
@page(rule=permissions.MY_NOTICE_CHANNELS)
def add():
    typed = _typed()
    try:
        added = run(channel_edits.add_mine, typed)
    except InvalidData as err:
        return _page(typed, by_field(err.details["errors"]), status_code=422)
    flash(_("已添加通知方式「%(label)s」", label=added["label"]))
    return redirect(url_for("ui_my_notices.index"))


@bp.post("/channels/<int:channel_id>")
@page(rule=permissions.MY_NOTICE_CHANNELS)
def edit(channel_id):
    typed = _typed()
    try:
        changed = run(channel_edits.edit, channel_id, typed)
    except InvalidData as err:
        return _page(typed, by_field(err.details["errors"]), channel_id, 422)
    flash(_("已保存通知方式「%(label)s」", label=changed["label"]))
    return redirect(url_for("ui_my_notices.index"))


@bp.post("/channels/<int:channel_id>/pause")
@page(rule=permissions.MY_NOTICE_CHANNELS)
def pause(channel_id):
    enabled = request.form.get("enabled") == "true"
    changed = run(channel_edits.edit, channel_id, {"enabled": enabled})
    flash(_("已恢复通知方式「%(label)s」", label=changed["label"]) if enabled
          else _("已暂停通知方式「%(label)s」：暂停期间不再发送", label=changed["label"]))
    return redirect(url_for("ui_my_notices.index"))


@bp.post("/channels/<int:channel_id>/remove")
@page(rule=permissions.MY_NOTICE_CHANNELS)
def remove(channel_id):
    run(channel_edits.remove, channel_id)
    flash(_("已删除该通知方式"))
    return redirect(url_for("ui_my_notices.index"))


@bp.post("/channels/<int:channel_id>/test")
@page(rule=permissions.MY_NOTICE_CHANNELS)
def test(channel_id):
    return _queued(channel_edits.send_test, channel_id, _("测试通知已排队发送，请稍后查收，并在下方发送记录中查看结果"))


@bp.post("/deliveries/<int:delivery_id>/resend")
@page(rule=permissions.MY_NOTICE_CHANNELS)
def resend(delivery_id):
    return _queued(channel_edits.resend_mine, delivery_id, _("已重新排队发送"),
                   status=request.form.get("status") or None)


def _queued(op, ident: int, said: str, **back):
    """Something queued to send (a test, a resend): said in a flash, or why not (409: paused, on its way); a
    channel or delivery not the user's is 404, as one that does not exist. Back to the page."""
    try:
        run(op, ident)
        flash(said)
    except Conflict as err:
        flash(say(err.message), "error")
    return redirect(url_for("ui_my_notices.index", **back))
