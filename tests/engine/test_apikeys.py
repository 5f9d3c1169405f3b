"""API keys of the citizen channels (engine/accounts/apikeys.py) on both databases: shown once, stored as a hash,
bound to a catalog channel, refused once revoked."""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from catalogs import load_catalogs
from engine.accounts import apikeys
from engine.store import uow
from engine.store.db import init_db, make_engine, make_session_factory
from engine.core.errors import InvalidData, NotFound
from engine.store.models import ApiKey

NOW = datetime(2026, 10, 8, 1, 0, tzinfo=timezone.utc)


@pytest.fixture
def db(database_url):
    engine = make_engine(database_url)
    init_db(engine)
    yield make_session_factory(engine)
    engine.dispose()


def test_a_key_is_shown_once_and_stored_as_its_hash(db):
    catalogs = load_catalogs()
    key = uow.run(db, lambda s: apikeys.create(s, "hotline_12345", "admin1", NOW, catalogs))
    other = uow.run(db, lambda s: apikeys.create(s, "suishoupai", "admin1", NOW))   # default catalogs
    assert key.startswith("ef_") and len(key) > 40 and key != other
    rows = uow.read(db, lambda s: list(s.scalars(select(ApiKey).order_by(ApiKey.id))))
    assert [r.channel for r in rows] == ["hotline_12345", "suishoupai"]
    assert rows[0].key_hash == hashlib.sha256(key.encode()).hexdigest() and rows[0].prefix == key[:10]
    assert rows[0].created_by == "admin1" and rows[0].revoked_at is None
    assert uow.read(db, lambda s: apikeys.channel_for(s, key)) == "hotline_12345"
    assert uow.read(db, lambda s: apikeys.channel_for(s, other)) == "suishoupai"
    for wrong in (None, "", key + "x", key[:10]):
        assert uow.read(db, lambda s, w=wrong: apikeys.channel_for(s, w)) is None


def test_unknown_channels_are_refused(db):
    with pytest.raises(InvalidData) as caught:
        uow.run(db, lambda s: apikeys.create(s, "fax", "admin1", NOW, load_catalogs()))
    assert caught.value.details["errors"][0]["field"] == "channel"
    assert uow.read(db, lambda s: s.scalar(select(ApiKey))) is None


def test_revoking_by_key_or_prefix_ends_the_key(db):
    catalogs = load_catalogs()
    first = uow.run(db, lambda s: apikeys.create(s, "zhihui_cunshe", "admin1", NOW, catalogs))
    second = uow.run(db, lambda s: apikeys.create(s, "zhihui_cunshe", "admin1", NOW, catalogs))
    row = uow.run(db, lambda s: apikeys.revoke(s, first, NOW))
    assert row.channel == "zhihui_cunshe" and row.revoked_at == NOW
    assert uow.read(db, lambda s: apikeys.channel_for(s, first)) is None
    assert uow.read(db, lambda s: apikeys.channel_for(s, second)) == "zhihui_cunshe"   # the channel's other key

    uow.run(db, lambda s: apikeys.revoke(s, second[:10], NOW))
    assert uow.read(db, lambda s: apikeys.channel_for(s, second)) is None
    again = uow.run(db, lambda s: apikeys.revoke(s, first, datetime(2026, 10, 9, tzinfo=timezone.utc)))
    assert again.revoked_at == NOW                                                      # revoked once
    for unknown in ("ef_unknown-key-that-is-long", second[:10] + "zz", "ef_"):
        with pytest.raises(NotFound):
            uow.run(db, lambda s, u=unknown: apikeys.revoke(s, u, NOW))
