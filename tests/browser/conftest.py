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
        browser.refused = []
        opened = browser.new_context

        def new_context(**options):   # each context reports what the pages' Content-Security-Policy refused
            context = opened(**options)
            context.on("console", lambda message: _refused(browser.refused, message))
            return context

        browser.new_context = new_context
        yield browser
        browser.close()


def _refused(found: list, message) -> None:
    """Chromium says on the console what a Content-Security-Policy refused ("Executing inline script violates
    the following Content Security Policy directive …"), and what of the Permissions-Policy it could not read
    ("Error with Permissions-Policy header: Unrecognized feature …")."""
    if "Content Security Policy" in message.text or "Permissions-Policy" in message.text:
        found.append(f"{message.page.url if message.page else '?'}: {message.text}")


@pytest.fixture(autouse=True)
def contexts_closed_after_the_test(browser):
    """What a test leaves open is closed after it, and no page of any test had a script, style, image or
    connection refused by the app's Content-Security-Policy (web/headers.py): every page the browser tests
    walk is a check that the policy and the pages agree (a test that provokes a refusal on purpose takes what
    it provoked out of `browser.refused`)."""
    browser.refused.clear()
    yield
    for context in browser.contexts:
        context.close()
    assert browser.refused == [], "the Content-Security-Policy refused:\n" + "\n".join(browser.refused)
