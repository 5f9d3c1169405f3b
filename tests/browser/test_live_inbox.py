"""The live inbox in a real browser (issue #18): Debian's Chromium driven by Playwright against the real app on
a real HTTP server. A community cadre's phone (390 px) shows 待办; a grid worker reports from their own phone
(another browser context) and the cadre's page — never reloaded — shows the new 核实 task, its header count
goes up, a sound plays and a system notification comes (allowed on a click of 开启提醒); a police matter's
notification says only that there is one; muted, new work still appears but nothing sounds or pops up. A
department clerk's 消息 page shows the whistle dispatch (派单) arrive, and their 待办 count the task to accept;
signed out in another tab, the page says its live updates stopped.
Playwright's `expect` waits on each condition (no sleeps); screenshots go to artifacts/browser/live/."""
from __future__ import annotations

import re
import shutil

from playwright.sync_api import expect

from tests.browser.test_browser import ARTIFACTS, FITS, PHONE, Person, photo_bytes, server  # noqa: F401
from tests.web.client import Api

#: records each system notification the page makes (the real one is made too): what the user would see
RECORD_NOTIFICATIONS = """
(() => {
  const Real = window.Notification;
  window.__notified = [];
  if (!Real) return;
  class Recorded extends Real {
    constructor(title, options) {
      super(title, options);
      window.__notified.push({title: title, body: (options || {}).body});
    }
  }
  window.Notification = Recorded;
})();
"""


def report_from_phone(grid: Person, description: str) -> str:
    page = grid.page
    page.get_by_role("link", name="上报").click()
    page.get_by_label("事件类型").select_option("A05")
    page.get_by_label("问题描述").fill(description)
    page.get_by_label("事发地址").fill("龙港市新城大道 88 号")
    page.get_by_role("button", name="获取当前位置").click()
    expect(page.get_by_label("纬度")).to_have_value("27.520000")
    page.get_by_label("现场照片").set_input_files([{"name": "scene.jpg", "mimeType": "image/jpeg",
                                                  "buffer": photo_bytes()}])
    page.get_by_role("button", name="上报", exact=True).click()
    expect(page.locator("p.flash")).to_contain_text("已上报")
    return re.search(r"LG-\d{8}-\d{4}", page.locator("p.flash").inner_text()).group(0)


def test_new_work_and_messages_appear_without_reloading(server, browser):
    base, app = server
    shots = ARTIFACTS / "live"
    shutil.rmtree(shots, ignore_errors=True)
    api = Api(app)

    staff = Person(browser, base, "staff1", PHONE, shots)
    staff.context.grant_permissions(["notifications"], origin=base)
    staff.context.add_init_script(RECORD_NOTIFICATIONS)
    page = staff.page
    page.goto("/")
    expect(page.locator("body")).to_have_attribute("data-live-ready", "1")
    before = int(page.get_by_test_id("task-count").inner_text())
    page.evaluate("window.__notReloaded = true")
    alerts = page.get_by_test_id("alerts")
    expect(alerts).to_have_text("开启提醒")                       # nothing asked on load
    assert page.evaluate("Notification.permission") == "granted" and page.evaluate("window.__notified") == []
    alerts.click()                                                  # the user's click: sound and notifications on
    expect(alerts).to_have_text("提醒：开")
    assert page.evaluate(FITS)
    staff.shot("01-cadre-waits")

    grid = Person(browser, base, "grid1", PHONE, shots, geolocation={"latitude": 27.52, "longitude": 120.60})
    number = report_from_phone(grid, "新城大道人行道被占道经营，行人无法通行")
    task = page.locator("li.task", has_text=number)
    expect(task).to_contain_text("核实")                            # there, without a reload
    expect(task).to_have_class(re.compile("live-new"))
    expect(page.get_by_test_id("task-count")).to_have_text(str(before + 1))
    expect(alerts).to_have_attribute("data-alerts", "1")            # one sound
    page.wait_for_function("() => window.__notified.length === 1")
    assert page.evaluate("window.__notified[0]") == {"title": "新待办：核实",
                                                     "body": f"{number} 新城大道人行道被占道经营，行人无法通行"}
    assert page.evaluate(FITS)
    staff.shot("02-new-work-arrived")

    police = api.report("grid1", type_code="A03", description="邻里纠纷警情，需社区协调")   # a police matter
    expect(page.locator("li.task", has_text=police["number"])).to_contain_text("核实")   # theirs: designated
    page.wait_for_function("() => window.__notified.length === 2")
    assert page.evaluate("window.__notified[1].body") == "您有一件涉密事件待办"           # outside the page: only that

    alerts.click()                                                  # 静音
    expect(alerts).to_have_text("提醒：静音")
    quiet = api.report("grid1", description="路灯不亮，夜间行人不便")
    expect(page.locator("li.task", has_text=quiet["number"])).to_be_visible()
    expect(page.get_by_test_id("task-count")).to_have_text(str(before + 3))
    expect(alerts).to_have_attribute("data-alerts", "2")            # the two before; none since
    assert page.evaluate("window.__notified.length") == 2
    assert page.evaluate("window.__notReloaded") is True
    staff.shot("03-muted")

    clerk = Person(browser, base, "zhifa1", PHONE, shots)
    clerk.page.goto("/messages")
    expect(clerk.page.locator("body")).to_have_attribute("data-live-ready", "1")
    clerk_before = int(clerk.page.get_by_test_id("task-count").inner_text())
    api.whistle_to(quiet["id"])                                     # 核实 → 研判 → 吹哨 to 执法局
    expect(clerk.page.locator("ul.messages li").first).to_contain_text(quiet["number"])
    expect(clerk.page.get_by_test_id("task-count")).to_have_text(str(clerk_before + 1))   # 签收受理 waits
    expect(page.locator("li.task", has_text=quiet["number"])).to_have_count(0)    # the cadre's 核实 went
    assert clerk.page.evaluate(FITS)
    clerk.shot("04-clerk-reads-the-dispatch")

    other_tab = clerk.context.new_page()                           # signed out in another tab: the stream ends
    other_tab.goto("/")
    other_tab.get_by_role("button", name="退出").click()
    expect(other_tab.get_by_label("用户名")).to_be_visible()
    api.report("grid1", description="又一件")                        # the next pass checks the token again
    expect(clerk.page.get_by_test_id("live-ended")).to_be_visible()
    for person in (staff, grid, clerk):
        person.close()
