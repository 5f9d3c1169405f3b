"""The web app's live inbox (issue #18): `GET /live`, the stream of web/live.py on the session cookie, each new
待办 and 消息 entry with its HTML as the lists render it (the same macros) and the words of the system
notification a page may show (`static/live.js`). A sensitive event's entry says there is one and nothing
more outside the page ("您有一件涉密事件待办"), even to those who may read it in the app."""
from __future__ import annotations

from flask import Blueprint, get_template_attribute, request, session, url_for
from flask_babel import gettext as _

from engine.accounts import permissions
from engine.core.errors import Unauthorized
from engine.pool import events as pool
from web.auth import services
from web.live import streams
from web.ui.session import current_user
from web.ui.tasks import shown_task

bp = Blueprint("ui_live", __name__)


@bp.get("/live")
def stream():
    """The signed-in user's stream (401 without a session: the page's EventSource stops)."""
    if current_user() is None:
        raise Unauthorized("请先登录 (sign in first)")
    header = request.headers.get("Last-Event-ID")
    since, name = (header, "Last-Event-ID") if header else (request.args.get("since"), "since")
    return streams().respond(session["token"], since, name, show=_shown)


stream.permission = permissions.LIVE


def _shown(item: dict) -> dict:
    """The item with the HTML of its list entry and the words of its system notification."""
    if item["kind"] == "work":
        task = shown_task(item["task"], item["event"], services().clock.now())
        sources = {k: _(v) for k, v in pool.SOURCES.items()}
        html = get_template_attribute("ui/_macros.html", "task_item")(task, sources)
        body = _("您有一件涉密事件待办") if item["sensitive"] else \
            f"{task['event_number']} {item['event'].get('description') or ''}"[:120]
        return {**item, "html": str(html), "alert": {"title": _("新待办：%(task)s", task=task["title"]), "body": body,
                                                     "url": url_for("ui_tasks.task", task_id=task["id"])}}
    if item["kind"] == "notice":
        html = get_template_attribute("ui/_macros.html", "message_item")(item["notice"])
        body = _("您有一条涉密事件消息") if item["sensitive"] else item["notice"]["message"][:120]
        return {**item, "html": str(html), "alert": {"title": _("新消息"), "body": body,
                                                     "url": url_for("ui_events.messages")}}
    return item
