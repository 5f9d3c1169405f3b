"""Every source follows each stage (issue #18; §4.3, §5.3, §7.1): mySociety's Open311 extension, service
request updates. Citizens' requests are walked through every stage of Figure 1 (登记, 受理/核实, 研判, 吹哨派单,
签收受理, 延期, 退回/改派, 兜底指定, 到场, 处置反馈, 重办, 核查/办结, 不属实/无效, 退回来源, 撤单, 合并, 转办,
重启) and a citizen's own update; each comes back from GET servicerequestupdates in JSON and in XML (read
with lxml) in the shapes the extension documents (mySociety's FixMyStreet wiki "Open311 FMS — Proposed
differences to Open311" and the open311-adapter's examples: `<service_request_updates><request_update>
<update_id>…`), with stable ids, pages and a time window; sensitive events never; no personal data.
The real app on SQLite and PostgreSQL; the clock is the simulated one."""
from __future__ import annotations

import pytest
from lxml import etree
from sqlalchemy import select

from engine.channels import stages
from engine.store.models import Audit, Notification
from tests.web.test_sensitive import web_session
from tests.web.test_open311 import (ACCOUNT, DEVICE, EMAIL, PHONE, assert_error, event_by_number, new_key,
                                    reported)

BASE = "/open311/v2"
#: the fields of a request_update in the extension's documented examples, in the order eventflow gives them
FIELDS = ["update_id", "service_request_id", "status", "updated_datetime", "description", "media_url",
          "external_status_code"]
NEAR = 0.0009


def updates(api, fmt="json", **args):
    r = api.client.get(f"{BASE}/servicerequestupdates.{fmt}", query_string=args)
    assert r.status_code == 200, r.data.decode()
    if fmt == "json":
        assert r.mimetype == "application/json" and isinstance(r.json, list)
        return r.json
    assert r.mimetype == "text/xml"
    root = etree.fromstring(r.data)
    assert root.tag == "service_request_updates" and all(child.tag == "request_update" for child in root)
    items = []
    for child in root:
        assert [field.tag for field in child] == FIELDS
        items.append({field.tag: field.text or "" for field in child})
    return items


def both(api, **args):
    """The updates in JSON; the same, field for field, in XML."""
    as_json, as_xml = updates(api, "json", **args), updates(api, "xml", **args)
    assert [{k: "" if v is None else str(v) for k, v in item.items()} for item in as_json] == as_xml
    return as_json


def walked(api, number):
    """(stage code, Open311 status) of each update of one request, oldest first."""
    return [(u["external_status_code"], u["status"]) for u in both(api, service_request_id=number)]


def post_update(api, key, fmt="json", **form):
    data = {k: v for k, v in form.items() if v is not None}
    if key is not None:
        data["api_key"] = key
    return api.client.post(f"{BASE}/servicerequestupdates.{fmt}", data=data)


def test_every_stage_of_figure_1_round_trips_in_json_and_xml(app, api):
    key = new_key(app)
    ids = {}

    def report(name, **changes):
        number = reported(api, key, **changes)["service_request_id"]
        ids[name] = (number, event_by_number(app, number).id)
        return ids[name]

    # 1. the whistle's whole line: 退回 → 改派, 签收受理, 延期, 处置反馈, 重办, 办结
    main, main_id = report("main")
    api.advance("PT5M")
    api.complete("staff1", main_id, "verify", {"verdict": "accept", "verify_note": "王小明 13800001111 现场核实属实"})
    api.complete("staff1", main_id, "analyse", {"disposal": "whistle"})
    api.complete("whistle1", main_id, "issue_whistle", {"lead_department": "shijian", "on_site": False,
                                                         "whistle_reason": "社区无法自行处置"})
    api.complete("shijian1", main_id, "accept_whistle", {"decision": "return", "return_code": "not_ours", "return_reason": "非本部门职责"})
    api.complete("whistle1", main_id, "redispatch", {"lead_department": "zhifa"})
    api.complete("zhifa1", main_id, "accept_whistle", {"decision": "accept"})
    [close] = [d for d in api.event(main_id)["deadlines"] if d["kind"] == "close"]
    [item] = api.client.get(f"{BASE}/requests/{main}.json").json
    assert item["status_notes"] == "处置中：执法局已签收受理（§8.3）"
    assert item["expected_datetime"] == close["due_at"] == "2026-10-09T09:05:00+08:00"   # 24 h from dispatch (§8.3)
    r = api.post(f"/api/deadlines/{close['id']}/extension-requests", "staff1", json={"reason": "需协调多方"})
    assert r.status_code == 201, r.json
    r = api.post(f"/api/extension-requests/{r.json['id']}/decision", "city1",
                 json={"approve": True, "new_due_at": "2026-10-10T09:00:00+08:00", "note": "同意"})
    assert r.status_code == 200, r.json
    item = etree.fromstring(api.client.get(f"{BASE}/requests/{main}.xml").data)[0]
    assert item.findtext("expected_datetime") == "2026-10-10T09:00:00+08:00"            # the live deadline moved
    assert item.findtext("status_notes") == "延期：经市级主管部门批准，办结时限延至 2026-10-10T09:00:00+08:00（§8.4）"
    r = post_update(api, key, service_request_id=main, update_id="fms-77", status="OPEN",
                    updated_datetime="2026-10-08T09:05:00+08:00", description="占道又出现了",
                    media_url="https://img.example.com/77.jpg", email=EMAIL, first_name="小明", last_name="王")
    assert r.status_code == 201, r.data.decode()
    api.complete("zhifa1", main_id, "dispose_feedback", {"result_summary": "已清理占道摊位"})
    api.receive_closure(main_id)
    api.complete("staff1", main_id, "check", {"passed": False, "rating": "不满意", "check_note": "仍有摊位"})
    api.complete("zhifa1", main_id, "dispose_rework", {"result_summary": "已全部清理"})
    api.receive_closure(main_id)
    api.complete("staff1", main_id, "check", {"passed": True, "rating": "满意"})
    assert walked(api, main) == [
        ("reported", "open"), ("accepted", "investigating"), ("analysed", "investigating"),
        ("dispatched", "action_scheduled"), ("unit_returned", "investigating"), ("redispatched", "action_scheduled"),
        ("unit_accepted", "in_progress"), ("extended", "in_progress"), ("citizen_update", "in_progress"),
        ("fed_back", "in_progress"), ("rework", "in_progress"), ("fed_back", "in_progress"), ("closed", "fixed")]
    said = {u["external_status_code"]: u["description"] for u in both(api, service_request_id=main)}
    assert said["reported"] == "登记：已登记，由新城社区核实办理（§7.1）"
    assert said["dispatched"] == "吹哨派单：已派单至市监局，待签收受理（§7.3、§8.3）"
    assert said["unit_returned"] == "退回：市监局退回哨单，待重新派单（§7.3）"
    assert said["redispatched"] == "改派：已改派至执法局，待签收受理（§7.3）"
    assert said["extended"] == "延期：经市级主管部门批准，办结时限延至 2026-10-10T09:00:00+08:00（§8.4）"
    assert said["citizen_update"] == "占道又出现了"
    assert said["closed"] == "办结：已全部清理"
    [citizen] = [u for u in both(api, service_request_id=main) if u["external_status_code"] == "citizen_update"]
    assert citizen["media_url"] == "https://img.example.com/77.jpg"
    [item] = api.client.get(f"{BASE}/requests/{main}.json").json
    assert (item["status"], item["status_notes"], item["expected_datetime"]) == ("closed", "办结：已全部清理", None)

    # 2. the ends before the whistle: 不属实/无效, 退回来源, 撤单
    invalid, invalid_id = report("invalid")
    api.complete("staff1", invalid_id, "verify", {"verdict": "invalid", "verify_note": "现场核实无此情况"})
    returned, returned_id = report("returned")
    api.complete("staff1", returned_id, "verify", {"verdict": "return", "verify_note": "不属于社区事务，请向12345反映"})
    withdrawn, withdrawn_id = report("withdrawn")
    api.withdraw("staff1", withdrawn_id, reason="来电人表示问题已解决")
    assert walked(api, invalid) == [("reported", "open"), ("invalid", "no_further_action")]
    assert walked(api, returned) == [("reported", "open"), ("returned", "not_councils_responsibility")]
    assert walked(api, withdrawn) == [("reported", "open"), ("withdrawn", "closed")]
    assert [u["description"] for u in both(api, service_request_id=f"{invalid},{returned},{withdrawn}")
            if u["external_status_code"] != "reported"] == [
        "不属实/无效：现场核实无此情况", "退回来源：不属于社区事务，请向12345反映", "撤单：来电人表示问题已解决"]

    # 3. 转办 (§7.1): the request follows the event in the other community
    moved, moved_id = report("moved")
    api.complete("staff1", moved_id, "verify", {"verdict": "transfer", "target_community": "lg-longgang",
                                                "verify_note": "事发地属龙港社区"})
    linked = api.get("/api/events", "staff2", query_string={"community": "lg-longgang"}).json["items"][0]
    api.complete("staff2", linked["id"], "verify", {"verdict": "accept"})
    assert walked(api, moved) == [("reported", "open"), ("transferred", "internal_referral"),
                                  ("accepted", "investigating")]
    followed = both(api, service_request_id=moved)
    assert followed[1]["description"] == f"转办：已转龙港社区办理（新编号 {linked['number']}，§7.1）"
    assert followed[2]["update_id"].endswith(f"-{moved_id}")              # the linked event's row, for this request
    assert walked(api, linked["number"]) == [("reported", "open"), ("accepted", "investigating")]

    # 4. 合并 (§7.1): a repeated report merged into the first follows it, as a duplicate
    first, first_id = report("first", lat="27.53")
    dup, dup_id = report("dup", lat=str(27.53 + NEAR))
    r = api.post(f"/api/events/{dup_id}/merge", "staff1", json={"into": first_id, "reason": "同一占道问题"})
    assert r.status_code == 200, r.json
    api.advance("PT1M")
    # 5. the community handles it itself (研判 → 社区干部处置), on the request merged into it too
    api.complete("staff1", first_id, "verify", {"verdict": "accept"})
    api.complete("staff1", first_id, "analyse", {"disposal": "cadre"})
    api.complete("staff1", first_id, "handle_by_cadre", {"result_summary": "已上门劝导"})
    api.complete("staff1", first_id, "check", {"passed": True, "rating": "满意"})
    assert walked(api, dup) == [("reported", "open"), ("merged", "duplicate"), ("accepted", "investigating"),
                                ("analysed", "in_progress"), ("fed_back", "in_progress"), ("closed", "fixed")]
    assert walked(api, first)[-3:] == [("analysed", "in_progress"), ("fed_back", "in_progress"), ("closed", "fixed")]

    # 6. two returns: 兜底指定 (§7.3), then on site (到场, §8.3), and 重启 after it closed
    site, site_id = report("site")
    api.whistle_to(site_id, department="shijian", on_site=True)
    api.complete("shijian1", site_id, "accept_whistle", {"decision": "return", "return_code": "not_ours", "return_reason": "非市监职责"})
    api.complete("whistle1", site_id, "redispatch", {"lead_department": "gongan"})
    api.complete("police1", site_id, "accept_whistle", {"decision": "return", "return_code": "not_ours", "return_reason": "非治安案件"})
    api.complete("city1", site_id, "authority_assign", {"owner_department": "zhifa", "decision_note": "属执法局"})
    api.complete("zhifa1", site_id, "accept_assigned", {"accept_note": "已受理"})
    api.complete("zhifa1", site_id, "arrive", {"arrival_location": {"lat": 27.52, "lng": 120.6},
                                                "arrival_photo": api.photo("zhifa1", site_id), "on_spot": "solved"})
    api.complete("zhifa1", site_id, "dispose_feedback", {"result_summary": "现场已清理"})
    api.receive_closure(site_id)
    api.complete("staff1", site_id, "check", {"passed": True, "rating": "满意"})
    # the citizen left a phone: 回访 first (a manual 重启 waits for it), reached and satisfied
    api.complete("staff1", site_id, "revisit", {"revisit_reached": True, "revisit_rating": "满意"})
    api.reopen("staff1", site_id, reason="同一问题再次投诉")
    assert [code for code, _ in walked(api, site)] == [
        "reported", "accepted", "analysed", "dispatched", "unit_returned", "redispatched", "unit_returned",
        "assigned", "unit_accepted", "arrived", "fed_back", "closed", "reopened"]
    said = {u["external_status_code"]: u for u in both(api, service_request_id=site)}
    assert said["assigned"]["description"] == "兜底指定：市级主管部门指定执法局承办（§7.3）"
    assert said["arrived"]["description"] == "处置中：执法局已到场处置（§8.3）"
    assert said["reopened"]["status"] == "open"

    # every stage of Figure 1 was told; every status is one of the extension's
    everything = both(api)
    assert {u["external_status_code"] for u in everything} == {
        "reported", "accepted", "analysed", "dispatched", "unit_returned", "redispatched", "assigned",
        "unit_accepted", "arrived", "extended", "citizen_update", "fed_back", "rework", "closed", "invalid",
        "returned", "withdrawn", "transferred", "merged", "reopened"}
    assert {u["status"] for u in everything} <= set(stages.STATUSES)
    assert len({u["update_id"] for u in everything}) == len(everything)
    text = api.client.get(f"{BASE}/servicerequestupdates.xml").data.decode()
    for secret in (PHONE, EMAIL, ACCOUNT, DEVICE, "王小明", "小明", "open311:", "staff1", "zhifa1", "仍有摊位"):
        assert secret not in text, secret


def test_the_documented_example_shapes(app, api):
    """The shapes of the extension's examples: GET answers `<service_request_updates>` of `<request_update>`
    (JSON: a list of objects) with update_id, service_request_id, status (lower case), updated_datetime (W3C
    with its offset), description and media_url (empty when there is none); POST answers
    `<service_request_updates><request_update><update_id>` (JSON `[{"update_id"}]`)."""
    key = new_key(app)
    number = reported(api, key)["service_request_id"]
    assert updates(api, "xml", start_date="2026-10-09T00:00:00+08:00") == []
    empty = etree.fromstring(api.client.get(f"{BASE}/servicerequestupdates.xml",
                                            query_string={"start_date": "2026-10-09T00:00:00Z"}).data)
    assert empty.tag == "service_request_updates" and len(empty) == 0
    [update] = both(api)
    assert update == {"update_id": update["update_id"], "service_request_id": number, "status": "open",
                      "updated_datetime": "2026-10-08T09:00:00+08:00",
                      "description": "登记：已登记，由新城社区核实办理（§7.1）", "media_url": "", "external_status_code": "reported"}
    r = post_update(api, key, "xml", service_request_id=number, update_id="1001", status="OPEN",
                    updated_datetime="2026-10-08T01:00:00Z", description="Update here", account_id="acct-1")
    assert r.status_code == 201 and r.mimetype == "text/xml"
    root = etree.fromstring(r.data)
    assert root.tag == "service_request_updates" and [c.tag for c in root] == ["request_update"]
    assert [c.tag for c in root[0]] == ["update_id", "account_id"] and root[0].findtext("update_id").isdigit()
    r = post_update(api, key, service_request_id=number, update_id="1002", status="CLOSED",
                    updated_datetime="2026-10-08T01:00:00Z", description="")  # FixMyStreet sends "" with a photo
    assert_error(r, 400, "description")
    r = post_update(api, key, service_request_id=number, update_id="1002", status="CLOSED",
                    updated_datetime="2026-10-08T01:00:00Z", description="", media_url="https://img.example.com/x.jpg")
    assert r.status_code == 201 and list(r.json[0]) == ["update_id"]


def test_updates_are_paged_windowed_and_stable(app, api):
    key = new_key(app)
    numbers = []
    for _ in range(3):
        numbers.append(reported(api, key)["service_request_id"])
        api.advance("PT10M")
    api.withdraw("staff1", event_by_number(app, numbers[0]).id, reason="已自行解决")
    whole = both(api)
    assert [(u["service_request_id"], u["external_status_code"]) for u in whole] == [
        (numbers[0], "reported"), (numbers[1], "reported"), (numbers[2], "reported"), (numbers[0], "withdrawn")]
    pages, args = [], {"limit": "3"}
    while True:
        r = api.client.get(f"{BASE}/servicerequestupdates.json", query_string=args)
        assert r.status_code == 200
        pages.append(r.json)
        link = r.headers.get("Link", "")
        if 'rel="next"' not in link:
            break
        args = {"limit": "3", "cursor": link.split("cursor=")[1].split(">")[0]}
    assert [len(p) for p in pages] == [3, 1] and [u for p in pages for u in p] == whole == both(api)   # stable
    window = both(api, start_date="2026-10-08T09:05:00+08:00", end_date="2026-10-08T09:15:00+08:00")
    assert [u["service_request_id"] for u in window] == [numbers[1]]
    assert both(api, end_date="2026-10-08T08:59:59+08:00") == []
    api.advance("P91D")
    assert both(api) == []                                               # the default: the last 90 days
    assert len(both(api, start_date="2026-10-08T00:00:00+08:00")) == 4
    assert_error(api.client.get(f"{BASE}/servicerequestupdates.json", query_string={"start_date": "yesterday"}),
                 400, "start_date")
    assert_error(api.client.get(f"{BASE}/servicerequestupdates.xml", query_string={
        "start_date": "2026-10-01T00:00:00+08:00", "end_date": "2027-01-07T00:00:00+08:00"}), 400, "end_date", "xml")
    assert_error(api.client.get(f"{BASE}/servicerequestupdates.json", query_string={"limit": "0"}), 400, "limit")
    assert_error(api.client.get(f"{BASE}/servicerequestupdates.json", query_string={"cursor": "bogus"}), 400, "cursor")
    assert_error(api.client.get(f"{BASE}/servicerequestupdates.csv"), 404, "format")
    assert_error(api.client.delete(f"{BASE}/servicerequestupdates.json"), 405, "method")


def test_sensitive_requests_never_appear(app, api):
    key = new_key(app)
    secret = reported(api, key, service_code="A01", description="有人扬言报复社会")["service_request_id"]
    event_id = event_by_number(app, secret).id
    api.complete("staff1", event_id, "verify", {"verdict": "accept"})
    assert both(api) == [] and both(api, service_request_id=secret) == []
    assert "有人扬言" not in api.client.get(f"{BASE}/servicerequestupdates.xml").data.decode()
    assert_error(post_update(api, key, service_request_id=secret, description="补充情况"), 404, "service_request_id")
    grid = api.report("grid1")                                          # not a citizen's report: not public either
    assert_error(post_update(api, key, service_request_id=grid["number"], description="补充"), 404,
                 "service_request_id")


def test_a_citizens_update_is_stored_shown_told_and_idempotent(app, api):
    key = new_key(app)
    number = reported(api, key)["service_request_id"]
    event_id = event_by_number(app, number).id
    form = {"service_request_id": number, "update_id": "fms-1", "status": "OPEN", "description": "摊位还在",
            "updated_datetime": "2026-10-08T09:00:00+08:00", "phone": PHONE, "first_name": "小明"}
    first = post_update(api, key, **form)
    again = post_update(api, key, "xml", **form)
    assert (first.status_code, again.status_code) == (201, 200)
    assert etree.fromstring(again.data)[0].findtext("update_id") == first.json[0]["update_id"]
    svc = app.extensions["eventflow"]
    rows = svc.read(lambda s: list(s.scalars(select(Audit).where(Audit.event_id == event_id,
                                                                 Audit.action == "citizen_update"))))
    assert len(rows) == 1 and rows[0].actor == "open311:suishoupai" and rows[0].data["client_status"] == "open"
    assert rows[0].data["contact"] == {"first_name": "小明", "phone": PHONE}     # kept for staff, never shown
    timeline = api.event(event_id)["timeline"]
    assert [a["data"]["text"] for a in timeline if a["action"] == "citizen_update"] == ["摊位还在"]
    told = svc.read(lambda s: [n.message for n in s.scalars(select(Notification).where(
        Notification.event_id == event_id, Notification.kind == "citizen_update").order_by(Notification.id))])
    assert told and "摊位还在" in told[0]                                    # whoever has 核实 hears it
    page = web_session(app, "staff1").get(f"/events/{event_id}")
    assert page.status_code == 200 and "群众补充" in page.get_data(as_text=True) and "摊位还在" in page.get_data(as_text=True)
    [update] = [u for u in both(api) if u["external_status_code"] == "citizen_update"]
    assert update["update_id"] == first.json[0]["update_id"] and PHONE not in str(update)

    assert_error(post_update(api, None, **form), 403, "api_key")
    assert_error(post_update(api, "ef_nope", "xml", **form), 403, "api_key", "xml")
    assert_error(post_update(api, key, **{**form, "service_request_id": None}), 400, "service_request_id")
    assert_error(post_update(api, key, **{**form, "service_request_id": "LG-19990101-0001"}), 404, "service_request_id")
    assert_error(post_update(api, key, **{**form, "status": "MAYBE"}), 400, "status")
    assert_error(post_update(api, key, **{**form, "updated_datetime": "tuesday"}), 400, "updated_datetime")
    assert_error(post_update(api, key, **{**form, "media_url": "file:///etc/passwd"}), 400, "media_url")
    assert_error(post_update(api, key, "xml", **{**form, "description": "字" * 2001}), 400, "description", "xml")
    assert_error(post_update(api, key, **{**form, "update_id": "x" * 101}), 400, "update_id")
    r = api.client.post(f"{BASE}/servicerequestupdates.json?api_key={key}", data=form)
    assert_error(r, 400, "api_key")                                       # never in the query string
    assert len(svc.read(lambda s: list(s.scalars(select(Audit).where(Audit.action == "citizen_update"))))) == 1


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_the_update_list_answers_options_with_its_methods(api, fmt):
    r = api.client.options(f"{BASE}/servicerequestupdates.{fmt}")
    assert r.status_code == 200 and set(r.headers["Allow"].split(", ")) == {"GET", "HEAD", "POST", "OPTIONS"}
