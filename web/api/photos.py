"""Photos over HTTP (§7.1 实时照片, §8.5 before/after photos): upload to an event, and serve one only to
users who may see the event. Decoding, limits, EXIF flags and storage are engine/pool/photos.py's."""
from flask import Blueprint, Response, g, jsonify, request

from engine.pool import events, photos
from web.auth import services, signed_in

bp = Blueprint("photos", __name__, url_prefix="/api/events")


def uploads(field: str) -> list[tuple[str | None, bytes]]:
    """(filename, bytes) of every file sent as multipart `field`. The request may be as large as
    engine.pool.photos.PER_REQUEST photos (EVENTFLOW_PHOTO_MAX_BYTES each): set before the body is read."""
    svc = services()
    request.max_content_length = svc.runtime.photos.request_limit(svc.settings.max_upload_bytes)
    found = []
    for upload in request.files.getlist(field):
        data = upload.read()
        if upload.filename or data:   # a form's empty file input sends a nameless, empty part
            found.append((upload.filename or None, data))
    return found


@bp.post("/<int:event_id>/photos")
@signed_in()
def upload(event_id):
    """Multipart `file` (may repeat): every file is decoded and checked before any is stored."""
    svc = services()
    user = g.user
    svc.read(lambda s: events.get_visible(s, event_id, user, svc.catalogs))  # 404 before reading photos
    checked = svc.runtime.check_photos(uploads("file"), "file")
    return jsonify(svc.run(lambda s: svc.runtime.add_photos(s, event_id, checked, user))), 201


@bp.get("/<int:event_id>/photos/<key>")
@signed_in()
def show(event_id, key):
    svc = services()
    user = g.user
    content_type, data = svc.read(lambda s: svc.runtime.photo_file(s, event_id, key, user))
    return photo_response(key, content_type, data)


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
