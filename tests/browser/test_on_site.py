"""On site in a real browser (issue #19): a grid worker reports a fix made on the spot (即知即改) from a phone — the
page asks for the photo after the fix before anything is sent — and the community's cadre verifies it from the
photos and closes it; a department's check-in 1 km from the event is flagged on the event page. Both diagrams
draw with their new steps marked. Screenshots under artifacts/browser/on_site/."""
from __future__ import annotations

import re
import shutil

from playwright.sync_api import expect
from pyproj import Geod

from tests.browser.test_browser import ARTIFACTS, DESK, PHONE, Person, photo_bytes, server  # noqa: F401
from tests.web.client import REPORT, Api


def test_a_fix_on_the_spot_from_a_phone_and_a_check_in_off_site(server, browser):  # noqa: F811 - the fixtures
    base, app = server
    shots = ARTIFACTS / "on_site"
    shutil.rmtree(shots, ignore_errors=True)

    grid = Person(browser, base, "grid1", PHONE, shots, geolocation={"latitude": 27.52, "longitude": 120.60})
    page = grid.page
    page.get_by_role("link", name="上报").click()
    expect(page.get_by_label("处置后照片")).to_be_hidden()
    page.get_by_label("事件类型").select_option("A05")
    page.get_by_label("问题描述").fill("路口有人占道摆摊，已劝离")
    page.get_by_label("事发地址").fill("龙港市新城大道 88 号")
    page.get_by_role("button", name="获取当前位置").click()
    page.get_by_label("已当场处置（即知即改），由社区核实后办结").check()
    page.get_by_label("现场处置情况").fill("已劝离摊主并清扫路面")
    expect(page.get_by_label("处置后照片")).to_be_visible()
    page.get_by_role("button", name="上报", exact=True).click()           # no after photo: the browser asks first
    assert page.get_by_label("处置后照片").evaluate("input => !input.validity.valid")
    expect(page).to_have_url(re.compile(r"/report$"))
    expect(page.get_by_label("现场处置情况")).to_have_value("已劝离摊主并清扫路面")   # nothing lost
    page.get_by_label("处置前照片（选填）").set_input_files([{"name": "before.jpg", "mimeType": "image/jpeg",
                                                      "buffer": photo_bytes((160, 90, 60))}])
    page.get_by_label("处置后照片").set_input_files([{"name": "after.jpg", "mimeType": "image/jpeg",
                                                   "buffer": photo_bytes((90, 170, 90))}])
    grid.shot("01-fixed-on-the-spot")
    page.get_by_role("button", name="上报", exact=True).click()
    expect(page.locator("p.flash")).to_contain_text("已上报")
    number = re.search(r"LG-\d{8}-\d{4}", page.locator("p.flash").inner_text()).group(0)
    expect(page.get_by_test_id("on-spot-state")).to_have_text("即知即改，待社区核实")
    expect(page.get_by_test_id("on-spot").locator("img")).to_have_count(2)
    expect(page.get_by_test_id("diagram")).to_have_attribute("data-current", "verify_on_spot")
    grid.shot("02-reported")
    event_url = page.url

    staff = Person(browser, base, "staff1", PHONE, shots)
    staff.open_task(number, "核实（即知即改）")
    expect(staff.page.get_by_test_id("on-spot").locator("img")).to_have_count(2)      # the photos to judge by
    staff.page.locator("[data-field=on_spot_confirmed]").get_by_label("是").check()
    staff.shot("03-verify")
    staff.submit()
    staff.page.goto(event_url)
    expect(staff.page.get_by_test_id("on-spot-state")).to_have_text("即知即改，社区已核实办结")
    expect(staff.page.locator(".pill").first).to_have_text("办结")
    staff.shot("04-closed")

    api = Api(app)                                  # an on-site order, checked in 1 km north of the event
    event_id = api.report(description="到场核验样本")["id"]
    api.whistle_to(event_id, on_site=True)
    api.complete("zhifa1", event_id, "accept_whistle", {"decision": "accept"})
    lng, lat, _ = Geod(ellps="WGS84").fwd(REPORT["location"]["lng"], REPORT["location"]["lat"], 0, 1000)
    api.complete("zhifa1", event_id, "arrive", {"arrival_location": {"lat": lat, "lng": lng},
                                                "arrival_photo": api.photo("zhifa1", event_id), "on_spot": "solved"})
    clerk = Person(browser, base, "zhifa1", DESK, shots)
    clerk.page.goto(f"/events/{event_id}")
    expect(clerk.page.get_by_test_id("arrival-check")).to_contain_text("到场位置偏离")
    expect(clerk.page.get_by_test_id("arrival-check")).to_contain_text("1000 米，超过 300 米")
    expect(clerk.page.get_by_test_id("diagram")).to_have_attribute("data-current", "dispose_feedback")
    clerk.shot("05-check-in-off-site")
    for person in (grid, staff, clerk):
        person.close()
