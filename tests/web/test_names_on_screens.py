"""No internal words on screens (issue #20): people by display name and unit, never their login name (待办's 认领人,
the task page, the 哨单, the spot check, 督办, the circular, the indicators, a refusal); an event's status in words
after 核查 (办结, not "closed"); 流程版本 with the process's name, who deployed it in words (命令行部署 for the
command line), its instances' statuses and its changes' element kinds in words; the unit editor by unit name, the
code second. Both databases, the real app through Flask's test client and the sign-in form."""
from __future__ import annotations

import re

from engine.casework import process_versions
from engine.runtime import bundle as bundles
from tests.conftest import PROCESSES
from tests.web.test_claims import second_clerk
from tests.web.test_deploy import bundle_zip
from tests.web.test_error_pages import text_of
from tests.web.test_indicators import PERIOD, history
from tests.web.test_sensitive import web_session
from tests.web.test_ui_pages import csrf

#: the demo's login names (engine/accounts/demo.py), and a second 执法局 clerk
LOGINS = ("grid1", "staff1", "whistle1", "stationed1", "committee1", "staff2", "police1", "pcs1", "zhifa1", "zhifa2",
          "shijian1", "city1", "owner1", "admin1")


def no_login_names(text: str) -> None:
    shown = [name for name in LOGINS if re.search(rf"(?<![A-Za-z0-9_.]){name}(?![A-Za-z0-9_])", text)]
    assert not shown, (shown, text)


def test_whose_claim_a_task_is_shown_by_name(app, api):
    second_clerk(app)
    event = api.report()
    api.whistle_to(event["id"])
    task = api.task("zhifa1", event["id"], "accept_whistle")
    assert api.post(f"/api/tasks/{task['id']}/claim", "zhifa1").status_code == 200
    page = web_session(app, "zhifa2")
    todo = text_of(page.get("/").get_data(as_text=True))
    assert "已由 执法局 办事员（执法局） 认领" in todo
    no_login_names(todo)
    html = page.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert re.search(r'data-testid="claimed-by">已由 执法局 办事员（执法局） 认领<', html)
    no_login_names(text_of(html))
    r = page.post(f"/tasks/{task['id']}/claim", data={"csrf_token": csrf(page, f"/tasks/{task['id']}")})
    refusal = text_of(page.get(r.headers["Location"]).get_data(as_text=True))       # the flash says whose it is
    assert "执法局 办事员（执法局）" in refusal
    no_login_names(refusal)
    r = api.post(f"/api/tasks/{task['id']}/claim", "zhifa2")                           # the API names them too
    assert r.status_code == 409 and "执法局 办事员" in r.json["message"] and r.json["claimed_by"] == "zhifa1"


def test_after_the_check_the_event_is_said_to_be_closed_in_words(app, api):
    event = api.report()
    api.whistle_to(event["id"])
    api.complete("zhifa1", event["id"], "accept_whistle", {"decision": "accept"})
    api.complete("zhifa1", event["id"], "dispose_feedback", {"result_summary": "已处置完毕"})
    api.receive_closure(event["id"])
    task = api.task("staff1", event["id"], "check")
    page = web_session(app, "staff1")
    r = page.post(f"/tasks/{task['id']}", data={"csrf_token": csrf(page, f"/tasks/{task['id']}"), "passed": "true",
                                               "rating": "满意"})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    shown = text_of(page.get(r.headers["Location"]).get_data(as_text=True))
    assert f"事件 {event['number']} 办结" in shown and "closed" not in shown


def test_the_whistle_order_names_the_whistle_officer(app, api):
    event = api.report()
    api.whistle_to(event["id"])
    html = web_session(app, "staff1").get(f"/events/{event['id']}/whistle-order").get_data(as_text=True)
    assert 'data-testid="whistled-by">吹哨人员 张伟（新城社区）<' in html
    no_login_names(text_of(html))
    no_login_names(text_of(web_session(app, "staff1").get(f"/events/{event['id']}").get_data(as_text=True)))


def test_oversight_pages_name_people_and_units(app, api):
    """督办, the circular, a spot check and the indicators of people (the API too) after a week of history."""
    e = history(api)
    city = web_session(app, "city1")
    r = city.post("/spot-checks", data={"csrf_token": csrf(city, "/spot-checks"), "community": "lg-xincheng",
                                        "kind": "events", "from": "2026-10-08", "to": "2026-10-11", "size": "1",
                                        "seed": "7"})
    target = r.headers["Location"]
    item = re.search(r'data-item="(\d+)"', city.get(target).get_data(as_text=True)).group(1)
    city.post(target, data={"csrf_token": csrf(city, target), "kind": "events", "item": item, "passed": "no",
                            "note": "回访群众不满意"})
    html = city.get(target).get_data(as_text=True)
    assert re.search(r'data-testid="checked-by">市社会治理中心（市社会治理中心） ', html)
    no_login_names(text_of(html))
    board = city.get("/supervision?status=all").get_data(as_text=True)
    assert "<td>执法局</td>" in board and "<td>zhifa</td>" not in board          # the unit by name, not its code
    no_login_names(text_of(board))
    circular = text_of(city.get("/circular?from=2026-10-08&to=2026-10-11").get_data(as_text=True))
    assert "执法局 办事员（执法局）" in circular
    no_login_names(circular)
    people = api.get("/api/indicators", "city1", query_string={"level": "person", **PERIOD}).json["items"]
    named = {p["key"]: p["name"] for p in people}
    assert named["zhifa1"] == "执法局 办事员（执法局）" and named["staff1"] == "社区干部 陈芳（新城社区）"
    dashboard = city.get("/dashboard?level=person&from=2026-10-08&to=2026-10-11").get_data(as_text=True)
    no_login_names(text_of(dashboard))
    assert e["E1"]["number"]


def test_process_versions_in_words(app, api):
    svc = app.extensions["eventflow"]
    form = (PROCESSES / "forms" / "verify.json").read_text(encoding="utf-8")
    changed = bundles.from_upload("v2.zip", bundle_zip(drop="verify.json", extra={
        "forms/verify.json": form.replace('"核实情况"', '"核实情况说明"').encode()}))
    version, created = svc.run(lambda s: process_versions.deploy(svc.env.command(s), changed, "cli"))
    assert created
    api.report()                                                          # an instance on v2, running
    page = web_session(app, "owner1")
    listing = page.get("/admin/processes").get_data(as_text=True)
    shown = text_of(listing)
    assert "社区事件流转与处置" in shown and "命令行部署" in shown and "办理中 1" in shown
    for internal in ("community_event", "running", "cli", "completed"):
        assert not re.search(rf"\b{internal}\b", shown), internal
    detail = page.get(f"/admin/processes/{version.id}").get_data(as_text=True)
    shown = text_of(detail)
    assert "社区事件流转与处置 v2" in shown and 'data-testid="deployed-by">命令行部署<' in detail
    assert "修改表单 forms/verify.json" in shown
    for internal in ("community_event", "running", "cli", " changed "):
        assert internal not in shown, internal
    no_login_names(shown)


def test_the_unit_editor_names_units_and_shows_the_code_second(app):
    html = web_session(app, "admin1").get("/admin/catalogs/units").get_data(as_text=True)
    row = re.search(r'<tr data-unit="zhifa\.zhongdui1">.*?</tr>', html, re.S).group(0)
    assert re.search(r'<option value="zhifa" selected>执法局</option>', row)          # 上级单位 by name
    assert '<small class="code">zhifa.zhongdui1</small>' in row                      # its code, second
    assert row.index('.name"') < row.index('class="code"')                        # the name first
    assert not re.search(r'<option value="[^"]+"[^>]*>[a-z._0-9]+</option>', html)     # no code as a choice's words
