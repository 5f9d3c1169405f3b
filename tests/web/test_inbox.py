"""消息 through GET /api/notifications (issue #5: every source hears back): a grid worker reads how each
report ended; a department reads what was dispatched to it or to a unit below it; nobody reads another's."""
from __future__ import annotations


def messages(api, user, **args):
    r = api.get("/api/notifications", user, query_string=args)
    assert r.status_code == 200, r.json
    return r.json


def test_a_grid_worker_reads_how_a_report_ended(api):
    event = api.report("grid1")
    api.whistle_to(event["id"])
    api.close_whistle(event["id"])
    mine = messages(api, "grid1")
    assert mine["total"] == 1
    item = mine["items"][0]
    assert (item["kind"], item["event_number"], item["to"]) == ("outcome", event["number"],
                                                               {"kind": "person", "name": "grid1"})
    assert "已办结" in item["message"]
    assert messages(api, "grid1", after_id=item["id"])["items"] == []     # polling: nothing newer
    mine = api.get("/api/events", "grid1", query_string={"reporter": "grid1"}).json
    assert [e["status"] for e in mine["items"]] == ["closed"]               # and the report in its own list


def test_a_unit_reads_its_dispatches_and_those_of_units_below_it_but_not_others(api):
    event = api.report()
    api.whistle_to(event["id"], department="shijian.xincheng_scjgs")
    assert "dispatched" in [m["kind"] for m in messages(api, "shijian1")["items"]]   # 市监局 above the office
    assert messages(api, "zhifa1", kind="dispatched")["total"] == 0
    assert messages(api, "grid1", kind="dispatched")["total"] == 0


def test_community_messages_reach_its_cadres_only(api):
    event = api.report()
    api.complete("staff1", event["id"], "verify", {"verdict": "transfer", "target_community": "lg-longgang",
                                                   "verify_note": "事发地属龙港社区"})
    assert "transferred_in" in [m["kind"] for m in messages(api, "staff2")["items"]]
    assert messages(api, "staff1", kind="transferred_in")["total"] == 0
    assert messages(api, "grid1", kind="transferred_in")["total"] == 0


def test_bad_paging_names_the_parameter(api):
    for args, field in (({"per_page": "500"}, "per_page"), ({"after_id": "x"}, "after_id")):
        r = api.get("/api/notifications", "grid1", query_string=args)
        assert r.status_code == 422 and r.json["errors"][0]["field"] == field
    assert api.client.get("/api/notifications").status_code == 401
