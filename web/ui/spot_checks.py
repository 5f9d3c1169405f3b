"""抽查 in the web app (issue #8, §9.3): the city authority draws a sample of a community's ended events (办结,
不属实, 撤单 …, each shown with how it ended) or key hazard points — the seed shown, so anyone can draw it
again — and records a finding on each. The results are published (§9.3 抽查通报): a community's people read
their own community's draws and findings here (permissions.SPOT_CHECK_READ), without the forms."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.accounts import permissions
from engine.oversight import spot_checks
from engine.core.clock import SHANGHAI
from engine.core.errors import Conflict, InvalidData, NotFound
from engine.core.ids import MAX_ID
from web.auth import services
from web.ui import people
from web.ui.session import page
from web.units import read, run

bp = Blueprint("ui_spot_checks", __name__, url_prefix="/spot-checks")


def _day(name, default: date) -> datetime:
    try:
        day = date.fromisoformat(request.form.get(name) or default.isoformat())
    except ValueError:
        return None
    return datetime.combine(day, time(), SHANGHAI) if 1900 <= day.year <= 2200 else None


@bp.route("", methods=["GET", "POST"])
@page(rule=permissions.SPOT_CHECK_READ)
def index():
    today = services().clock.now().astimezone(SHANGHAI).date()
    errors, status = {}, 200
    if request.method == "POST":
        permissions.SPOT_CHECK.require(g.user)      # drawing is the city's (§9.3); reading is published
        start = _day("from", today.replace(day=1))
        last = _day("to", today)
        end = last + timedelta(days=1) if last else None
        raw_seed, raw_size = (request.form.get("seed") or "").strip(), (request.form.get("size") or "").strip()
        seed = int(raw_seed) if raw_seed.isascii() and raw_seed.isdigit() else (None if not raw_seed else -1)
        size = int(raw_size) if raw_size.isascii() and raw_size.isdigit() else 0
        try:
            check_id = run(lambda cmd: spot_checks.draw(cmd, request.form.get("community"), start, end, size, seed,
                                                        request.form.get("kind", "events")).id)
            flash(_("已抽取"))
            return redirect(url_for("ui_spot_checks.show", check_id=check_id))
        except InvalidData as err:
            errors, status = {e["field"]: e["reason"] for e in err.details["errors"]}, 422
    return render_template("ui/spot_checks.html", nav="dashboard", checks=read(spot_checks.recent, limit=50),
                           errors=errors, values=request.form, communities=services().catalogs.options("communities"),
                           first=today.replace(day=1), last=today), status


@bp.route("/<int:check_id>", methods=["GET", "POST"])
@page(rule=permissions.SPOT_CHECK_READ)
def show(check_id):
    errors, status = {}, 200
    if request.method == "POST":
        permissions.SPOT_CHECK.require(g.user)
        item = request.form.get("item", "")
        body = {"passed": request.form.get("passed") == "yes", "note": request.form.get("note")}
        kind = request.form.get("kind", "events")
        item_id = int(item) if item.isascii() and item.isdigit() and int(item) <= MAX_ID else -1
        try:
            run(spot_checks.record, check_id, item_id, body, kind)
            flash(_("已记录抽查结论"))
            return redirect(url_for("ui_spot_checks.show", check_id=check_id))
        except (InvalidData, Conflict, NotFound) as err:
            errors = {e["field"]: e["reason"] for e in err.details.get("errors", [])} or {"(form)": err.message}
            status = err.status
    check = read(spot_checks.show, check_id)   # 404 if none
    checkers = people.named((i.get("finding") or {}).get("checked_by") for i in check["items"])   # by name
    return render_template("ui/spot_check.html", nav="dashboard", check=check, errors=errors,
                           checkers=checkers), status
