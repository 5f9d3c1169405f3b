"""我的导出 (导出任务, issue #17): the whole-period exports the signed-in person asked for that the worker builds
(engine/exports/jobs.py) — each with its status, the reason in Chinese when it failed, and a download link once
built. The file is theirs alone: anyone else's, like a missing one, is the 404 page; the export's own permission
(通报: `circular`; 月报: `community_read` and the community) is checked again at the download."""
from __future__ import annotations

from flask import Blueprint, render_template, send_file

from engine.exports import jobs as exports
from web.auth import services
from web.ui.session import page
from web.units import read

bp = Blueprint("ui_exports", __name__, url_prefix="/exports")


@bp.get("")
@page
def mine():
    return render_template("ui/exports.html", nav="exports", jobs=read(exports.mine),
                           keep_days=services().settings.export_keep_days)


@bp.get("/<int:job_id>/file")
@page
def download(job_id: int):
    path, name, mimetype = read(exports.file_of, services().settings.media_dir, job_id)
    return send_file(path, mimetype=mimetype, as_attachment=True, download_name=name)
