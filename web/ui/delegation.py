"""下派 in the web app (issue #19): the unit's clerk passes a task to a sub-unit (中队, 所) or a person of the unit's
tree with a sub-deadline inside the unit's own limit, or takes it back (收回); engine/casework/delegation.py. A
refused pass shows the page again with what was typed and each field's reason."""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine.casework import delegation
from engine.core.clock import SHANGHAI
from engine.core.errors import Conflict, InvalidData
from web.auth import services
from web.ui.session import page
from web.units import read, run
from web.words import by_field, say

bp = Blueprint("ui_delegation", __name__)
#: engine/casework/delegation.py STATUS_WORDS, for the catalog: the pages show them as `_(d.status_name)`
STATUS_WORDS = {"active": _l("下派中"), "taken_back": _l("已收回"), "done": _l("已办理"), "ended": _l("任务已结束")}


def local_instant(text: str) -> str:
    """A datetime-local field (2026-10-08T10:30, wall time in Longgang) as an instant with its offset; anything
    else is passed on for the engine to name."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return text
    return when.replace(tzinfo=SHANGHAI).isoformat() if when.tzinfo is None else text


@bp.route("/tasks/<task_id>/delegation", methods=["GET", "POST"])
@page
def delegate(task_id):
    """下派: the form (whom, until when, what to do), the unit's own limit it must lie inside, earlier passes."""
    view = read(delegation.for_task, task_id, None)            # 404 unless the user may do the task
    errors, values, status = {}, {}, 200
    if request.method == "POST":
        values = request.form
        body = {"to_unit": values.get("to_unit", "").strip() or None,
                "to_person": values.get("to_person", "").strip() or None,
                "due_at": local_instant(values.get("due_at", "").strip()) or None,
                "note": values.get("note", "").strip() or None}
        try:
            done = run(delegation.pass_down, task_id, body)
        except InvalidData as err:
            errors, status = by_field(err.details["errors"]), 422
        except Conflict as err:
            errors, status = {"task": say(err.message)}, 409
        else:
            flash(_("已下派给%(who)s，下派时限至 %(due)s", who=done["to_name"], due=done["due_at"][:16].replace("T", " ")))
            return redirect(url_for("ui_tasks.task", task_id=task_id))
    event = services().view_event(view["event_id"], g.user, "delegation_page")
    return render_template("ui/delegation.html", nav="tasks", passed=view, event=event, errors=errors,
                           values=values), status


@bp.post("/tasks/<task_id>/take-back")
@page
def take_back(task_id):
    """收回 (the reason, if typed, is told to the assignee)."""
    try:
        run(delegation.take_back, task_id, {"reason": request.form.get("reason", "").strip() or None})
        flash(_("已收回"))
    except (Conflict, InvalidData) as err:
        flash(say(err.message), "error")
    return redirect(url_for("ui_tasks.task", task_id=task_id))
