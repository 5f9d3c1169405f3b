"""导出任务 (issue #17): the whole-period files — the §9.1 circular and the §9.2 monthly report, as PDF or Excel —
built by `eventflow worker` instead of inside the web request (a year's circular PDF is ~24 s of ReportLab, too
near gunicorn's timeout).

- `write` is the one function that writes such a file, for the streaming routes of the web app and for the worker
  alike, as `cmd.user` may read it (their scope, §9.3; a sensitive event they may not see counted without number,
  text or names, engine/oversight/circular.py `export`), so a file is the same whichever built it.
- `ask` (the request's own unit of work) checks what was asked and who asks, and writes a queued `export_job` row.
- `run_due` (engine/jobs.py `exports`, on its own interval) claims one queued row at a time (FOR UPDATE SKIP LOCKED on
  PostgreSQL; SQLite has one writer), marks it 生成中 and commits, builds the file in a read-only unit as the
  requester — their roles and scope read again, the permission checked again — into <media_dir>/exports/, then
  records 已完成 or 失败 (the reason in Chinese) and tells the requester through the outbox (消息, the live inbox).
  A row left 生成中 longer than `env.export_stale` (its worker died) is taken once more, then failed. A file older
  than `env.export_keep` is deleted, its row kept as 已过期.
- `file_of`: the requester's file (anyone else: 404, as for a missing one), the permission checked again.
"""
from __future__ import annotations

import json
import logging
import os
import re
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import and_, or_, select

from engine.accounts import permissions
from engine.accounts.users import principal
from engine.core.clock import SHANGHAI, local
from engine.core.command import Command
from engine.core.errors import EventflowError, InvalidData, NotFound
from engine.exports import spreadsheets
from engine.notices.outbox import notify
from engine.oversight import circular as circulars
from engine.oversight import monthly_report
from engine.store import uow
from engine.store.models import ExportJob, User

log = logging.getLogger(__name__)

KINDS = {"circular": "通报", "monthly": "月报"}
FORMATS = {"pdf": "application/pdf", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
STATUS_WORDS = {"queued": "排队中", "working": "生成中", "done": "已完成", "failed": "失败", "expired": "已过期"}
#: the notices that tell the requester (category 其他 in 我的通知方式)
READY, FAILED = "export_ready", "export_failed"
#: a worker takes a row at most this many times (once more after a worker died on it)
ATTEMPTS = 2
FOLDER = "exports"
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


# -- what is asked ---------------------------------------------------------------------------------------------
def _day(params: dict, name: str, label: str) -> date:
    raw = params.get(name)
    try:
        if not isinstance(raw, str) or not _DAY.match(raw):
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidData([{"field": name, "reason": f"「{label}」应为日期，如 2026-01-01 (a date, YYYY-MM-DD)"}]) from None


def period(params: dict) -> tuple[date, date]:
    """The circular's days [first, last] asked for (`from`, `to`), checked, each error naming its field."""
    first, last = _day(params, "from", "开始日期"), _day(params, "to", "结束日期")
    if last < first:
        raise InvalidData([{"field": "to", "reason": "「结束日期」不能早于开始日期 (must not be before from)"}])
    return first, last


def bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """[first 00:00, the day after last 00:00) in Asia/Shanghai."""
    return (datetime.combine(first, time(), SHANGHAI), datetime.combine(last + timedelta(days=1), time(), SHANGHAI))


def check(cmd, kind: str, fmt: str, params: dict) -> dict:
    """What was asked, checked field by field, as it is kept: circular {from, to}; monthly {community, month};
    and whether `cmd.user` may have it (the named rule the export itself needs, and its scope)."""
    if not isinstance(kind, str) or kind not in KINDS:
        raise InvalidData([{"field": "kind", "reason": "「导出内容」应为 circular（通报）或 monthly（月报） (circular or monthly)"}])
    if not isinstance(fmt, str) or fmt not in FORMATS:
        raise InvalidData([{"field": "format", "reason": "「文件格式」应为 pdf 或 xlsx (pdf or xlsx)"}])
    if not isinstance(params, dict):
        raise InvalidData([{"field": "params", "reason": "「参数」应为对象 (an object)"}])
    if kind == "circular":
        first, last = period(params)
        kept = {"from": first.isoformat(), "to": last.isoformat()}
    else:
        month = params.get("month")
        if not isinstance(month, str) or not _MONTH.match(month):
            raise InvalidData([{"field": "month", "reason": "「月份」应为年月，如 2026-10 (a month, YYYY-MM)"}])
        community = params.get("community")
        if community is not None and not isinstance(community, str):
            raise InvalidData([{"field": "community", "reason": "「社区」应为社区代码 (a community code)"}])
        if not community and not (cmd.user and cmd.user.community):   # the city: the first, as the page does
            community = next((c["value"] for c in cmd.catalogs.options("communities")), None)
        kept = {"community": community or cmd.user.community, "month": month}
        if cmd.catalogs.community(kept["community"]) is None:
            raise InvalidData([{"field": "community", "reason": f"「社区」没有代码为 {kept['community']} 的社区 (unknown community)"}])
    allowed(cmd.user, kind, kept)
    return kept


def allowed(user, kind: str, params: dict) -> None:
    """Forbidden unless `user` may have this export: the circular's rule (`CIRCULAR`), or the monthly report's
    (`COMMUNITY_READ` and the community in their scope)."""
    if kind == "circular":
        permissions.CIRCULAR.require(user)
    else:
        permissions.COMMUNITY_READ.require(user)
        permissions.require_community(user, params["community"])


def filename(kind: str, fmt: str, params: dict) -> str:
    """The name the file is downloaded by (as the streaming routes name it)."""
    if kind == "circular":
        return f"circular-{params['from']}-{params['to']}.{fmt}"
    return f"monthly-{params['community']}-{params['month']}.{fmt}"


def title(kind: str, params: dict) -> str:
    """What the export is, in words: 通报 2026-01-01 至 2026-12-31, 月报 社区 2026-10."""
    if kind == "circular":
        return f"通报 {params['from']} 至 {params['to']}"
    return f"月报 {params['community']} {params['month']}"


# -- the one writer --------------------------------------------------------------------------------------------
def write(cmd, kind: str, fmt: str, params: dict, out) -> int:
    """Write the whole export into the binary file `out`, as `cmd.user` may read it; how many lines it has. The
    streaming routes and the worker both call this, so the file is the same whichever built it."""
    if kind == "circular":
        first, last = period(params)
        start, end = bounds(first, last)
        writer = _circular_xlsx if fmt == "xlsx" else _circular_pdf
        return circulars.export(cmd, start, end, lambda summary, lines: writer(out, summary, lines, first, last))
    report = monthly_report.build(cmd, params["community"], params["month"])
    header, rows = monthly_report.table(report)
    if fmt == "xlsx":
        out.write(spreadsheets.xlsx(f"月报 {report['community']} {report['month']}", header, rows))
    else:
        from engine.exports import pdf     # reportlab, loaded when a PDF is asked for
        out.write(pdf.monthly(report))
    return len(rows)


def _circular_xlsx(out, summary, lines, first, last) -> int:
    return spreadsheets.write_xlsx(out, f"通报 {first}至{last}", circulars.HEADER, (row for _, row in lines),
                                   [("事件处置情况通报", f"DB330383/T 5—2021 §9.1 · {first} 至 {last}"),
                                    ("说明", "涉密事件无权查看的，每类合并为一行「涉密事件 N 件」")])


def _circular_pdf(out, summary, lines, first, last) -> int:
    from engine.exports import pdf     # reportlab, loaded when a PDF is asked for
    pdf.circular(out, lines, summary.lines, first, last)
    return summary.lines


# -- the rows --------------------------------------------------------------------------------------------------
def pending_key(kind: str, fmt: str, params: dict) -> str:
    """What was asked as one string: the kind, the format and the parameters as kept (`check`), keys sorted."""
    return f"{kind}|{fmt}|{json.dumps(params, sort_keys=True, ensure_ascii=False)}"


def ask(cmd, kind: str, fmt: str, params: dict) -> dict:
    """A queued export for `cmd.user`, in the caller's unit of work (checked first: `check`). The same export
    asked again while it is still queued or being built is that job (`repeated`: a second click makes no second
    file); once it is built or failed, asking again makes a new one (the period may have had more work since).
    Two asks racing meet at `uq_export_job_pending`: the loser's unit runs again and finds the winner's job."""
    kept = check(cmd, kind, fmt, params)
    key = pending_key(kind, fmt, kept)
    row = cmd.session.scalars(select(ExportJob).where(ExportJob.username == cmd.user.username,
                                                      ExportJob.pending_key == key)).first()
    if row is not None:
        return {**to_dict(row), "repeated": True}
    row = ExportJob(username=cmd.user.username, kind=kind, format=fmt, params=kept, status="queued", attempts=0,
                    pending_key=key, created_at=cmd.now())
    cmd.session.add(row)
    cmd.session.flush()
    return {**to_dict(row), "repeated": False}


def to_dict(row: ExportJob) -> dict:
    return {"id": row.id, "kind": row.kind, "kind_name": KINDS.get(row.kind, row.kind), "format": row.format,
            "params": row.params, "title": title(row.kind, row.params) if _readable(row) else row.kind,
            "status": row.status, "status_name": STATUS_WORDS.get(row.status, row.status),
            "filename": filename(row.kind, row.format, row.params) if _readable(row) else None,
            "size": row.size, "lines": row.lines, "error": row.error,
            "created_at": local(row.created_at), "started_at": local(row.started_at),
            "finished_at": local(row.finished_at), "expires_at": local(row.expires_at),
            "download": f"/exports/{row.id}/file" if row.status == "done" else None}


def _readable(row: ExportJob) -> bool:
    """The row's parameters name what it is (a row made bad by hand still lists)."""
    try:
        filename(row.kind, row.format, row.params)
        title(row.kind, row.params)
        return True
    except (KeyError, TypeError):
        return False


def mine(cmd, limit: int = 50) -> list[dict]:
    """`cmd.user`'s exports, newest first."""
    rows = cmd.session.scalars(select(ExportJob).where(ExportJob.username == cmd.user.username)
                               .order_by(ExportJob.id.desc()).limit(limit))
    return [to_dict(r) for r in rows]


def _own(cmd, job_id: int) -> ExportJob:
    row = cmd.session.get(ExportJob, job_id)
    if row is None or row.username != cmd.user.username:     # another's is as missing as a missing one
        raise NotFound(f"导出任务 {job_id} 不存在 (export {job_id} does not exist)", field="id")
    return row


def one(cmd, job_id: int) -> dict:
    return to_dict(_own(cmd, job_id))


def file_of(cmd, media_dir, job_id: int) -> tuple[Path, str, str]:
    """(path, download name, mimetype) of `cmd.user`'s built export, the permission checked again."""
    row = _own(cmd, job_id)
    if row.status == "expired":
        raise NotFound(f"导出文件已过期并已删除 (the file expired after {cmd.env.export_keep.days} days)", field="id")
    if row.status != "done":
        raise NotFound(f"导出文件尚未生成：{STATUS_WORDS.get(row.status, row.status)} (not built: {row.status})",
                       field="id")
    allowed(cmd.user, row.kind, row.params)
    path = Path(media_dir).resolve() / FOLDER / row.file_name     # absolute: send_file reads a relative one elsewhere
    if not path.is_file():
        raise NotFound("导出文件已不存在 (the file is gone)", field="id")
    return path, filename(row.kind, row.format, row.params), FORMATS[row.format]


# -- the worker ------------------------------------------------------------------------------------------------
def claim(cmd) -> dict | None:
    """The next queued export (or one left 生成中 past `env.export_stale`), locked (SKIP LOCKED: another worker
    takes the next one), marked 生成中 in this unit; what to build, or None. One taken too often is failed."""
    session, now = cmd.session, cmd.now()
    while True:
        row = session.scalars(select(ExportJob).where(or_(
            ExportJob.status == "queued",
            and_(ExportJob.status == "working", ExportJob.started_at <= now - cmd.env.export_stale)))
            .order_by(ExportJob.id).limit(1).with_for_update(skip_locked=True)).first()
        if row is None:
            return None
        if row.attempts >= ATTEMPTS:
            _failed(cmd, row, "生成中断：生成它的后台进程已停止，重试一次仍未完成，请重新导出 "
                              "(the worker stopped while building it, and again on the retry)")
            continue
        row.status, row.started_at, row.attempts = "working", now, row.attempts + 1
        return {"id": row.id, "username": row.username, "kind": row.kind, "format": row.format,
                "params": row.params, "attempts": row.attempts}


def _failed(cmd, row: ExportJob, reason: str) -> None:
    row.status, row.error, row.finished_at, row.pending_key = "failed", reason, cmd.now(), None
    what = title(row.kind, row.params) if _readable(row) else KINDS.get(row.kind, row.kind)
    notify(cmd.session, cmd.catalogs, cmd.now(), None, "person", row.username, FAILED,
           f"导出失败：{what}。原因：{reason}。请到「我的导出」查看。")


def build(session_factory, env, media_dir, job: dict) -> None:
    """Build one claimed export as its requester, in a read-only unit (no write transaction is held while the
    file is written), then record 已完成 or 失败 in a short unit of its own."""
    folder = Path(media_dir) / FOLDER
    name = f"{job['id']}-{job['kind']}.{job['format']}"
    part = folder / f"{name}.part"
    try:
        folder.mkdir(parents=True, exist_ok=True)

        def written(session):
            user = session.scalars(select(User).where(User.username == job["username"])).first()
            if user is None or not user.active:
                raise InvalidData([{"field": "username", "reason": "申请人的账号已停用 (the requester's account is disabled)"}])
            cmd = Command(session, env, principal(user))
            kept = check(cmd, job["kind"], job["format"], job["params"])
            with open(part, "wb") as out:
                return write(cmd, job["kind"], job["format"], kept, out)
        lines = uow.read(session_factory, written)
        size = part.stat().st_size
        os.replace(part, folder / name)
    except Exception as err:  # noqa: BLE001 - a failing export is recorded, and stops nothing else
        part.unlink(missing_ok=True)
        if isinstance(err, EventflowError):      # names the field and the reason (InvalidData: field: reason)
            reason = err.message
        else:
            log.exception("export %s failed", job["id"])
            reason = f"生成文件时出错 (an error while building the file: {type(err).__name__})"
        uow.run(session_factory, lambda s: _record_failure(Command(s, env), job, reason))
        return
    uow.run(session_factory, lambda s: _record_done(Command(s, env), job, name, size, lines))


def _current(cmd, job: dict) -> ExportJob | None:
    """The row, if it is still this claim's (not taken again meanwhile as stale)."""
    row = cmd.session.get(ExportJob, job["id"], with_for_update=True)
    return row if row is not None and row.status == "working" and row.attempts == job["attempts"] else None


def _record_done(cmd, job: dict, name: str, size: int, lines: int) -> None:
    row = _current(cmd, job)
    if row is None:
        return
    now = cmd.now()
    row.status, row.file_name, row.size, row.lines, row.pending_key = "done", name, size, lines, None
    row.finished_at, row.expires_at, row.error = now, now + cmd.env.export_keep, None
    notify(cmd.session, cmd.catalogs, now, None, "person", row.username, READY,
           f"导出已完成：{title(row.kind, row.params)}（{row.format.upper()}，{lines} 行），请到「我的导出」下载，"
           f"{cmd.env.export_keep.days} 天内有效。")


def _record_failure(cmd, job: dict, reason: str) -> None:
    row = _current(cmd, job)
    if row is not None:
        _failed(cmd, row, reason)


def expire(cmd, media_dir) -> list[int]:
    """Delete the files past their `expires_at`; their rows are kept, 已过期."""
    rows = list(cmd.session.scalars(select(ExportJob).where(ExportJob.status == "done",
                                                            ExportJob.expires_at <= cmd.now())
                                    .with_for_update(skip_locked=True)))
    for row in rows:
        if row.file_name:
            (Path(media_dir) / FOLDER / row.file_name).unlink(missing_ok=True)
        row.status = "expired"
    return [r.id for r in rows]


def run_due(session_factory, env, limit: int = 10) -> list[int]:
    """The worker's job: expire old files, then build up to `limit` queued exports, one claimed at a time; the ids
    of those built (or failed)."""
    media_dir = env.photos.media_dir
    uow.run(session_factory, lambda s: expire(Command(s, env), media_dir))
    done = []
    for _ in range(limit):
        job = uow.run(session_factory, lambda s: claim(Command(s, env)))
        if job is None:
            break
        build(session_factory, env, media_dir, job)
        done.append(job["id"])
    return done
