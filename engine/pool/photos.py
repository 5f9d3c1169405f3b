"""Photos: 实时照片 of a report (§7.1) and before/after photos of a result (§8.5).

- **Checked by decoding.** The bytes are decoded with Pillow, whatever the file is called: only JPEG,
  PNG and WebP are accepted, within a size in bytes, a longest side and a pixel ceiling that is checked
  from the header *before* decoding (decompression bombs). A fake, truncated or corrupt file fails to
  decode and is refused, naming the upload (`photos.1`) and the reason.
- **EXIF.** DateTimeOriginal (with OffsetTimeOriginal, else Asia/Shanghai) and the GPS position (WGS-84
  decimal degrees) are read when present. Against the event: `far` when the GPS lies further than the
  configured distance from the event's location (geodesic on WGS-84), `old` when the capture time is
  more than the configured age before the report, `no_exif` when neither is there. Flags are for the
  registrar (§7.1 核实); they refuse nothing.
- **Stored once, referenced.** The file is kept under `<media_dir>/events/<event_id>/<sha256>.<ext>`,
  written atomically (temporary file, then os.replace); the row is unique per event and hash, so the
  same bytes uploaded twice make one file and one row. The event and task data hold the key (the hex
  SHA-256), never the bytes; a task form's photo field must name a photo stored for that task's event.
"""
from __future__ import annotations

import hashlib
import io
import math
import os
import re
import struct
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import NoReturn

from PIL import ExifTags, Image, UnidentifiedImageError
from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from engine.accounts import privacy
from engine.core.clock import SHANGHAI, local
from engine.core.errors import InvalidData, NotFound
from engine.pool import events
from engine.pool.location import distance_m
from engine.store.models import Audit, Event, Photo

#: decoded format → (content type, file extension); nothing else is accepted
FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}
#: a photo, not an icon or a tracking pixel
MIN_SIDE = 32
#: photos one request may carry (the forms' photo fields hold at most 9)
PER_REQUEST = 9
KEY = re.compile(r"^[0-9a-f]{64}$")
#: what a file that does not decode may raise inside Pillow's plugins
_UNDECODABLE = (OSError, SyntaxError, ValueError, TypeError, IndexError, EOFError, KeyError, struct.error)


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 8 * 1024 * 1024
    max_side: int = 10_000
    max_pixels: int = 50_000_000
    far_m: float = 500
    old: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class Checked:
    """An upload that decoded, with what its EXIF says; not stored yet."""

    data: bytes
    sha256: str
    format: str
    width: int
    height: int
    taken_at: datetime | None
    lat: float | None
    lng: float | None

    @property
    def content_type(self) -> str:
        return FORMATS[self.format][0]


def extension(content_type: str) -> str:
    """The file extension of a stored photo's content type (jpg, png, webp)."""
    return next(ext for kind, ext in FORMATS.values() if kind == content_type)


def _refuse(field: str, chinese: str, english: str, filename: str | None) -> NoReturn:
    named = f" — {filename[:100]}" if filename else ""
    raise InvalidData([{"field": field, "reason": f"{chinese} ({english}){named}"}])


def inspect(data: bytes, field: str, limits: Limits, filename: str | None = None) -> Checked:
    """Decode one upload; raise InvalidData naming `field` when it is not an acceptable photo."""
    if not data:
        _refuse(field, "文件为空", "the file is empty", filename)
    if len(data) > limits.max_bytes:
        _refuse(field, f"照片超过 {limits.max_bytes} 字节", f"larger than {limits.max_bytes} bytes", filename)
    try:
        # only the accepted formats' decoders ever see the bytes
        with Image.open(io.BytesIO(data), formats=list(FORMATS)) as img:
            width, height = img.size
            if max(width, height) > limits.max_side or width * height > limits.max_pixels:
                _refuse(field, f"照片尺寸 {width}×{height} 超出限制（边长 ≤ {limits.max_side}，像素 ≤ {limits.max_pixels}）",
                        f"{width}×{height} pixels exceeds a side of {limits.max_side} or {limits.max_pixels} pixels",
                        filename)
            if min(width, height) < MIN_SIDE:
                _refuse(field, f"照片过小（{width}×{height}，边长至少 {MIN_SIDE}）",
                        f"{width}×{height} pixels is smaller than {MIN_SIDE} on a side", filename)
            fmt = img.format
            img.load()  # decodes every pixel: a truncated or corrupt file fails here
            taken_at, (lat, lng) = _read_exif(img)
    except InvalidData:
        raise
    except Image.DecompressionBombError:
        _refuse(field, "照片像素过多", "too many pixels: a decompression bomb", filename)
    except UnidentifiedImageError:
        other = _format_name(data)
        if other:
            _refuse(field, f"不支持的图片格式 {other}，仅限 JPEG、PNG、WebP",
                    f"unsupported format {other}: JPEG, PNG or WebP only", filename)
        _refuse(field, "不是可识别的图片", "not an image that decodes", filename)
    except _UNDECODABLE as err:
        _refuse(field, "图片已损坏或不完整", f"the image does not decode: {err}", filename)
    return Checked(data, hashlib.sha256(data).hexdigest(), fmt, width, height, taken_at, lat, lng)


def _format_name(data: bytes) -> str | None:
    """The format of an image Pillow knows but eventflow refuses (GIF, BMP, TIFF …), to say so."""
    try:
        with Image.open(io.BytesIO(data)) as img:   # reads the header only
            return img.format
    except Exception:  # noqa: BLE001 - any failure means "not an image we can name"
        return None


def _read_exif(img) -> tuple[datetime | None, tuple[float | None, float | None]]:
    """(capture time, (lat, lng)); a damaged EXIF block counts as none (the photo itself decoded)."""
    try:
        exif = img.getexif()
        return _taken_at(exif), _position(exif)
    except Exception:  # noqa: BLE001 - EXIF is advisory: flagged no_exif, never a refusal
        return None, (None, None)


def _taken_at(exif) -> datetime | None:
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    raw = sub.get(ExifTags.Base.DateTimeOriginal)
    if not isinstance(raw, str):
        return None
    try:
        value = datetime.strptime(raw.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    offset = sub.get(ExifTags.Base.OffsetTimeOriginal)
    found = re.fullmatch(r"([+-])(\d{2}):(\d{2})", offset.strip("\x00 ")) if isinstance(offset, str) else None
    zone = SHANGHAI  # a camera that does not say its offset is taken to be on local time
    if found and int(found[2]) <= 14 and int(found[3]) < 60:
        sign = -1 if found[1] == "-" else 1
        zone = timezone(sign * timedelta(hours=int(found[2]), minutes=int(found[3])))
    return value.replace(tzinfo=zone).astimezone(timezone.utc)


def _position(exif) -> tuple[float | None, float | None]:
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    lat = _degrees(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef), "S")
    lng = _degrees(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef), "W")
    if lat is None or lng is None or not (-90 <= lat <= 90 and -180 <= lng <= 180):
        return None, None
    return lat, lng


def _degrees(dms, ref, negative: str) -> float | None:
    try:
        degrees, minutes, seconds = (float(v) for v in dms)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    value = degrees + minutes / 60 + seconds / 3600
    if not math.isfinite(value):
        return None
    return -value if isinstance(ref, str) and ref.strip("\x00 ").upper() == negative else value


def assess(checked: Checked, event: Event, limits: Limits) -> tuple[float | None, list[str]]:
    """(distance in metres from the event, flags) of a photo of this event; no distance for an event not placed
    yet (an address only, 分拨定位)."""
    flags, distance = [], None
    if checked.lat is not None and event.lat is not None:
        metres = distance_m(event.lat, event.lng, checked.lat, checked.lng)
        distance = round(metres, 1)
        if metres > limits.far_m:
            flags.append("far")
    if checked.taken_at is not None and checked.taken_at < event.created_at - limits.old:
        flags.append("old")
    if checked.taken_at is None and checked.lat is None:
        flags.append("no_exif")
    return distance, flags


class PhotoStore:
    """The media directory and the limits; built once from Settings (web/services.py)."""

    def __init__(self, media_dir, limits: Limits = Limits()):
        self.media_dir = Path(media_dir)
        self.limits = limits

    @classmethod
    def from_settings(cls, settings) -> "PhotoStore":
        return cls(settings.media_dir, Limits(max_bytes=settings.photo_max_bytes, max_side=settings.photo_max_side,
                                              max_pixels=settings.photo_max_pixels, far_m=settings.photo_far_m,
                                              old=timedelta(hours=settings.photo_old_h)))

    def request_limit(self, other_limit: int) -> int:
        """The largest request body that may carry PER_REQUEST photos (and a report beside them)."""
        return max(other_limit, self.limits.max_bytes * PER_REQUEST + 1024 * 1024)

    def check(self, uploads, field: str) -> list[Checked]:
        """Every upload ((filename, bytes) pairs) decoded before any is stored; InvalidData names each
        bad one as `<field>.<index>`."""
        if not uploads:
            raise InvalidData([{"field": field, "reason": "请附上照片 (attach at least one photo)"}])
        if len(uploads) > PER_REQUEST:
            raise InvalidData([{"field": field, "reason": f"一次最多 {PER_REQUEST} 张照片 "
                                                          f"(at most {PER_REQUEST} photos per request)"}])
        checked, errors = [], []
        for index, (filename, data) in enumerate(uploads):
            try:
                checked.append(inspect(data, f"{field}.{index}", self.limits, filename))
            except InvalidData as err:
                errors.extend(err.details["errors"])
        if errors:
            raise InvalidData(errors)
        return checked

    def path(self, event_id: int, sha256: str, content_type: str) -> Path:
        return self.media_dir / "events" / str(event_id) / f"{sha256}.{extension(content_type)}"

    def store(self, session, event: Event, checked: list[Checked], uploaded_by: str, now) -> list[Photo]:
        """Write each file (once) and its row (once per event and hash); the rows of `checked`, in order.
        The files are written before the unit of work commits: a rollback can leave a file without a
        row (harmless, rewritten by the next upload of those bytes), never a row without a file."""
        unique = list({c.sha256: c for c in checked}.values())
        rows = []
        for photo in unique:
            self._write(self.path(event.id, photo.sha256, photo.content_type), photo.data)
            distance, flags = assess(photo, event, self.limits)
            rows.append(dict(event_id=event.id, sha256=photo.sha256, content_type=photo.content_type,
                             bytes=len(photo.data), width=photo.width, height=photo.height,
                             taken_at=photo.taken_at, gps_lat=photo.lat, gps_lng=photo.lng, distance_m=distance,
                             flags=flags, uploaded_by=uploaded_by, uploaded_at=now))
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        session.connection().execute(insert(Photo.__table__).on_conflict_do_nothing(), rows)
        found = {p.sha256: p for p in session.scalars(select(Photo).where(
            Photo.event_id == event.id, Photo.sha256.in_([c.sha256 for c in unique])))}
        return [found[c.sha256] for c in unique]

    def store_under(self, folder: str, checked: list[Checked]) -> list[str]:
        """Photos of something that is not an event (a hazard point): written once under
        <media_dir>/<folder>/<sha256>.<ext>; their keys, in order."""
        unique = list({c.sha256: c for c in checked}.values())
        for photo in unique:
            self._write(self.media_dir / folder / f"{photo.sha256}.{extension(photo.content_type)}", photo.data)
        return [f"{photo.sha256}.{extension(photo.content_type)}" for photo in unique]

    def read_under(self, folder: str, key: str) -> bytes:
        if "/" in key or key.startswith("."):
            raise NotFound(f"photo {key} does not exist")
        try:
            return (self.media_dir / folder / key).read_bytes()
        except FileNotFoundError:
            raise NotFound(f"photo {key} does not exist") from None

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        if path.is_file() and path.stat().st_size == len(data):
            return  # named by its content: already there
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def read(self, photo: Photo) -> bytes:
        try:
            return self.path(photo.event_id, photo.sha256, photo.content_type).read_bytes()
        except FileNotFoundError:
            raise NotFound(f"photo {photo.sha256} is missing from the media directory") from None


def _lineage(session, event: Event) -> list[int]:
    """The event and those it was transferred from (转办 keeps the photos of the report)."""
    ids, current = [event.id], event.transferred_from_id
    while current is not None and current not in ids and len(ids) < 20:
        ids.append(current)
        current = session.scalar(select(Event.transferred_from_id).where(Event.id == current))
    return ids


_OF_EVENTS = (select(Photo).where(Photo.event_id.in_(bindparam("ids", expanding=True)))
              .order_by(Photo.uploaded_at, Photo.id))


def of_event(session, event: Event) -> list[Photo]:
    return list(session.scalars(_OF_EVENTS, {"ids": _lineage(session, event)}))


def find(session, event: Event, key: str) -> Photo:
    row = None
    if isinstance(key, str) and KEY.match(key):
        row = session.scalars(select(Photo).where(Photo.event_id.in_(_lineage(session, event)),
                                                  Photo.sha256 == key).order_by(Photo.id)).first()
    if row is None:
        raise NotFound(f"photo {key} does not exist on event {event.id}")
    return row


def describe(photo: Photo, event_id: int) -> dict:
    """A photo as the API shows it, under the event it is seen through."""
    gps = None if photo.gps_lat is None else {"lat": photo.gps_lat, "lng": photo.gps_lng}
    return {"key": photo.sha256, "url": f"/api/events/{event_id}/photos/{photo.sha256}",
            "content_type": photo.content_type, "width": photo.width, "height": photo.height, "bytes": photo.bytes,
            "taken_at": local(photo.taken_at), "gps": gps, "distance_m": photo.distance_m,
            "flags": list(photo.flags or []), "uploaded_by": photo.uploaded_by, "uploaded_at": local(photo.uploaded_at)}


def unknown_references(session, event: Event, references) -> list[dict]:
    """{field, reason} for each (field, value) of task data that is not a photo stored for the event."""
    if not references:
        return []
    keys = {v for _, v in references if isinstance(v, str) and KEY.match(v)}
    known = set(session.scalars(select(Photo.sha256).where(Photo.event_id.in_(_lineage(session, event)),
                                                           Photo.sha256.in_(keys)))) if keys else set()
    return [{"field": field, "reason": f"不是本事件已上传的照片，请先上传 (not a photo stored for this event: "
                                      f"upload it to POST /api/events/{event.id}/photos and send its key)"}
            for field, value in references if value not in known]


# -- an event's photos, as the users who may see it add and read them ----------------------------------
def add(cmd, event_id: int, checked) -> list[dict]:
    """Store checked photos (`PhotoStore.check`) for an event the user may see (once per event and content)."""
    event = events.get_visible(cmd.session, event_id, cmd.user, cmd.catalogs)
    return [describe(row, event.id) for row in _store(cmd, event, checked)]


def attach_to_report(cmd, event: Event, checked) -> None:
    """The photos sent with a report (实时照片, §7.1), stored in the report's own unit of work: the event's
    `photos` list holds their keys."""
    rows = _store(cmd, event, checked)
    event.photos = list(dict.fromkeys([*(event.photos or []), *(row.sha256 for row in rows)]))


def add_to_event(cmd, event: Event, checked) -> list[Photo]:
    """Store checked photos for an event in the caller's unit (即知即改's before/after photos, registered with the
    report: engine/pool/registration.py), audited as any upload."""
    return _store(cmd, event, checked)


def _store(cmd, event: Event, checked) -> list[Photo]:
    rows = cmd.env.photos.store(cmd.session, event, checked, cmd.actor, cmd.now())
    cmd.session.add(Audit(at=cmd.now(), actor=cmd.actor, action="photos_added", event_id=event.id,
                          data={"photos": [{"key": r.sha256, "flags": list(r.flags or [])} for r in rows]}))
    return rows


def photo_file(cmd, event_id: int, key: str, where: str = "api_photo") -> tuple[str, bytes]:
    """(content type, bytes) of a stored photo, only for a user who may see the event (404 otherwise)."""
    event = events.get_visible(cmd.session, event_id, cmd.user, cmd.catalogs)
    privacy.disclose(cmd.session, cmd.catalogs, cmd.user, event, cmd.now(), where)
    row = find(cmd.session, event, key)
    return row.content_type, cmd.env.photos.read(row)
