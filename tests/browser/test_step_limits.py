"""§8.1 the community's own step limits set from a phone (issue #19), in Debian's Chromium: a cadre of 新城社区 opens
管理 → 社区环节时限, sets 核实 for A05 to 15 minutes, a word instead of minutes is refused with what was typed kept,
and the next A05 report's 核实 runs on the new limit. Screenshots under artifacts/browser/step_limits/."""
from __future__ import annotations

import shutil
from datetime import datetime, timedelta

from playwright.sync_api import expect

from tests.browser.test_browser import ARTIFACTS, PHONE, Person, server  # noqa: F401 - fixtures
from tests.web.client import Api
from tests.web.test_deadlines import deadline, now


def test_a_cadre_sets_the_communitys_verify_limit_from_a_phone(server, browser):  # noqa: F811 - fixtures
    base, app = server
    shots = ARTIFACTS / "step_limits"
    shutil.rmtree(shots, ignore_errors=True)
    api = Api(app)
    cadre = Person(browser, base, "staff1", PHONE, shots)
    page = cadre.page
    page.get_by_role("link", name="管理", exact=True).click()
    page.get_by_role("link", name="社区环节时限", exact=True).first.click()
    verify = page.get_by_label("A05 核实", exact=True)
    expect(verify).to_have_value("")
    expect(verify).to_have_attribute("placeholder", "30")              # every community's 30 min applies now
    verify.fill("一刻钟")
    page.get_by_role("button", name="保存").click()
    expect(page.locator(".error").first).to_be_visible()                 # refused, saying where
    expect(page.get_by_label("A05 核实", exact=True)).to_have_value("一刻钟")   # what was typed is kept
    cadre.shot("01-refused")
    page.get_by_label("A05 核实", exact=True).fill("15")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_label("A05 核实", exact=True)).to_have_value("15")
    cadre.shot("02-saved")
    cadre.close()

    t0 = now(api)
    event = api.report(type_code="A05")
    limit = deadline(api, event["id"], "verify")
    assert limit["rule"] == "PT15M" and datetime.fromisoformat(limit["due_at"]) == t0 + timedelta(minutes=15)
