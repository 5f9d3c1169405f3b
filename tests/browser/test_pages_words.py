"""Words on screen in a real browser (issue #20): Debian's Chromium driven by Playwright against the real app on a
real HTTP server. The process modeler (bpmn-js with its properties panel) speaks Chinese — the panel's groups
常规 and 文档, the element type in its header, the palette and context pad, eventflow's own group — and English
after the language switch; a link with a bad query string opens the Chinese error page on a phone, and its way
back works. Screenshots go to artifacts/pages-words/ (not committed)."""
from __future__ import annotations

import shutil

from playwright.sync_api import expect

from tests.browser.test_browser import DESK, FITS, PHONE, ROOT, Person, server  # noqa: F401 - fixtures
from tests.web.client import Api

SHOTS = ROOT / "artifacts" / "pages-words"


def open_modeler(page, api):
    active = [v for v in api.get("/api/process-versions", "owner1").json["items"] if v["active"]][0]
    page.goto(f"/admin/processes/{active['id']}/modeler?file=event_flow.bpmn")
    expect(page.get_by_test_id("modeler")).to_have_attribute("data-ready", "1")
    page.locator('.djs-element[data-element-id="check"]').first.click()      # 核查, a user task


def test_the_modeler_speaks_chinese_and_english_after_the_switch(server, browser):  # noqa: F811 - fixtures
    base, app = server
    shutil.rmtree(SHOTS / "modeler", ignore_errors=True)
    api = Api(app)
    owner = Person(browser, base, "owner1", DESK, SHOTS / "modeler")
    page = owner.page
    open_modeler(page, api)
    panel = page.locator("#properties")
    headers = panel.locator(".bio-properties-panel-group-header-title")
    expect(headers.filter(has_text="常规")).to_have_count(1)
    expect(headers.filter(has_text="文档")).to_have_count(1)
    expect(headers.filter(has_text="事件流程")).to_have_count(1)                  # eventflow's own group
    expect(panel.locator(".bio-properties-panel-header-type")).to_have_text("用户任务")
    for english in ("General", "Documentation", "User Task", "Eventflow"):
        expect(panel).not_to_contain_text(english)
    headers.filter(has_text="常规").click()
    expect(panel.get_by_text("名称", exact=True)).to_be_visible()
    expect(panel.get_by_text("编号（ID）", exact=True)).to_be_visible()
    expect(panel.get_by_text("表单", exact=True)).to_be_visible()
    expect(panel.get_by_text("办理对象", exact=True)).to_be_visible()
    # the palette's entries (their labels) and the context pad's (their tooltips)
    expect(page.locator(".djs-palette [aria-label='创建开始事件']")).to_have_count(1)
    expect(page.locator(".djs-palette [aria-label='启用抓手工具（拖动画布）']")).to_have_count(1)   # eventflow's word
    expect(page.locator(".djs-context-pad [title='添加任务']")).to_have_count(1)       # bpmn-js-i18n's word
    expect(page.locator(".djs-context-pad [title='更改元素类型']")).to_have_count(1)
    expect(page.locator(".djs-context-pad [title='删除']")).to_have_count(1)
    owner.shot("01-modeler-zh")

    # the language switch: the same modeler in English, eventflow's fields too
    page.get_by_role("button", name="English").click()
    open_modeler(page, api)
    headers = panel.locator(".bio-properties-panel-group-header-title")
    expect(headers.filter(has_text="General")).to_have_count(1)
    expect(headers.filter(has_text="Documentation")).to_have_count(1)
    expect(headers.filter(has_text="Eventflow")).to_have_count(1)
    expect(panel.locator(".bio-properties-panel-header-type")).to_have_text("User Task")
    expect(panel).not_to_contain_text("常规")
    expect(page.locator(".djs-palette [aria-label='Create start event']")).to_have_count(1)
    owner.shot("02-modeler-en")
    owner.close()


def test_a_bad_query_string_opens_the_chinese_error_page_with_a_way_back(server, browser):  # noqa: F811 - fixtures
    base, _app = server
    shutil.rmtree(SHOTS / "errors", ignore_errors=True)
    city = Person(browser, base, "city1", PHONE, SHOTS / "errors")
    page = city.page
    response = page.goto("/dashboard?from=2026/12/01")
    assert response.status == 400
    error = page.get_by_test_id("error-page")
    expect(error).to_contain_text("请求有误")
    expect(error.locator("li[data-field='from']")).to_have_text("「开始日期」格式应为 2026-12-01（年-月-日）")
    assert page.evaluate(FITS)
    city.shot("01-bad-date-phone")
    page.get_by_test_id("plain").click()                          # this page without its query string
    expect(page.get_by_role("heading", name="考核看板")).to_be_visible()
    response = page.goto("/admin")                                 # an address that names nothing
    assert response.status == 404
    expect(page.get_by_test_id("error-page")).to_contain_text("找不到该页面")
    city.shot("02-not-found-phone")
    page.get_by_test_id("home").click()
    expect(page.get_by_role("heading", name="待办")).to_be_visible()
    city.close()
