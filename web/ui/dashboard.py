"""考核看板 in the web app (issue #8): the §8.6 indicators of communities, units or people for a period —
a table with numerators and denominators, charts (ECharts from npm: a comparison, a six-month trend, a map
of events by community) and exports to Excel and CSV; the §9.1 circular and the §9.2 monthly report, laid
out for printing, as Excel files and as PDFs; the 督办 board."""
from __future__ import annotations

import tempfile
from datetime import datetime, time, timedelta

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wsgi import wrap_file

from engine.accounts import permissions
from engine.accounts.users import ROLES
from engine.limits.supervision import records as supervision_records
from engine.core.clock import SHANGHAI
from engine.core.errors import InvalidData
from engine.exports import jobs as exports
from engine.exports import spreadsheets
from engine.oversight import assessment, comparison, indicators, monthly_report
from engine.oversight import circular as circulars
from engine.oversight import unlisted_whistles as unlisted
from web.auth import services
from web.ui import people, query
from web.ui.session import page
from web.units import page_asked, read, run_unique

bp = Blueprint("ui_dashboard", __name__)
LEVEL_WORDS = {"community": "社区", "unit": "单位", "person": "个人"}


def _period():
    """[from 00:00, the day after `to` 00:00) in Asia/Shanghai; default: this month up to today."""
    today = services().clock.now().astimezone(SHANGHAI).date()
    first, last = query.day("from", today.replace(day=1)), query.day("to", today)   # else 400 naming it
    if last < first:
        first, last = last, first
    return first, last, datetime.combine(first, time(), SHANGHAI), datetime.combine(last + timedelta(days=1), time(), SHANGHAI)


def _level():
    if request.args.get("level") == "department":
        return "unit"
    return query.one_of("level", {k: _(LEVEL_WORDS[k]) for k in indicators.LEVELS}, "unit")   # else 400 naming it


@bp.get("/dashboard")
@page(rule=permissions.INDICATORS)
def dashboard():
    svc = services()
    level = _level()
    first, last, start, end = _period()
    weights = assessment.parse_weights(svc.settings.assessment_weights)
    required = assessment.parse_required(svc.settings.assessment_requires)
    before = comparison.previous_period(start, end)

    def build(cmd):     # each period's indicators are counted once, for the table, 环比 and the scores with their rank
        found = indicators.compute(cmd.session, level, start, end)
        previous = indicators.compute(cmd.session, level, *before)
        return (indicators.report(cmd, level, start, end, found, previous), indicators.trend(cmd, level, end),
                indicators.events_by_community(cmd, start, end),
                assessment.compared(cmd.session, cmd.catalogs, level, start, end, weights,
                                    svc.settings.assessment_deduction, required, found, previous))
    rows, trend, by_community, scores = read(build)
    rows.sort(key=lambda r: _standing(scores.get(r["key"]), r["key"]))
    shown = {v["reason"] for r in rows for v in r["indicators"].values() if v["reason"]}
    charts = {"parties": [r["name"] for r in rows],
              "on_time": [r["indicators"]["on_time_rate"]["value"] for r in rows],
              "disposal": [r["indicators"]["disposal_rate"]["value"] for r in rows],
              "first_time": [r["indicators"]["first_time_rate"]["value"] for r in rows],
              "trend": trend, "map": svc.catalogs.get("communities"),
              "by_community": [{"name": (svc.catalogs.community(c) or {}).get("name", c), "value": n}
                               for c, n in by_community.items()]}
    return render_template("ui/dashboard.html", nav="dashboard", rows=rows, level=level, levels=LEVEL_WORDS,
                           first=first, last=last, charts=charts, formulas=indicators.INDICATORS, scores=scores,
                           full=sum(weights.values()), no_score=assessment.NO_DATA,
                           previous=(before[0].astimezone(SHANGHAI).date(), (before[1] - timedelta(days=1)).astimezone(SHANGHAI).date()),
                           reasons=[(k, m) for k, m in indicators.EMPTY_MEANING.items() if k in shown])


#: the order of the kinds of party in the table: a kind's parties together, in rank order
KIND_ORDER = [*comparison.UNIT_KINDS, *ROLES]


def _standing(score: dict | None, key: str) -> tuple:
    """Where a row goes in the table: by kind, then by rank (those without a score last), then by code."""
    score = score or {}
    kind = score.get("kind")
    return (KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER), score.get("rank") is None,
            score.get("rank") or 0, key)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _download(body: bytes, mimetype: str, filename: str) -> Response:
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/dashboard/export.<fmt>")
@page(rule=permissions.INDICATORS)
def export(fmt):
    if fmt not in ("xlsx", "csv"):
        abort(404)
    level = _level()
    first, last, start, end = _period()
    svc = services()
    weights = assessment.parse_weights(svc.settings.assessment_weights)
    required = assessment.parse_required(svc.settings.assessment_requires)
    before = comparison.previous_period(start, end)

    def build(cmd):     # as the page: each period counted once, for 环比 and the scores with their rank
        found = indicators.compute(cmd.session, level, start, end)
        previous = indicators.compute(cmd.session, level, *before)
        return (indicators.report(cmd, level, start, end, found, previous),
                assessment.compared(cmd.session, cmd.catalogs, level, start, end, weights,
                                    svc.settings.assessment_deduction, required, found, previous))
    items, scores = read(build)
    items.sort(key=lambda r: _standing(scores.get(r["key"]), r["key"]))
    header, rows = indicators.table(items, scores)
    name = f"indicators-{level}-{first.isoformat()}-{last.isoformat()}.{fmt}"
    if fmt == "xlsx":
        return _download(spreadsheets.xlsx(f"考核指标 {first}至{last}", header, rows), XLSX, name)
    return _download(spreadsheets.csv_bytes(header, rows), "text/csv; charset=utf-8", name)


@bp.get("/circular")
@page(rule=permissions.CIRCULAR)
def circular():
    """通报 (§9.1) for a period: each party's counts and its first entries of each category (a link pages
    through the rest), with the whole of it as an Excel file and a PDF."""
    first, last, start, end = _period()
    try:
        shown = circulars.first_of(request.args.get("first"))
    except InvalidData:
        raise query.bad("first", _("应为 1 到 %(n)s 的整数", n=circulars.FIRST_MAX)) from None
    notice = read(circulars.for_period, start, end, shown)
    return render_template("ui/circular.html", nav="dashboard", notice=notice, first=first, last=last,
                           levels=circulars.LEVELS)


@bp.get("/circular/entries")
@page(rule=permissions.CIRCULAR)
def circular_entries():
    """One party's entries of one category of the circular, newest first, a page at a time (上一页 / 下一页)."""
    first, last, start, end = _period()
    level = query.one_of("level", {k: _(circulars.LEVEL_WORDS[v]) for k, v in circulars.LEVELS.items()})
    category = query.one_of("category", {k: _(v) for k, v in circulars.CATEGORIES.items()})
    party = request.args.get("party")
    if not level or not category or not party:
        raise query.bad(next(n for n, v in (("level", level), ("category", category), ("party", party)) if not v),
                        _("必填：请从通报页面上的链接进入"))
    found = read(circulars.entries_page, start, end, level, party, category, page_asked())
    return render_template("ui/circular_entries.html", nav="dashboard", page=found, rows=found.items, first=first,
                           last=last, level=level, category=category,
                           party=read(circulars.party, level, party))


def _background(days: int) -> bool:
    """Whether an export is made a job (导出任务, issue #17) rather than streamed: asked for (后台生成, `?background=1`),
    or a period longer than EVENTFLOW_EXPORT_INLINE_DAYS (a year's circular PDF is minutes of CPU)."""
    return request.args.get("background") in ("1", "on", "true") or days > services().settings.export_inline_days


def _file(kind: str, fmt: str, params: dict, days: int) -> Response:
    """The whole export asked for: as a job the worker builds (the row written in this request's unit of work; the
    user goes to 我的导出), or written now by the same function into a temporary file as its lines are read (one
    read unit of work) and sent from the file; `X-Row-Count` says how many lines it has."""
    if _background(days):
        job = run_unique(exports.ask, kind, fmt, params)
        if job["repeated"]:
            flash(_("该导出已在后台生成中：%(title)s，无需重复导出；完成后在“消息”中通知。", title=job["title"]))
        else:
            flash(_("已转为后台生成：%(title)s，完成后在“消息”中通知，并可在此下载。", title=job["title"]))
        return redirect(url_for("ui_exports.mine"))
    out = tempfile.TemporaryFile()
    try:
        count = read(exports.write, kind, fmt, params, out)
        size = out.tell()
        out.seek(0)
    except BaseException:
        out.close()
        raise
    return Response(wrap_file(request.environ, out), mimetype=exports.FORMATS[fmt], direct_passthrough=True,
                    headers={"Content-Disposition": f'attachment; filename="{exports.filename(kind, fmt, params)}"',
                             "Content-Length": str(size), "X-Row-Count": str(count)})


def _circular_export(fmt: str) -> Response:
    first, last, _start, _end = _period()
    return _file("circular", fmt, {"from": first.isoformat(), "to": last.isoformat()}, (last - first).days + 1)


@bp.get("/circular.xlsx")
@page(rule=permissions.CIRCULAR)
def circular_xlsx():
    """The whole circular as an Excel file: one row a line, and a sheet 说明 with how many."""
    return _circular_export("xlsx")


@bp.get("/circular.pdf")
@page(rule=permissions.CIRCULAR)
def circular_pdf():
    """The whole circular as a PDF, how many lines it has said under the title."""
    return _circular_export("pdf")


@bp.get("/unlisted-whistles")
@page(rule=permissions.UNLISTED_WHISTLES)
def unlisted_whistles():
    """清单外吹哨 (§7.3.2) of a period: each community's count and the whistles with their reasons (the city: every
    community, or one; a community's people: their own)."""
    first, last, start, end = _period()
    asked = request.args.get("community") or None
    found = read(unlisted.listing, start, end, asked, page_asked())
    everyone = permissions.is_global(g.user)
    communities = services().catalogs.options("communities") if everyone else []
    return render_template("ui/unlisted_whistles.html", nav="dashboard", found=found, page=found, first=first,
                           last=last, communities=communities, everyone=everyone)


@bp.get("/supervision")
@page
def supervision():
    """督办 board (§9.1): the open supervision records the user may see, newest first, and what was poorly
    handled (处置不到位) in the last 30 days."""
    status = query.one_of("status", {"open": _("督办中"), "closed": _("已办结"), "all": _("全部")}, "open")
    found = read(supervision_records, {"status": status}, page_asked())
    return render_template("ui/supervision.html", nav="supervision", rows=found.items, page=found,
                           status=status, may_circulate=permissions.CIRCULAR.allows(g.user),
                           people=people.named(r["person"] for r in found.items),     # by name, never the login
                           poorly=read(circulars.poorly_handled))


def _monthly_asked() -> tuple[str, str]:
    """The monthly report (§9.2) asked for: `?community=` (the user's own if left out, the first for a city user;
    a community's people may read only theirs) and `?month=` (this month if left out)."""
    asked = request.args.get("community")
    if not asked and not g.user.community:     # a city user has none of their own: the first, then the page's select
        asked = next((c["value"] for c in services().catalogs.options("communities")), None)
    community = permissions.community_to_read(g.user, asked)
    return community, query.month("month", services().clock.now().astimezone(SHANGHAI).strftime("%Y-%m"))


@bp.get("/monthly-report")
@page
def monthly():
    """社区月报 (§9.2), laid out for printing (the browser's print gives the PDF), with its Excel file."""
    return render_template("ui/monthly.html", nav="dashboard", report=read(monthly_report.build, *_monthly_asked()),
                           communities=services().catalogs.options("communities"))


def _monthly_export(fmt: str) -> Response:
    community, month = _monthly_asked()
    return _file("monthly", fmt, {"community": community, "month": month}, 0)   # a month: streamed unless asked


@bp.get("/monthly-report.xlsx")
@page
def monthly_xlsx():
    return _monthly_export("xlsx")


@bp.get("/monthly-report.pdf")
@page
def monthly_pdf():
    return _monthly_export("pdf")
