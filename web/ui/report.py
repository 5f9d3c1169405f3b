"""上报 on a phone (issue #6, §5, §7.1): type picker from the catalog, description, the current position (the
phone's GPS, WGS-84) or an address alone (then 分拨定位), photos from the camera. The source picker offers
only the sources the user may register (engine/accounts/permissions.py `sources_for`); a "one thing" matter (§5.5) picks
an Appendix B code, a superior assignment (§5.6) names the body and its deadline, and a user of no
community (the city) picks the community. A grid worker or a stationed officer may tick 即知即改 (fixed on the
spot): the page then asks for the photos after the fix (required) and before it, and what was done
(engine/casework/on_spot.py). The report and its photos are stored in one unit before the process starts, as
through the API; a refused one comes back with what was typed and the reason under each field.

In the field (issue #20, docs/offline.md): static/report.js sends the form with fetch (`Accept: application/json`), so
a refused report is answered with its reasons (`placed`: each under its field) and the page keeps everything
typed and every photo chosen; without JavaScript the form posts as a page and comes back with the reasons. Each
form carries a `submission` key: a repeat of a key already registered (a double tap, Back and 上报 again, a
draft resent after a lost answer) shows the event it made, and registers nothing again. A report kept on the
phone while offline carries `drafted_at`, the time it was made there; the phone's one service worker (/sw.js,
scope "/": the app shell of 上报, the drafts' background sync, the live inbox's notifications) is served here."""
from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime
from pathlib import Path

from flask import (Blueprint, Response, abort, current_app, flash, g, jsonify, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf

from engine.casework import on_spot
from engine.pool import events, registration
from engine.accounts import permissions
from engine.core.clock import SHANGHAI
from engine.core.errors import Forbidden, InvalidData
from web.api.photos import checked_uploads
from web.auth import public
from web.ui.events import FRONTEND, VENDOR
from web.ui.session import page
from web.units import services, start, store
from web.words import by_field, say

bp = Blueprint("ui_report", __name__)


def _payload(form, user) -> dict:
    payload = {"source": form.get("source") or next(iter(permissions.sources_for(user, events.SOURCES)), ""),
               "type_code": form.get("type_code", ""), "description": form.get("description", "").strip(),
               "location": {"address": form.get("address", "").strip()}}
    lat, lng = form.get("lat", "").strip(), form.get("lng", "").strip()
    if lat or lng:
        try:
            payload["location"].update(lat=float(lat), lng=float(lng), crs="wgs84")
        except ValueError:
            payload["location"].update(lat=lat, lng=lng)   # the engine names the field and the reason
    if form.get("community"):
        payload["community"] = form["community"]
    if form.get("drafted_at", "").strip():   # a report kept on the phone offline: when it was made there
        payload["drafted_at"] = form["drafted_at"].strip()
    if payload["source"] == "superior":   # the engine names a missing one
        if form.get("superior_body", "").strip():
            payload["superior_body"] = form["superior_body"].strip()
        if form.get("superior_deadline", "").strip():
            payload["superior_deadline"] = _local_instant(form["superior_deadline"].strip())
    if form.get(on_spot.FLAG):            # 即知即改: the engine asks for its after photos
        payload[on_spot.FLAG] = True
        if form.get(on_spot.SUMMARY, "").strip():
            payload[on_spot.SUMMARY] = form[on_spot.SUMMARY].strip()
    contact = {k: form.get(f"contact_{k}", "").strip() for k in ("name", "phone")}
    if any(contact.values()):
        payload["reporter_contact"] = {k: v for k, v in contact.items() if v}
    return payload


def _local_instant(text: str) -> str:
    """A datetime-local field (2026-10-10T17:00, the user's wall time in Longgang) as an instant with its
    offset; anything else is passed on for the engine to name."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return text
    return when.replace(tzinfo=SHANGHAI).isoformat() if when.tzinfo is None else text


#: where each refused field's reason is shown on the form, in the form's order: (the place, the fields it shows —
#: the field itself or any part of it, `photos.1`); anything else is said above the 上报 button ("form")
PLACES = (("source", ("source",)), ("community", ("community",)), ("type_code", ("type_code",)),
          ("superior_body", ("superior_body",)), ("superior_deadline", ("superior_deadline",)),
          ("description", ("description",)), ("position", ("location.lat", "location.lng", "location.crs")),
          ("address", ("location",)), ("photos", ("photos",)), ("handled_on_spot", ("handled_on_spot",)),
          ("on_spot_summary", ("on_spot_summary",)), ("after_photos", ("after_photos",)),
          ("before_photos", ("before_photos",)), ("contact", ("reporter_contact",)))


def placed(errors: dict[str, str]) -> dict[str, list[str]]:
    """Each reason under the field it names (PLACES), the rest under "form"."""
    spots: dict[str, list[str]] = {}
    for name, reason in errors.items():
        spot = next((place for place, fields in PLACES
                     if any(name == f or name.startswith(f + ".") for f in fields)), "form")
        spots.setdefault(spot, []).append(reason)
    return spots


def _wants_json() -> bool:
    """The page's own script (static/report.js) asks for JSON; a form posted without it, for a page."""
    return request.accept_mimetypes.best_match(("text/html", "application/json")) == "application/json"


@bp.route("/report", methods=["GET", "POST"])
@page
def report():
    svc, user = services(), g.user
    sources = permissions.sources_for(user, events.SOURCES)
    if not sources:
        raise Forbidden("您的角色不能上报事件 (your role may not register events)", field="source")
    errors, values, status = {}, {}, 200
    if request.method == "POST":
        values = request.form
        payload = _payload(request.form, user)
        try:   # the report and its photos in one unit, as through the API
            found = checked_uploads("photos")
            fixed = {name: checked_uploads(name) for name in on_spot.PHOTO_FIELDS}
            event, created = store(registration.report, payload, request.form.get("submission"), found, fixed)
        except InvalidData as err:
            errors = by_field(err.details["errors"])
            status = 422
        except Forbidden as err:
            errors = {err.details.get("field") or "community": say(err.message)}
            status = 403
        else:
            return _registered(event, created)
        if _wants_json():
            return jsonify(errors=errors, placed=placed(errors), message=_("请按提示修改后再提交")), status
    types = svc.catalogs.offered("event_types")     # a retired row is no longer offered (issue #19)
    matters = [{"value": m["code"], "label": f"{m['code']} {m['name']}"}
               for m in svc.catalogs.offered("one_thing_matters")] if "one_thing" in sources else []
    communities = svc.catalogs.options("communities") if user.community is None else []
    return render_template("ui/report.html", nav="report", types=types, matters=matters, errors=placed(errors),
                           values=values, offered=sources, communities=communities, map_tiles=svc.settings.map_tiles,
                           on_spot=permissions.may_report_on_spot(user), words=_words(),
                           submission=_submission_key()), status


def _words() -> dict[str, str]:
    """What static/report.js says, in the page's language."""
    return {"sending": _("正在上报…"), "refused": _("请按提示修改后再提交"),
            "too_large": _("照片太大，未能上报：请少选几张或重新拍摄"),
            "failed": _("上报未成功，请稍后再试；已填写的内容和照片都还在本页"),
            "signed_out": _("登录已过期，请重新登录后再上报"), "shrinking": _("正在压缩照片…"),
            "shrunk": _("照片已压缩：%(before)s → %(after)s"),
            "kept_offline": _("没有信号：这条上报已保存在本机「待发送」，恢复网络后自动发送"),
            "kept_signed_out": _("登录已过期：这条上报已保存在本机「待发送」，重新登录后自动发送"),
            "waiting": _("待发送"), "editing": _("修改中"), "sent": _("已发送"), "refused_draft": _("未通过"),
            "made_at": _("填写于"), "photo_count": _("照片 %(n)s 张"), "open": _("打开修改"), "delete": _("删除"),
            "confirm_delete": _("删除这条未发送的上报？删除后无法恢复。"),
            "sent_count": _("已发送 %(n)s 条"), "still_offline": _("仍然没有信号，恢复网络后自动发送"),
            "sign_in_first": _("请先登录，登录后自动发送"),
            "pick_hint": _("在地图上点选事发位置"), "picked": _("已选定位置：%(lat)s, %(lng)s")}


def _registered(event, created: bool):
    """The event a report made — or, for a key already registered, the one it made before (nothing new):
    the event page with what happened, or (the page's script) JSON saying it. A report kept offline and sent
    later by the phone on its own (`X-Eventflow-Background`) is listed there with its number: no flash for a page
    it never opened."""
    start(event.id)          # a retry whose first attempt stopped after storing it starts it too
    said = _("已上报，事件编号 %(number)s", number=event.number) if created else \
        _("该事件已上报，编号 %(number)s（未重复上报）", number=event.number)
    url = url_for("ui_events.show", event_id=event.id)
    kind = "success" if created else "warning"          # a repeat: said apart from a fresh report
    if not _wants_json():
        flash(said, kind)
        return redirect(url)
    if not request.headers.get("X-Eventflow-Background"):
        flash(said, kind)
    return jsonify(event_id=event.id, number=event.number, url=url, created=created, message=said), \
        201 if created else 200


def _submission_key() -> str:
    """One key per form shown: a double tap or a resend after a lost answer registers the event once."""
    return secrets.token_urlsafe(16)


@bp.get("/report/map.json")
@page(rule=permissions.REPORT)
def map_data():
    """GeoJSON of the boundaries of the communities the user reports in (their own; the city's: all), for the
    map pin (static/pick_map.js): the place picked where GPS cannot be had (plain HTTP, indoors)."""
    mine = g.user.community
    features = [{"type": "Feature", "geometry": f["geometry"],
                 "properties": {"kind": "community", "name": f["properties"].get("name")}}
                for f in services().catalogs.get("communities")["features"]
                if mine is None or f["properties"]["code"] == mine]
    return {"type": "FeatureCollection", "features": features}


@bp.get("/report/session")
@page(rule=permissions.REPORT)
def session_info():
    """Who is signed in here (their drafts are the ones to send) and a fresh CSRF token for sending them: a
    draft may be sent days after its page was made, after a new sign-in (web/frontend/src/drafts.js). Never
    stored by a cache."""
    return {"user": g.user.id, "csrf_token": generate_csrf()}, 200, {"Cache-Control": "no-store"}


@bp.get("/offline")
@public
def offline():
    """The page the service worker shows for a page asked for without signal: 上报 still works."""
    return render_template("ui/offline.html", nav="")


#: the app shell of 上报 offline, precached by the service worker with revisions of their content
SHELL_STATIC = ("ui.css", "ui.js", "report.js", "live.js", "pick_map.js")
#: the pages (navigations) and data (fetches) of 上报 kept for without signal: from the network first
SHELL_VENDOR = ("drafts.js", "image-compression.js", "leaflet.js", "leaflet.css")
_revisions: dict[tuple, str] = {}


def _revision(path) -> str:
    """A file's content hash (the same on every app node, unlike its time), kept while the file is unchanged."""
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _revisions:
        _revisions[key] = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return _revisions[key]


@bp.get("/sw.js")
@public
def service_worker():
    """The service worker (web/frontend/src/sw.js, built by esbuild), with the shell's files and their
    revisions before it: a changed file changes this script, so phones take the new worker and files."""
    built = FRONTEND.parent / "dist" / "sw.js"
    if not built.is_file():
        abort(404)
    static = current_app.static_folder
    shell = [{"url": url_for("static", filename=name), "revision": _revision(Path(static) / name)}
             for name in SHELL_STATIC if (Path(static) / name).is_file()]
    shell += [{"url": url_for("ui_events.vendor", name=name), "revision": _revision(FRONTEND / VENDOR[name])}
              for name in SHELL_VENDOR if (FRONTEND / VENDOR[name]).is_file()]
    pages = {"keep": [url_for("ui_report.report")], "data": [url_for("ui_report.map_data")],
             "offline": url_for("ui_report.offline"),
             "report": url_for("ui_report.report"), "session": url_for("ui_report.session_info"),
             "signout": url_for("ui_session.logout"), "signin": url_for("ui_session.login")}
    head = f"self.__EVENTFLOW_PRECACHE = {json.dumps(shell)};\nself.__EVENTFLOW_PAGES = {json.dumps(pages)};\n"
    response = Response(head + built.read_text(encoding="utf-8"), mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"
    return response
