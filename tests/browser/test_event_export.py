"""The event list's export in a real browser (issue #19): a community cadre filters 事件 by type on a phone,
the page says how many events the filter holds, and 导出 Excel downloads them through fetch with the
progress bar run to its end and the row count the file says; the workbook, read back with openpyxl, holds
the list's events. Debian's Chromium driven by Playwright against the real app on a real HTTP server;
screenshots under artifacts/browser/export/."""
from __future__ import annotations

import io
import shutil
from pathlib import Path

from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.browser.test_browser import ARTIFACTS, PHONE, Person, server  # noqa: F401
from tests.web.client import Api


def test_a_cadre_exports_the_filtered_event_list_with_its_progress_and_row_count(server, browser):  # noqa: F811
    base, app = server
    shots = ARTIFACTS / "export"
    shutil.rmtree(shots, ignore_errors=True)
    api = Api(app)
    wanted = [api.report(type_code="A07", description=f"小广告 {n}")["number"] for n in range(3)]
    api.report(description="占道经营，不在筛选内")
    cadre = Person(browser, base, "staff1", PHONE, shots)
    page = cadre.page
    page.goto("/events")
    page.get_by_label("事件类型").select_option("A07")
    page.get_by_role("button", name="筛选").click()
    expect(page.get_by_test_id("event-exports")).to_contain_text("按当前筛选导出 3 条")
    cadre.shot("01-filtered")
    with page.expect_download() as download:
        page.get_by_test_id("events-xlsx").click()
    expect(page.get_by_test_id("events-progress")).to_have_attribute("data-done", "1")   # progress shown to the end
    expect(page.get_by_test_id("events-exported")).to_have_text("已导出 3 条")
    cadre.shot("02-exported")
    assert download.value.suggested_filename.startswith("events-") and download.value.suggested_filename.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes())).worksheets[0]
    assert [row[0].value for row in sheet.iter_rows(min_row=2)] == list(reversed(wanted))   # newest first
    cadre.close()
