"""Domain errors → JSON, in one place (STYLE.md §8), or the error page on a page's path (web/ui/error_pages.py).
Every error names the field/element and reason."""
from __future__ import annotations

import logging

from flask import jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

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
        return jsonify(err.to_dict()), err.status

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


def exception_headers(err: HTTPException) -> list[tuple[str, str]]:
    """The headers an HTTP error carries besides its body's type: a 405's `Allow` (RFC 9110 §15.5.6)."""
    return [(name, value) for name, value in err.get_headers() if name.lower() != "content-type"]
