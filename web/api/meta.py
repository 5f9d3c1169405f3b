"""Health, the OpenAPI description, and the reports of what the pages' Content-Security-Policy refused."""
import json
from datetime import timedelta
from pathlib import Path

from flask import Blueprint, current_app, request

from engine import jobs
from engine.core.errors import InvalidData
from web.auth import public, services
from web.headers import REPORTS
from engine.store import db

bp = Blueprint("meta", __name__, url_prefix="/api")
OPENAPI = Path(__file__).resolve().parents[1] / "openapi.json"


@bp.get("/health")
@public
def health():
    svc = services()
    try:
        svc.read(db.ping)
        database = "ok"
    except Exception as err:  # noqa: BLE001 - health reports, never raises
        database = f"error: {type(err).__name__}"
    return {"status": "ok" if database == "ok" else "degraded", "database": database,
            "clock": "simulated" if svc.clock.simulated else "system"}, 200 if database == "ok" else 503


@bp.get("/openapi.json")
@public
def openapi():
    return json.loads(OPENAPI.read_text(encoding="utf-8"))


#: the largest report read: a browser's is a few hundred bytes
REPORT_MAX_BYTES = 64 * 1024


@bp.post(REPORTS.removeprefix("/api"))
@public
def csp_reports():
    """What a browser's Content-Security-Policy refused on a page (web/headers.py `report-uri`), said once in the
    log: 204. Sent as `application/csp-report` (or the Reporting API's `application/reports+json`, or JSON)."""
    request.max_content_length = REPORT_MAX_BYTES      # 413 past it, a chunked body too
    raw = request.get_data(cache=False)
    try:
        current_app.extensions["eventflow_refusals"].take(json.loads(raw))
    except (ValueError, RecursionError):       # not JSON (UnicodeDecodeError is a ValueError), too deep, no report
        raise InvalidData([{"field": "(body)", "reason": "须为内容安全策略 (CSP) 的违规报告 JSON "
                                                        "(a Content-Security-Policy violation report as JSON)"}]) from None
    return "", 204


@bp.get("/health/worker")
@public
def worker_health():
    """Is `eventflow worker` doing its work? 200 when nothing it should have done is more than
    EVENTFLOW_LATE_AFTER_S overdue, 503 naming what is (engine/jobs.py `late_work`): for a monitor, beside
    /api/health, which an app node answers whatever the worker does."""
    svc = services()
    settings = svc.settings
    try:
        late = svc.read(lambda session: jobs.late_work(session, svc.clock.now(), timedelta(seconds=settings.late_after_seconds),
                                                       timedelta(seconds=settings.start_grace_seconds)))
    except Exception as err:  # noqa: BLE001 - health reports, never raises
        return {"status": "degraded", "database": f"error: {type(err).__name__}"}, 503
    behind = any(kind["late"] for kind in late.values())
    return {"status": "late" if behind else "ok", "late_after_s": settings.late_after_seconds, **late}, 503 if behind else 200
