"""What the app's Content-Security-Policy and Permissions-Policy refused in the browser tests (web/headers.py),
seen two ways, so that a browser test fails on either:
- a page's console, where Chromium says what it refused on the page (`watch`: every context of a browser);
- the reports browsers send to the app's report-uri, which the app says in its log (`Reports`): they cover
  what a page's console does not show, a worker's refusals (the service worker, the photo shrinker's)."""
from __future__ import annotations

import logging
import threading


def watch(browser):
    """`browser`, each context it opens from now on saying on `browser.refused` what its pages' policies refused."""
    browser.refused = []
    opened = browser.new_context

    def new_context(**options):
        context = opened(**options)
        context.on("console", lambda message: _refused(browser.refused, message))
        return context

    browser.new_context = new_context
    return browser


def _refused(found: list, message) -> None:
    """Chromium says on the console what a Content-Security-Policy refused ("Executing inline script violates
    the following Content Security Policy directive …"), and what of the Permissions-Policy it could not read
    ("Error with Permissions-Policy header: Unrecognized feature …")."""
    if "Content Security Policy" in message.text or "Permissions-Policy" in message.text:
        found.append(f"{message.page.url if message.page else '?'}: {message.text}")


class Reports(logging.Handler):
    """The refusals the apps of this process said in their log (web/headers.py `Refusals`), as they come: the
    browser sends a report on its own time, so a test that provokes some waits for them (`wait_for`)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.lines: list[str] = []
        self._changed = threading.Condition()

    def emit(self, record):
        with self._changed:
            self.lines.append(record.getMessage())
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = 10) -> list[str]:
        """The lines once there are `count` (or the timeout's end: what came)."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.lines) >= count, timeout)
            return list(self.lines)

    def __enter__(self):
        logging.getLogger("web.headers").addHandler(self)
        return self

    def __exit__(self, *_exc):
        logging.getLogger("web.headers").removeHandler(self)
