"""账号管理 in the web app (issue #6): a system administrator lists the staff accounts, creates one, changes
its roles and scope, resets its password, disables it, and imports many from a spreadsheet (xlsx/CSV).
The engine checks and audits every change (engine/accounts/users.py, engine/accounts/user_import.py); a refused one names
each field and keeps what was typed."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.accounts import permissions, user_import, users
from engine.core.errors import Conflict, InvalidData, NotFound
from engine.accounts.users import ROLES
from web.auth import services
from web.ui.session import page
from web.units import page_asked, read, run
from web.words import by_field, say

bp = Blueprint("ui_users", __name__, url_prefix="/admin/users")


def _form_account(form) -> dict:
    """The account fields as the form posts them (an empty select is no community / unit)."""
    return {"display_name": form.get("display_name", "").strip(), "roles": form.getlist("roles"),
            "community": form.get("community") or None, "unit": form.get("unit") or None,
            "sensitive_access": bool(form.get("sensitive_access"))}


def _choices() -> dict:
    catalogs = services().catalogs
    roles = {r["value"]: r["label"] for r in catalogs.options("roles")}
    units = catalogs.options("units")
    return {"roles": [(code, roles.get(code, code)) for code in ROLES], "communities": catalogs.options("communities"),
            "units": units, "unit_names": {u["value"]: u["label"] for u in units}}


def _accounts_page(values=None, errors=None, imported=None, status=200):
    found = read(users.list_accounts, page_asked())
    return render_template("ui/admin/users.html", nav="admin", accounts=found.items, page=found,
                           values=values or {"roles": []}, errors=errors or {}, imported=imported,
                           **_choices()), status


@bp.route("", methods=["GET", "POST"])
@page(rule=permissions.USERS)
def index():
    """The accounts, and 新建账号."""
    if request.method == "GET":
        return _accounts_page()
    values = {**_form_account(request.form), "username": request.form.get("username", "").strip(),
              "password": request.form.get("password", "")}
    try:
        created = run(users.create_account, values, services().settings.scrypt_n)
    except InvalidData as err:
        return _accounts_page(values, _by_field(err), status=422)
    flash(_("已新建账号 %(name)s", name=created["username"]))
    return redirect(url_for("ui_users.index"))


@bp.route("/<int:user_id>", methods=["GET", "POST"])
@page(rule=permissions.USERS)
def edit(user_id):
    values, errors, status = read(users.account, user_id), {}, 200
    if request.method == "POST":
        changes = {**_form_account(request.form), "active": bool(request.form.get("active"))}
        if request.form.get("password"):
            changes["password"] = request.form["password"]
        values = {**values, **changes}
        try:
            run(users.update_account, user_id, changes, services().settings.scrypt_n)
            flash(_("已保存账号 %(name)s", name=values["username"]))
            return redirect(url_for("ui_users.index"))
        except InvalidData as err:
            errors, status = _by_field(err), 422
        except (Conflict, NotFound) as err:
            errors, status = {err.details.get("field", "(form)"): say(err.message)}, err.status
    return render_template("ui/admin/user.html", nav="admin", account=values, errors=errors, **_choices()), status


@bp.post("/import")
@page(rule=permissions.USERS)
def import_users():
    """批量导入: every row checked, all created or none; the initial passwords shown once, here."""
    upload = request.files.get("file")
    errors, imported, status = {}, None, 200
    if upload is None or not upload.filename:
        errors, status = {"file": _("请选择 xlsx 或 CSV 文件")}, 422
    else:
        try:
            imported = run(user_import.import_users, upload.filename, upload.read(), services().settings.scrypt_n)
        except InvalidData as err:
            errors, status = _by_field(err), 422
    body, status = _accounts_page(errors=errors, imported=imported, status=status)
    return body, status, {"Cache-Control": "no-store"}          # the initial passwords are shown this once


def _by_field(err: InvalidData) -> dict:
    return by_field(err.details["errors"])
