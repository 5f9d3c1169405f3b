"""The thin Flask layer (the only Flask importer): app factory, the API's and the web app's blueprints,
one error handler."""
from __future__ import annotations

import logging

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import Rule

from web.services import Services

log = logging.getLogger(__name__)


class LazyRule(Rule):
    """Werkzeug's rule, its two URL builders compiled when a URL is first built from it (url_for), not when
    it is added: Werkzeug writes each builder as Python source and compiles it, which was 85 % of building
    the app (187 rules, two builders each; ~80 ms), paid by every gunicorn worker and every test's app for
    the few rules a page builds a URL from. Matching a request does not use them."""

    def _compile_builder(self, append_unknown: bool = True):
        compiled = None

        def build(rule, /, *args, **kwargs):   # positional: a URL's value or query argument may be `rule`
            nonlocal compiled
            if compiled is None:      # two threads at once compile it twice: the same function
                compiled = Rule._compile_builder(rule, append_unknown)
            return compiled(rule, *args, **kwargs)
        return build


class App(Flask):
    url_rule_class = LazyRule


def create_app(settings=None, services: Services | None = None) -> Flask:
    """Assemble the app (STYLE.md §7). Tests pass Settings pointing at a temporary database."""
    from web import errors, headers, inputs, live, ui
    from web.api import (alerts, auth, catalogs, duplicates, events, inbox, incidents, indicators, live as live_api, meta,
                         monthly, notices, open311, photos, processes, returns, sim, spot_checks, supervision, tasks,
                         users)
    from web.api import delegation as delegation_api
    from web.api import my_notices
    from web.api import exports as exports_api

    app = App(__name__)
    inputs.set_up(app)   # before any route: bounded ids in paths, every request's text and JSON checked
    services = services or Services.build(settings)
    app.extensions["eventflow"] = services
    app.extensions["eventflow_live"] = live.Streams(services)   # the live inbox's streams (web/live.py)
    app.config["MAX_CONTENT_LENGTH"] = services.settings.max_upload_bytes
    if services.settings.proxies > 0:   # the client's address as the proxies in front say (the sign-in throttle's)
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=services.settings.proxies)
    else:
        warned = []

        @app.before_request
        def a_proxy_not_named():   # every client would count as the proxy's one address (docs/deploy.md)
            if not warned and "X-Forwarded-For" in request.headers:
                warned.append(True)
                log.warning("a request came through a proxy (X-Forwarded-For) but EVENTFLOW_PROXIES is 0: every "
                            "client counts as the proxy's address, and the sign-in throttle's refusals are shared")
    app.json.ensure_ascii = False
    app.json.sort_keys = False

    headers.install(app, services.settings)   # every answer: never framed, scripts from our files only

    @app.before_request
    def catalogs_saved_elsewhere():   # catalogs another app node saved (engine/accounts/catalog_edits.py)
        services.refresh_catalogs()

    @app.before_request
    def shared_simulated_time():   # a simulated clock another process moved (web/services.py sync_clock)
        services.sync_clock()

    @app.teardown_request
    def end_unit_of_work(_error):  # a token check's session no unit of work took (web/services.py)
        services.end_request()
    api = (auth, events, photos, duplicates, inbox, live_api, alerts, tasks, supervision, processes, catalogs, sim, meta,
           users, indicators, spot_checks, monthly, open311, incidents, notices, my_notices, delegation_api, returns,
           exports_api)
    for module in api:
        app.register_blueprint(module.bp)
    ui.set_up(app, [module.bp for module in api])   # the web app's pages (issue #6)
    errors.register(app)
    return app
