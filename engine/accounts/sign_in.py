"""Sign-in with its throttle (issue #17, safe by default): a password cannot be guessed without end.

Every refused sign-in — a wrong password, an unknown name, a disabled account — is kept for the window
(`Throttle.window_seconds`, wall clock) with the name tried and the client it came from (its address; an IPv6
address's /64: `client_key`). A client is refused before its password is even checked (429, with the seconds
until it may try again) while, within the window:
- one name has been refused `per_account` times from it (someone guessing one account's password), or
- it has been refused `per_client` times, whatever the names (someone trying many accounts).
A try while refused is not kept, so waiting ends it: when the oldest of the refusals that reached the limit
leaves the window. A sign-in that succeeds forgets that name's refusals from that client.

The throttle and the password are checked in a read (`check`: scrypt's work holds no write lock), then a short
write keeps the refusal or issues the token (`settle`). Tries sent at the same moment are each checked before the
others are kept: a burst may pass a limit by as many as the server runs at once (its threads).

An account is never locked for everyone: refusals from one client do not stop its owner signing in from
another (a guesser could otherwise lock staff out of their 30-minute work, §8.3). Staff of one office behind
one address share its `per_client` budget, which is set for that. Behind a proxy the client is the address
the proxy says (EVENTFLOW_PROXIES, web/__init__.py: unset there, every client would be the proxy, and the app
says so in its log); a name that does not exist costs the same scrypt work as one that does
(engine/accounts/users.py `credentials`), so neither the answer nor its time tells them apart; a hash made
at an older cost (EVENTFLOW_SCRYPT_N raised since) is made again at today's cost at the account's next sign-in.
"""
from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, select

from engine.accounts import users
from engine.core.errors import TooManyAttempts, Unauthorized
from engine.store.models import SignInFailure, User

#: the longest name and client address kept (the columns' sizes)
NAME_CHARS, CLIENT_CHARS = 100, 64


@dataclass(frozen=True)
class Throttle:
    """The rules (Settings: EVENTFLOW_SIGN_IN_WINDOW_S, EVENTFLOW_SIGN_IN_PER_ACCOUNT, EVENTFLOW_SIGN_IN_PER_CLIENT)."""

    window_seconds: int = 900
    per_account: int = 5
    per_client: int = 30


#: a client's refusals in the window, newest first (ix_sign_in_failure_client_at)
_RECENT = (select(SignInFailure.at, SignInFailure.username)
           .where(SignInFailure.client == bindparam("client"), SignInFailure.at > bindparam("since"))
           .order_by(SignInFailure.at.desc(), SignInFailure.id.desc()).limit(bindparam("most")))
_PRUNE = delete(SignInFailure).where(SignInFailure.at <= bindparam("since"))
_FORGET = delete(SignInFailure).where(SignInFailure.client == bindparam("client"),
                                      SignInFailure.username == bindparam("username"))


def client_key(address: str | None) -> str:
    """What refusals are counted under for a client's address: an IPv4 address itself (one given as IPv6,
    ::ffff:a.b.c.d, too); an IPv6 address's /64, which one subscriber holds whole (else a new address per try
    would each start afresh); "unknown" when the server was told none."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return "unknown"
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip) if ip.version == 4 else str(ipaddress.ip_network(f"{ip}/64", strict=False))


def check(session, clock, username: str, password: str, client: str, throttle: Throttle,
          scrypt_n: int) -> users.Checked | Unauthorized:
    """The first half of a sign-in, in a read (scrypt's work holds no write lock): TooManyAttempts, with the
    password not even checked, while `client` (its `client_key`) is refused; else the account and the hash the
    password matched (users.py `credentials`), or the refusal (Unauthorized), returned for `settle` to keep."""
    wait = seconds_to_wait(session, clock.now(), username[:NAME_CHARS], client, throttle)
    if wait:
        minutes = minutes_to_wait(wait)
        raise TooManyAttempts(f"登录失败次数过多，请{minutes}分钟后再试 (too many failed sign-ins: try again in "
                              f"{minutes} min)", field="password", retry_after=wait)
    try:
        return users.credentials(session, username, password, scrypt_n)
    except Unauthorized as refused:
        return refused


def settle(session, clock, username: str, client: str, checked: users.Checked | Unauthorized,
           throttle: Throttle, ttl_seconds: int) -> tuple[str, datetime] | Unauthorized:
    """The second half, in a short write: a refusal is kept (and the refusals past the window pruned) and
    returned, for the caller to raise once it is committed (401); a right one forgets that name's refusals from
    that client and answers (token, expires) — if the account, read again under its row lock, is still active with
    the same hash: a password reset or a disabling committed since `check` (which deletes the account's tokens,
    users.py `update_account`) is not undone by a token made with the old one."""
    now, name = clock.now(), username[:NAME_CHARS]
    if not isinstance(checked, Unauthorized):
        user = session.get(User, checked.user_id, with_for_update=True, populate_existing=True)
        if user is not None and user.active and user.password_hash == checked.matched:
            if checked.rehashed:                   # made at today's cost (EVENTFLOW_SCRYPT_N changed)
                user.password_hash = checked.rehashed
            session.execute(_FORGET, {"client": client, "username": name})
            return users.issue_token(session, clock, checked.user_id, ttl_seconds)
        checked = users.refused()
    session.execute(_PRUNE, {"since": now - timedelta(seconds=throttle.window_seconds)})
    session.add(SignInFailure(at=now, username=name, client=client))
    return checked


def minutes_to_wait(seconds: int) -> int:
    """The whole minutes a person is told to wait (a part of a minute is a minute)."""
    return math.ceil(seconds / 60)


def seconds_to_wait(session, now: datetime, name: str, client: str, throttle: Throttle) -> int:
    """0 if `client` may try `name` now; else the whole seconds until it may (at least 1): when the oldest of
    the refusals that reach a limit leaves the window."""
    window = timedelta(seconds=throttle.window_seconds)
    recent = session.execute(_RECENT, {"client": client, "since": now - window,
                                       "most": throttle.per_client}).all()
    if len(recent) >= throttle.per_client:
        until = recent[throttle.per_client - 1].at + window
    else:
        mine = [row.at for row in recent if row.username == name]
        if len(mine) < throttle.per_account:
            return 0
        until = mine[throttle.per_account - 1] + window
    return max(1, math.ceil((until - now).total_seconds()))
