"""导出任务 (issue #17, engine/exports/jobs.py): a whole year's circular asked on the page becomes a job the worker
builds — here its job function is run directly, no sleeps — and the file, downloaded from 我的导出 or the API,
holds what the streamed file of the same period holds; it is its asker's alone; an expired file is deleted and
its row says 已过期; a build that fails says why in Chinese and breaks nothing else; a short period still streams.
On SQLite and PostgreSQL (the `database_url` fixture)."""
from __future__ import annotations

import dataclasses
import io
from datetime import timedelta

from openpyxl import load_workbook
from sqlalchemy import select, update

from engine.exports import jobs as exports
from engine.store.models import ExportJob, Notification
from tests.web.test_deadlines import advance_to, now
from tests.web.test_indicators import history
from tests.web.test_sensitive import web_session

YEAR = "from=2026-01-01&to=2026-12-31"


def svc(app):
    return app.extensions["eventflow"]


def work(app) -> list[int]:
    """What `eventflow worker`'s `exports` job does on its interval, once."""
    return exports.run_due(svc(app).session_factory, svc(app).env)


def cells(data: bytes) -> dict:
    """Every sheet's cells (an Excel file's own timestamps aside)."""
    book = load_workbook(io.BytesIO(data))
    return {sheet.title: [[c.value for c in row] for row in sheet.iter_rows()] for sheet in book.worksheets}


def jobs_of(app, username):
    return svc(app).read(lambda s: [(j.id, j.status, j.error, j.file_name) for j in s.scalars(
        select(ExportJob).where(ExportJob.username == username).order_by(ExportJob.id))])


def test_a_years_circular_is_built_by_the_worker_and_downloads_as_the_streamed_file(app, api):
    e = history(api)
    page = web_session(app, "city1")
    r = page.get(f"/circular.xlsx?{YEAR}")
    assert r.status_code == 302 and r.headers["Location"].endswith("/exports")      # not streamed: a job
    listing = page.get("/exports").get_data(as_text=True)
    assert "通报 2026-01-01 至 2026-12-31" in listing and "排队中" in listing and "export-download" not in listing
    [(job_id, status, _error, _file)] = jobs_of(app, "city1")
    assert status == "queued"
    assert page.get(f"/exports/{job_id}/file").status_code == 404                      # not built yet

    assert work(app) == [job_id]
    assert work(app) == []                                                               # built once
    listing = page.get("/exports").get_data(as_text=True)
    assert "已完成" in listing and "circular-2026-01-01-2026-12-31.xlsx" in listing
    built = page.get(f"/exports/{job_id}/file")
    assert built.status_code == 200 and "circular-2026-01-01-2026-12-31.xlsx" in built.headers["Content-Disposition"]

    svc(app).settings = dataclasses.replace(svc(app).settings, export_inline_days=366)   # the same year, streamed
    streamed = page.get(f"/circular.xlsx?{YEAR}")
    assert streamed.status_code == 200 and int(streamed.headers["X-Row-Count"]) >= 4
    assert cells(built.data) == cells(streamed.data)
    assert e["E5"]["number"] in str(cells(built.data))

    # the requester is told, in 消息 (category 其他)
    told = svc(app).read(lambda s: [(n.kind, n.message) for n in s.scalars(
        select(Notification).where(Notification.recipient == "city1", Notification.kind == exports.READY))])
    assert len(told) == 1 and "我的导出" in told[0][1]
    # the API says the same, and only to its asker
    r = api.get(f"/api/exports/{job_id}", "city1")
    assert r.status_code == 200 and r.json["status"] == "done" and r.json["lines"] == int(streamed.headers["X-Row-Count"])
    assert api.get(f"/api/exports/{job_id}/file", "city1").data == built.data
    for other in ("admin1", "staff1"):
        assert api.get(f"/api/exports/{job_id}", other).status_code == 404
        assert api.get(f"/api/exports/{job_id}/file", other).status_code == 404
    assert web_session(app, "admin1").get(f"/exports/{job_id}/file").status_code == 404
    assert web_session(app, "admin1").get("/exports/999999/file").status_code == 404


def test_a_pdf_asked_in_the_background_equals_the_streamed_one_and_expires(app, api):
    history(api)
    page = web_session(app, "city1")
    short = "from=2026-10-08&to=2026-10-11"
    streamed = page.get(f"/circular.pdf?{short}")                                        # a short period streams
    assert streamed.status_code == 200 and streamed.data.startswith(b"%PDF")
    assert page.get(f"/circular.pdf?{short}&background=1").status_code == 302             # 后台生成 ticked
    [(job_id, *_rest)] = jobs_of(app, "city1")
    work(app)
    built = page.get(f"/exports/{job_id}/file")
    assert built.status_code == 200 and built.mimetype == "application/pdf"
    from pypdf import PdfReader
    text = ["".join(p.extract_text() for p in PdfReader(io.BytesIO(d)).pages) for d in (built.data, streamed.data)]
    assert text[0] == text[1] and "事件处置情况通报" in text[0]

    advance_to(api, now(api) + timedelta(days=7, minutes=1))
    work(app)
    [(_id, status, _error, name)] = jobs_of(app, "city1")
    assert status == "expired"
    assert not (svc(app).env.photos.media_dir / "exports" / name).exists()
    assert "已过期" in page.get("/exports").get_data(as_text=True)
    assert page.get(f"/exports/{job_id}/file").status_code == 404
    assert api.get(f"/api/exports/{job_id}", "city1").json["status"] == "expired"


def test_a_failing_build_says_why_and_stops_nothing_else(app, api):
    history(api)
    first = api.post("/api/exports", "city1", json={"kind": "circular", "format": "xlsx",
                                                    "first": "2026-10-01", "last": "2026-10-31"})
    second = api.post("/api/exports", "city1", json={"kind": "monthly", "format": "xlsx", "month": "2026-10",
                                                     "community": "lg-xincheng"})
    assert first.status_code == 202 and second.status_code == 202, (first.json, second.json)
    assert first.json["status"] == "queued"
    svc(app).run(lambda s: s.execute(update(ExportJob).where(ExportJob.id == first.json["id"])
                                     .values(params={"from": "2026-13-01", "to": "2026-10-31"})))
    assert sorted(work(app)) == sorted([first.json["id"], second.json["id"]])
    failed, built = (api.get(f"/api/exports/{r.json['id']}", "city1").json for r in (first, second))
    assert failed["status"] == "failed" and "开始日期" in failed["error"] and failed["download"] is None
    assert built["status"] == "done" and built["lines"] > 0
    listing = web_session(app, "city1").get("/exports").get_data(as_text=True)
    assert "失败" in listing and "开始日期" in listing and "已完成" in listing
    told = svc(app).read(lambda s: sorted(n.kind for n in s.scalars(
        select(Notification).where(Notification.recipient == "city1", Notification.kind.like("export%")))))
    assert told == [exports.FAILED, exports.READY]
    streamed = web_session(app, "city1").get("/monthly-report.xlsx?community=lg-xincheng&month=2026-10")
    assert cells(api.get(f"/api/exports/{second.json['id']}/file", "city1").data) == cells(streamed.data)


def test_what_is_asked_is_checked_field_by_field_and_by_the_exports_own_rule(app, api):
    def ask(user, **body):
        return api.post("/api/exports", user, json=body)
    r = ask("city1", kind="report", format="pdf")
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "kind" and "通报" in r.json["errors"][0]["reason"]
    r = ask("city1", kind="circular", format="doc", first="2026-01-01", last="2026-02-01")
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "format"
    for kind, fmt, field in (({}, "pdf", "kind"), ("circular", {}, "format"), (["monthly"], "pdf", "kind")):
        r = ask("city1", kind=kind, format=fmt, first="2026-01-01", last="2026-02-01")   # not even a name
        assert r.status_code == 422 and r.json["errors"][0]["field"] == field, r.json
    r = ask("city1", kind="circular", format="pdf", first="2026-01-01")
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "last"
    r = ask("city1", kind="circular", format="pdf", first="2026-03-01", last="2026-02-01")
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "last"
    r = ask("city1", kind="monthly", format="pdf", month="2026-13")
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "month"
    assert ask("zhifa1", kind="circular", format="pdf", first="2026-01-01", last="2026-12-31").status_code == 403
    r = ask("staff1", kind="monthly", format="pdf", month="2026-10", community="lg-yanjiang")   # not theirs
    assert r.status_code == 403 and r.json["field"] == "community"
    r = ask("city1", kind="monthly", format="pdf", month="2026-10", community="lg-nowhere")
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "community"
    assert api.get("/api/exports", "city1").json["items"] == []
    # the page: someone the circular is not published to is refused before any job is made
    assert web_session(app, "zhifa1").get(f"/circular.pdf?{YEAR}").status_code == 403
    assert jobs_of(app, "zhifa1") == []


def test_a_job_left_working_by_a_dead_worker_is_taken_once_more_then_failed(app, api):
    r = api.post("/api/exports", "city1", json={"kind": "monthly", "format": "xlsx", "month": "2026-10",
                                                "community": "lg-xincheng"})
    job_id = r.json["id"]
    stale = svc(app).env.export_stale
    for attempt in (1, 2):          # a worker claims it and dies before building it
        claimed = svc(app).run(lambda s: exports.claim(svc(app).env.command(s)))
        assert claimed["id"] == job_id and claimed["attempts"] == attempt
        assert svc(app).run(lambda s: exports.claim(svc(app).env.command(s))) is None      # not stale yet
        advance_to(api, now(api) + stale + timedelta(minutes=1))
    assert work(app) == []
    failed = api.get(f"/api/exports/{job_id}", "city1").json
    assert failed["status"] == "failed" and "重试" in failed["error"]


def test_the_same_export_asked_again_while_it_is_being_built_is_that_job(app, api):
    """A second click (or the page and the API both) while the export is still queued or being built finds that
    job: 200 with it, `repeated`; no second file is built. Another format, or another asker, is an export of its
    own; once it is built, asking again makes a new one (the period may have had more work since)."""
    year = {"kind": "circular", "format": "xlsx", "first": "2026-01-01", "last": "2026-12-31"}
    first = api.post("/api/exports", "city1", json=year)
    assert first.status_code == 202 and first.json["repeated"] is False
    again = api.post("/api/exports", "city1", json=year)
    assert again.status_code == 200 and again.json["repeated"] is True and again.json["id"] == first.json["id"]
    page = web_session(app, "city1")
    r = page.get(f"/circular.xlsx?{YEAR}", follow_redirects=True)
    assert "该导出已在后台生成中" in r.get_data(as_text=True) and "通报 2026-01-01 至 2026-12-31" in r.get_data(as_text=True)
    claimed = svc(app).run(lambda s: exports.claim(svc(app).env.command(s)))          # 生成中 now
    assert claimed["id"] == first.json["id"]
    assert api.post("/api/exports", "city1", json=year).json["id"] == first.json["id"]
    pdf = api.post("/api/exports", "city1", json={**year, "format": "pdf"})
    other = api.post("/api/exports", "committee1", json=year)
    assert pdf.status_code == other.status_code == 202
    assert len(jobs_of(app, "city1")) == 2 and len(jobs_of(app, "committee1")) == 1

    svc(app).run(lambda s: s.execute(update(ExportJob).where(ExportJob.id == first.json["id"])
                                     .values(status="queued")))                      # as if its worker went on
    assert sorted(work(app)) == sorted([first.json["id"], pdf.json["id"], other.json["id"]])
    fresh = api.post("/api/exports", "city1", json=year)
    assert fresh.status_code == 202 and fresh.json["id"] not in (first.json["id"], pdf.json["id"])
