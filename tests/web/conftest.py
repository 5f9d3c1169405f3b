"""An app on a fresh database with processes/ deployed and users for every role and scope."""
from __future__ import annotations

import pytest

from tests.conftest import PASSWORD, PROCESSES
from tests.web.client import Api
from web import create_app
from web.cli import DEMO_SENSITIVE_ACCESS, DEMO_USERS
from web.services import Services


def build_app(settings, registry=None):
    return create_app(services=Services.build(settings, registry=registry))


def seed(app, deploy=True):
    from engine import bundle, users
    svc = app.extensions["eventflow"]
    if deploy:
        svc.run(lambda s: svc.runtime.deploy(s, bundle.from_directory(PROCESSES), "test"))
    for username, display, roles, community, unit in DEMO_USERS:
        svc.run(lambda s, u=username, r=roles, c=community, n=unit, d=display: users.create_user(
            s, svc.catalogs, svc.runtime.wall_clock, u, PASSWORD, r, c, n, d, 1024, u in DEMO_SENSITIVE_ACCESS))


@pytest.fixture
def app(settings):
    app = build_app(settings)
    seed(app)
    yield app
    app.extensions["eventflow"].db.dispose()


@pytest.fixture
def api(app):
    return Api(app)
