"""engine/channels/devices.py below the API (§5.4): the signature a device computes, the registry, and each way
`verify` refuses a request, on both databases. The wall clock is a datetime passed in."""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta, timezone

import pytest

from catalogs import load_catalogs
from engine.channels import devices
from engine.store import uow
from engine.store.db import make_engine, make_session_factory
from engine.core.errors import Conflict, Forbidden, InvalidData, NotFound, Unauthorized
from engine.store.models import AlertReceipt

NOW = datetime(2026, 10, 8, 1, 0, tzinfo=timezone.utc)
TS = str(int(NOW.timestamp()))
BODY = b'{"alert_id": "a-1"}'


@pytest.fixture
def factory(database_url):
    db = make_engine(database_url)
    yield make_session_factory(db)
    db.dispose()


@pytest.fixture
def secret(factory):
    return uow.run(factory, lambda s: devices.register(s, "cam-1", "lg-xincheng", "camera", NOW, load_catalogs()))


def verify(factory, timestamp=TS, signature=None, body=BODY, device_id="cam-1", secret=None, wall=NOW):
    if signature is None:
        signature = devices.sign(secret, timestamp, body)
    return uow.read(factory, lambda s: devices.verify(s, device_id, timestamp, signature, body, wall, 300))


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    expected = hmac.new(b"k3y", b"1791421200." + BODY, hashlib.sha256).hexdigest()
    assert devices.sign("k3y", 1791421200, BODY) == devices.sign("k3y", "1791421200", BODY) == expected


def test_register_refuses_bad_ids_communities_kinds_and_duplicates(factory, secret):
    assert len(secret) >= 40
    catalogs = load_catalogs()
    with pytest.raises(InvalidData) as err:
        uow.run(factory, lambda s: devices.register(s, "cam 1!", "lg-nowhere", "drone", NOW, catalogs))
    assert [e["field"] for e in err.value.details["errors"]] == ["device_id", "community", "kind"]
    with pytest.raises(InvalidData) as err:
        uow.run(factory, lambda s: devices.register(s, "cam-1", "lg-xincheng", "camera", NOW, catalogs))
    assert err.value.details["errors"][0]["field"] == "device_id"
    with pytest.raises(InvalidData):       # the id becomes the event's channel: 40 characters at most
        uow.run(factory, lambda s: devices.register(s, "c" * 41, "lg-xincheng", "camera", NOW, catalogs))


def test_verify_accepts_a_fresh_signature_within_the_window(factory, secret):
    assert verify(factory, secret=secret).id == "cam-1"
    assert verify(factory, secret=secret, wall=NOW + timedelta(seconds=300)).id == "cam-1"
    assert verify(factory, secret=secret, wall=NOW - timedelta(seconds=300)).id == "cam-1"
    upper = devices.sign(secret, TS, BODY).upper()
    assert verify(factory, signature=upper).id == "cam-1"


@pytest.mark.parametrize("case, error, field", [
    ({"device_id": None}, Unauthorized, "X-Device-Id"),
    ({"device_id": "cam-2"}, Forbidden, "X-Device-Id"),
    ({"device_id": "no such/device"}, Forbidden, "X-Device-Id"),
    ({"timestamp": None}, Unauthorized, "X-Timestamp"),
    ({"timestamp": "-5"}, devices.StaleRequest, "X-Timestamp"),
    ({"wall": NOW + timedelta(seconds=301)}, devices.StaleRequest, "X-Timestamp"),
    ({"wall": NOW - timedelta(seconds=301)}, devices.StaleRequest, "X-Timestamp"),
    ({"signature": ""}, Unauthorized, "X-Signature"),
    ({"signature": "abc"}, devices.BadSignature, "X-Signature"),
    ({"signature": "0" * 64}, devices.BadSignature, "X-Signature"),
])
def test_verify_names_the_header_at_fault(factory, secret, case, error, field):
    kw = {"secret": secret, **case}
    if kw.get("timestamp", TS) is None:
        kw["signature"] = devices.sign(secret, "", BODY)
    with pytest.raises(error) as err:
        verify(factory, **kw)
    assert err.value.details["field"] == field
    assert err.value.status in (401, 403)


def test_a_revoked_device_and_a_replay_are_refused(factory, secret):
    signature = devices.sign(secret, TS, BODY)
    uow.run(factory, lambda s: s.add(AlertReceipt(device_id="cam-1", signature=signature, alert_id="a-1", received_at=NOW)))
    with pytest.raises(devices.Replayed) as err:
        verify(factory, signature=signature)
    assert err.value.status == 409 and err.value.details["field"] == "X-Signature"
    uow.run(factory, lambda s: devices.revoke(s, "cam-1", NOW))
    with pytest.raises(Forbidden, match="revoked"):
        verify(factory, secret=secret)
    with pytest.raises(Conflict):
        uow.run(factory, lambda s: devices.revoke(s, "cam-1", NOW))
    with pytest.raises(NotFound):
        uow.run(factory, lambda s: devices.revoke(s, "cam-9", NOW))
