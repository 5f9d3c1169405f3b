"""退回 in the web app (issue #19): the city sees the returns of whistle orders per unit and coded reason for a
period, lists them, and the city authority rules a return unreasonable (不合理退回: it counts against the unit,
not as the community's misroute) or reasonable (engine/oversight/returns.py)."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine.accounts import permissions
from engine.core.errors import Conflict, InvalidData, NotFound
from engine.oversight import returns
from web.ui import query
from web.ui.dashboard import _period
from web.ui.session import _safe_next, page
from web.units import page_asked, read, run
from web.words import by_field, say

bp = Blueprint("ui_returns", __name__)


#: the list's ruling filter in the words of its select (ui/returns.html)
STATUS_WORDS = {"unruled": _l("未裁定"), "unreasonable": _l("不合理退回"), "reasonable": _l("合理退回")}


def _filters() -> dict:
    return {"unit": request.args.get("unit") or None, "code": request.args.get("code"),
            "status": query.one_of("status", {k: STATUS_WORDS[k] for k in returns.STATUSES})}   # else 400 naming it


@bp.get("/returns")
@page(rule=permissions.RETURNS_READ)
def index(errors: dict | None = None, typed: dict | None = None, status: int = 200):
    """The period's returns per unit and reason, and the returns themselves (filtered by a cell's unit and
    reason, or by ruling), newest first, each with its ruling or the form to rule on it."""
    first, last, start, end = _period()
    filters = _filters()

    def build(cmd):
        return (returns.summary(cmd, start, end), returns.listing(cmd, start, end, filters, page_asked()),
                returns.hidden(cmd, start, end, filters))
    summary, found, hidden = read(build)
    return render_template("ui/returns.html", nav="returns", summary=summary, page=found, rows=found.items,
                           hidden=hidden, first=first, last=last, filters=filters,
                           may_rule=permissions.RETURN_RULING.allows(g.user), errors=errors or {},
                           typed=typed or {}), status


@bp.post("/returns/<int:return_id>/ruling")
@page(rule=permissions.RETURN_RULING)
def ruling(return_id):
    """裁定: the ruling on one return; a refused one shows the page again with what was typed and why."""
    body = {"verdict": request.form.get("verdict") or None, "note": request.form.get("note") or ""}
    try:
        done = run(returns.rule, return_id, body)
    except InvalidData as err:
        reasons = by_field(err.details["errors"])
        return index(errors={return_id: reasons}, typed={return_id: body}, status=422)
    except (Conflict, NotFound) as err:
        flash(say(err.message), "error")
    else:
        flash(_("已裁定 %(number)s 的退回：%(verdict)s", number=done["event_number"],
                verdict=done["ruling"]["verdict_name"]))
    return redirect(_safe_next(request.form.get("next") or url_for("ui_returns.index")))
