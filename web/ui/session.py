"""Signing in to the web app (issue #6): a session cookie that carries a token of engine/accounts/users.py, so it
expires exactly as a bearer token does (EVENTFLOW_TOKEN_TTL); every form posts a CSRF token (Flask-WTF);
the language is Simplified Chinese unless the user picks English (Flask-Babel)."""
from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from engine.accounts import permissions, sign_in, users
from engine.core.errors import TooManyAttempts, Unauthorized
from web.auth import public, services

bp = Blueprint("ui_session", __name__)
LANGUAGES = {"zh_CN": "中文", "en": "English"}


def current_user():
    """The signed-in user of this request, or None (an expired or revoked token signs the user out)."""
    if "ui_user" in g:
        return g.ui_user
    token, user = session.get("token"), None
    if token:
        svc = services()
        try:
            user = svc.read(lambda s: users.authenticate(s, svc.env.wall_clock, token))
        except Unauthorized:
            session.clear()
    g.ui_user = user
    return user


def page(view=None, rule: permissions.Rule = permissions.SIGNED_IN):
    """A page for signed-in users (`@page`, or `@page(rule=permissions.X)` for an operation rule of
    engine/accounts/permissions.py, refused with the 403 page): anyone else goes to the sign-in page and comes back."""
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            user = current_user()
            if user is None:
                return redirect(url_for("ui_session.login", next=request.full_path.rstrip("?")))
            g.user = user
            rule.require(user)
            return view(*args, **kwargs)
        wrapper.permission = rule
        return wrapper
    return decorate(view) if view is not None else decorate


def _safe_next(target: str | None) -> str:
    """Only a path of this site (no scheme, no host, no //evil.example)."""
    parts = urlsplit(target or "")
    if not target or parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("ui_tasks.index")
    return target


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    error, status, headers = None, 401, {}
    if request.method == "POST":
        username, password = request.form.get("username", "").strip(), request.form.get("password", "")
        try:
            token, _expires = services().sign_in(username, password, request.remote_addr)
        except Unauthorized:
            error = _("用户名或密码错误")
        except TooManyAttempts as refused:
            minutes = sign_in.minutes_to_wait(refused.details["retry_after"])
            error, status = _("登录失败次数过多，请%(minutes)s分钟后再试", minutes=minutes), 429
            headers = {"Retry-After": str(refused.details["retry_after"])}
        else:
            lang = session.get("lang")
            session.clear()                      # a fresh session at sign-in (no fixation)
            session.permanent = True
            session["token"] = token
            if lang:
                session["lang"] = lang
            return redirect(_safe_next(request.args.get("next")))
    return render_template("ui/login.html", error=error, username=request.form.get("username", "")), \
        status if error else 200, headers


@bp.post("/logout")
@public
def logout():
    token = session.get("token")
    if token:
        svc = services()
        svc.run(lambda s: users.revoke_token(s, token))
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("已退出登录"))
    return redirect(url_for("ui_session.login"))


@bp.post("/language")
@public
def language():
    code = request.form.get("lang")
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(_safe_next(request.form.get("next")))


def select_locale():
    return session.get("lang") or "zh_CN"
