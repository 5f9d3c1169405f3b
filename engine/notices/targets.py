"""Where a notice channel makes the worker connect (server-side request forgery): the public internet only,
for a channel whose address someone other than a system administrator set (`NoticeChannel.public_only`).

The address is checked twice: when it is set (engine/notices/channel_edits.py), and again each time a
notice is sent to it (engine/notices/delivery.py `send`), because a name that resolved to the internet when
it was typed can be re-pointed at the city's network afterwards. At sending, the name is resolved once,
those addresses are checked, and the connection is made to them alone (`pinned`): a resolver answering
differently a moment later (DNS rebinding) is never asked.

`EVENTFLOW_OWN_CHANNEL_HOSTS` names inner hosts such a channel may still use (an SMS gateway); those are
neither checked nor pinned.
"""
from __future__ import annotations

import ipaddress
import socket
import threading
from contextlib import contextmanager
from dataclasses import dataclass

#: what the worker's own look-ups go through while nothing is pinned (set when `pinned` is first used)
_resolve = socket.getaddrinfo
_pins = threading.local()
_install = threading.Lock()


@dataclass(frozen=True)
class Verdict:
    """What a host resolves to now and whether it may be reached: `inner` names why not (None: it may)."""

    host: str
    addresses: tuple[str, ...] = ()
    inner: str | None = None


def public(address: str) -> bool:
    """Is `address` on the public internet (not this machine, a private, link-local, shared, reserved or
    multicast network)?"""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return ip.is_global and not ip.is_multicast


def judge(host: str) -> Verdict:
    """Resolve `host` once and judge every address it gave: one inner address makes it inner, as does a name
    that does not resolve (it cannot be checked)."""
    if not host:
        return Verdict(host, (), "?")
    try:
        addresses = tuple(dict.fromkeys(info[4][0] for info in _resolve(host, None)))
    except (OSError, UnicodeError):
        return Verdict(host, (), "unresolved")
    if not addresses or not all(public(address) for address in addresses):
        return Verdict(host, addresses, "inner")
    return Verdict(host, addresses)


def _key(host) -> str | None:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    return host.lower().rstrip(".") if isinstance(host, str) else None


def _pinned_getaddrinfo(host, *args, **kwargs):
    """socket.getaddrinfo, but a host pinned in this thread resolves to its checked addresses alone."""
    pins = getattr(_pins, "hosts", None)
    addresses = pins.get(_key(host)) if pins else None
    if addresses is None:
        return _resolve(host, *args, **kwargs)
    found = []
    for address in addresses:
        found.extend(_resolve(address, *args, **kwargs))
    return found


@contextmanager
def pinned(host: str, addresses: tuple[str, ...]):
    """While inside, this thread's connections to `host` (apprise's requests and smtplib both resolve through
    socket.getaddrinfo) go to `addresses` and nowhere else; other threads and hosts resolve as usual. TLS still
    checks the certificate against the name."""
    with _install:
        if socket.getaddrinfo is not _pinned_getaddrinfo:
            socket.getaddrinfo = _pinned_getaddrinfo
    before = getattr(_pins, "hosts", None)
    _pins.hosts = {**(before or {}), _key(host): tuple(addresses)}
    try:
        yield
    finally:
        _pins.hosts = before
