"""批量签收 in a real browser (issue #19): Debian's Chromium driven by Playwright against the real app on a real
HTTP server. A 执法局 clerk's 待办 (on a phone, 390 px) lists four whistle orders to accept, each with a
checkbox; the clerk ticks three and accepts them with one button: the page says which three were accepted,
their 签收受理 are gone (each is now a 处置反馈 of its own) and the fourth waits. The clerk then ticks the fourth
while a colleague claims it (认领) from elsewhere: the page says it was refused, and why, by the colleague's
display name. Playwright's `expect` waits on each condition (no sleeps); screenshots go to
artifacts/browser/batch_accept/."""
from __future__ import annotations

import shutil

from playwright.sync_api import expect

from tests.browser.test_browser import ARTIFACTS, FITS, PHONE, Person, server  # noqa: F401
from tests.conftest import PASSWORD
from tests.web.client import Api



def test_a_clerk_accepts_three_orders_at_once_from_the_todo_page(server, browser):
    base, app = server
    shots = ARTIFACTS / "batch_accept"
    shutil.rmtree(shots, ignore_errors=True)
    api = Api(app)
    assert api.post("/api/users", "admin1", json={"username": "zhifa2", "password": PASSWORD,
                                                  "roles": ["department_staff"], "unit": "zhifa",
                                                  "display_name": "执法局 办事员二"}).status_code == 201
    numbers = []
    for n in range(4):
        event = api.report(description=f"新城大道占道经营 第{n + 1}处")
        api.whistle_to(event["id"], department="zhifa")
        numbers.append(event["number"])

    clerk = Person(browser, base, "zhifa1", PHONE, shots)
    page = clerk.page
    form = page.get_by_test_id("batch-accept-form")
    expect(form).to_be_visible()
    button = page.get_by_test_id("batch-accept")
    expect(button).to_be_disabled()                                 # nothing picked yet
    for number in numbers:
        expect(page.locator("li.task", has_text=number).filter(has_text="签收受理")).to_have_count(1)
    for number in numbers[:3]:
        page.get_by_label(f"选择 {number} 批量签收").check()
    expect(button).to_have_text("批量签收 (3)")
    assert page.evaluate(FITS)
    clerk.shot("01-three-picked")
    button.click()

    flash = page.locator("p.flash")
    expect(flash).to_have_count(1)
    expect(flash).to_contain_text("已签收 3 件")
    for number in numbers[:3]:
        expect(flash).to_contain_text(number)
        item = page.locator("li.task", has_text=number)
        expect(item).to_have_count(1)
        expect(item).to_contain_text("处置反馈")                    # each order went on by itself
        expect(item.locator("input[type=checkbox]")).to_have_count(0)
    waiting = page.locator("li.task", has_text=numbers[3])
    expect(waiting).to_contain_text("签收受理")
    expect(page.get_by_label(f"选择 {numbers[3]} 批量签收")).not_to_be_checked()
    clerk.shot("02-three-accepted")
    for number in numbers[:3]:                                      # each its own audited completion
        event = next(e for e in api.get("/api/events", "staff1").json["items"] if e["number"] == number)
        done = [a for a in api.event(event["id"])["timeline"] if a["action"] == "task_completed"
                and a["task_name"] == "签收受理"]
        assert [(a["actor"], a["data"]["decision"]) for a in done] == [("zhifa1", "accept")]

    # the fourth: picked, but a colleague claims it before the button is pressed
    page.get_by_label(f"选择 {numbers[3]} 批量签收").check()
    fourth = next(t for t in api.tasks("zhifa2") if t["event_number"] == numbers[3])
    assert api.post(f"/api/tasks/{fourth['id']}/claim", "zhifa2").status_code == 200
    button.click()
    expect(page.locator("p.flash")).to_contain_text(f"未签收 {numbers[3]}：已由执法局 办事员二认领")
    expect(page.locator("li.task", has_text=numbers[3])).to_contain_text("签收受理")
    clerk.shot("03-one-refused")
    clerk.close()
