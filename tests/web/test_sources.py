"""Who may claim which source (§5; issue #15 part 3): every demo role × every source through the API, the
report page's picker, and a superior's fields only on a superior assignment. Real app and databases."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from engine.store.models import Event
from tests.web.client import REPORT
from tests.web.test_sensitive import web_session

#: what each demo user may register, written out here (not read from engine/pool/events.py) so that a change
#: of the rule shows as a failing test
ALLOWED = {"grid1": {"grid_worker"},
           "committee1": {"committee_patrol", "one_thing", "superior"},
           "staff1": {"committee_patrol", "one_thing"},
           "stationed1": {"committee_patrol"},
           "whistle1": {"committee_patrol"},
           "city1": {"superior"},
           "zhifa1": set(), "owner1": set(), "admin1": set()}
SOURCES = ("grid_worker", "committee_patrol", "citizen", "iot_alert", "one_thing", "superior")
SUPERIOR = {"superior_body": "龙港市社会治理中心", "superior_deadline": "2026-10-10T17:00:00+08:00"}


def report_of(source: str) -> dict:
    """A report that is valid for the source (so only who sends it decides the answer)."""
    body = {**REPORT, "source": source, "description": f"来源测试 {source}"}
    if source == "one_thing":
        body["type_code"] = "B03"
    if source == "superior":
        body.update(SUPERIOR)
    return body


def events(app) -> int:
    svc = app.extensions["eventflow"]
    return svc.read(lambda s: s.scalar(select(func.count(Event.id))))


def test_each_role_registers_only_its_own_sources_and_the_rest_is_403_naming_source(app, api):
    for user, allowed in ALLOWED.items():
        for source in SOURCES:
            before = events(app)
            r = api.post("/api/events", user, json=report_of(source))
            if source in allowed:
                assert r.status_code == 201, (user, source, r.json)
                assert r.json["source"] == source and r.json["reporter"] == user
            else:
                assert r.status_code == 403, (user, source, r.json)
                if not allowed:   # a role §5 gives no source is refused the operation itself (x-roles)
                    assert r.json["field"] == "role", (user, source, r.json)
                else:
                    assert r.json["field"] == "source", (user, source, r.json)
                    assert "不能登记" in r.json["message"] and f"source {source!r}" in r.json["message"]
                assert events(app) == before, (user, source)          # nothing stored


def test_a_grid_worker_cannot_set_a_superior_deadline_on_its_own_report(app, api):
    """The attack of the issue: the deadline rides on a grid worker's report without claiming `superior`."""
    before = events(app)
    r = api.post("/api/events", "grid1", json={**REPORT, **SUPERIOR})
    assert r.status_code == 422
    assert {e["field"] for e in r.json["errors"]} == {"superior_body", "superior_deadline"}
    assert all("仅上级交办" in e["reason"] for e in r.json["errors"])
    assert events(app) == before


def test_a_citizen_and_a_device_still_register_through_their_own_channels(app, api):
    """What no user may claim arrives by an Open311 key (§5.3) and a signed device (§5.4)."""
    from engine.core.clock import SimulatedClock
    from tests.web.test_alerts import WALL, Sender, register
    from tests.web.test_open311 import new_key, reported
    number = reported(api, new_key(app))["service_request_id"]
    [citizen] = api.get("/api/events", "staff1", query_string={"number": number}).json["items"]
    assert citizen["source"] == "citizen"
    app.extensions["eventflow"].env.wall_clock = SimulatedClock(WALL)
    r = Sender(app, "cam-9", register(app, "cam-9")).send()
    assert r.status_code == 201, r.json
    assert api.event(r.json["event_id"])["source"] == "iot_alert"


def options(html: str) -> list[str]:
    select_ = re.search(r'<select id="source" name="source">(.*?)</select>', html, re.S).group(1)
    return re.findall(r'<option value="([^"]+)"', select_)


def test_the_report_page_offers_only_the_users_sources(app):
    for user, allowed in ALLOWED.items():
        page = web_session(app, user)
        r = page.get("/report")
        nav = page.get("/").get_data(as_text=True)
        if not allowed:
            assert r.status_code == 403, user
            assert 'href="/report"' not in nav, user
            continue
        html = r.get_data(as_text=True)
        assert r.status_code == 200 and 'href="/report"' in nav, user
        assert options(html) == [s for s in SOURCES if s in allowed], user
        assert ('name="superior_deadline"' in html) == ("superior" in allowed), user
        assert ('value="B03"' in html) == ("one_thing" in allowed), user      # Appendix B matters
        assert ('name="community"' in html) == (user == "city1"), user       # no community of its own


def _post_report(page, **fields):
    html = page.get("/report").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    form = {"csrf_token": token, "type_code": "A09", "description": "背街小巷环境卫生专项整治",
            "address": "新城大道 88 号", "lat": "27.52", "lng": "120.60", **fields}
    return page.post("/report", data=form)


def test_the_report_page_records_a_superior_assignment_and_refuses_a_forged_source(app, api):
    committee = web_session(app, "committee1")
    r = _post_report(committee, source="superior", superior_body="龙港市社会治理中心",
                     superior_deadline="2026-10-10T17:00")              # the datetime-local field: Longgang time
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    event_id = int(r.headers["Location"].rsplit("/", 1)[1])
    event = api.event(event_id)
    assert event["source"] == "superior" and event["superior_body"] == "龙港市社会治理中心"
    assert event["superior_deadline"].startswith("2026-10-10T17:00:00") and event["superior_deadline"].endswith("+08:00")
    city = web_session(app, "city1")
    r = _post_report(city, source="superior", community="lg-xincheng", superior_body="龙港市人民政府",
                     superior_deadline="2026-10-12T12:00")
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    before = events(app)
    r = _post_report(web_session(app, "grid1"), source="citizen")        # not in its picker, sent anyway
    assert r.status_code == 403 and "不能登记" in r.get_data(as_text=True)
    r = _post_report(committee, source="superior")                       # the assignment's fields named
    assert r.status_code == 422 and "上级交办必填" in r.get_data(as_text=True)
    assert events(app) == before
