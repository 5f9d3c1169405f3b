"""The web app's set-up (issue #6): session secret, CSRF (Flask-WTF), language (Flask-Babel), the words
every page uses, and HTML error pages for the app's pages (the API keeps its JSON errors: web/ui/error_pages.py)."""
from __future__ import annotations

import logging
import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

from flask import request, url_for
from flask_babel import Babel, get_locale, gettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError, CSRFProtect

from engine.pool import events as pool
from engine.accounts import permissions
from engine.casework import tasks as work
from engine.notices import live as live_feed
from engine.core.errors import EventflowError
from web.ui import error_pages, people
from web.words import say
from web.words import set_up as set_up_words

log = logging.getLogger(__name__)
TRANSLATIONS = Path(__file__).resolve().parents[1] / "translations"
#: the audit trail's actions in the words staff read
ACTION_WORDS = {"reported": _l("上报登记"), "process_started": _l("流程启动"), "task_completed": _l("办理"), "deadline_set": _l("时限开始"),
                "whistle_dispatched": _l("吹哨派单"), "part_dispatched": _l("协办派单"), "source_notified": _l("反馈来源"),
                "deadline_missed": _l("超期"), "deadline_warning": _l("预警"), "timer_fired": _l("计时到期"), "transferred": _l("转办"),
                "transferred_in": _l("转入"), "withdrawn": _l("撤单"), "message_received": _l("收到消息"), "reopened": _l("重启"),
                "placed": _l("分拨定位"), "awaiting_placement": _l("待分拨定位"), "jurisdiction_routed": _l("按属地入池"),
                "photos_added": _l("上传照片"), "duplicate_suspected": _l("疑似重复"), "duplicate_reported": _l("有疑似重复上报"),
                "merged_into": _l("合并至"), "merged_from": _l("合并入"), "duplicate_dismissed": _l("不是重复"),
                "overdue": _l("超期记录"), "task_claimed": _l("认领"), "comment": _l("留言"), "urged": _l("催办"),
                "citizen_update": _l("群众补充"), "extension_requested": _l("申请延期"), "extension_decided": _l("延期审批"),
                "sensitive_viewed": _l("查看（敏感事件）"), "task_released": _l("取消认领"), "part_reported": _l("协办反馈"),
                "task_delegated": _l("下派"), "delegation_taken_back": _l("收回下派"), "delegation_warning": _l("下派预警"),
                "delegation_missed": _l("下派超期"),
                "whistle_returned": _l("退回吹哨"), "return_ruled": _l("退回裁定"),
                "instance_suspended": _l("挂起"), "instance_resumed": _l("恢复办理"), "instance_terminated": _l("终止"),
                "timer_rearmed": _l("时限调整"), "process_restarted": _l("重新启动"),
                "incident_opened": _l("流程异常"), "incident_retried": _l("重试"), "escalated": _l("逐级通知"),
                "revisit_opened": _l("安排回访"), "revisit_recorded": _l("回访"), "whistle_unlisted": _l("清单外吹哨"),
                "instance_migrated": _l("迁移到新流程版本"), "alert_repeated": _l("设备再次告警")}
#: the on-site steps (issue #19): 到场 checked against the event's location, 即知即改 reported and verified
ACTION_WORDS.update({"arrival_checked": _l("到场核验"), "on_spot_reported": _l("即知即改上报"),
                     "on_spot_confirmed": _l("即知即改核实确认"), "on_spot_rejected": _l("即知即改核实未通过")})
PHOTO_FLAGS = {"far": _l("拍摄地点远离事发地"), "old": _l("拍摄时间早于上报"), "no_exif": _l("无拍摄信息")}


def secret_key(settings) -> str:
    """EVENTFLOW_SECRET_KEY, or the one kept in a file beside a SQLite database (made at its first start), or a
    random one for this process's life."""
    if settings.secret_key:
        return settings.secret_key
    if settings.database_url.startswith("sqlite:///") and not settings.database_url.endswith(":memory:"):
        path = Path(settings.database_url.split("///", 1)[1]).parent / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(48))
        return path.read_text().strip()
    log.warning("EVENTFLOW_SECRET_KEY is not set: web sessions end when this process stops")
    return secrets.token_urlsafe(48)


def set_up(app, api_blueprints) -> None:
    from web.ui import (admin, dashboard, events, field, live, notices, processes, report, returns, session,
                        spot_checks, tasks, users)
    from web.ui import delegation, exports, my_notices
    settings = app.extensions["eventflow"].settings
    app.config.update(SECRET_KEY=secret_key(settings), SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=bool(settings.secure_cookies),
                      PERMANENT_SESSION_LIFETIME=timedelta(seconds=settings.token_ttl_seconds),
                      # the cookie is sent only by an answer that changed the session: a page's own requests
                      # (its map's data, the live stream) run beside what it posts, and one answered after it
                      # would otherwise put back the session as it was, losing the post's flash (已上报). The
                      # session ends with its token anyway, so it gains nothing from being sent again
                      SESSION_REFRESH_EACH_REQUEST=False,
                      WTF_CSRF_TIME_LIMIT=settings.token_ttl_seconds,
                      BABEL_DEFAULT_LOCALE="zh_CN", BABEL_TRANSLATION_DIRECTORIES=str(TRANSLATIONS))
    csrf = CSRFProtect(app)
    for bp in api_blueprints:          # the API authenticates with bearer tokens, not cookies
        csrf.exempt(bp)
    Babel(app, locale_selector=session.select_locale)
    set_up_words(app)                  # `|say`: a message in the reader's language (issue #20)
    for module in (session, tasks, events, report, admin, users, processes, dashboard, field, spot_checks, notices, live,
                   returns):
        app.register_blueprint(module.bp)
    app.register_blueprint(delegation.bp)     # 下派 (issue #19)
    app.register_blueprint(my_notices.bp)     # 我的通知方式 (issue #18)
    app.register_blueprint(exports.bp)        # 我的导出 (issue #17)

    @app.context_processor
    def words():
        if not is_page():       # a page's path, whatever its blueprint: an error page of an unknown path too
            return {}
        svc = app.extensions["eventflow"]
        user = session.current_user()
        # the 待办 badge, and where the page's live stream starts (web/live.py: nothing after this is missed)
        count, since = svc.read(lambda s: (work.count_for(s, user, svc.catalogs),
                                           live_feed.position(s, 0.0).text())) if user else (0, "")
        return {"current_user": user, "task_count": count, "live_since": since,
                "may_manage": bool(user) and permissions.MANAGE.allows(user),
                "may_assess": bool(user) and permissions.INDICATORS.allows(user),
                "may_patrol": bool(user) and permissions.may_patrol(user),
                "may_see_hazards": bool(user) and permissions.may_see_hazards(user),
                "may_spot_check": bool(user) and permissions.SPOT_CHECK.allows(user),
                "may_read_spot_checks": bool(user) and permissions.SPOT_CHECK_READ.allows(user),
                "may_read_circular": bool(user) and permissions.CIRCULAR.allows(user),
                "may_read_returns": bool(user) and permissions.RETURNS_READ.allows(user),
                "may_see_unlisted": bool(user) and permissions.UNLISTED_WHISTLES.allows(user),
                "may_report": bool(user) and bool(permissions.sources_for(user, pool.SOURCES)),
                "sources": {k: gettext(v) for k, v in pool.SOURCES.items()},
                "status_words": {k: gettext(v) for k, v in pool.STATUS_WORDS.items()}, "action_words": ACTION_WORDS,
                "photo_flags": PHOTO_FLAGS,
                "languages": session.LANGUAGES, "locale": str(get_locale()),
                "type_name": lambda code: _type_name(svc.catalogs, code),
                "community_name": lambda code: (svc.catalogs.community(code) or {}).get("name", code) if code
                else _("待分拨"),
                "unit_name": lambda code: (svc.catalogs.unit(code) or {}).get("name", code) if code else "",
                "assignee": lambda t: _assignee(svc.catalogs, t), "page_url": page_url}


def page_url(cursor: str) -> str:
    """This page again at the page of `cursor` (上一页 / 下一页), its other query arguments kept as they came,
    written as the query string: given to url_for as keywords, one named like its own (`endpoint`,
    `_external`, `_scheme`, `_anchor`) broke the page or changed the link."""
    args = {**request.args.to_dict(flat=False), "cursor": [cursor]}
    return f"{url_for(request.endpoint, **(request.view_args or {}))}?{urlencode(args, doseq=True)}"


def _type_name(catalogs, code) -> str:
    """事件类型 in words: Table A.1's category and content (人行道秩序整治), or the Appendix B matter."""
    row = catalogs.event_type(code)
    if row:
        return f"{row['category']} · {row['content']}"
    matter = catalogs.one_thing_matter(code) or {}
    return matter.get("name") or matter.get("title") or ""


def _assignee(catalogs, task) -> str:
    if task.get("unit"):
        return (catalogs.unit(task["unit"]) or {}).get("name", task["unit"])
    if task.get("person"):                  # a person's task (分工, 下派): their name, never the login
        return people.named([task["person"]])[task["person"]]
    return (catalogs.community(task.get("community")) or {}).get("name", task.get("community") or "")


def is_page() -> bool:
    """Whether this request's errors are answered with a page (web/ui/error_pages.py: by path)."""
    return error_pages.is_page()


def error_page(status: int, title: str | None, message: str, errors: list[dict] | None = None):
    body, status, _headers = error_pages.page(status, title, message, errors)
    return body, status


def register_errors(app) -> None:
    """HTML for the app's pages; the API's handlers (web/errors.py) answer everything else."""
    @app.errorhandler(CSRFError)
    def csrf_error(err):
        return error_page(400, _("页面已过期"), _("请返回上一页刷新后重新提交。"))


def page_error(err: EventflowError):
    """A domain error on one of the app's pages, in words (no hint whether a hidden event exists)."""
    if err.status == 404:
        return error_page(404, _("找不到该页面"), _("事件或任务不存在，或您无权查看。"))
    errors = err.details.get("errors") if isinstance(err.details.get("errors"), list) else None
    if errors:
        message = _("链接中的参数有误：") if err.status == 400 and request.method == "GET" else _("请修改下列内容后再试：")
    else:
        message = say(err.message)
    return error_page(err.status, None, message, errors)
