"""Photos over HTTP (§7.1 实时照片, §8.5 before/after photos): upload to an event, and serve one only to
users who may see the event. Decoding, limits, EXIF flags and storage are engine/pool/photos.py's."""
from flask import Blueprint, Response, request

from engine.pool import events, photos
from web.auth import signed_in
from web.units import read, run, services

bp = Blueprint("photos", __name__, url_prefix="/api/events")


def uploads(field: str) -> list[tuple[str | None, bytes]]:
    """(filename, bytes) of every file sent as multipart `field`. The request may be as large as
    engine.pool.photos.PER_REQUEST photos (EVENTFLOW_PHOTO_MAX_BYTES each): set before the body is read."""
    svc = services()
    request.max_content_length = svc.env.photos.request_limit(svc.settings.max_upload_bytes)
    found = []
    for upload in request.files.getlist(field):
        data = upload.read()
        if upload.filename or data:   # a form's empty file input sends a nameless, empty part
            found.append((upload.filename or None, data))
    return found


def checked(files, field: str) -> list[photos.Checked]:
    """Every upload decoded and checked before anything is stored (InvalidData names each bad one as
    `<field>.<index>`); none sent, none."""
    return services().env.photos.check(files, field) if files else []


def checked_uploads(field: str) -> list[photos.Checked]:
    """`checked` of the files sent as multipart `field`."""
    return checked(uploads(field), field)


@bp.post("/<int:event_id>/photos")
@signed_in()
def upload(event_id):
    """Multipart `file` (may repeat): every file is decoded and checked before any is stored."""
    read(lambda cmd: events.get_visible(cmd.session, event_id, cmd.user, cmd.catalogs))  # 404 before reading photos
    found = services().env.photos.check(uploads("file"), "file")   # none sent: 422
    return run(photos.add, event_id, found), 201


@bp.get("/<int:event_id>/photos/<key>")
@signed_in()
def show(event_id, key):
    return photo_response(key, *read(photos.photo_file, event_id, key))


def photo_response(key: str, content_type: str, data: bytes) -> Response:
    """A stored photo's bytes, for the API and the web app alike."""
    response = Response(data, mimetype=content_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private"
    # an uploaded file is shown, never run: no scripts, no plugins, even if opened directly
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Content-Disposition"] = f'inline; filename="{key}.{photos.extension(content_type)}"'
    response.set_etag(key)   # named by its content: the same key is always the same bytes
    return response.make_conditional(request)
