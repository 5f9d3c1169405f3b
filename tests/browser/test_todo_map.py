"""待办 on a phone (issue #19), in Debian's Chromium: the counts per light in the header, red first in the list, a
count that filters by its light, and the same work on the map (Leaflet) as points coloured by light whose popup
opens the task. Screenshots under artifacts/browser/todo/."""
from __future__ import annotations

import re
import shutil

from playwright.sync_api import expect

from tests.browser.test_browser import ARTIFACTS, PHONE, Person, server  # noqa: F401 - fixtures
from tests.web.client import Api
from tests.web.test_administration import administer

#: the lights' colours as static/tasks_map.js paints them
COLOURS = {"red": "#d93025", "green": "#2e9d48", "paused": "#9aa0a6"}


def test_the_todo_list_counts_its_lights_and_shows_them_on_a_map(server, browser):  # noqa: F811 - fixtures
    base, app = server
    shots = ARTIFACTS / "todo"
    shutil.rmtree(shots, ignore_errors=True)
    api = Api(app)
    late = api.report(type_code="A13", description="井盖缺失，需尽快处置")
    api.complete("staff1", late["id"], "verify", {"verdict": "accept"})
    api.complete("staff1", late["id"], "analyse", {"disposal": "cadre"})       # 新城's A13 limit: 1 hour
    api.advance("PT1H10M")                                                      # missed: red
    running = api.report(description="人行道被占道经营", location={"lat": 27.523, "lng": 120.603, "address": "新城大道 120 号"})
    api.complete("staff1", running["id"], "verify", {"verdict": "accept"})
    api.complete("staff1", running["id"], "analyse", {"disposal": "cadre"})    # 2 hours: green
    # 挂起 (suspended): its limit stands still, after every running one (§8.4)
    waiting = api.report(description="路灯不亮", location={"lat": 27.526, "lng": 120.607, "address": "新城大道 200 号"})
    administer(api, "suspend", waiting["id"])

    cadre = Person(browser, base, "staff1", PHONE, shots)
    page = cadre.page
    counts = page.get_by_test_id("light-counts")
    for light, n in (("red", 1), ("yellow", 0), ("green", 1), ("paused", 1), ("none", 0)):
        expect(counts.get_by_test_id(f"count-{light}")).to_have_text(str(n))
    expect(page.locator("li.task").first).to_contain_text(late["number"])      # red first
    expect(page.locator("li.task").nth(2)).to_contain_text(waiting["number"])  # paused last
    cadre.shot("01-counts-and-list")
    counts.locator("a[data-light=red]").click()
    expect(page.locator("li.task")).to_have_count(1)
    expect(page.locator("li.task")).to_contain_text(late["number"])
    counts.locator("a[data-light=red]").click()                                 # again: all of them
    expect(page.locator("li.task")).to_have_count(3)

    page.get_by_test_id("view-map").click()
    box = page.get_by_test_id("tasks-map")
    expect(box).to_have_attribute("data-ready", "3")
    markers = box.locator("path.leaflet-interactive")
    expect(markers).to_have_count(3)
    fills = sorted(markers.evaluate_all("ps => ps.map(p => p.getAttribute('fill'))"))
    assert fills == sorted(COLOURS.values())
    cadre.shot("02-map")
    markers.and_(page.locator(f"[fill='{COLOURS['red']}']")).click()
    expect(box).to_have_attribute("data-popup", "open")                         # panned into view, not moving
    popup = page.locator(".leaflet-popup-content")
    expect(popup).to_contain_text(late["number"])
    expect(popup).to_contain_text("红灯")
    cadre.shot("03-map-popup")
    popup.get_by_role("link", name="办理").click()
    page.wait_for_url(re.compile(r"/tasks/"), timeout=20_000)                   # a busy box renders slowly
    expect(page.get_by_role("heading", name=re.compile("社区干部处置"))).to_be_visible()
    expect(page.locator("main")).to_contain_text(late["number"])
    cadre.close()
