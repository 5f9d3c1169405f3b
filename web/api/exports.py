"""导出任务 over HTTP (issue #17): a whole-period file — the §9.1 circular or the §9.2 monthly report, PDF or Excel —
built by `eventflow worker` rather than inside the request (engine/exports/jobs.py). Each export is its asker's
alone: another's answers 404, as a missing one does; the export's own rule (`circular`, or `community_read` with
the community in scope) is checked when it is asked for, when it is built (as the asker) and when it is fetched."""
from flask import Blueprint, send_file

from engine.core.errors import InvalidData
from engine.exports import jobs as exports
from web.auth import json_body, services, signed_in
from web.units import items, read, run_unique

bp = Blueprint("exports", __name__, url_prefix="/api")


@bp.post("/exports")
@signed_in()
def ask():
    """`{kind: circular|monthly, format: pdf|xlsx, first, last}` — the circular of the days first … last
    (YYYY-MM-DD) — or `{kind: monthly, format, month: YYYY-MM (else the month of first), community?}`: 202 with the
    queued export; GET /api/exports/{id} says when it is built. The same export asked again while it is still queued
    or being built: 200 with that job (`repeated`), no second one."""
    body = json_body()
    kind, fmt = body.get("kind"), body.get("format")
    if kind == "circular":
        params = {"from": body.get("first"), "to": body.get("last")}
        for name, key in (("first", "from"), ("last", "to")):
            if not isinstance(params[key], str) or not params[key]:
                raise InvalidData([{"field": name, "reason": "必填：日期，如 2026-01-01 (required: a date, YYYY-MM-DD)"}])
    else:
        first = body.get("first")
        params = {"month": body.get("month") or (first[:7] if isinstance(first, str) else None),
                  "community": body.get("community")}
    try:
        job = run_unique(exports.ask, kind, fmt, params)
    except InvalidData as err:    # the circular's days are asked as first and last
        names = {"from": "first", "to": "last"}
        raise InvalidData([{**e, "field": names.get(e["field"], e["field"])} for e in err.details["errors"]]) from None
    return job, 200 if job["repeated"] else 202


@bp.get("/exports")
@signed_in()
def mine():
    """The caller's exports, newest first (the last 50)."""
    return items(read(exports.mine))


@bp.get("/exports/<int:job_id>")
@signed_in()
def one(job_id: int):
    """One of the caller's exports: its status (queued | working | done | failed | expired), its file's size and
    lines once built, the reason in Chinese when it failed."""
    return read(exports.one, job_id)


@bp.get("/exports/<int:job_id>/file")
@signed_in()
def file(job_id: int):
    """The built file of one of the caller's exports (404 before it is built, and after it expired)."""
    path, name, mimetype = read(exports.file_of, services().settings.media_dir, job_id)
    return send_file(path, mimetype=mimetype, as_attachment=True, download_name=name)
