"""§9.3 spot checks (issue #8, engine/oversight/spot_checks.py) over HTTP: the city authority draws a sample of a
community's ended events (办结, and also 不属实, 撤单, 退回来源, 转办) from a recorded seed — reproduced here
independently with Python's random —
records findings, and the pass rate counts in the community's indicators. Both databases."""
from __future__ import annotations

import random

PERIOD = {"from": "2026-10-01T00:00:00+08:00", "to": "2026-11-01T00:00:00+08:00"}


def closed_events(api, n):
    ids = []
    for i in range(n):
        event = api.report(description=f"抽查样本 {i}")
        api.whistle_to(event["id"])
        api.close_whistle(event["id"])
        ids.append(event["id"])
    return ids


def test_a_draw_is_reproduced_from_its_seed_and_findings_count_for_the_community(app, api):
    ids = closed_events(api, 6)
    open_one = api.report(description="未办结")                    # not closed: never drawn
    r = api.post("/api/spot-checks", "city1", json={"community": "lg-xincheng", "size": 3, "seed": 20261008, **PERIOD})
    assert r.status_code == 201, r.json
    check = r.json
    expected = random.Random(20261008).sample(sorted(ids), 3)       # the same draw, done independently
    assert [i["event_id"] for i in check["items"]] == expected and check["seed"] == 20261008
    assert check["population"] == sorted(ids)                      # what it was drawn from, kept with it
    assert random.Random(check["seed"]).sample(check["population"], 3) == expected
    assert open_one["id"] not in [i["event_id"] for i in check["items"]]
    again = api.post("/api/spot-checks", "city1", json={"community": "lg-xincheng", "size": 3, "seed": 20261008,
                                                        **PERIOD}).json
    assert [i["event_id"] for i in again["items"]] == expected    # drawn again: the same sample
    drawn = api.post("/api/spot-checks", "city1", json={"community": "lg-xincheng", "size": 2, **PERIOD}).json
    assert [i["event_id"] for i in drawn["items"]] == random.Random(drawn["seed"]).sample(sorted(ids), 2)

    first, second, third = expected
    for event_id, passed in ((first, True), (second, False), (third, True)):
        r = api.client.put(f"/api/spot-checks/{check['id']}/events/{event_id}", headers=api.headers("city1"),
                           json={"passed": passed, "note": "现场复核" if passed else "整改不到位，照片与现场不符"})
        assert r.status_code == 200, r.json
    shown = {i["event_id"]: i["finding"] for i in api.get(f"/api/spot-checks/{check['id']}", "city1").json["items"]}
    assert shown[second]["passed"] is False and shown[first]["checked_by"] == "city1"
    r = api.get("/api/indicators", "city1", query_string={"level": "community", "from": "2026-10-01T00:00:00+08:00",
                                                          "to": "2026-11-01T00:00:00+08:00"})
    xincheng = {i["key"]: i for i in r.json["items"]}["lg-xincheng"]["indicators"]
    assert (xincheng["spot_check_pass_rate"]["numerator"], xincheng["spot_check_pass_rate"]["denominator"]) == (2, 3)
    timeline = [t["action"] for t in api.event(second)["timeline"]]
    assert "spot_checked" in timeline


def ended_in_every_way(api) -> dict:
    """One event of the pool for each way a process ends at 核实 or after (§7.1), and one still open."""
    ended = {"closed": closed_events(api, 1)[0]}
    for status, verdict in (("invalid", {"verdict": "invalid", "verify_note": "现场核实无此情况"}),
                            ("returned", {"verdict": "return", "verify_note": "不属于社区事务，退回来源"}),
                            ("transferred", {"verdict": "transfer", "target_community": "lg-longgang",
                                             "verify_note": "事发地属龙港社区"})):
        event = api.report(description=f"核实结束 {status}")
        api.complete("staff1", event["id"], "verify", verdict)
        ended[status] = event["id"]
    withdrawn = api.report(description="群众已自行解决")
    api.withdraw("grid1", withdrawn["id"])
    ended["withdrawn"] = withdrawn["id"]
    for status, event_id in ended.items():
        assert api.event(event_id)["status"] == status
    return ended


def test_events_written_off_are_drawn_too_and_show_how_they_ended(app, api):
    """§9.3: 不属实, 撤单, 退回来源 and 转办 are in the population beside 办结 (a community cannot keep work out of
    the sample by writing it off); the recorded seed still gives the same sample; each item shows its ending."""
    ended = ended_in_every_way(api)
    still_open = api.report(description="办理中")["id"]
    population = sorted(ended.values())
    written_off = {ended["invalid"], ended["withdrawn"]}
    seed = next(s for s in range(1000) if set(random.Random(s).sample(population, 2)) == written_off)
    body = {"community": "lg-xincheng", "size": 2, "seed": seed, **PERIOD}
    check = api.post("/api/spot-checks", "city1", json=body).json
    assert check["population"] == population and still_open not in population
    expected = random.Random(seed).sample(population, 2)               # done independently
    assert [i["event_id"] for i in check["items"]] == expected and set(expected) == written_off
    again = api.post("/api/spot-checks", "city1", json=body).json
    assert [i["event_id"] for i in again["items"]] == expected
    whole = api.post("/api/spot-checks", "city1", json={**body, "size": 10, "seed": 11}).json
    shown = {i["event_id"]: (i["status"], i["status_name"]) for i in whole["items"]}
    assert shown == {ended["closed"]: ("closed", "办结"), ended["invalid"]: ("invalid", "不属实/无效"),
                     ended["returned"]: ("returned", "退回来源"), ended["transferred"]: ("transferred", "转办"),
                     ended["withdrawn"]: ("withdrawn", "撤单")}
    assert all(i["closed_at"] for i in whole["items"])
    r = api.client.put(f"/api/spot-checks/{check['id']}/events/{ended['invalid']}", headers=api.headers("city1"),
                       json={"passed": False, "note": "现场确有占道，核实不实"})
    assert r.status_code == 200, r.json
    from tests.web.test_sensitive import web_session
    html = web_session(app, "city1").get(f"/spot-checks/{check['id']}").get_data(as_text=True)
    assert html.count('data-testid="ending"') == 2 and "不属实/无效" in html and "撤单" in html


def test_what_is_refused(app, api):
    ids = closed_events(api, 2)
    r = api.post("/api/spot-checks", "staff1", json={"community": "lg-xincheng", "size": 1, **PERIOD})
    assert r.status_code == 403
    r = api.post("/api/spot-checks", "city1", json={"community": "nowhere", "size": 0, "seed": -1, "from": "x"})
    assert r.status_code == 422
    assert {e["field"] for e in r.json["errors"]} == {"community", "size", "seed", "from"}
    check = api.post("/api/spot-checks", "city1", json={"community": "lg-xincheng", "size": 1, "seed": 7, **PERIOD}).json
    [drawn] = [i["event_id"] for i in check["items"]]
    other = [i for i in ids if i != drawn][0]
    r = api.client.put(f"/api/spot-checks/{check['id']}/events/{other}", headers=api.headers("city1"),
                       json={"passed": True, "note": "复核"})
    assert r.status_code == 404 and r.json["field"] == "event_id"          # not drawn
    r = api.client.put(f"/api/spot-checks/{check['id']}/events/{drawn}", headers=api.headers("city1"), json={"note": "x"})
    assert r.status_code == 422 and {e["field"] for e in r.json["errors"]} == {"passed", "note"}
    ok = api.client.put(f"/api/spot-checks/{check['id']}/events/{drawn}", headers=api.headers("city1"),
                        json={"passed": True, "note": "复核合格"})
    assert ok.status_code == 200
    again = api.client.put(f"/api/spot-checks/{check['id']}/events/{drawn}", headers=api.headers("city1"),
                           json={"passed": False, "note": "改判"})
    assert again.status_code == 409


def test_key_hazard_points_are_spot_checked_too(app, api):
    import io
    import json
    from tests.web.client import image
    keys = []
    for i in range(4):
        r = api.post("/api/hazards", "staff1", data={"hazard": json.dumps({"title": f"隐患点 {i}", "description": "需整治",
                                                                           "address": f"新城路 {i} 号"}),
                                                     "before_photos": [(io.BytesIO(image(color=(i * 40, 90, 90))), "p.jpg")]},
                     content_type="multipart/form-data")
        assert r.status_code == 201, r.json
        keys.append(r.json["id"])
    r = api.post("/api/spot-checks", "city1", json={"community": "lg-xincheng", "kind": "hazards", "size": 2,
                                                    "seed": 42, **PERIOD})
    assert r.status_code == 201 and r.json["kind"] == "hazards", r.json
    drawn = [i["hazard_id"] for i in r.json["items"]]
    assert drawn == random.Random(42).sample(sorted(keys), 2)
    assert r.json["items"][0]["title"].startswith("隐患点")
    ok = api.client.put(f"/api/spot-checks/{r.json['id']}/hazards/{drawn[0]}", headers=api.headers("city1"),
                        json={"passed": False, "note": "现场未整改"})
    assert ok.status_code == 200 and ok.json["items"][0]["finding"]["passed"] is False
    wrong = api.client.put(f"/api/spot-checks/{r.json['id']}/events/{drawn[1]}", headers=api.headers("city1"),
                           json={"passed": True, "note": "复核"})
    assert wrong.status_code == 404                                   # a hazards check has no events
    rates = api.get("/api/indicators", "city1", query_string={"level": "community", **PERIOD}).json["items"]
    xincheng = {i["key"]: i for i in rates}["lg-xincheng"]["indicators"]["spot_check_pass_rate"]
    assert (xincheng["numerator"], xincheng["denominator"]) == (0, 1)
    r = api.post("/api/spot-checks", "city1", json={"community": "lg-xincheng", "kind": "trees", "size": 1, **PERIOD})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "kind"
