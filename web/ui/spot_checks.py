"""抽查 in the web app (issue #8, §9.3): the city authority draws a sample of a community's ended events (办结,
不属实, 撤单 …, each shown with how it ended) or key hazard points — the seed shown, so anyone can draw it
again — and records a finding on each."""
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
from web.ui.session import page

bp = Blueprint("ui_spot_checks", __name__, url_prefix="/spot-checks")


def _day(name, default: date) -> datetime:
    try:
        day = date.fromisoformat(request.form.get(name) or default.isoformat())
    except ValueError:
        return None
    return datetime.combine(day, time(), SHANGHAI) if 1900 <= day.year <= 2200 else None


@bp.route("", methods=["GET", "POST"])
@page(rule=permissions.SPOT_CHECK)
def index():
    svc = services()
    user = g.user
    today = svc.clock.now().astimezone(SHANGHAI).date()
    errors, status = {}, 200
    if request.method == "POST":
        start = _day("from", today.replace(day=1))
        last = _day("to", today)
        end = last + timedelta(days=1) if last else None
        raw_seed, raw_size = (request.form.get("seed") or "").strip(), (request.form.get("size") or "").strip()
        seed = int(raw_seed) if raw_seed.isascii() and raw_seed.isdigit() else (None if not raw_seed else -1)
        size = int(raw_size) if raw_size.isascii() and raw_size.isdigit() else 0
        try:
            check_id = svc.run(lambda s: spot_checks.draw(s, svc.catalogs, user, svc.clock.now(),
                                                         request.form.get("community"), start, end, size, seed,
                                                         request.form.get("kind", "events")).id)
            flash(_("已抽取"))
            return redirect(url_for("ui_spot_checks.show", check_id=check_id))
        except InvalidData as err:
            errors, status = {e["field"]: e["reason"] for e in err.details["errors"]}, 422
    checks = svc.read(lambda s: [svc.runtime.spot_check(s, g.user, c) for c in spot_checks.recent(s, limit=50)])
    return render_template("ui/spot_checks.html", nav="dashboard", checks=checks, errors=errors, values=request.form,
                           communities=svc.catalogs.options("communities"), first=today.replace(day=1), last=today), status


@bp.route("/<int:check_id>", methods=["GET", "POST"])
@page(rule=permissions.SPOT_CHECK)
def show(check_id):
    svc = services()
    user = g.user
    errors, status = {}, 200
    if request.method == "POST":
        item = request.form.get("item", "")
        body = {"passed": request.form.get("passed") == "yes", "note": request.form.get("note")}
        kind = request.form.get("kind", "events")
        item_id = int(item) if item.isascii() and item.isdigit() and int(item) <= MAX_ID else -1
        try:
            svc.run(lambda s: spot_checks.record(s, user, svc.clock.now(), check_id, item_id, body, kind))
            flash(_("已记录抽查结论"))
            return redirect(url_for("ui_spot_checks.show", check_id=check_id))
        except (InvalidData, Conflict, NotFound) as err:
            errors = {e["field"]: e["reason"] for e in err.details.get("errors", [])} or {"(form)": err.message}
            status = err.status
    check = svc.read(lambda s: svc.runtime.spot_check(s, g.user, spot_checks.find(s, check_id)))   # 404 if none
    return render_template("ui/spot_check.html", nav="dashboard", check=check, errors=errors), status
