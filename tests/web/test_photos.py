"""Photos through the HTTP API (§7.1 实时照片, §8.5 before/after; docs/photos.md): uploaded to an event or
with a report, checked by decoding, flagged against the event, stored once, served only to those who may
see the event, and referenced from task forms."""
from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.pool import photos
from engine.store.models import Event, Photo
from tests.web.client import REPORT, Api, image
from tests.web.conftest import build_app


def media(app) -> Path:
    return Path(app.extensions["eventflow"].settings.media_dir)


def stored_files(app) -> list[Path]:
    return sorted(p for p in media(app).rglob("*") if p.is_file())


def count(app, model) -> int:
    svc = app.extensions["eventflow"]
    return svc.read(lambda s: s.scalar(select(func.count()).select_from(model)))


def upload(api, user, event_id, *files):
    return api.post(f"/api/events/{event_id}/photos", user,
                    data={"file": [(io.BytesIO(data), name) for name, data in files]})


def register(api, user="grid1", photos=(), report=None, headers=None):
    data = {"report": json.dumps(report or REPORT, ensure_ascii=False),
            "photos": [(io.BytesIO(d), name) for name, d in photos]}
    return api.client.post("/api/events", headers={**api.headers(user), **(headers or {})}, data=data)


@pytest.fixture
def limited(settings, seeded):
    """An app whose photos may be at most 20 000 bytes and 200 pixels on a side, in a body of at most
    20 000 × 9 + 1 MiB (on a copy of the seeded database)."""
    app = build_app(replace(settings, photo_max_bytes=20_000, photo_max_side=200, max_upload_bytes=1000))
    yield app
    app.extensions["eventflow"].db.dispose()


# -- accepted, described, stored once ---------------------------------------------------------------
def test_jpeg_png_and_webp_are_accepted_and_described(app, api):
    event = api.report()
    r = upload(api, "grid1", event["id"], ("a.jpg", image("JPEG", size=(64, 48))),
               ("b.png", image("PNG", size=(40, 40))), ("c.webp", image("WEBP", size=(50, 60))))
    assert r.status_code == 201, r.json
    assert [(p["content_type"], p["width"], p["height"]) for p in r.json] == [
        ("image/jpeg", 64, 48), ("image/png", 40, 40), ("image/webp", 50, 60)]
    first = r.json[0]
    assert set(first) == {"key", "url", "content_type", "width", "height", "bytes", "taken_at", "gps", "distance_m",
                          "flags", "uploaded_by", "uploaded_at"}
    assert first["url"] == f"/api/events/{event['id']}/photos/{first['key']}"
    assert first["uploaded_by"] == "grid1" and first["uploaded_at"] == "2026-10-08T09:00:00+08:00"
    assert first["flags"] == ["no_exif"] and first["gps"] is None and first["taken_at"] is None
    assert [p["key"] for p in api.event(event["id"])["photo_files"]] == [p["key"] for p in r.json]
    names = sorted(p.name for p in stored_files(app))
    assert names == sorted(f"{p['key']}.{ext}" for p, ext in zip(r.json, ("jpg", "png", "webp"), strict=False))
    assert all(p.parent == media(app) / "events" / str(event["id"]) for p in stored_files(app))


def test_the_same_bytes_twice_make_one_file_and_one_row(app, api):
    event = api.report()
    data = image()
    first = api.photo("grid1", event["id"], data)
    assert api.photo("staff1", event["id"], data) == first
    assert len(stored_files(app)) == 1 and count(app, Photo) == 1
    assert [p["uploaded_by"] for p in api.event(event["id"])["photo_files"]] == ["grid1"]


# -- refused: each names the file and why, and nothing is stored ------------------------------------
def test_a_text_file_named_jpg_is_refused_naming_it_and_nothing_is_stored(app, api):
    event = api.report()
    r = upload(api, "grid1", event["id"], ("good.jpg", image()), ("scene.jpg", "不是照片".encode()))
    assert r.status_code == 422
    [error] = r.json["errors"]
    assert error["field"] == "file.1" and "not an image" in error["reason"] and "scene.jpg" in error["reason"]
    assert stored_files(app) == [] and count(app, Photo) == 0


def test_a_truncated_jpeg_and_a_gif_are_refused(app, api):
    from PIL import Image
    event = api.report()
    noisy, gif = io.BytesIO(), io.BytesIO()
    Image.effect_noise((256, 256), 80).convert("RGB").save(noisy, "JPEG")
    Image.new("RGB", (64, 64)).save(gif, "GIF")
    r = upload(api, "grid1", event["id"], ("cut.jpg", noisy.getvalue()[:3000]), ("anim.gif", gif.getvalue()))
    assert r.status_code == 422
    assert [e["field"] for e in r.json["errors"]] == ["file.0", "file.1"]
    assert "does not decode" in r.json["errors"][0]["reason"] and "GIF" in r.json["errors"][1]["reason"]
    assert stored_files(app) == []


def test_too_many_bytes_and_too_large_dimensions_are_refused(limited):
    api = Api(limited)
    event = api.report()
    from PIL import Image
    big = io.BytesIO()
    Image.effect_noise((190, 190), 80).convert("RGB").save(big, "PNG")
    assert len(big.getvalue()) > 20_000
    r = upload(api, "grid1", event["id"], ("big.png", big.getvalue()), ("wide.jpg", image(size=(400, 40))))
    assert r.status_code == 422
    assert [e["field"] for e in r.json["errors"]] == ["file.0", "file.1"]
    assert "larger than 20000 bytes" in r.json["errors"][0]["reason"]
    assert "400×40" in r.json["errors"][1]["reason"]
    # a body larger than photos allow (9 × 20 000 bytes + 1 MiB) is cut off before it is read
    r = upload(api, "grid1", event["id"], ("huge.jpg", b"\xff" * (2 * 1024 * 1024)))
    assert r.status_code == 413 and r.json["error"] == "too_large"
    # … while the other endpoints keep EVENTFLOW_MAX_UPLOAD (1000 bytes here)
    r = api.post("/api/events", "grid1", json={**REPORT, "description": "很长的描述" * 300})
    assert r.status_code == 413
    assert stored_files(limited) == []


def test_no_file_and_too_many_files_are_refused(app, api):
    event = api.report()
    r = api.post(f"/api/events/{event['id']}/photos", "grid1", data={})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "file"
    r = upload(api, "grid1", event["id"], *[(f"{i}.jpg", image(color=(i, 0, 0))) for i in range(10)])
    assert r.status_code == 422 and "at most 9" in r.json["errors"][0]["reason"]


# -- EXIF flags for the registrar --------------------------------------------------------------------
def test_far_and_old_photos_are_flagged_against_the_event(app, api):
    event = api.report()     # at 27.52, 120.60, reported 2026-10-08 09:00 (+08:00)
    r = upload(api, "grid1", event["id"],
               ("near.jpg", image(gps=(27.5203, 120.6002), taken_at="2026:10:08 08:40:00", offset="+08:00")),
               ("far.jpg", image(gps=(27.53, 120.60), taken_at="2026:10:08 08:40:00")),
               ("old.jpg", image(gps=(27.5201, 120.6001), taken_at="2026:10:05 09:00:00")))
    assert r.status_code == 201, r.json
    near, far, old = r.json
    assert near["flags"] == [] and near["distance_m"] < 50
    assert near["gps"] == {"lat": pytest.approx(27.5203), "lng": pytest.approx(120.6002)}
    assert near["taken_at"] == "2026-10-08T08:40:00+08:00"
    assert far["flags"] == ["far"] and 1100 < far["distance_m"] < 1120
    assert old["flags"] == ["old"] and old["taken_at"] == "2026-10-05T09:00:00+08:00"
    shown = {p["key"]: p["flags"] for p in api.event(event["id"], user="staff1")["photo_files"]}
    assert shown == {near["key"]: [], far["key"]: ["far"], old["key"]: ["old"]}
    [added] = [a["data"] for a in api.event(event["id"])["timeline"] if a["action"] == "photos_added"]
    assert [p["flags"] for p in added["photos"]] == [[], ["far"], ["old"]]


# -- served only to those who may see the event ------------------------------------------------------
def test_served_to_the_reporter_and_community_staff_and_404_to_another_community(app, api):
    event = api.report("grid1")
    data = image("PNG", size=(40, 40))
    key = api.photo("grid1", event["id"], data, name="scene.png")
    url = f"/api/events/{event['id']}/photos/{key}"
    for user in ("grid1", "staff1", "admin1"):
        r = api.get(url, user)
        assert r.status_code == 200 and r.data == data
        assert r.headers["Content-Type"] == "image/png"
        assert r.headers["X-Content-Type-Options"] == "nosniff" and r.headers["Cache-Control"] == "private"
    for user in ("staff2", "police1"):     # another community; a department with no part in it
        r = api.get(url, user)
        assert r.status_code == 404 and key not in r.get_data(as_text=True)
        assert upload(api, user, event["id"], ("x.jpg", image())).status_code == 404
    assert api.get(f"/api/events/{event['id']}/photos/{'0' * 64}", "grid1").status_code == 404
    assert api.get(f"/api/events/{event['id']}/photos/..%2F..%2Fsecret", "grid1").status_code == 404
    assert api.client.get(url).status_code == 401


def test_a_transferred_event_shows_the_photos_of_the_report(app, api):
    event = api.report("grid1")
    key = api.photo("grid1", event["id"])
    api.complete("staff1", event["id"], "verify",
                 {"verdict": "transfer", "target_community": "lg-longgang", "verify_note": "事发地属龙港社区"})
    new_id = api.event(event["id"])["transferred_to_id"]
    [shown] = api.event(new_id, user="staff2")["photo_files"]
    assert shown["key"] == key and shown["url"] == f"/api/events/{new_id}/photos/{key}"
    assert api.get(shown["url"], "staff2").status_code == 200
    assert api.get(f"/api/events/{event['id']}/photos/{key}", "staff2").status_code == 404   # not the source


# -- a report with its photos (§7.1: 事发位置、事件信息类型、问题描述、实时照片) ---------------------------
def test_a_multipart_report_stores_the_event_and_its_photos_together(app, api):
    shot = image(gps=(27.5202, 120.6001), taken_at="2026:10:08 08:55:00")
    r = register(api, photos=[("1.jpg", shot), ("2.webp", image("WEBP"))],
                 report={**REPORT, "photos": ["https://img.example.com/earlier.jpg"]})
    assert r.status_code == 201, r.json
    files = r.json["photo_files"]
    assert [p["content_type"] for p in files] == ["image/jpeg", "image/webp"]
    assert r.json["photos"] == ["https://img.example.com/earlier.jpg", *(p["key"] for p in files)]
    assert [p["flags"] for p in files] == [[], ["no_exif"]]
    assert r.json["open_tasks"][0]["name"] == "verify"        # the process started after the photos were stored
    assert len(stored_files(app)) == 2
    assert api.get(files[0]["url"], "staff1").data == shot


def test_a_bad_photo_in_a_report_refuses_the_report_and_stores_nothing(app, api):
    r = register(api, photos=[("1.jpg", image()), ("2.jpg", b"<html>not a photo</html>")])
    assert r.status_code == 422
    assert [e["field"] for e in r.json["errors"]] == ["photos.1"]
    assert count(app, Event) == 0 and count(app, Photo) == 0 and stored_files(app) == []


def test_a_retried_multipart_report_stores_its_photos_once(app, api):
    headers = {"Idempotency-Key": "phone-photos-0001"}
    first = register(api, photos=[("1.jpg", image())], headers=headers)
    again = register(api, photos=[("1.jpg", image())], headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["id"] == first.json["id"] and again.json["photos"] == first.json["photos"]
    assert count(app, Photo) == 1
    assert [a["action"] for a in again.json["timeline"]].count("photos_added") == 1


def test_a_multipart_report_needs_its_report_part(app, api):
    for data in ({"photos": [(io.BytesIO(image()), "1.jpg")]}, {"report": "{not json"}, {"report": "[1]"}):
        r = api.client.post("/api/events", headers=api.headers("grid1"), data=data, content_type="multipart/form-data")
        assert r.status_code == 422 and r.json["errors"][0]["field"] == "report", data
    assert count(app, Event) == 0


def test_a_json_report_still_carries_photo_urls(app, api):
    event = api.report(photos=["https://img.example.com/1.jpg"])
    assert event["photos"] == ["https://img.example.com/1.jpg"] and event["photo_files"] == []


# -- task forms reference the event's photos (§8.5) --------------------------------------------------
def test_a_task_form_must_reference_photos_stored_for_its_event(app, api):
    event, other = api.report(), api.report()
    api.whistle_to(event["id"], department="zhifa")
    api.complete("zhifa1", event["id"], "accept_whistle", {"decision": "accept"})
    before, elsewhere = api.photo("zhifa1", event["id"]), api.photo("grid1", other["id"])
    task = api.task("zhifa1", event["id"], "dispose_feedback")
    for after, reason in (("p/after.jpg", "not a photo stored for this event"),
                          (elsewhere, "not a photo stored for this event")):
        r = api.post(f"/api/tasks/{task['id']}/complete", "zhifa1",
                     json={"before_photos": [before], "after_photos": [after]})
        assert r.status_code == 422
        [error] = r.json["errors"]
        assert error["field"] == "after_photos.0" and reason in error["reason"], error
    after = api.photo("zhifa1", event["id"])
    api.complete("zhifa1", event["id"], "dispose_feedback", {"before_photos": [before], "after_photos": [after]})
    [done] = [a for a in api.event(event["id"])["timeline"] if a["task_name"] == "处置反馈"]
    assert done["data"]["after_photos"] == [after]                   # the key, never the bytes


def test_the_arrival_photo_must_be_one_of_the_events_photos(app, api):
    event = api.report()
    api.whistle_to(event["id"], department="zhifa", on_site=True)
    api.complete("zhifa1", event["id"], "accept_whistle", {"decision": "accept"})
    task = api.task("zhifa1", event["id"], "arrive")
    data = {"arrival_location": {"lat": 27.52, "lng": 120.6}, "on_spot": "solved"}
    r = api.post(f"/api/tasks/{task['id']}/complete", "zhifa1", json={**data, "arrival_photo": "IMG_0001.jpg"})
    assert r.status_code == 422 and [e["field"] for e in r.json["errors"]] == ["arrival_photo"]
    api.complete("zhifa1", event["id"], "arrive", {**data, "arrival_photo": api.photo("zhifa1", event["id"])})


def test_open311_public_reads_never_show_a_stored_photo(app, api):
    """A citizen's report (§5.3, through Open311) whose `photos` also hold a stored photo's key (as a
    report sent with photos keeps them): public reads carry a URL the source sent, never the key of a
    photo that only those who may see the event are served."""
    from engine.accounts import users
    from engine.store.models import User
    from tests.web.test_open311 import new_key, reported
    svc = app.extensions["eventflow"]
    staff = svc.read(lambda s: users.principal(s.scalar(select(User).where(User.username == "staff1"))))
    key = new_key(app)
    for media_url in (None, "https://img.example.com/a.jpg"):
        number = reported(api, key, media_url=media_url)["service_request_id"]
        event_id = api.get("/api/events", "staff1", query_string={"number": number}).json["items"][0]["id"]
        checked = svc.env.photos.check([("1.jpg", image())], "photos")
        svc.run(lambda s, i=event_id: photos.attach_to_report(svc.command(s, staff), s.get(Event, i), checked))
        assert len(api.event(event_id)["photos"]) == (1 if media_url is None else 2)
        [public] = api.client.get(f"/open311/v2/requests/{number}.json").json
        assert public["media_url"] == media_url


def test_the_report_part_may_be_a_json_file_part(app, api):
    report = io.BytesIO(json.dumps(REPORT, ensure_ascii=False).encode())
    r = api.client.post("/api/events", headers=api.headers("grid1"),
                        data={"report": (report, "report.json", "application/json"),
                              "photos": [(io.BytesIO(image()), "1.jpg")]})
    assert r.status_code == 201, r.json
    [stored] = r.json["photo_files"]
    assert r.json["photos"] == [stored["key"]]
