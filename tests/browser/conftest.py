"""One Chromium for the browser tests a pytest process runs in a row (package scope), each test in contexts of its
own: a context is a fresh profile (cookies, storage, service workers, permissions), so a test sees nothing of
another's; what a test leaves open is closed after it. Launching Chromium and Playwright's driver once per module
cost about a second and a half each."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.browser.test_browser import ARGS, CHROMIUM


@pytest.fixture(scope="package")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: run `make test` (it installs the Debian package)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def contexts_closed_after_the_test(browser):
    yield
    for context in browser.contexts:
        context.close()
