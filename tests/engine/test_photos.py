"""engine/pool/photos.py on real images made with Pillow: decoding decides, limits hold, EXIF is read, flags
are computed against the event, and the same bytes are stored once."""
from __future__ import annotations

import io
import struct
import zlib
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image
from sqlalchemy import func, select

from engine.runtime import forms
from engine.pool import photos
from engine.core.errors import InvalidData
from engine.store.models import Event, Photo
from tests.samples import image

LIMITS = photos.Limits()
#: where REPORT (tests/samples.py) puts the event: 新城大道, lg-xincheng
AT = (27.52, 120.60)
REPORTED = datetime(2026, 10, 8, 1, 0, tzinfo=timezone.utc)   # 09:00 in Shanghai


def refused(data, limits=LIMITS, field="photos.1", filename=None) -> str:
    with pytest.raises(InvalidData) as caught:
        photos.inspect(data, field, limits, filename)
    [error] = caught.value.details["errors"]
    assert error["field"] == field
    return error["reason"]


def noisy(fmt="JPEG", size=(256, 256)) -> bytes:
    """An image whose compressed body is long enough to cut in half."""
    out = io.BytesIO()
    Image.effect_noise(size, 80).convert("RGB").save(out, fmt)
    return out.getvalue()


@pytest.mark.parametrize("fmt, content_type", [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")])
def test_jpeg_png_and_webp_are_accepted_by_what_they_decode_to(fmt, content_type):
    checked = photos.inspect(image(fmt, size=(80, 60)), "photos.0", LIMITS, "named-anything.gif")
    assert (checked.format, checked.content_type, checked.width, checked.height) == (fmt, content_type, 80, 60)
    assert len(checked.sha256) == 64


def test_a_text_file_named_jpg_is_refused():
    reason = refused("这不是照片 just text".encode(), filename="scene.jpg")
    assert "not an image" in reason and "scene.jpg" in reason


def test_a_truncated_jpeg_is_refused():
    whole = noisy()
    photos.inspect(whole, "photos.1", LIMITS)
    assert "does not decode" in refused(whole[: len(whole) // 2])


def test_gif_is_refused_by_name():
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (1, 2, 3)).save(out, "GIF")
    assert "GIF" in refused(out.getvalue()) and "JPEG, PNG or WebP only" in refused(out.getvalue())


def test_an_empty_file_is_refused():
    assert "empty" in refused(b"")


def test_too_many_bytes_is_refused_before_decoding():
    data = image(size=(64, 64))
    assert "larger than 100 bytes" in refused(data, photos.Limits(max_bytes=100))


def test_too_large_dimensions_and_too_many_pixels_are_refused():
    assert "exceeds" in refused(image(size=(300, 40)), photos.Limits(max_side=200))
    assert "exceeds" in refused(image(size=(100, 100)), photos.Limits(max_pixels=5000))
    assert "smaller than" in refused(image(size=(16, 200)))


def test_a_decompression_bomb_is_refused_from_its_header():
    """A tiny PNG that claims 100000×100000 pixels: refused before a pixel is decoded."""
    png = image("PNG", size=(40, 40))
    ihdr = struct.pack(">II", 100_000, 100_000) + png[24:29]
    bomb = png[:16] + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)) + png[33:]
    assert len(bomb) < 1000
    assert "pixels" in refused(bomb)


def test_exif_capture_time_with_and_without_its_offset():
    with_offset = photos.inspect(image(taken_at="2026:10:05 09:00:00", offset="+02:00"), "p", LIMITS)
    assert with_offset.taken_at == datetime(2026, 10, 5, 7, 0, tzinfo=timezone.utc)
    shanghai = photos.inspect(image(taken_at="2026:10:05 09:00:00"), "p", LIMITS)   # no offset: Asia/Shanghai
    assert shanghai.taken_at == datetime(2026, 10, 5, 1, 0, tzinfo=timezone.utc)


def test_exif_gps_in_decimal_degrees_all_four_quarters():
    for lat, lng in ((27.52, 120.6), (-33.8688, 151.2093), (40.7128, -74.006), (-22.9068, -43.1729)):
        checked = photos.inspect(image(gps=(lat, lng)), "p", LIMITS)
        assert checked.lat == pytest.approx(lat, abs=1e-6) and checked.lng == pytest.approx(lng, abs=1e-6)


def event_at(lat=AT[0], lng=AT[1], created_at=REPORTED) -> Event:
    return Event(lat=lat, lng=lng, created_at=created_at)


def test_a_photo_taken_far_from_the_event_is_flagged_and_a_near_one_is_not():
    far = photos.inspect(image(gps=(27.53, 120.60), taken_at="2026:10:08 08:30:00"), "p", LIMITS)
    distance, flags = photos.assess(far, event_at(), LIMITS)
    assert flags == ["far"] and 1100 < distance < 1120          # 0.01° of latitude ≈ 1.1 km
    near = photos.inspect(image(gps=(27.5203, 120.6002), taken_at="2026:10:08 08:30:00"), "p", LIMITS)
    distance, flags = photos.assess(near, event_at(), LIMITS)
    assert flags == [] and distance < 50


def test_a_photo_taken_three_days_before_the_report_is_flagged_old():
    old = photos.inspect(image(taken_at="2026:10:05 09:00:00"), "p", LIMITS)
    assert photos.assess(old, event_at(), LIMITS) == (None, ["old"])
    fresh = photos.inspect(image(taken_at="2026:10:08 08:00:00"), "p", LIMITS)
    assert photos.assess(fresh, event_at(), LIMITS) == (None, [])
    assert photos.assess(old, event_at(), photos.Limits(old=timedelta(days=4))) == (None, [])


def test_a_photo_without_exif_is_noted_not_refused():
    assert photos.assess(photos.inspect(image(), "p", LIMITS), event_at(), LIMITS) == (None, ["no_exif"])


def test_every_upload_is_checked_and_each_bad_one_named():
    store = photos.PhotoStore("/nonexistent")
    with pytest.raises(InvalidData) as caught:
        store.check([("a.jpg", image()), ("b.jpg", b"GIF89a nonsense"), ("c.png", image("PNG")), ("d.jpg", b"")],
                    "photos")
    assert [e["field"] for e in caught.value.details["errors"]] == ["photos.1", "photos.3"]
    with pytest.raises(InvalidData):
        store.check([("x.jpg", image())] * (photos.PER_REQUEST + 1), "photos")


def test_the_same_bytes_twice_make_one_file_and_one_row(run, read, tmp_path):
    store = photos.PhotoStore(tmp_path / "media")
    data = image(gps=(27.5201, 120.6001))
    event_id = run(lambda cmd: _event(cmd.session).id)

    def upload(cmd):
        event = cmd.session.get(Event, event_id)
        checked = store.check([("a.jpg", data), ("again.jpg", data)], "file")
        return [row.sha256 for row in store.store(cmd.session, event, checked, "grid1", REPORTED)]
    first, second = run(upload), run(upload)
    assert first == second and len(first) == 1
    folder = tmp_path / "media" / "events" / str(event_id)
    assert [p.name for p in folder.iterdir()] == [f"{first[0]}.jpg"]          # no temporary file left behind
    assert (folder / f"{first[0]}.jpg").read_bytes() == data
    assert read(lambda cmd: cmd.session.scalar(select(func.count()).select_from(Photo))) == 1


def test_task_data_must_reference_photos_stored_for_the_event(run, read, tmp_path):
    store = photos.PhotoStore(tmp_path / "media")
    event_id = run(lambda cmd: _event(cmd.session).id)
    other_id = run(lambda cmd: _event(cmd.session).id)
    [key] = run(lambda cmd: [r.sha256 for r in store.store(cmd.session, cmd.session.get(Event, event_id),
                                                           store.check([(None, image())], "file"), "u", REPORTED)])

    def problems(cmd, target, refs):
        return photos.unknown_references(cmd.session, cmd.session.get(Event, target), refs)
    assert read(problems, event_id, [("after_photos.0", key)]) == []
    for refs in ([("after_photos.0", "p/after.jpg")], [("arrival_photo", 7)], [("before_photos.1", key.upper())]):
        [error] = read(problems, event_id, refs)
        assert error["field"] == refs[0][0] and "not a photo stored for this event" in error["reason"]
    assert read(problems, other_id, [("after_photos.0", key)])[0]["field"] == "after_photos.0"


def test_photo_fields_are_found_in_arrays_strings_and_nested_objects():
    schema = {"type": "object", "properties": {
        "after_photos": {"type": "array", "items": {"type": "string"}, "x-widget": "photos"},
        "arrival_photo": {"type": "string", "x-widget": "photo"},
        "note": {"type": "string"},
        "parts": {"type": "array", "items": {"type": "object", "properties": {
            "part_photos": {"type": "array", "items": {"type": "string"}, "x-widget": "photos"}}}}}}
    data = {"after_photos": ["a", "b"], "arrival_photo": "c", "note": "d", "parts": [{"part_photos": ["e"]}]}
    assert forms.photo_references(schema, data) == [("after_photos.0", "a"), ("after_photos.1", "b"),
                                                    ("arrival_photo", "c"), ("parts.0.part_photos.0", "e")]
    assert forms.form_problems({"properties": {"shots": {"type": "string", "x-widget": "photos"}}}, set()) == [
        "字段 shots 的 x-widget photos 须是字符串列表 (field 'shots': x-widget photos is an array of strings (photo keys))"]


def _event(session) -> Event:
    from engine.pool.events import next_number
    event = Event(number=next_number(session, REPORTED), source="grid_worker", type_code="A05", description="占道",
                  lat=AT[0], lng=AT[1], address="新城大道 88 号", photos=[], community="lg-xincheng",
                  reporter="grid1", status="open", stage="登记", created_at=REPORTED)
    session.add(event)
    session.flush()
    return event
