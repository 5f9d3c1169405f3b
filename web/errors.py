"""Domain errors → JSON, in one place (STYLE.md §8), or the error page on a page's path (web/ui/error_pages.py).
Every error names the field/element and reason."""
from __future__ import annotations

import logging

from flask import jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from engine.core import words
from engine.core.errors import EventflowError
from web import ui
from web.ui import error_pages

log = logging.getLogger(__name__)


def register(app) -> None:
    ui.register_errors(app)
    @app.errorhandler(EventflowError)
    def domain_error(err: EventflowError):
        if err.status >= 500:
            log.error("%s", err.message)
        if ui.is_page():
            return ui.page_error(err)
        wait = err.details.get("retry_after")   # a throttled sign-in (engine/accounts/sign_in.py)
        return jsonify(in_each_language(err.to_dict())), err.status, {"Retry-After": str(wait)} if wait else {}

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(err):
        limit = request.max_content_length   # photo uploads allow more than MAX_CONTENT_LENGTH
        if ui.is_page():
            return error_pages.http(err, exception_headers(err), limit)
        return jsonify({"error": "too_large", "field": "(body)",
                        "message": f"the request is larger than {limit} bytes"}), 413

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        if ui.is_page():        # a page's path, or one no route matches: the error page (web/ui/error_pages.py)
            return error_pages.http(err, exception_headers(err))
        body = jsonify({"error": err.name.lower().replace(" ", "_"), "message": err.description})
        return body, err.code, exception_headers(err)


def in_each_language(body: dict) -> dict:
    """An error's JSON with its message and each field's reason also said apart in each language (issue #20):
    `message_zh`/`message_en` and `reason_zh`/`reason_en` beside the "中文 (English)" text kept as it was, so a
    program or a page shows one language, never both in one line (engine/core/words.py `split`)."""
    def apart(text, key: str) -> dict:
        zh, en = words.split(text) if isinstance(text, str) else (None, None)
        return {k: v for k, v in ((f"{key}_zh", zh), (f"{key}_en", en)) if v}
    body = {**body, **apart(body.get("message"), "message")}
    if isinstance(body.get("errors"), list):
        body["errors"] = [{**e, **apart(e.get("reason"), "reason")} if isinstance(e, dict) else e
                          for e in body["errors"]]
    return body


def exception_headers(err: HTTPException) -> list[tuple[str, str]]:
    """The headers an HTTP error carries besides its body's type: a 405's `Allow` (RFC 9110 §15.5.6)."""
    return [(name, value) for name, value in err.get_headers() if name.lower() != "content-type"]
