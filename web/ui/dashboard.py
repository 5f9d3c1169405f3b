"""考核看板 in the web app (issue #8): the §8.6 indicators of communities, units or people for a period —
a table with numerators and denominators, charts (ECharts from npm: a comparison, a six-month trend, a map
of events by community) and exports to Excel and CSV."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import Blueprint, Response, abort, g, render_template, request

from engine.oversight import assessment, indicators
from engine.accounts import permissions
from engine.exports import spreadsheets
from engine.core.clock import SHANGHAI
from web.auth import services
from web.ui.session import page

bp = Blueprint("ui_dashboard", __name__)
LEVEL_WORDS = {"community": "社区", "unit": "单位", "person": "个人"}


def _period():
    """[from 00:00, the day after `to` 00:00) in Asia/Shanghai; default: this month up to today."""
    today = services().clock.now().astimezone(SHANGHAI).date()
    try:
        first = date.fromisoformat(request.args.get("from") or today.replace(day=1).isoformat())
        last = date.fromisoformat(request.args.get("to") or today.isoformat())
    except ValueError:
        abort(400)
    if not (1900 <= first.year <= 2200 and 1900 <= last.year <= 2200):
        abort(400)
    if last < first:
        first, last = last, first
    return first, last, datetime.combine(first, time(), SHANGHAI), datetime.combine(last + timedelta(days=1), time(), SHANGHAI)


def _level():
    level = request.args.get("level", "unit")
    level = "unit" if level == "department" else level
    if level not in indicators.LEVELS:
        abort(400)
    return level


def _report(session, level, start, end):
    svc = services()
    found = indicators.compute(session, level, start, end)
    keep = indicators.visible(session, svc.catalogs, g.user, level, found)
    return [indicators.describe(svc.catalogs, level, party, found[party]) for party in keep]


def _trend(session, level, end):
    """The last six months: the on-time and disposal rates of the visible parties together."""
    months = []
    month = (end - timedelta(seconds=1)).astimezone(SHANGHAI).date().replace(day=1)
    for _ in range(6):
        months.insert(0, month)
        month = (month - timedelta(days=1)).replace(day=1)
    points = []
    for first in months:
        nxt = (first + timedelta(days=32)).replace(day=1)
        rows = _report(session, level, datetime.combine(first, time(), SHANGHAI), datetime.combine(nxt, time(), SHANGHAI))
        total = {k: [0, 0] for k in ("on_time_rate", "disposal_rate")}
        for row in rows:
            for key in total:
                total[key][0] += row["indicators"][key]["numerator"]
                total[key][1] += row["indicators"][key]["denominator"]
        points.append({"month": first.strftime("%Y-%m"),
                       **{k: round(n / d, 4) if d else None for k, (n, d) in total.items()}})
    return points


@bp.get("/dashboard")
@page(rule=permissions.INDICATORS)
def dashboard():
    svc = services()
    level = _level()
    first, last, start, end = _period()

    weights = assessment.parse_weights(svc.settings.assessment_weights)

    def build(session):
        return (_report(session, level, start, end), _trend(session, level, end),
                indicators.events_by_community(session, start, end),
                assessment.scores(session, svc.catalogs, level, start, end, weights, svc.settings.assessment_deduction))
    rows, trend, by_community, scores = svc.read(build)
    by_community = _visible_counts(by_community)
    charts = {"parties": [r["name"] for r in rows],
              "on_time": [r["indicators"]["on_time_rate"]["value"] for r in rows],
              "disposal": [r["indicators"]["disposal_rate"]["value"] for r in rows],
              "first_time": [r["indicators"]["first_time_rate"]["value"] for r in rows],
              "trend": trend, "map": svc.catalogs.get("communities"),
              "by_community": [{"name": (svc.catalogs.community(c) or {}).get("name", c), "value": n}
                               for c, n in by_community.items()]}
    return render_template("ui/dashboard.html", nav="dashboard", rows=rows, level=level, levels=LEVEL_WORDS,
                           first=first, last=last, charts=charts, formulas=indicators.INDICATORS, scores=scores,
                           full=sum(weights.values()))


def _visible_counts(by_community: dict) -> dict:
    """The map shows every community to the city and administrators, and their own to everyone else."""
    return {c: n for c, n in by_community.items() if permissions.may_read_community_row(g.user, c)}


@bp.get("/dashboard/export.<fmt>")
@page(rule=permissions.INDICATORS)
def export(fmt):
    if fmt not in ("xlsx", "csv"):
        abort(404)
    svc = services()
    level = _level()
    first, last, start, end = _period()
    header, rows = indicators.table(svc.read(lambda s: _report(s, level, start, end)))
    name = f"indicators-{level}-{first.isoformat()}-{last.isoformat()}.{fmt}"
    if fmt == "xlsx":
        body = spreadsheets.xlsx(f"考核指标 {first}至{last}", header, rows)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body = spreadsheets.csv_bytes(header, rows)
        mimetype = "text/csv; charset=utf-8"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/circular")
@page(rule=permissions.CIRCULAR)
def circular():
    """通报 (§9.1) for a period, laid out for printing (the browser's print gives the PDF), with its Excel file."""
    svc = services()
    first, last, start, end = _period()
    notice = svc.read(lambda s: svc.runtime.circular(s, g.user, start, end))
    return render_template("ui/circular.html", nav="dashboard", notice=notice, first=first, last=last)


@bp.get("/circular.xlsx")
@page(rule=permissions.CIRCULAR)
def circular_xlsx():
    from engine.oversight import circular as circulars
    svc = services()
    first, last, start, end = _period()
    header, rows = circulars.table(svc.read(lambda s: svc.runtime.circular(s, g.user, start, end)))
    body = spreadsheets.xlsx(f"通报 {first}至{last}", header, rows)
    return Response(body, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="circular-{first}-{last}.xlsx"'})


@bp.get("/supervision")
@page
def supervision():
    """督办 board (§9.1): the open supervision records the user may see, newest first."""
    svc = services()
    user = g.user
    status = request.args.get("status") or "open"
    if status not in ("open", "closed", "all"):
        abort(400)
    rows = svc.read(lambda s: svc.runtime.supervision(s, user, {"status": status}))
    now = svc.clock.now()

    def poorly(session):
        """处置不到位 of the last 30 days (failed 核查), for the units and communities the user may see."""
        notice = svc.runtime.circular(session, user, now - timedelta(days=30), now)
        shown = []
        for level, parties in (("unit", notice["units"]), ("community", notice["communities"])):
            keep = set(indicators.visible(session, svc.catalogs, user, level, [p["key"] for p in parties]))
            shown += [{"party": p["name"], **entry} for p in parties if p["key"] in keep
                      for entry in p["entries"]["poorly_handled"]]
        return shown
    return render_template("ui/supervision.html", nav="supervision", rows=rows, status=status,
                           may_circulate=permissions.CIRCULAR.allows(user), poorly=svc.read(poorly))


def _report_args():
    """The community and month of a monthly report the user may see (a community's people: their own)."""
    user = g.user
    community = request.args.get("community") or user.community
    month = request.args.get("month") or services().clock.now().astimezone(SHANGHAI).strftime("%Y-%m")
    if not permissions.may_read_community(user, community):
        abort(403)
    return community, month


@bp.get("/monthly-report")
@page
def monthly():
    """社区月报 (§9.2), laid out for printing (the browser's print gives the PDF), with its Excel file."""
    from engine.oversight import monthly_report
    svc = services()
    community, month = _report_args()
    report = svc.read(lambda s: monthly_report.build(s, svc.catalogs, community, month))
    return render_template("ui/monthly.html", nav="dashboard", report=report,
                           communities=svc.catalogs.options("communities"))


@bp.get("/monthly-report.xlsx")
@page
def monthly_xlsx():
    from engine.oversight import monthly_report
    svc = services()
    community, month = _report_args()
    header, rows = monthly_report.table(svc.read(lambda s: monthly_report.build(s, svc.catalogs, community, month)))
    body = spreadsheets.xlsx(f"月报 {community} {month}", header, rows)
    return Response(body, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="monthly-{community}-{month}.xlsx"'})


@bp.get("/circular.pdf")
@page(rule=permissions.CIRCULAR)
def circular_pdf():
    from engine.exports import pdf
    svc = services()
    first, last, start, end = _period()
    notice = svc.read(lambda s: svc.runtime.circular(s, g.user, start, end))
    return Response(pdf.circular(notice, first, last), mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="circular-{first}-{last}.pdf"'})


@bp.get("/monthly-report.pdf")
@page
def monthly_pdf():
    from engine.oversight import monthly_report
    from engine.exports import pdf
    svc = services()
    community, month = _report_args()
    report = svc.read(lambda s: monthly_report.build(s, svc.catalogs, community, month))
    return Response(pdf.monthly(report), mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="monthly-{community}-{month}.pdf"'})
