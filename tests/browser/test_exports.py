"""导出任务 in a real browser (issue #17; engine/exports/jobs.py): on the 通报 page a city officer ticks 后台生成 and
asks for the PDF — static/download.js sends it with ?background=1 and, the server having made a job, opens 我的导出
(not a saved HTML page); the job listed 排队中; once the worker's job has run (called here, as `eventflow worker`
would on its interval) the page offers the file, and it downloads as a PDF. A desk and a phone."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from engine.exports import jobs as exports
from tests.browser.test_browser import ARTIFACTS, DESK, PHONE, Person, server  # noqa: F401 - fixtures

SHOTS = ARTIFACTS / "exports"


@pytest.mark.parametrize("device", [DESK, PHONE], ids=["desk", "phone"])
def test_a_circular_asked_in_the_background_opens_my_exports_and_downloads(server, browser, device):
    base, app = server
    svc = app.extensions["eventflow"]
    city = Person(browser, base, "city1", device, SHOTS)
    page = city.page
    try:
        page.goto("/circular?from=2026-10-01&to=2026-10-31")
        page.get_by_test_id("circular-background").check()
        page.get_by_test_id("circular-pdf").click()
        expect(page).to_have_url(f"{base}/exports")                        # a job, not a file saved
        row = page.get_by_test_id("exports").locator("tbody tr").first
        expect(row.get_by_test_id("export-status")).to_have_text("排队中")
        assert exports.run_due(svc.session_factory, svc.env)              # the worker builds it
        page.reload()
        expect(row.get_by_test_id("export-status")).to_have_text("已完成")
        city.shot(f"my-exports-{'phone' if device is PHONE else 'desk'}")
        with page.expect_download() as download:
            row.get_by_test_id("export-download").click()
        saved = download.value
        assert saved.suggested_filename == "circular-2026-10-01-2026-10-31.pdf"
        assert open(saved.path(), "rb").read(5) == b"%PDF-"
    finally:
        city.context.close()
