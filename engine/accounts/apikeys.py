"""API keys of the §5.3 citizen channels (群众接报: 12345 热线, 智慧村社通, 随手拍, 综合执法平台).

Each channel of catalogs/data/channels.json has its own keys for the Open311 endpoint (docs/open311.md).
A key is shown once, when it is created; only its SHA-256 is stored, with its first characters to tell
keys apart in lists. A revoked key is refused from the moment it is revoked.
"""
from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select

from engine.core.errors import InvalidData, NotFound
from engine.store.models import ApiKey

#: keys start with this, so a leaked one is easy to recognise (and to grep for)
KEY_PREFIX = "ef_"
#: how many of the key's first characters are stored to tell keys apart
PREFIX_LENGTH = 10


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create(session, channel: str, actor: str, now, catalogs=None) -> str:
    """A new key for `channel`, returned once (only its hash is kept). Raises InvalidData naming
    `channel` for a channel the catalog does not know. Without `catalogs`, the default catalog files
    are read."""
    if catalogs is None:
        from catalogs import load_catalogs
        catalogs = load_catalogs()
    if catalogs.channel(channel) is None:
        known = ", ".join(c["code"] for c in catalogs.get("channels"))
        raise InvalidData([{"field": "channel", "reason": f"未知渠道 {channel!r}，应为 {known} (unknown channel)"}])
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiKey(channel=channel, key_hash=_hash(key), prefix=key[:PREFIX_LENGTH], created_at=now,
                       created_by=actor))
    session.flush()
    return key


def revoke(session, key_or_prefix: str, now) -> ApiKey:
    """End a key, given the key itself or its 10-character prefix (as `eventflow api-key list` shows it). Revoking
    a revoked key changes nothing. NotFound when no key matches; InvalidData when a prefix is ambiguous."""
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == _hash(key_or_prefix)))
    if row is None and len(key_or_prefix) == PREFIX_LENGTH:  # a whole key that did not match is not a prefix
        rows = list(session.scalars(select(ApiKey).where(ApiKey.prefix == key_or_prefix)))
        if len(rows) > 1:
            raise InvalidData([{"field": "key", "reason": "该前缀对应多个密钥，请给出完整密钥 "
                                                          "(several keys share this prefix: give the whole key)"}])
        row = rows[0] if rows else None
    if row is None:
        raise NotFound(f"no API key matches {key_or_prefix[:PREFIX_LENGTH]!r}…", field="key")
    if row.revoked_at is None:
        row.revoked_at = now
    return row


def channel_for(session, key: str | None) -> str | None:
    """The channel a key belongs to; None for a missing, unknown or revoked key. The lookup is by
    hash, so it reveals nothing about other keys."""
    if not key:
        return None
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == _hash(key)))
    return row.channel if row is not None and row.revoked_at is None else None


def listing(session) -> list[ApiKey]:
    """Every key (never the key itself: only its prefix), oldest first."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))
