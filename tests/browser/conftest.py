"""One Chromium for the browser tests a pytest process runs in a row (package scope), each test in contexts of its
own: a context is a fresh profile (cookies, storage, service workers, permissions), so a test sees nothing of
another's; what a test leaves open is closed after it. Launching Chromium and Playwright's driver once per module
cost about a second and a half each."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.browser.refusals import Reports, watch
from tests.browser.test_browser import ARGS, CHROMIUM


@pytest.fixture(scope="package")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: run `make test` (it installs the Debian package)")
    with sync_playwright() as p, Reports() as reports:
        browser = watch(p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS))
        browser.reports = reports
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def contexts_closed_after_the_test(browser):
    """What a test leaves open is closed after it, and nothing of any test's pages was refused by the app's
    Content-Security-Policy or Permissions-Policy (web/headers.py; tests/browser/refusals.py): every page the
    browser tests walk checks that the policies and the pages agree. A test that provokes a refusal on purpose
    takes what it provoked out of `browser.refused` and `browser.reports.lines`. A report comes on the browser's
    own time, so one that comes late is blamed on the test after."""
    browser.refused.clear()
    browser.reports.lines.clear()
    yield
    for context in browser.contexts:
        context.close()
    assert browser.refused == [], "the policies refused:\n" + "\n".join(browser.refused)
    assert browser.reports.lines == [], "browsers reported:\n" + "\n".join(browser.reports.lines)
