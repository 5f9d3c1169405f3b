"""The event pages of the web app (issue #6): the list of events the user may see with its filters, and that
list as an Excel or CSV file (issue #19), one event with its status, stage, photos, deadlines and lights, open
tasks and timeline (§7.1 登记 … 办结), its photos (only to those who may see the event), and the user's
messages (消息)."""
from __future__ import annotations

import tempfile
from datetime import datetime, time, timedelta
from pathlib import Path

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from werkzeug.wsgi import wrap_file

from engine.accounts import permissions
from engine.casework import administration, incidents
from engine.core import contracts
from engine.core.clock import SHANGHAI
from engine.core.errors import Conflict, Forbidden, InvalidData
from engine.exports import spreadsheets
from engine.limits import whistle_order as whistle
from engine.notices import inbox
from engine.pool import comments, event_map, events, export, photos, reading
from engine.runtime import versions as version_history
from web.api.photos import photo_response
from web.auth import public, services
from web.ui import maps, people, query
from web.ui.session import page
from web.units import page_asked, read, run

bp = Blueprint("ui_events", __name__)
FRONTEND = Path(__file__).resolve().parents[1] / "frontend" / "node_modules"
#: the browser libraries the pages load, from npm (web/frontend/package.json), never from a CDN
VENDOR = {"bpmn-viewer.js": "bpmn-js/dist/bpmn-navigated-viewer.production.min.js",
          "diagram-js.css": "bpmn-js/dist/assets/diagram-js.css", "bpmn-js.css": "bpmn-js/dist/assets/bpmn-js.css",
          "bpmn-font.css": "bpmn-js/dist/assets/bpmn-font/css/bpmn-embedded.css",
          "properties-panel.css": "@bpmn-io/properties-panel/dist/assets/properties-panel.css",
          "leaflet.js": "leaflet/dist/leaflet.js", "leaflet.css": "leaflet/dist/leaflet.css",
          "echarts.js": "echarts/dist/echarts.min.js",
          # 上报 (issue #20): photos shrunk on the phone before upload
          "image-compression.js": "browser-image-compression/dist/browser-image-compression.js",
          # 上报 without signal (issue #20): the drafts kept on the phone (idb), bundled from web/frontend/src
          "drafts.js": "../dist/drafts.js",
          # the modeler with its properties panel, bundled from web/frontend/src at set-up (npm run build)
          "modeler.js": "../dist/modeler.js"}


def _filters() -> tuple[dict, dict]:
    """The list's filters as the page asks for them (status, type, source, community, number, 我上报的, the
    days reported from and to, Asia/Shanghai) — the same for the list and its export — and what the form
    shows."""
    mine = request.args.get("mine") == "1"
    filters = {name: request.args.get(name) or None for name in events.LIST_FILTERS}
    if mine:
        filters["reporter"] = g.user.username
    first, last = query.day("from"), query.day("to")     # else 400 naming it
    if first:
        filters["created_from"] = datetime.combine(first, time(), SHANGHAI)
    if last:
        filters["created_to"] = datetime.combine(last + timedelta(days=1), time(), SHANGHAI)
    asked = {name: request.args.get(name) for name in (*events.LIST_FILTERS, "mine", "from", "to")
             if request.args.get(name)}
    return filters, asked


@bp.get("/events")
@page
def index():
    filters, asked = _filters()
    total, found = read(reading.search_events, filters, page_asked(), "events_page")
    catalogs = services().catalogs
    return render_template("ui/events.html", nav="events", items=found.items, page=found, total=total,
                           filters=filters, mine=asked.get("mine") == "1", asked=asked,
                           types=[*catalogs.get("event_types"), *catalogs.get("one_thing_matters")],
                           communities=catalogs.options("communities"))


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: the list's export: (writer into a binary file, its media type)
EXPORTS = {"xlsx": (lambda out, rows: spreadsheets.write_xlsx(out, "事件列表", export.HEADER, rows,
                                                              [("事件列表", "DB330383/T 5—2021 §7.1 事件池")]), XLSX),
           "csv": (lambda out, rows: spreadsheets.write_csv(out, export.HEADER, rows), "text/csv; charset=utf-8")}


@bp.get("/events/export.<fmt>")
@page
def export_list(fmt):
    """The list with its filters as an Excel or CSV file: every event of it, newest first, written into a
    temporary file as it is read from the database (a batch at a time; one read unit of work), then sent with
    its length (the page's progress bar) and `X-Row-Count`, how many events it holds."""
    if fmt not in EXPORTS:
        abort(404)
    write, mimetype = EXPORTS[fmt]
    filters, _asked = _filters()
    out = tempfile.TemporaryFile()
    try:
        written = read(export.export_events, filters, lambda rows: write(out, rows))
        size = out.tell()
        out.seek(0)
    except BaseException:
        out.close()
        raise
    day = services().clock.now().astimezone(SHANGHAI).date().isoformat()
    return Response(wrap_file(request.environ, out), mimetype=mimetype, direct_passthrough=True,
                    headers={"Content-Disposition": f'attachment; filename="events-{day}.{fmt}"',
                             "Content-Length": str(size), "X-Row-Count": str(written)})


@bp.get("/events/<int:event_id>")
@page
def show(event_id):
    return _event_page(event_id)


def _event_page(event_id, typed=None, problems=None, status=200):
    """The event page; after a refused 留言/催办 or 挂起/恢复/终止, again with what was typed and why not."""
    svc = services()
    user = g.user
    event = read(reading.event_detail, event_id, "event_page")   # 404 if not theirs to see
    found = read(incidents.search, {"event_id": event_id}).items \
        if permissions.INCIDENTS.allows(user) else []                # 流程异常, for process administrators (issue #15)
    return render_template("ui/event.html", nav="events", event=event, map_tiles=maps.tiles(svc.settings),
                           map_categories=maps.categories(svc.catalogs),
                           compare=contracts.before_after(event.get("timeline", [])), typed=typed or {},
                           problems=problems or [], incidents=found,
                           resolvers=people.named(i.get("resolved_by") for i in found),
                           recorders=people.named(v.get("recorded_by") for v in event.get("revisits") or []),
                           process_names=svc.read(version_history.process_names) if found else {},
                           may_urge=permissions.URGE.allows(user) and event["status"] == "open",
                           may_administer=permissions.ADMINISTER.allows(user) and event["status"] == "open"
                           and (event["process"] or {}).get("status") in ("running", "suspended")), status


def _reasons(err) -> list[str]:
    return [e["reason"] for e in err.details.get("errors", [])] or [err.message]


@bp.post("/events/<int:event_id>/administer")
@page
def administer(event_id):
    """A process or system administrator suspends, resumes or terminates the event's process, with a reason."""
    acts = {"suspend": (administration.suspend, _("已挂起")), "resume": (administration.resume, _("已恢复办理")),
            "terminate": (administration.terminate, _("已终止"))}
    act, said = acts.get(request.form.get("action"), (None, None))
    if act is None:
        abort(400)
    reason = request.form.get("reason", "")
    return _act(event_id, {"reason": reason}, lambda done: said, act, reason)


@bp.post("/events/<int:event_id>/say")
@page
def say(event_id):
    """留言 (any who see the event) or 催办 (the community's cadres, the city): told to the open tasks' holders."""
    act = comments.urge if request.form.get("action") == "urge" else comments.comment
    body = {"text": request.form.get("text", "")}
    return _act(event_id, body, lambda done: _("已发送，通知 %(n)s 处", n=len(done["told"])), act, body)


def _act(event_id, typed: dict, said, act, *args):
    """`act(cmd, event_id, *args)`, then back to the event page saying `said(what act answered)`; if it is
    refused, the page again with what was typed and why not."""
    try:
        done = run(act, event_id, *args)
    except (InvalidData, Conflict, Forbidden) as err:
        return _event_page(event_id, typed, _reasons(err), err.status)
    flash(said(done))
    return redirect(url_for("ui_events.show", event_id=event_id))


@bp.get("/events/<int:event_id>/photos/<key>")
@page
def photo(event_id, key):
    return photo_response(key, *read(photos.photo_file, event_id, key, "photo"))


@bp.get("/messages")
@page
def messages():
    _total, found = read(inbox.messages, page=page_asked())
    return render_template("ui/messages.html", nav="messages", items=found.items, page=found)


@bp.get("/vendor/<name>")
@public
def vendor(name):
    """A file of the whitelisted npm packages (nothing else under node_modules is reachable)."""
    path = VENDOR.get(name)
    if path is None or not (FRONTEND / path).is_file():
        abort(404)
    return send_file(FRONTEND / path, max_age=3600)


@bp.get("/events/<int:event_id>/diagram.bpmn")
@page
def diagram(event_id):
    """The BPMN that holds the event's current task; the open tasks' ids ride in a header for the viewer."""
    xml, current = read(reading.diagram, event_id)
    response = Response(xml, mimetype="application/xml")
    response.headers["X-Current-Tasks"] = ",".join(current)
    return response


@bp.get("/events/<int:event_id>/map.json")
@page
def map_data(event_id):
    """The event page's map: the community boundary, the point, the 到场 check-ins and the neighbours."""
    return read(event_map.map_data, event_id, services().settings.map_neighbours_m)


@bp.get("/events/<int:event_id>/whistle-order")
@page
def whistle_order(event_id):
    """哨单 (§7.3), laid out for printing."""
    order = read(whistle.build, event_id)
    whistled_by = people.named([order["whistled_by"]])[order["whistled_by"]]       # 吹哨人员 by name
    return render_template("ui/whistle_order.html", order=order, whistled_by=whistled_by, event_id=event_id)
