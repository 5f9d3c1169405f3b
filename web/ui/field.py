"""§9.2 in the field (issue #8): 巡查打卡 on a phone (the grid, the current position) and the key hazard points —
reported with before photos, rectified with after photos, verified by the committee or the city — as pages
of the web app. The engine checks and records each step (engine/oversight/hazards.py)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.oversight import hazards
from engine.accounts import permissions
from engine.core.errors import Conflict, Forbidden, InvalidData
from engine.store import paging
from web.api.photos import checked_uploads, photo_response
from web.auth import services
from web.ui.session import page
from web.words import by_field, say

bp = Blueprint("ui_field", __name__)
#: the patrol form's choice "another grid" (its name typed in `grid_other`): a grid not yet in the catalog
OTHER_GRID = "__other"




def _float(name):
    raw = (request.form.get(name) or "").strip()
    try:
        return float(raw) if raw else None
    except ValueError:
        return raw          # the engine names it


@bp.route("/patrol", methods=["GET", "POST"])
@page
def patrol():
    user = g.user
    if not permissions.may_patrol(user):
        abort(403)
    svc = services()
    errors, status = {}, 200
    # §9.2: the grids of the worker's community (catalogs/data/communities.geojson `grids`) to choose from;
    # a grid the catalog does not list yet is typed (free text only as the fallback)
    grids = (svc.catalogs.community(user.community) or {}).get("grids", []) if user.community else []
    if request.method == "POST":
        grid = request.form.get("grid", "")
        if grid == OTHER_GRID or (not grid and request.form.get("grid_other")):
            grid = request.form.get("grid_other", "")
        body = {"grid": grid, "lat": _float("lat"), "lng": _float("lng"), "note": request.form.get("note")}
        try:
            svc.run(lambda s: hazards.check_in(s, svc.catalogs, user, svc.clock.now(), body))
            flash(_("已打卡：%(grid)s", grid=body["grid"]))
            return redirect(url_for("ui_field.patrol"))
        except InvalidData as err:
            errors, status = by_field(err.details["errors"]), 422
    mine = svc.read(lambda s: hazards.list_patrols(s, username=user.username, page=paging.PageRequest(20)).items)
    return render_template("ui/patrol.html", nav="patrol", patrols=mine, errors=errors, grids=grids,
                           other_grid=OTHER_GRID, values=request.form), status


@bp.route("/hazards", methods=["GET", "POST"])
@page(rule=permissions.HAZARD_READ)
def hazard_list():
    user = g.user
    if not permissions.may_see_hazards(user):
        abort(403)
    svc = services()
    errors, status = {}, 200
    community = request.args.get("community") or user.community
    if request.method == "POST":
        body = {k: request.form.get(k) for k in ("title", "description", "address", "month")}
        body = {k: v for k, v in body.items() if v}
        try:
            checked = checked_uploads("before_photos")
            hazard_id = svc.run(lambda s: hazards.report_with_photos(
                s, svc.catalogs, svc.env.photos, user, svc.clock.now(), body, checked).id)
            flash(_("已上报重点隐患整治点"))
            return redirect(url_for("ui_field.hazard", hazard_id=hazard_id))
        except (InvalidData, Forbidden) as err:
            errors = by_field(err.details.get("errors", [])) or {"role": say(err.message)}
            status = err.status
    if not permissions.may_read_community(user, community):
        abort(403)

    return render_template("ui/hazards.html", nav="hazards", points=svc.read(lambda s: hazards.list_points(s, community).items),
                           errors=errors,
                           values=request.form, may_report=permissions.may_report_hazard(user, user.community),
                           month=hazards.month_of(svc.clock.now())), status


def _visible(point, user):
    if not permissions.may_read_community(user, point.community):
        abort(404)


@bp.route("/hazards/<int:hazard_id>", methods=["GET", "POST"])
@page(rule=permissions.HAZARD_READ)
def hazard(hazard_id):
    user = g.user
    svc = services()
    point = svc.read(lambda s: hazards.find(s, hazard_id))
    if point is None:
        abort(404)
    _visible(point, user)
    errors, status = {}, 200
    if request.method == "POST":
        action = request.form.get("action")
        try:
            if action == "rectify":
                checked = checked_uploads("after_photos")
                svc.run(lambda s: hazards.rectify_with_photos(s, svc.env.photos, user, svc.clock.now(), hazard_id,
                                                              {"note": request.form.get("note")}, checked))
                flash(_("已提交整改"))
            elif action == "verify":
                body = {"passed": request.form.get("passed") == "yes", "note": request.form.get("note")}
                svc.run(lambda s: hazards.verify(s, user, svc.clock.now(), hazard_id, body))
                flash(_("已验收") if body["passed"] else _("验收未通过，已退回整改"))
            else:
                abort(400)
            return redirect(url_for("ui_field.hazard", hazard_id=hazard_id))
        except (InvalidData, Forbidden, Conflict) as err:
            errors = by_field(err.details.get("errors", [])) or {"(form)": say(err.message)}
            status = err.status
        point = svc.read(lambda s: hazards.find(s, hazard_id))
    own = permissions.may_report_hazard(user, point.community)
    verifier = permissions.may_verify_hazard(user, point.community)
    return render_template("ui/hazard.html", nav="hazards", point=hazards.describe(point), errors=errors,
                           may_rectify=own and point.status in ("reported", "rejected"),
                           may_verify=verifier and point.status == "rectified"), status


@bp.get("/hazards/<int:hazard_id>/photos/<key>")
@page(rule=permissions.HAZARD_READ)
def hazard_photo(hazard_id, key):
    svc = services()
    point = svc.read(lambda s: hazards.find(s, hazard_id))
    if point is None:
        abort(404)
    _visible(point, g.user)
    content_type, data = hazards.photo(svc.env.photos, point, key)
    return photo_response(key, content_type, data)
