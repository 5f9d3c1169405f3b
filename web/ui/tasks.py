"""待办 and 已办 in the web app (issue #6): the user's ready tasks by role and scope, each with the time
limit that runs on it (§8) and its warning light (预警: 绿灯/黄灯/红灯); a task's form rendered from its
JSON Schema (web/ui/forms.py) and checked on the server by the engine, exactly as the API checks it."""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine.casework import batch, delegation, tasks, todo
from engine.core.clock import parse_instant
from engine.core.errors import Conflict, InvalidData
from engine.pool import reading
from engine.pool.events import STATUS_WORDS
from engine.pool.photos import add as add_photos
from engine.store import paging
from web.ui import forms as ui_forms
from web.ui import maps, people
from web.auth import services
from web.ui.session import _safe_next, page
from web.units import page_asked, read, run, run_each, run_step
from web.words import by_field, say

bp = Blueprint("ui_tasks", __name__)
LIGHT_WORDS = {"green": _l("绿灯"), "yellow": _l("黄灯"), "red": _l("红灯"), "paused": _l("暂停")}
#: a light's place in 待办's order (engine/limits/task_order.py: green and yellow both run)
RANKS = {"red": 0, "paused": 2, None: 3}


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


def shown_task(task: dict, event: dict, now: datetime) -> dict:
    """A task as 待办 shows it (`ui/_macros.html` task_item): with its event, its light in words and the time
    left; the live inbox shows a new one the same way (web/ui/live.py)."""
    light = (task["deadline"] or {}).get("light")
    # where it stands in 待办's order (red, running, paused, no limit; then the due time or, with none, when it
    # was made): the live inbox puts a new task in its place by it
    order = f"{RANKS.get(light, 1)}|{task.get('due_at') or task['created_at']}|{task['id']}"
    return {**task, "event": event, "light": light, "light_word": LIGHT_WORDS.get(light),
            "remaining": remaining(task["deadline"], now), "order": order}


#: the lights in the order the page's header counts them, with their words
COUNTED = (("red", _l("红灯")), ("yellow", _l("黄灯")), ("green", _l("绿灯")), ("paused", _l("暂停")), ("none", _l("无时限")))


def _wanted() -> dict:
    return {k: request.args.get(k) or None for k in todo.FILTERS}


@bp.get("/")
@page
def index():
    """待办: red first, then by time left (issue #19), filtered in the database (the filters hold across pages),
    counted per light in the header; `?view=map`: the same tasks on a map instead of the list."""
    svc = services()
    wanted, on_map = _wanted(), request.args.get("view") == "map"
    asked = page_asked()

    def build(cmd):       # one unit: the page, its events, the counts per light and the filter's communities
        counted = todo.counts(cmd, wanted)          # checks the filters first: a bad one is a 400 naming it
        found = paging.Page([]) if on_map else tasks.todo(cmd, asked, wanted)
        return (found, reading.events_of(cmd, {t["event_id"] for t in found.items}), counted, todo.communities(cmd))
    found, events, counted, communities = read(build)
    now = svc.clock.now()
    shown = [shown_task(task, events.get(task["event_id"], {}), now) for task in found.items]
    claimers = people.named(t["claimed_by"] for t in shown)        # 认领人 by name, never the login
    shown = [{**t, "claimed_by_name": claimers.get(t["claimed_by"])} for t in shown]
    total = counted[wanted["light"]] if wanted["light"] in counted else sum(counted.values())   # under the filters
    kept = {k: v for k, v in wanted.items() if v}
    view = {"view": "map"} if on_map else {}
    # each light's count links to its tasks (the other filters kept); the light shown links back to all of them
    light_urls = {code: url_for("ui_tasks.index", **{k: v for k, v in kept.items() if k != "light"}, **view,
                                **({} if wanted["light"] == code else {"light": code})) for code, _word in COUNTED}
    return render_template("ui/tasks.html", nav="tasks", tasks=shown, page=found, total=total, counted=counted,
                           lights=COUNTED, light_urls=light_urls, wanted=wanted, kept=kept, on_map=on_map,
                           catalogs=svc.catalogs, communities=communities, map_tiles=maps.tiles(svc.settings),
                           now=now.isoformat())


@bp.get("/todo/map.json")
@page
def map_data():
    """The 待办 page's map: the user's open work as GeoJSON points with their lights, under the page's filters."""
    return read(todo.map_of, _wanted())


@bp.get("/done")
@page
def done():
    found = read(tasks.done, page_asked())
    return render_template("ui/done.html", nav="done", items=found.items, page=found)


@bp.route("/tasks/<task_id>", methods=["GET", "POST"])
@page
def task(task_id):
    """A task's page and its form. web/static/task_form.js posts the form with fetch and asks for JSON: a refused
    submission then answers where each reason goes and the page shows them without reloading, so nothing typed
    or attached (photos) is lost (issue #20); without JavaScript the page comes back with the reasons."""
    as_json = _wants_json()
    try:
        detail = read(tasks.detail, task_id, "task_form")
    except Conflict:
        return _leave(_("该任务已办理或已撤销"), url_for("ui_tasks.index"), as_json, "error")
    schema, values, errors, status = detail["form"], {}, {}, 200
    if request.method == "POST":
        data, uploads = ui_forms.parse(schema, request.form, request.files)
        values = data
        try:
            done = _complete(detail, schema, data, uploads)
        except InvalidData as err:
            errors = by_field(err.details["errors"])
            status = 422
            if as_json:
                placed, stray = ui_forms.place(schema, values, errors)
                return {"errors": placed, "stray": stray}, status
        except Conflict as err:
            # 挂起, or the process failed at a step (流程异常, issue #15): the task stays; the page says so
            if err.code in ("suspended", "step_failed"):
                return _leave(say(err.message), url_for("ui_tasks.task", task_id=task_id), as_json, "error")
            return _leave(_("该任务已办理或已撤销"), url_for("ui_tasks.index"), as_json, "error")
        else:
            stage = done["stage"] or gettext(STATUS_WORDS.get(done["event_status"], ""))    # 办结, not "closed"
            return _leave(_("已提交「%(task)s」：事件 %(number)s %(stage)s", task=detail["title"],
                            number=detail["event_number"], stage=stage),
                          url_for("ui_tasks.index"), as_json)
    event = services().view_event(detail["event_id"], g.user, "task_page")
    passed = read(delegation.for_task, task_id, None)     # 下派 (issue #19)
    detail = {**detail, "claimed_by_name": people.named([detail["claimed_by"]]).get(detail["claimed_by"])}
    return render_template("ui/task.html", nav="tasks", task=detail, event=event, schema=schema,
                           fields=ui_forms.render(schema, values, errors), errors=errors, passed=passed), status


def _wants_json() -> bool:
    """The task page's script asks for JSON (Accept: application/json); a browser without it gets pages."""
    return request.method == "POST" and \
        request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


def _leave(message: str, target: str, as_json: bool, category: str = "success"):
    """Say `message` on the page at `target` (a refusal: category "error", in red) and go there (the script
    goes there itself)."""
    flash(message, category)
    return {"redirect": target} if as_json else redirect(target)


def _complete(detail, schema, data, uploads):
    """Photos first decoded (a bad one names its field), then stored with the completion in one unit."""
    svc = services()
    checked = {name: svc.env.photos.check(files, name) for name, files in uploads.items() if files}

    def work(cmd):
        keys = {name: [p["key"] for p in add_photos(cmd, detail["event_id"], photos)]
                for name, photos in checked.items()}
        return tasks.complete(cmd, detail["id"], ui_forms.fill_photos(data, schema, keys))
    return run_step(work)


@bp.post("/tasks/batch/accept")
@page
def batch_accept():
    """批量签收 (issue #19): the 签收受理 picked on 待办, each accepted on its own (engine/casework/batch.py); back
    to the list, which says which were accepted and which refused, and why."""
    back = _safe_next(request.form.get("next"))
    try:
        ids = batch.check_ids({"task_ids": request.form.getlist("task_ids")})
    except InvalidData as err:
        flash(say(err.details["errors"][0]["reason"]), "error")
        return redirect(back)
    accepted, refused = run_each(batch.accept, ids, batch.refusal)
    if accepted:
        flash(_("已签收 %(n)d 件：%(numbers)s", n=len(accepted),
                numbers="、".join(a["event_number"] or "" for a in accepted)))
    for r in refused:
        flash(_("未签收 %(number)s：%(reason)s", number=r["event_number"] or _("（未知事件）"), reason=r["reason"]), "error")
    return redirect(back)


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
        flash(say(err.message), "error")
    return redirect(url_for("ui_tasks.task", task_id=task_id))
