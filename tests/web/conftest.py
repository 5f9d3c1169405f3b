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
    return app              # closed when the test ends, as every app it built (tests/conftest.py `apps_closed`)


@pytest.fixture
def api(app):
    return Api(app)


#: what `made_once` made in this pytest process: key → (the database's copy, what the build returned)
_MADE: dict = {}


def made_once(api, build):
    """`build(api)`'s history, made through the app once per pytest process for each database (and settings),
    then copied into the next test's database instead of replayed request by request: SQLite by its backup (kept
    in memory), PostgreSQL as every row and sequence (tests/conftest.py `PgState`, restored as a replica). The
    app takes on the copied simulated time (`sync_clock`, as before each request); its Api signs in again (the
    tokens it held were of the database replaced). What `build` returned comes back as it did the first time
    (the copy holds the same ids).

    Only for a build that is the first change the test makes to its freshly seeded database, that writes no file
    (a photo under the media directory is not copied: such a build runs every time), and whose test needs nothing
    of the app's memory but its clock (tests/web/test_indicators.py's history: six events over 27 simulated hours,
    a second or two of requests, read by a dozen tests on both databases)."""
    import copy
    import dataclasses
    import sqlite3
    from contextlib import closing
    from pathlib import Path

    from tests.conftest import PgState
    svc = api.app.extensions["eventflow"]
    settings = svc.settings
    path = settings.database_url.removeprefix("sqlite:///") if settings.database_url.startswith("sqlite:///") else None
    key = (build.__module__, build.__qualname__, "sqlite" if path else settings.database_url,
           repr(dataclasses.replace(settings, database_url="", media_dir="")))
    if key in _MADE:
        saved, made = _MADE[key]
        svc.db.dispose()                       # no connection of the app's holds the database meanwhile
        if path:
            with closing(sqlite3.connect(path)) as here:
                saved.backup(here)
        else:
            saved.restore(svc.db, as_replica=True)
        api._tokens.clear()
        svc.sync_clock()
        return copy.deepcopy(made)
    made = build(api)
    media = Path(settings.media_dir)
    if media.exists() and any(p.is_file() for p in media.rglob("*")):
        return made
    if path:
        saved = sqlite3.connect(":memory:", check_same_thread=False)
        with closing(sqlite3.connect(path)) as here:
            here.backup(saved)
    else:
        saved = PgState.of(svc.db)
    _MADE[key] = (saved, copy.deepcopy(made))
    return made
