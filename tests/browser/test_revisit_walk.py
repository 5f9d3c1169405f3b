"""回访 → 重新办理 on a 390 × 844 phone (issue #18, §4.3 效果反馈, §8.6): Debian's Chromium driven by Playwright
against the real app on a real HTTP server. A grid worker's report (a reporter who can be asked) is taken to
办结 through the API — the walk would add nothing there; the community cadre then opens the 回访 task on a
phone: every control at least 44 px, nothing sideways. 已接通 + 不满意 without its cause is refused: the
reason is beside 不满意原因, named in Chinese, and everything typed is still there; with the cause the event
is open again at 研判 (待办 and the event page say so in the standard's words). Closed again, a second 回访
with 不满意 does not reopen it (once per rule, EVENTFLOW_REVISIT_REOPENS): it stays 办结. Screenshots go to
artifacts/browser/revisit/."""
from __future__ import annotations

import shutil

from playwright.sync_api import expect

from tests.browser.test_browser import ARTIFACTS, PHONE, Person, server  # noqa: F401 - fixtures
from tests.browser.test_phone_pages import MEASURE
from tests.web.client import Api

WORDS = "摊点晚上又回来了，人行道还是走不通"
CAUSE = "占道摊点夜间复发，未彻底清理"


def closed_by_the_cadre(api: Api, event_id: int, reopened: bool = False) -> None:
    """核实 (the first time) → 研判: 交办社区干部/社工 → 处置 → 核查 满意: 办结, and a 回访 opens."""
    if not reopened:
        api.complete("staff1", event_id, "verify", {"verdict": "accept"})
    api.complete("staff1", event_id, "analyse", {"disposal": "cadre"})
    api.complete("staff1", event_id, "handle_by_cadre", {"result_summary": "已劝离占道摊点"})
    api.complete("staff1", event_id, "check", {"passed": True, "rating": "满意"})
    assert api.event(event_id)["revisit"] == "open"


def fits_a_thumb(page) -> None:
    """No sideways scroll on the phone, no control under 44 px (tests/browser/test_phone_pages.py MEASURE)."""
    measured = page.evaluate(MEASURE, 390)
    assert measured["scrollWidth"] <= 390, measured
    assert measured["small"] == [], measured["small"]


def answer(cadre: Person, words: str, cause: str | None) -> None:
    """已接通, 不满意, the citizen's words and (when given) the cause."""
    page = cadre.page
    page.locator("[data-field=revisit_reached]").get_by_label("是").check()
    page.locator("[data-field=revisit_rating]").get_by_label("不满意").check()
    page.get_by_label("上报人原话").fill(words)
    if cause is not None:
        page.get_by_label("不满意原因").fill(cause)


def test_a_dissatisfied_revisit_reopens_once_on_a_phone(server, browser):
    base, app = server
    shots = ARTIFACTS / "revisit"
    shutil.rmtree(shots, ignore_errors=True)
    api = Api(app)
    event = api.report("grid1", description="回访走查：新城大道人行道占道经营")
    number, event_id = event["number"], event["id"]
    closed_by_the_cadre(api, event_id)

    cadre = Person(browser, base, "staff1", PHONE, shots)
    page = cadre.page
    cadre.open_task(number, "回访")
    expect(page.get_by_test_id("revisit-flag")).to_have_text("回访中")
    # whom to ask and how (a grid worker: by name, never the login name), and that a 不满意 reopens it
    whom = page.get_by_test_id("revisit-whom")
    expect(whom.get_by_test_id("revisit-reporter")).to_have_text("网格员 李明（新城社区）")
    expect(whom).to_contain_text("当面或电话回访")
    expect(whom).not_to_contain_text("grid1")
    expect(whom.get_by_test_id("revisit-rule")).to_have_attribute("data-reopens", "1")
    expect(whom.get_by_test_id("revisit-rule")).to_contain_text("重新办理，退回社区研判")
    fits_a_thumb(page)
    cadre.shot("01-revisit-form")

    # 不满意 without its cause: refused, the reason beside 不满意原因 in Chinese, what was typed kept
    answer(cadre, WORDS, None)
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_test_id("form-refused")).to_be_visible()
    reason = page.locator("[data-field=revisit_cause] p.error")
    expect(reason).to_have_count(1)
    expect(reason).to_contain_text("不满意原因")
    expect(page.get_by_label("不满意原因")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("上报人原话")).to_have_value(WORDS)
    expect(page.locator("[data-field=revisit_reached]").get_by_label("是")).to_be_checked()
    expect(page.locator("[data-field=revisit_rating]").get_by_label("不满意")).to_be_checked()
    assert page.locator("p.error:visible").count() == 2            # the summary line and the one reason
    fits_a_thumb(page)
    cadre.shot("02-refused-keeps-what-was-typed")
    assert api.event(event_id)["status"] == "closed"                 # nothing was recorded

    page.get_by_label("不满意原因").fill(CAUSE)
    cadre.submit()
    # 重新办理: open again, straight to 研判, in 待办 and on the event page in the standard's words
    page.goto("/")
    task = page.locator("li.task", has_text=number)
    expect(task).to_have_count(1)
    expect(task).to_contain_text("研判")
    cadre.shot("03-reopened-in-todo")
    page.goto(f"/events/{event_id}")
    summary = page.get_by_test_id("event-summary")
    expect(summary.locator(".pill").first).not_to_have_text("办结")
    expect(page.get_by_test_id("revisit-flag")).to_have_count(0)
    expect(page.get_by_test_id("diagram")).to_have_attribute("data-current", "analyse")
    revisits = page.get_by_test_id("revisits")
    expect(revisits).to_contain_text(CAUSE)
    expect(revisits).to_contain_text("不满意")
    cadre.shot("04-reopened-event")
    detail = api.event(event_id)
    assert detail["status"] == "open" and detail["reopen_count"] == 1
    assert [t["name"] for t in detail["open_tasks"]] == ["analyse"]

    # closed again: a second 回访 with 不满意 is recorded, and does not reopen the event again
    closed_by_the_cadre(api, event_id, reopened=True)
    cadre.open_task(number, "回访")
    rule = page.get_by_test_id("revisit-rule")                      # said before anyone chooses 不满意
    expect(rule).to_have_attribute("data-reopens", "0")
    expect(rule).to_contain_text("只作记录，事件仍为办结")
    fits_a_thumb(page)
    answer(cadre, "还是有摊点", "夜间仍有摊点")
    cadre.submit()
    page.goto("/")
    expect(page.locator("li.task", has_text=number)).to_have_count(0)
    page.goto(f"/events/{event_id}")
    expect(page.get_by_test_id("event-summary").locator(".pill").first).to_have_text("办结")
    expect(page.get_by_test_id("revisits")).to_contain_text("夜间仍有摊点")
    cadre.shot("05-second-dissatisfied-stays-closed")
    detail = api.event(event_id)
    assert detail["status"] == "closed" and detail["reopen_count"] == 1 and detail["open_tasks"] == []
    assert [(v["round"], v["rating"], v["reopened"]) for v in detail["revisits"]] == [(0, "不满意", True),
                                                                                    (1, "不满意", False)]
    cadre.close()
