"""The 上报 page's form over HTTP (issue #20, docs/offline.md), on SQLite and PostgreSQL: a key already registered
shows the event it made and registers nothing again (a page and the page's script alike), a refused report
answers its reasons placed under their fields and leaves the key unused, and a report kept on a phone offline
carries the time it was made there into the audit trail."""
from __future__ import annotations

import io
import json
import re

from PIL import Image
from sqlalchemy import func, select

from engine.store.models import Audit, Event, Photo
from tests.web.test_sensitive import web_session

JSON = {"Accept": "application/json"}


def _jpeg(colour=(120, 160, 90)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), colour).save(out, "JPEG")
    return out.getvalue()


def _form(page, **fields):
    html = page.get("/report").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    return {"csrf_token": token, "source": "grid_worker", "type_code": "A05", "description": "新城大道占道经营",
            "address": "新城大道 88 号", "lat": "27.52", "lng": "120.60", **fields}


def _count(app, model, *where):
    svc = app.extensions["eventflow"]
    return svc.read(lambda s: s.scalar(select(func.count()).select_from(model).where(*where)))


def test_a_repeated_submission_key_shows_the_event_it_made(app):
    page = web_session(app, "grid1")
    form = _form(page, submission="back-and-again-1", description="返回再上报的同一事件")
    first = page.post("/report", data={**form, "photos": (io.BytesIO(_jpeg()), "scene.jpg")})
    assert first.status_code == 302, first.get_data(as_text=True)[:300]
    event_url = first.headers["Location"]
    event_id = int(event_url.rsplit("/", 1)[1])
    number = app.extensions["eventflow"].read(lambda s: s.get(Event, event_id).number)
    # Back, 上报 again: the same key (whatever the form says now, and a photo again) is the event made before
    again = page.post("/report", data={**form, "description": "改过的描述", "photos": (io.BytesIO(_jpeg()), "scene.jpg")})
    assert again.status_code == 302 and again.headers["Location"] == event_url
    shown = page.get(event_url).get_data(as_text=True)
    assert f"该事件已上报，编号 {number}（未重复上报）" in shown
    assert _count(app, Event, Event.intake_key.like("%back-and-again-1")) == 1
    assert _count(app, Event, Event.description == "改过的描述") == 0
    assert _count(app, Photo, Photo.event_id == event_id) == 1
    # the page's script asks for JSON: 200 and created false, with the number to show
    r = page.post("/report", data=form, headers=JSON)
    assert r.status_code == 200 and r.json["created"] is False
    assert r.json["event_id"] == event_id and r.json["number"] == number and r.json["url"] == event_url
    assert "该事件已上报" in r.json["message"]
    # a new form (a new key) is a new event: 201 from the script
    r = page.post("/report", data={**form, "submission": "back-and-again-2"}, headers=JSON)
    assert r.status_code == 201 and r.json["created"] is True and r.json["event_id"] != event_id
    # a key is one user's: another's form with the same key is their own report
    cadre = web_session(app, "staff1")
    r = cadre.post("/report", data={**_form(cadre, source="committee_patrol"), "submission": "back-and-again-1"},
                   headers=JSON)
    assert r.status_code == 201 and r.json["event_id"] != event_id


def test_a_refused_report_answers_its_reasons_under_their_fields_and_leaves_the_key_unused(app):
    page = web_session(app, "grid1")
    form = _form(page, submission="refused-then-fixed", contact_phone="12", description="拒收后修改再上报")
    photo = _jpeg((200, 60, 60))
    r = page.post("/report", data={**form, "photos": (io.BytesIO(photo), "scene.jpg")}, headers=JSON)
    assert r.status_code == 422
    assert list(r.json["placed"]) == ["contact"] and "reporter_contact.phone" in r.json["errors"]
    assert r.json["message"] == "请按提示修改后再提交"
    assert _count(app, Event, Event.description == "拒收后修改再上报") == 0
    r = page.post("/report", data={**form, "photos": (io.BytesIO(b"not a photo"), "scene.jpg")}, headers=JSON)
    assert r.status_code == 422 and "photos" in r.json["placed"] and "photos.0" in r.json["errors"]
    page_r = page.post("/report", data={**form, "lat": "27.52", "lng": ""})   # without the script: the page
    html = page_r.get_data(as_text=True)
    assert page_r.status_code == 422 and re.search(r'data-place="position"><p class="error">', html)
    assert re.search(r'data-place="contact"><p class="error">', html)
    r = page.post("/report", data={**form, "contact_phone": "13800001111",
                                    "photos": (io.BytesIO(photo), "scene.jpg")}, headers=JSON)
    assert r.status_code == 201, r.json
    assert _count(app, Photo, Photo.event_id == r.json["event_id"]) == 1



def test_a_photo_with_gps_on_a_report_of_an_address_alone_is_kept_without_a_distance(app):
    """A phone photo carries its GPS; the report may have only an address (分拨定位): no distance, no 500."""
    from tests.samples import image
    page = web_session(app, "grid1")
    form = _form(page, submission="address-alone-gps", lat="", lng="", description="只有地址的上报带定位照片")
    photo = image(size=(320, 240), taken_at="2026:10:08 08:30:00", offset="+08:00", gps=(27.52, 120.60))
    r = page.post("/report", data={**form, "photos": (io.BytesIO(photo), "scene.jpg")}, headers=JSON)
    assert r.status_code == 201, r.get_data(as_text=True)[:300]
    svc = app.extensions["eventflow"]
    stored = svc.read(lambda s: s.scalars(select(Photo).where(Photo.event_id == r.json["event_id"])).one())
    assert stored.gps_lat is not None and stored.distance_m is None


def test_the_shrinking_library_is_served_from_the_apps_own_origin(app):
    page = web_session(app, "grid1")
    html = page.get("/report").get_data(as_text=True)
    assert 'src="/vendor/image-compression.js"' in html and 'data-shrink-lib="/vendor/image-compression.js"' in html
    r = page.get("/vendor/image-compression.js")
    assert r.status_code == 200 and b"imageCompression" in r.data


def test_a_report_made_offline_carries_the_time_it_was_made(app, api):
    page = web_session(app, "grid1")
    form = _form(page, submission="drafted-offline-1", description="地下室没有信号时填写",
                 drafted_at="2026-10-01T09:15:00+08:00")
    r = page.post("/report", data=form, headers=JSON)
    assert r.status_code == 201, r.json
    audit = app.extensions["eventflow"].read(lambda s: s.scalars(select(Audit.data).where(
        Audit.event_id == r.json["event_id"], Audit.action == "reported")).one())
    assert audit["drafted_at"] == "2026-10-01T09:15:00+08:00"
    assert "地下室没有信号时填写" in page.get(r.json["url"]).get_data(as_text=True)
    assert "离线填写于 2026-10-01 09:15" in page.get(r.json["url"]).get_data(as_text=True)
    r = page.post("/report", data={**form, "submission": "drafted-offline-2", "drafted_at": "昨天"}, headers=JSON)
    assert r.status_code == 422 and list(r.json["errors"]) == ["drafted_at"]


def test_the_service_worker_and_what_drafts_need_to_be_sent(app):
    """/sw.js at the root (its scope "/"), with the app shell's files and their content revisions before it;
    /report/session: whose drafts to send, with a fresh CSRF token; /offline: the page for no signal."""
    anonymous = app.test_client()
    r = anonymous.get("/sw.js")
    assert r.status_code == 200 and r.mimetype == "text/javascript"
    assert r.headers["Service-Worker-Allowed"] == "/" and r.headers["Cache-Control"] == "no-cache"
    script = r.get_data(as_text=True)
    shell = json.loads(re.match(r"self.__EVENTFLOW_PRECACHE = (.*);\n", script).group(1))
    urls = {entry["url"]: entry["revision"] for entry in shell}
    assert {"/static/report.js", "/static/ui.css", "/vendor/drafts.js", "/vendor/image-compression.js"} <= set(urls)
    assert all(re.fullmatch(r"[0-9a-f]{16}", revision) for revision in urls.values())
    pages = json.loads(re.search(r"self.__EVENTFLOW_PAGES = (.*);\n", script).group(1))
    assert pages["keep"] == ["/report"] and pages["offline"] == "/offline"
    assert pages["signout"] == "/logout" and pages["signin"] == "/login"          # both forget the kept pages
    assert "notificationclick" in script and "eventflow-drafts" in script          # one worker for both
    assert anonymous.get("/report/session").status_code == 302                      # nobody signed in
    page = web_session(app, "grid1")
    r = page.get("/report/session")
    svc = app.extensions["eventflow"]
    from engine.store.models import User
    grid1 = svc.read(lambda s: s.scalar(select(User.id).where(User.username == "grid1")))
    assert r.status_code == 200 and r.json["user"] == grid1 and r.json["csrf_token"]
    assert r.headers["Cache-Control"] == "no-store"
    clerk = web_session(app, "zhifa1")                                              # reports nothing: no drafts
    assert clerk.get("/report/session").status_code == 403 and clerk.get("/report/map.json").status_code == 403
    form = {**_form(page, submission="fresh-token"), "csrf_token": r.json["csrf_token"]}
    assert page.post("/report", data=form, headers=JSON).status_code == 201        # the token works
    assert "去上报" in page.get("/offline").get_data(as_text=True)
    nav = page.get("/").get_data(as_text=True)                                     # every page: the badge
    assert 'data-testid="draft-count"' in nav and 'src="/vendor/drafts.js"' in nav
    assert 'data-live-worker="/sw.js" data-live-worker-scope="/"' in nav


def test_the_map_pin_shows_the_communities_the_user_reports_in(app):
    """在地图上选点 (plain HTTP, no GPS): the user's own community's boundary; the city's staff, every community."""
    grid = web_session(app, "grid1").get("/report/map.json").json
    assert [f["properties"]["name"] for f in grid["features"]] == ["新城社区"]
    assert grid["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    city = web_session(app, "city1").get("/report/map.json").json
    assert len(city["features"]) > 1 and "新城社区" in [f["properties"]["name"] for f in city["features"]]
    html = web_session(app, "grid1").get("/report").get_data(as_text=True)
    assert 'data-testid="insecure"' in html and 'id="pick"' in html and 'data-src="/report/map.json"' in html
    script = app.test_client().get("/sw.js").get_data(as_text=True)
    assert '"/static/pick_map.js"' in script and '"data": ["/report/map.json"]' in script
