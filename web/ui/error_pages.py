"""The error page (issue #20): whatever goes wrong on a page — a query string a page cannot use, an address
that names nothing, a method a page does not take, an upload too large, a refusal — is answered with a page in
the user's language that says what was wrong (a parameter by its label) and offers a way back, with the status
the error has (400, 403, 404, 405, 413 …). Only the machine-facing paths (`MACHINE`: the API, Open311, and a
`.json` a page's script reads) answer JSON. Decided by the path, not by the blueprint, so an address that
matches no route gets the page too."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from web.ui import query
from web.ui.session import current_user
from web.words import say

#: the path prefixes machines call (web/api/: the API; Open311 GeoReport v2): their errors stay JSON
MACHINE = ("/api", "/open311")


def is_page() -> bool:
    """Whether this request's errors are answered with a page (everything but `MACHINE` and a `.json`)."""
    path = request.path
    if any(path == prefix or path.startswith(prefix + "/") for prefix in MACHINE):
        return False
    return not path.endswith(".json")


def _titles() -> dict:
    return {400: _("请求有误"), 401: _("请先登录"), 403: _("无权访问"), 404: _("找不到该页面"),
            405: _("不能这样打开此页面"), 409: _("无法办理"), 413: _("提交的内容太大"), 422: _("提交的内容有误")}


def _messages() -> dict:
    return {400: _("链接中的参数或提交的内容有误。"), 401: _("登录已过期或尚未登录，请登录后再试。"),
            403: _("您的账号没有访问此页面的权限。如需办理，请联系本单位管理员。"),
            404: _("地址有误，或该页面已不存在。请检查地址，或从导航进入。"),
            405: _("此地址只能由页面上的按钮或表单提交，不能直接打开或刷新。请返回上一页重新操作。"),
            413: _("上传的文件太大，请减少或压缩照片后再提交。"), 500: _("服务器处理时出错，请稍后重试。")}


def problems(errors: list[dict]) -> list[dict]:
    """Each refused field or parameter with its label and the reason (engine/core/errors.py InvalidData)."""
    shown = []
    for error in errors or []:
        field = str(error.get("field") or "")
        name, reason = query.label(field), say(str(error.get("reason") or ""))
        shown.append({"field": field, "label": name,
                      "text": reason if name and name in reason else _("「%(label)s」%(reason)s", label=name, reason=reason)})
    return shown


def _back_links(status: int, signed_in: bool) -> list[dict]:
    """Ways back: the page the user came from (this site's only), this page without its query string (a
    parameter it could not use), and 待办, or the sign-in page for someone signed out."""
    links = []
    came_from = request.referrer or ""
    parts = urlsplit(came_from)
    if came_from and parts.scheme in ("http", "https") and parts.netloc == request.host \
            and parts.path.startswith("/") and parts.path != request.path:     # this site's page: its path alone
        links.append({"href": parts.path + (f"?{parts.query}" if parts.query else ""), "text": _("返回上一页"),
                      "testid": "back"})
    if status == 400 and request.method == "GET" and request.args:
        links.append({"href": request.path, "text": _("重新打开本页（不带筛选条件）"), "testid": "plain"})
    if signed_in:
        links.append({"href": url_for("ui_tasks.index"), "text": _("返回待办"), "testid": "home"})
    else:       # signed out: sign in (and come back, where the sign-in was what was missing)
        back = status == 401 and request.method == "GET"
        links.append({"href": url_for("ui_session.login", next=request.full_path.rstrip("?")) if back
                      else url_for("ui_session.login"), "text": _("登录"), "testid": "login"})
    return links


def page(status: int, title: str | None = None, message: str | None = None, errors: list[dict] | None = None,
         headers=None):
    """The error page: `title` and `message` (by default the status's own words), each refused parameter or
    field named by its label, and the ways back."""
    signed_in = current_user() is not None
    body = render_template("ui/error.html", title=title or _titles().get(status, _("出错了")),
                           message=message if message is not None else _messages().get(status, ""),
                           problems=problems(errors or []), links=_back_links(status, signed_in), status=status)
    return body, status, headers or []


def http(err: HTTPException, headers: list, limit: int | None = None):
    """An HTTP error (404 no such page, 405 a method the page does not take, 413 …) as the page, with the
    `headers` it carries (a 405's `Allow`); a 413 says the limit."""
    message = None
    if err.code == 413 and limit:
        message = _("上传的内容超过 %(mb)s MB，请减少或压缩照片后再提交。", mb=f"{limit / 1024 / 1024:.0f}")
    return page(err.code or 500, message=message, headers=headers)
