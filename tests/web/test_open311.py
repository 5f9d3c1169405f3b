"""Open311 GeoReport v2 for the §5.3 citizen channels (issue #5): services, a citizen's report in the
community that holds the point, idempotent retries, public reads without personal data or sensitive
types, status notes in Chinese, tokens, GeoReport errors, and the api-key commands. Real app and
databases; the clock is the simulated one."""
from __future__ import annotations

import math

import prcoords
from lxml import etree
from sqlalchemy import func, select

from engine.accounts import apikeys
from engine.store.models import ApiKey, Event
from tests.web.test_cli import run as cli
from web.services import Services

BASE = "/open311/v2"
#: the citizen's personal data: none of it may appear in a public read
NAME, PHONE, EMAIL, ACCOUNT, DEVICE = ("小明", "王"), "13800001111", "wang.xm@example.com", "acct-778", "dev-abc-42"
FORM = {"service_code": "A05", "lat": "27.52", "long": "120.60", "address_string": "龙港市新城大道 88 号",
        "description": "人行道被占道经营，行人无法通行", "first_name": NAME[0], "last_name": NAME[1],
        "phone": PHONE, "email": EMAIL, "account_id": ACCOUNT, "device_id": DEVICE}


def new_key(app, channel="suishoupai"):
    svc = app.extensions["eventflow"]
    return svc.run(lambda s: apikeys.create(s, channel, "test", svc.clock.now(), svc.catalogs))


def submit(api, key, fmt="json", headers=None, **changes):
    data = {**FORM, **changes}
    if key is not None:
        data["api_key"] = key
    return api.client.post(f"{BASE}/requests.{fmt}", data={k: v for k, v in data.items() if v is not None},
                           headers=headers or {})


def reported(api, key, **changes):
    r = submit(api, key, **changes)
    assert r.status_code == 201, r.data.decode()
    return r.json[0]


def event_by_number(app, number) -> Event:
    svc = app.extensions["eventflow"]
    return svc.read(lambda s: s.scalar(select(Event).where(Event.number == number)))


def event_count(app) -> int:
    svc = app.extensions["eventflow"]
    return svc.read(lambda s: s.scalar(select(func.count(Event.id))))


def xml(response):
    return etree.fromstring(response.data)


def listed(api, **args):
    r = api.client.get(f"{BASE}/requests.json", query_string=args)
    assert r.status_code == 200, r.data.decode()
    return [item["service_request_id"] for item in r.json]


def assert_error(response, status, field, fmt="json"):
    """GeoReport's error shape, the same status, a description naming the field."""
    assert response.status_code == status, response.data.decode()
    if fmt == "json":
        descriptions = [e["description"] for e in response.json]
        assert all(e["code"] == status for e in response.json)
    else:
        root = xml(response)
        assert root.tag == "errors" and root[0].tag == "error"
        assert {e.findtext("code") for e in root} == {str(status)}
        descriptions = [e.findtext("description") for e in root]
    assert any(d.startswith(f"{field}:") for d in descriptions), descriptions
    return descriptions


def meters(lat1, lng1, lat2, lng2) -> float:
    dy = (lat1 - lat2) * 111_320
    dx = (lng1 - lng2) * 111_320 * math.cos(math.radians(lat1))
    return math.hypot(dx, dy)


# -- services ---------------------------------------------------------------------------------------

def test_the_services_are_the_table_a1_event_types_in_json_and_xml(app, api):
    r = api.client.get(f"{BASE}/services.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    by_code = {s["service_code"]: s for s in r.json}
    assert len(by_code) == 30 and "B01" not in by_code          # one-thing matters are not services
    a05 = by_code["A05"]
    assert a05["service_name"] == "市容环境卫生 · 人行道秩序整治" and a05["group"] == "市容环境卫生"
    assert a05["metadata"] is True and a05["type"] == "realtime" and "city appearance" in a05["keywords"]
    assert "执法局" in a05["description"] or "zhifa" in a05["description"]

    r = api.client.get(f"{BASE}/services.xml")
    assert r.status_code == 200 and r.mimetype == "text/xml"
    root = xml(r)
    assert root.tag == "services" and len(root.findall("service")) == 30
    first = root.find("service")
    assert first.findtext("service_code") == "A01"
    assert first.findtext("metadata") == "true" and first.findtext("type") == "realtime"
    assert [child.tag for child in first] == ["service_code", "service_name", "description", "metadata", "type",
                                              "keywords", "group"]


def test_a_service_definition_lists_its_attributes(api):
    r = api.client.get(f"{BASE}/services/A05.json")
    assert r.status_code == 200 and r.json["service_code"] == "A05"
    attributes = {a["code"]: a for a in r.json["attributes"]}
    assert set(attributes) == {"occurred_at", "urgent"}
    assert attributes["occurred_at"]["datatype"] == "datetime" and attributes["occurred_at"]["required"] is False
    assert attributes["urgent"]["values"] == [{"key": "yes", "name": "是"}, {"key": "no", "name": "否"}]

    root = xml(api.client.get(f"{BASE}/services/A05.xml"))
    assert root.tag == "service_definition" and root.findtext("service_code") == "A05"
    urgent = [a for a in root.find("attributes").findall("attribute") if a.findtext("code") == "urgent"][0]
    assert urgent.findtext("variable") == "true" and urgent.findtext("required") == "false"
    assert [(v.findtext("key"), v.findtext("name")) for v in urgent.find("values")] == [("yes", "是"), ("no", "否")]
    assert urgent.findtext("order") == "2" and urgent.findtext("description") == "是否紧急"

    assert_error(api.client.get(f"{BASE}/services/X99.json"), 404, "service_code")
    assert_error(api.client.get(f"{BASE}/services/B01.xml"), 404, "service_code", fmt="xml")


# -- a citizen's report -----------------------------------------------------------------------------

def test_a_report_lands_in_the_community_that_holds_the_point_and_its_process_starts(app, api):
    key = new_key(app, "suishoupai")
    r = submit(api, key, **{"attribute[urgent]": "yes", "attribute[occurred_at]": "2026-10-08T08:30:00+08:00"})
    assert r.status_code == 201, r.data.decode()
    [body] = r.json
    assert body["service_request_id"].startswith("LG-20261008-") and len(body["token"]) >= 20
    assert body["account_id"] == ACCOUNT and "新城社区" in body["service_notice"]
    event = event_by_number(app, body["service_request_id"])
    assert (event.source, event.channel, event.community) == ("citizen", "suishoupai", "lg-xincheng")
    assert event.public_token == body["token"] and event.reporter == "open311:suishoupai"
    assert event.reporter_contact == {"name": "王小明", "phone": PHONE, "email": EMAIL}
    assert "是否紧急：是" in event.description and "发生时间：2026-10-08T08:30:00+08:00" in event.description
    assert [t["name"] for t in api.tasks("staff1", event.id)] == ["verify"]      # 核实 (§7.1)
    detail = api.event(event.id, user="staff1")
    reported_row = [a for a in detail["timeline"] if a["action"] == "reported"][0]
    assert reported_row["data"]["service_code"] == "A05" and "api_key" not in reported_row["data"]

    r = submit(api, key, fmt="xml", lat="27.58", long="120.60", media_url="https://img.example.com/1.jpg")
    assert r.status_code == 201 and r.mimetype == "text/xml"
    root = xml(r)
    assert root.tag == "service_requests" and root[0].tag == "request"
    number = root[0].findtext("service_request_id")
    assert root[0].findtext("token") and root[0].findtext("account_id") == ACCOUNT
    event = event_by_number(app, number)
    assert event.community == "lg-longgang" and event.photos == ["https://img.example.com/1.jpg"]
    assert [t["name"] for t in api.tasks("staff2", event.id)] == ["verify"]
    assert api.tasks("staff1", event.id) == []


def test_gcj02_points_are_converted_before_jurisdiction(app, api):
    svc = app.extensions["eventflow"]
    lat, lng = 27.5485, 120.60                       # WGS-84, just north of the 新城/龙港 boundary
    gcj = prcoords.wgs_gcj(prcoords.Coords(lat, lng))
    assert svc.catalogs.community_at(lat, lng) == "lg-longgang"
    assert svc.catalogs.community_at(gcj.lat, gcj.lon) == "lg-xincheng"  # the ~500 m shift would mislead it

    # the 12345 hotline's coordinates are GCJ-02 by default (catalogs/data/channels.json)
    hotline = reported(api, new_key(app, "hotline_12345"), lat=repr(gcj.lat), long=repr(gcj.lon))
    # 随手拍 is GPS (WGS-84) by default; the form may say otherwise
    snap = reported(api, new_key(app, "suishoupai"), lat=repr(gcj.lat), long=repr(gcj.lon), crs="gcj02")
    for body, channel in ((hotline, "hotline_12345"), (snap, "suishoupai")):
        event = event_by_number(app, body["service_request_id"])
        assert event.community == "lg-longgang" and event.channel == channel and event.received_crs == "gcj02"
        assert meters(event.lat, event.lng, lat, lng) < 1.0
        assert [t["name"] for t in api.tasks("staff2", event.id)] == ["verify"]
    # the public sees the stored WGS-84 point
    [public] = api.client.get(f"{BASE}/requests/{hotline['service_request_id']}.json").json
    assert meters(public["lat"], public["long"], lat, lng) < 1.0


def test_a_retry_with_the_same_reference_returns_the_same_request(app, api):
    key = new_key(app, "hotline_12345")
    point = {"lat": "27.5185", "long": "120.6046"}   # GCJ-02 of a point inside 新城社区
    first = submit(api, key, source_ref="12345-GD-20261008-0007", **point)
    again = submit(api, key, source_ref="12345-GD-20261008-0007", **point)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json == first.json and event_count(app) == 1

    by_header = submit(api, key, headers={"Idempotency-Key": "retry-1"}, **point)
    assert by_header.status_code == 201
    retried = submit(api, key, fmt="xml", headers={"Idempotency-Key": "retry-1"}, **point)
    assert retried.status_code == 200
    assert xml(retried)[0].findtext("service_request_id") == by_header.json[0]["service_request_id"]
    assert event_count(app) == 2
    # keys live in one namespace per channel: another channel's work order of the same number is its own
    other = submit(api, new_key(app, "zhihui_cunshe"), source_ref="12345-GD-20261008-0007", **point)
    assert other.status_code == 201 and other.json[0]["service_request_id"] != first.json[0]["service_request_id"]
    # each started its process once
    event = event_by_number(app, first.json[0]["service_request_id"])
    assert [t["name"] for t in api.tasks("staff1", event.id)] == ["verify"]


# -- public reads -----------------------------------------------------------------------------------

def test_the_public_list_filters_and_keeps_to_ninety_days(app, api):
    key = new_key(app)
    a05 = reported(api, key)["service_request_id"]
    a08 = reported(api, key, service_code="A08", lat="27.58")["service_request_id"]
    staff = api.report("grid1")                                       # not a citizen's report: not listed
    assert listed(api) == [a08, a05]                                  # newest first
    assert listed(api, service_code="A08") == [a08]
    assert listed(api, service_code="A05,A08") == [a08, a05]
    assert listed(api, service_request_id=f"{a05},{staff['number']}") == [a05]
    assert listed(api, status="open") == [a08, a05] and listed(api, status="closed") == []
    assert listed(api, start_date="2026-10-08T09:00:00+08:00", end_date="2026-10-08T10:00:00+08:00") == [a08, a05]
    assert listed(api, start_date="2026-10-08T09:00:01+08:00") == []

    [item] = api.client.get(f"{BASE}/requests/{a08}.json").json
    assert item["service_code"] == "A08" and item["status"] == "open" and item["agency_responsible"] == "龙港社区"
    assert item["requested_datetime"] == "2026-10-08T09:00:00+08:00" and item["address"] == FORM["address_string"]
    assert (item["lat"], item["long"]) == (27.58, 120.6)

    r = api.post("/api/sim/advance", "admin1", json={"to": "2027-01-07T09:00:00+08:00"})   # 91 days on
    assert r.status_code == 200, r.json
    assert listed(api) == []                                          # outside the default 90 days
    assert listed(api, start_date="2026-10-01T00:00:00+08:00") == [a08, a05]
    assert listed(api, service_request_id=a05) == [a05]               # a number overrides the window
    assert_error(api.client.get(f"{BASE}/requests.json", query_string={
        "start_date": "2026-10-01T00:00:00+08:00", "end_date": "2027-01-07T00:00:00+08:00"}), 400, "end_date")
    assert_error(api.client.get(f"{BASE}/requests.json", query_string={"start_date": "yesterday"}), 400, "start_date")
    assert_error(api.client.get(f"{BASE}/requests.xml", query_string={"status": "pending"}), 400, "status", "xml")
    assert_error(api.client.get(f"{BASE}/requests.json", query_string={"service_code": "X99"}), 400, "service_code")


def test_public_reads_carry_no_personal_data(app, api):
    body = reported(api, new_key(app))
    number = body["service_request_id"]
    reads = [api.client.get(f"{BASE}/requests.json"), api.client.get(f"{BASE}/requests.xml"),
             api.client.get(f"{BASE}/requests/{number}.json"), api.client.get(f"{BASE}/requests/{number}.xml"),
             api.client.get(f"{BASE}/tokens/{body['token']}.json")]
    for r in reads:
        assert r.status_code == 200
        text = r.data.decode()
        assert number in text
        for secret in (PHONE, EMAIL, ACCOUNT, DEVICE, "王小明", "open311:", "reporter", "email", "phone"):
            assert secret not in text, (secret, text)
    [item] = reads[2].json
    assert set(item) == {"service_request_id", "status", "status_notes", "service_name", "service_code",
                         "description", "agency_responsible", "requested_datetime", "updated_datetime",
                         "expected_datetime", "address", "lat", "long", "media_url"}


def test_sensitive_types_are_accepted_but_never_listed(app, api):
    key = new_key(app)
    body = reported(api, key, service_code="A01", description="有人扬言报复社会")
    event = event_by_number(app, body["service_request_id"])
    assert event.type_code == "A01" and event.community == "lg-xincheng"
    assert [t["name"] for t in api.tasks("staff1", event.id)] == ["verify"]   # the community still handles it
    assert listed(api) == [] and listed(api, service_code="A01") == []
    assert listed(api, service_request_id=body["service_request_id"]) == []
    assert_error(api.client.get(f"{BASE}/requests/{body['service_request_id']}.json"), 404, "service_request_id")
    assert_error(api.client.get(f"{BASE}/requests/{body['service_request_id']}.xml"), 404, "service_request_id",
                 "xml")
    assert "有人扬言" not in api.client.get(f"{BASE}/requests.xml").data.decode()


def test_status_notes_follow_the_event_to_its_end(app, api):
    key = new_key(app)
    invalid = reported(api, key)["service_request_id"]
    returned = reported(api, key)["service_request_id"]
    handled = reported(api, key)["service_request_id"]
    ids = {n: event_by_number(app, n).id for n in (invalid, returned, handled)}

    [item] = api.client.get(f"{BASE}/requests/{invalid}.json").json
    assert item["status"] == "open" and item["status_notes"] == "登记：已登记，由新城社区核实办理（§7.1）"
    assert item["expected_datetime"] is None                           # nothing is timed while 核实

    api.advance("PT10M")
    api.complete("staff1", ids[invalid], "verify", {"verdict": "invalid", "verify_note": "现场核实无此情况"})
    api.complete("staff1", ids[returned], "verify", {"verdict": "return", "verify_note": "不属于社区事务，请向12345反映"})
    api.whistle_to(ids[handled], department="zhifa")
    [item] = api.client.get(f"{BASE}/requests/{handled}.json").json
    assert item["status"] == "open" and item["status_notes"] == "吹哨派单：已派单至执法局，待签收受理（§7.3、§8.3）"
    assert item["agency_responsible"] == "执法局"                      # the lead department, once dispatched
    assert item["expected_datetime"] == "2026-10-08T09:40:00+08:00"   # 签收受理 within 30 minutes (§8.3)
    api.close_whistle(ids[handled])

    closed = {i["service_request_id"]: i for i in api.client.get(f"{BASE}/requests.json",
                                                                 query_string={"status": "closed"}).json}
    assert set(closed) == {invalid, returned, handled}
    assert closed[invalid]["status_notes"] == "不属实/无效：现场核实无此情况"
    assert closed[returned]["status_notes"] == "退回来源：不属于社区事务，请向12345反映"
    assert closed[handled]["status_notes"] == "办结：已处置完毕"
    assert closed[invalid]["updated_datetime"] == "2026-10-08T09:10:00+08:00"
    assert closed[invalid]["requested_datetime"] == "2026-10-08T09:00:00+08:00"
    root = xml(api.client.get(f"{BASE}/requests/{returned}.xml"))
    assert root[0].findtext("status") == "closed" and root[0].findtext("status_notes").startswith("退回来源：")
    assert listed(api, status="open") == []


def test_a_transferred_request_follows_the_event_it_was_transferred_to(app, api):
    """转办 (§7.1): the citizen's request is not closed by the transfer; it shows where the matter went
    (the linked event's number and community) and follows that event to its end."""
    number = reported(api, new_key(app))["service_request_id"]
    api.complete("staff1", event_by_number(app, number).id, "verify",
                 {"verdict": "transfer", "target_community": "lg-longgang", "verify_note": "事发地属龙港社区"})
    [item] = api.client.get(f"{BASE}/requests/{number}.json").json
    linked = api.get("/api/events", "staff2", query_string={"community": "lg-longgang"}).json["items"][0]
    assert item["status"] == "open"
    assert item["status_notes"] == f"已转 {linked['number']}（龙港社区）办理：登记：转办登记，由龙港社区核实办理（§7.1）"
    api.complete("staff2", linked["id"], "verify", {"verdict": "invalid", "verify_note": "现场核实无此情况"})
    [item] = api.client.get(f"{BASE}/requests/{number}.json").json
    assert item["status"] == "closed"
    assert item["status_notes"] == f"已转 {linked['number']}（龙港社区）办理：不属实/无效：现场核实无此情况"


def test_a_withdrawn_request_says_so(app, api):
    number = reported(api, new_key(app))["service_request_id"]
    api.withdraw("staff1", event_by_number(app, number).id, reason="来电人表示问题已解决")
    [item] = api.client.get(f"{BASE}/requests/{number}.json").json
    assert item["status"] == "closed" and item["status_notes"] == "撤单：来电人表示问题已解决"


def test_a_token_finds_its_request(app, api):
    body = reported(api, new_key(app))
    r = api.client.get(f"{BASE}/tokens/{body['token']}.json")
    assert r.status_code == 200 and r.json == [{"service_request_id": body["service_request_id"],
                                                "token": body["token"]}]
    root = xml(api.client.get(f"{BASE}/tokens/{body['token']}.xml"))
    assert root.tag == "service_requests" and root[0].findtext("service_request_id") == body["service_request_id"]
    assert_error(api.client.get(f"{BASE}/tokens/no-such-token.json"), 404, "token")


# -- errors -----------------------------------------------------------------------------------------

def test_errors_name_the_field_in_the_georeport_shape_and_store_nothing(app, api):
    key = new_key(app)
    assert_error(submit(api, None), 403, "api_key")
    assert_error(submit(api, "ef_not-a-key"), 403, "api_key")
    assert_error(submit(api, key, service_code="X99"), 400, "service_code")
    assert_error(submit(api, key, service_code="B01", fmt="xml"), 400, "service_code", "xml")   # not a service
    assert_error(submit(api, key, lat=None), 400, "lat")
    assert_error(submit(api, key, lat="north", fmt="xml"), 400, "lat", "xml")
    assert_error(submit(api, key, long="nan"), 400, "long")
    assert_error(submit(api, key, crs="utm"), 400, "crs")
    assert_error(submit(api, key, phone="call me"), 400, "phone")
    assert_error(submit(api, key, media_url="file:///etc/passwd"), 400, "media_url")     # never a local path
    assert_error(submit(api, key, media_url="javascript:alert(1)", fmt="xml"), 400, "media_url", "xml")
    assert_error(submit(api, key, **{"attribute[urgent]": "maybe"}), 400, "attribute[urgent]")
    assert_error(submit(api, key, **{"attribute[colour]": "red"}), 400, "attribute[colour]")
    outside = assert_error(submit(api, key, lat="27.0", long="120.0"), 400, "lat/long")
    assert "不在任何社区" in outside[0]
    assert event_count(app) == 0

    assert_error(api.client.get(f"{BASE}/services.html"), 404, "format")
    assert_error(submit(api, key, fmt="csv"), 404, "format")
    assert_error(api.client.get(f"{BASE}/nothing.xml"), 404, "path", "xml")
    assert_error(api.client.delete(f"{BASE}/services.json"), 405, "method")
    assert event_count(app) == 0


def test_a_revoked_key_is_refused(app, api):
    svc = app.extensions["eventflow"]
    key = new_key(app, "zhifa_platform")
    assert submit(api, key).status_code == 201
    svc.run(lambda s: apikeys.revoke(s, key, svc.clock.now()))
    assert_error(submit(api, key, fmt="xml"), 403, "api_key", "xml")
    assert event_count(app) == 1


# -- the api-key commands ---------------------------------------------------------------------------

def test_api_key_commands_create_list_and_revoke(settings):
    assert cli(settings, "init-db").exit_code == 0
    out = cli(settings, "api-key", "create", "hotline_12345")
    assert out.exit_code == 0, out.output
    key = next(word for word in out.output.split() if word.startswith("ef_"))
    svc = Services.build(settings)
    try:
        assert svc.read(lambda s: apikeys.channel_for(s, key)) == "hotline_12345"
        stored = svc.read(lambda s: s.scalar(select(ApiKey)))
        assert stored.key_hash != key and key not in stored.key_hash and stored.prefix == key[:10]

        listing = cli(settings, "api-key", "list")
        assert listing.exit_code == 0 and key[:10] in listing.output and key not in listing.output
        assert "active" in listing.output

        bad = cli(settings, "api-key", "create", "fax_machine")
        assert bad.exit_code != 0 and "channel" in bad.output and "Traceback" not in bad.output

        done = cli(settings, "api-key", "revoke", key)
        assert done.exit_code == 0 and "revoked" in done.output
        assert svc.read(lambda s: apikeys.channel_for(s, key)) is None
        assert "revoked" in cli(settings, "api-key", "list").output
        missing = cli(settings, "api-key", "revoke", "ef_nothing-like-this")
        assert missing.exit_code != 0 and "no API key" in missing.output
    finally:
        svc.db.dispose()
