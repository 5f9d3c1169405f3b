"""The web app's set-up (issue #6): session secret, CSRF (Flask-WTF), language (Flask-Babel), the words
every page uses, and HTML error pages for the app's pages (the API keeps its JSON errors)."""
from __future__ import annotations

import logging
import os
import secrets
from datetime import timedelta
from pathlib import Path

from flask import render_template, request
from flask_babel import Babel, get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect

from engine import events, tasks
from engine.errors import EventflowError

log = logging.getLogger(__name__)
TRANSLATIONS = Path(__file__).resolve().parent / "translations"
UI_BLUEPRINTS = ("ui_session", "ui_tasks", "ui_events", "ui_report", "ui_admin")
#: the audit trail's actions in the words staff read
ACTION_WORDS = {"reported": "上报登记", "process_started": "流程启动", "task_completed": "办理", "deadline_set": "时限开始",
                "whistle_dispatched": "吹哨派单", "part_dispatched": "协办派单", "source_notified": "反馈来源",
                "deadline_missed": "超期", "deadline_warning": "预警", "timer_fired": "计时到期", "transferred": "转办",
                "transferred_in": "转入", "withdrawn": "撤单", "message_received": "收到消息", "reopened": "重启",
                "placed": "分拨定位", "awaiting_placement": "待分拨定位", "jurisdiction_routed": "按属地入池",
                "photos_added": "上传照片", "duplicate_suspected": "疑似重复", "duplicate_reported": "有疑似重复上报",
                "merged_into": "合并至", "merged_from": "合并入", "duplicate_dismissed": "不是重复",
                "overdue": "超期记录", "task_claimed": "认领", "comment": "留言", "urged": "催办", "sensitive_viewed": "查看（敏感事件）", "task_released": "取消认领", "part_reported": "协办反馈", "whistle_returned": "退回吹哨",
                "instance_suspended": "挂起", "instance_resumed": "恢复办理", "instance_terminated": "终止",
                "timer_rearmed": "时限调整", "process_restarted": "重新启动"}
PHOTO_FLAGS = {"far": "拍摄地点远离事发地", "old": "拍摄时间早于上报", "no_exif": "无拍摄信息"}


def _secret_key(settings) -> str:
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
    from web import ui_admin, ui_events, ui_report, ui_session, ui_tasks
    settings = app.extensions["eventflow"].settings
    app.config.update(SECRET_KEY=_secret_key(settings), SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=bool(settings.secure_cookies),
                      PERMANENT_SESSION_LIFETIME=timedelta(seconds=settings.token_ttl_seconds),
                      WTF_CSRF_TIME_LIMIT=settings.token_ttl_seconds,
                      BABEL_DEFAULT_LOCALE="zh_CN", BABEL_TRANSLATION_DIRECTORIES=str(TRANSLATIONS))
    csrf = CSRFProtect(app)
    for bp in api_blueprints:          # the API authenticates with bearer tokens, not cookies
        csrf.exempt(bp)
    Babel(app, locale_selector=ui_session.select_locale)
    for module in (ui_session, ui_tasks, ui_events, ui_report, ui_admin):
        app.register_blueprint(module.bp)

    @app.context_processor
    def words():
        if request.blueprint not in UI_BLUEPRINTS:
            return {}
        svc = app.extensions["eventflow"]
        user = ui_session.current_user()
        count = svc.read(lambda s: tasks.count_for(s, user, svc.catalogs)) if user else 0
        return {"current_user": user, "task_count": count, "may_manage": bool(user) and ui_admin.may_manage(user), "sources": {k: v.split(" §")[0] for k, v in events.SOURCES.items()},
                "status_words": events.STATUS_WORDS, "action_words": ACTION_WORDS, "photo_flags": PHOTO_FLAGS,
                "languages": ui_session.LANGUAGES, "locale": str(get_locale()),
                "type_name": lambda code: _type_name(svc.catalogs, code),
                "community_name": lambda code: (svc.catalogs.community(code) or {}).get("name", code) if code
                else _("待分拨"),
                "assignee": lambda t: _assignee(svc.catalogs, t)}


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
    if task.get("person"):
        return task["person"]
    return (catalogs.community(task.get("community")) or {}).get("name", task.get("community") or "")


def is_page() -> bool:
    return request.blueprint in UI_BLUEPRINTS


def error_page(status: int, title: str, message: str):
    return render_template("ui/error.html", title=title, message=message), status


def register_errors(app) -> None:
    """HTML for the app's pages; the API's handlers (web/errors.py) answer everything else."""
    @app.errorhandler(CSRFError)
    def csrf_error(err):
        return error_page(400, _("页面已过期"), _("请返回上一页刷新后重新提交。"))


def page_error(err: EventflowError):
    """A domain error on one of the app's pages, in words (no hint whether a hidden event exists)."""
    if err.status == 404:
        return error_page(404, _("找不到该页面"), _("事件或任务不存在，或您无权查看。"))
    titles = {403: _("无权访问"), 409: _("无法办理"), 401: _("请先登录")}
    return error_page(err.status, titles.get(err.status, _("出错了")), err.message)
