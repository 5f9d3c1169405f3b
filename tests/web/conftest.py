"""An app on a fresh database with processes/ deployed and users for every role and scope: a copy of the
session's seeded template (tests/conftest.py). `build_app` and `seed` make one by hand (a custom registry,
other settings, nothing deployed): the slow path, on a bare database."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.store.models import User
from tests.conftest import build_app, seed  # noqa: F401 - re-exported: tests import them from here
from tests.web.client import Api


@pytest.fixture
def app(settings, seeded):
    app = build_app(settings)
    svc = app.extensions["eventflow"]
    if svc.read(lambda s: s.scalar(select(User.id).limit(1))) is None:
        seed(app)   # a module's own `database_url` gave a bare database
    yield app
    svc.wakeups.stop()      # a live stream's watching thread (web/live.py), if one was opened
    svc.db.dispose()


@pytest.fixture
def api(app):
    return Api(app)
