"""待办 and 已办 in the web app (issue #6): the user's ready tasks by role and scope, each with the time
limit that runs on it (§8) and its warning light (预警: 绿灯/黄灯/红灯); a task's form rendered from its
JSON Schema (web/ui/forms.py) and checked on the server by the engine, exactly as the API checks it."""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine.casework import tasks
from engine.core.clock import parse_instant
from engine.core.errors import Conflict, InvalidData
from engine.pool import reading
from engine.pool.photos import add as add_photos
from web.ui import forms as ui_forms
from web.auth import services
from web.ui.session import page
from web.units import read, run, run_step

bp = Blueprint("ui_tasks", __name__)
LIGHT_WORDS = {"green": _l("绿灯"), "yellow": _l("黄灯"), "red": _l("红灯"), "paused": _l("暂停")}


def remaining(deadline: dict | None, now: datetime) -> str | None:
    """剩余 2小时5分 / 已超时 35分 — the countdown shown beside a task."""
    if not deadline:
        return None
    if deadline.get("light") == "paused":      # the process is suspended (挂起): the clock stands still
        return _("挂起中，时限暂停计算")
    seconds = int((parse_instant(deadline["due_at"]) - now).total_seconds())
    minutes = abs(seconds) // 60
    days, hours, mins = minutes // 1440, minutes % 1440 // 60, minutes % 60
    text = (f"{days}{_('天')}" if days else "") + (f"{hours}{_('小时')}" if hours else "") + f"{mins}{_('分')}"
    return _("剩余 %(t)s", t=text) if seconds >= 0 else _("已超时 %(t)s", t=text)


@bp.get("/")
@page
def index():
    svc, user = services(), g.user
    items = read(tasks.todo)
    now = svc.clock.now()
    wanted = {k: request.args.get(k) or None for k in ("type_code", "source", "community", "light", "status")}
    events = read(reading.events_of, {t["event_id"] for t in items})
    shown = []
    for task in items:
        event = events.get(task["event_id"], {})
        light = (task["deadline"] or {}).get("light")
        if any(wanted[k] and (light if k == "light" else event.get(k)) != wanted[k]
               for k in ("type_code", "source", "community", "light")):
            continue
        if wanted["status"] and _status(task, user) != wanted["status"]:
            continue
        shown.append({**task, "event": event, "light": light, "light_word": LIGHT_WORDS.get(light),
                      "remaining": remaining(task["deadline"], now)})
    communities = sorted({events.get(t["event_id"], {}).get("community") for t in items} - {None})
    return render_template("ui/tasks.html", nav="tasks", tasks=shown, total=len(items), wanted=wanted,
                           catalogs=svc.catalogs, communities=communities, now=now.isoformat())


#: the 待办 status filter: who has the task in hand
STATUSES = ("unclaimed", "mine", "others", "suspended")


def _status(task: dict, user) -> str:
    if task.get("suspended"):
        return "suspended"
    if not task.get("claimed_by"):
        return "unclaimed"
    return "mine" if task["claimed_by"] == user.username else "others"


@bp.get("/done")
@page
def done():
    return render_template("ui/done.html", nav="done", items=read(tasks.done))


@bp.route("/tasks/<task_id>", methods=["GET", "POST"])
@page
def task(task_id):
    try:
        detail = read(tasks.detail, task_id, "task_form")
    except Conflict:
        flash(_("该任务已办理或已撤销"))
        return redirect(url_for("ui_tasks.index"))
    schema, values, errors, status = detail["form"], {}, {}, 200
    if request.method == "POST":
        data, uploads = ui_forms.parse(schema, request.form, request.files)
        values = data
        try:
            done = _complete(detail, schema, data, uploads)
        except InvalidData as err:
            errors = {e["field"]: e["reason"] for e in err.details["errors"]}
            status = 422
        except Conflict as err:
            # 挂起, or the process failed at a step (流程异常, issue #15): the task stays; the page says so
            if err.code in ("suspended", "step_failed"):
                flash(err.message)
                return redirect(url_for("ui_tasks.task", task_id=task_id))
            flash(_("该任务已办理或已撤销"))
            return redirect(url_for("ui_tasks.index"))
        else:
            flash(_("已提交「%(task)s」：事件 %(number)s %(stage)s", task=detail["title"],
                    number=detail["event_number"], stage=done["stage"] or done["event_status"]))
            return redirect(url_for("ui_tasks.index"))
    event = services().view_event(detail["event_id"], g.user, "task_page")
    return render_template("ui/task.html", nav="tasks", task=detail, event=event, schema=schema,
                           fields=ui_forms.render(schema, values, errors), errors=errors), status


def _complete(detail, schema, data, uploads):
    """Photos first decoded (a bad one names its field), then stored with the completion in one unit."""
    svc = services()
    checked = {name: svc.env.photos.check(files, name) for name, files in uploads.items() if files}

    def work(cmd):
        keys = {name: [p["key"] for p in add_photos(cmd, detail["event_id"], photos)]
                for name, photos in checked.items()}
        return tasks.complete(cmd, detail["id"], ui_forms.fill_photos(data, schema, keys))
    return run_step(work)


@bp.post("/tasks/<task_id>/claim")
@page
def claim(task_id):
    """认领 (the time limit runs on)."""
    return _claim_action(task_id, tasks.claim, _("已认领"))


@bp.post("/tasks/<task_id>/release")
@page
def release(task_id):
    return _claim_action(task_id, tasks.release, _("已取消认领"))


def _claim_action(task_id, act, done: str):
    try:
        run(act, task_id)
        flash(done)
    except Conflict as err:
        flash(err.message)
    return redirect(url_for("ui_tasks.task", task_id=task_id))
