"""The event pages of the web app (issue #6): the list of events the user may see, one event with its
status, stage, photos, deadlines and lights, open tasks and timeline (§7.1 登记 … 办结), its photos (only to
those who may see the event), and the user's messages (消息)."""
from __future__ import annotations

from flask import Blueprint, g, render_template, request

from engine import events
from web.api_photos import photo_response
from web.auth import services
from web.ui_session import page

bp = Blueprint("ui_events", __name__)


@bp.get("/events")
@page
def index():
    svc = services()
    user = g.user
    mine = request.args.get("mine") == "1"
    filters = {name: request.args.get(name) or None for name in events.LIST_FILTERS}
    if mine:
        filters["reporter"] = user.username

    def query(s):
        total, rows = events.search(s, user, svc.catalogs, filters, 1, 100)
        return total, [events.summary(e) for e in rows]
    total, items = svc.read(query)
    return render_template("ui/events.html", nav="events", items=items, total=total, filters=filters, mine=mine)


@bp.get("/events/<int:event_id>")
@page
def show(event_id):
    svc = services()
    user = g.user
    event = svc.read(lambda s: svc.runtime.event_detail(s, event_id, user))   # 404 if not the user's to see
    return render_template("ui/event.html", nav="events", event=event)


@bp.get("/events/<int:event_id>/photos/<key>")
@page
def photo(event_id, key):
    svc = services()
    user = g.user
    content_type, data = svc.read(lambda s: svc.runtime.photo_file(s, event_id, key, user))
    return photo_response(key, content_type, data)


@bp.get("/messages")
@page
def messages():
    svc = services()
    user = g.user
    _total, items = svc.read(lambda s: svc.runtime.inbox(s, user, per_page=100))
    return render_template("ui/messages.html", nav="messages", items=items)
