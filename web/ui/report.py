"""上报 on a phone (issue #6, §5, §7.1): type picker from the catalog, description, the current position (the
phone's GPS, WGS-84) or an address alone (then 分拨定位), photos from the camera. The source picker offers
only the sources the user may register (engine/accounts/permissions.py `sources_for`); a "one thing" matter (§5.5) picks
an Appendix B code, a superior assignment (§5.6) names the body and its deadline, and a user of no
community (the city) picks the community. A grid worker or a stationed officer may tick 即知即改 (fixed on the
spot): the page then asks for the photos after the fix (required) and before it, and what was done
(engine/casework/on_spot.py). The report and its photos are stored in one unit before the process starts, as
through the API; a refused one comes back with what was typed and the reason under each field."""
from __future__ import annotations

import secrets
from datetime import datetime

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.casework import on_spot
from engine.pool import events, registration
from engine.accounts import permissions
from engine.core.clock import SHANGHAI
from engine.core.errors import Forbidden, InvalidData
from web.api.photos import checked_uploads
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
            event, _created = store(registration.report, payload, request.form.get("submission"), found, fixed)
        except InvalidData as err:
            errors = by_field(err.details["errors"])
            status = 422
        except Forbidden as err:
            errors = {err.details.get("field") or "community": say(err.message)}
            status = 403
        else:
            start(event.id)
            flash(_("已上报，事件编号 %(number)s", number=event.number))
            return redirect(url_for("ui_events.show", event_id=event.id))
    types = svc.catalogs.offered("event_types")     # a retired row is no longer offered (issue #19)
    matters = [{"value": m["code"], "label": f"{m['code']} {m['name']}"}
               for m in svc.catalogs.offered("one_thing_matters")] if "one_thing" in sources else []
    communities = svc.catalogs.options("communities") if user.community is None else []
    return render_template("ui/report.html", nav="report", types=types, matters=matters, errors=errors,
                           values=values, offered=sources, communities=communities,
                           on_spot=permissions.may_report_on_spot(user),
                           submission=_submission_key()), status


def _submission_key() -> str:
    """One key per form shown: a double tap or a resend after a lost answer registers the event once."""
    return secrets.token_urlsafe(16)
