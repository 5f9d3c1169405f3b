"""办理记录 in a real browser (issue #19): Debian's Chromium driven by Playwright against the real app on a real
HTTP server. A department clerk accepts a whistle order and feeds back its result with before/after photos; the
community cadre opens 核查 on a 390 px phone and reads, above the form, what the department wrote — the 处置结果
beside its photos (§8.5), who did it by display name and unit (never the login name) and when — and the 吹哨理由
and 研判意见 further down; after 核查 the event page holds every step. Playwright's `expect` waits on each
condition (no sleeps); screenshots go to artifacts/browser/record/."""
from __future__ import annotations

import shutil

from playwright.sync_api import expect

from tests.browser.test_browser import ARTIFACTS, FITS, PHONE, Person, server  # noqa: F401
from tests.web.client import Api

RESULT = "已清理占道摊点，恢复人行道通行"


def test_a_cadre_reads_the_departments_result_on_the_check_page(server, browser):
    base, app = server
    shots = ARTIFACTS / "record"
    shutil.rmtree(shots, ignore_errors=True)
    api = Api(app)
    event = api.report(description="新城大道人行道被占道经营")
    number = event["number"]
    api.complete("staff1", event["id"], "verify", {"verdict": "accept"})
    api.complete("staff1", event["id"], "analyse", {"disposal": "whistle", "analysis_note": "需执法权，社区无法处置"})
    api.complete("whistle1", event["id"], "issue_whistle", {"lead_department": "zhifa", "on_site": False,
                                                            "whistle_reason": "社区无执法权，请执法局处置"})
    api.complete("zhifa1", event["id"], "accept_whistle", {"decision": "accept", "accept_note": "已签收，安排第一中队"})
    before, after = api.photo("zhifa1", event["id"]), api.photo("zhifa1", event["id"])
    api.complete("zhifa1", event["id"], "dispose_feedback", {"result_summary": RESULT, "before_photos": [before],
                                                             "after_photos": [after]})
    api.complete("whistle1", event["id"], "receive_closure", {"passed": True})   # 结案接收 (§7.3.3)

    cadre = Person(browser, base, "staff1", PHONE, shots)
    cadre.open_task(number, "核查")
    record = cadre.page.get_by_test_id("record")
    expect(record).to_be_visible()
    expect(record.get_by_test_id("record-step").first).to_have_attribute("data-task", "结案接收")
    latest = record.locator("[data-testid=record-step][data-task=处置反馈]")   # the department's step, next
    expect(latest.locator("dd[data-field=result_summary]")).to_have_text(RESULT)
    expect(latest.get_by_test_id("record-by")).to_have_text("执法局 办事员（执法局）")
    photos = latest.locator("dd img")
    expect(photos).to_have_count(2)
    for i in range(2):                                                   # the photos load, beside the text
        expect(photos.nth(i)).to_have_js_property("complete", True)
        assert photos.nth(i).evaluate("img => img.naturalWidth") > 0
    expect(record.locator("[data-task=吹哨] dd[data-field=whistle_reason]")).to_have_text("社区无执法权，请执法局处置")
    expect(record.locator("[data-task=研判] dd[data-field=analysis_note]")).to_have_text("需执法权，社区无法处置")
    expect(record).not_to_contain_text("zhifa1")
    expect(record).not_to_contain_text("whistle1")
    assert cadre.page.evaluate(FITS)
    cadre.shot("01-check-page-reads-the-result")

    cadre.page.locator("[data-field=passed]").get_by_label("是").check()
    cadre.page.get_by_label("满意", exact=True).check()
    cadre.submit()
    cadre.page.goto(f"/events/{event['id']}")
    steps = cadre.page.get_by_test_id("record").get_by_test_id("record-step")
    expect(steps).to_have_count(7)
    expect(steps.last).to_have_attribute("data-task", "核查")
    expect(steps.last).to_contain_text("社区干部 陈芳（新城社区）")
    cadre.shot("02-event-page-record")
    cadre.close()
