"""Where a notice channel makes the worker connect (server-side request forgery): the public internet only,
for a channel whose address someone other than a system administrator set (`NoticeChannel.public_only`).

The address is checked twice: when it is set (engine/notices/channel_edits.py), and again each time a
notice is sent to it (engine/notices/delivery.py `send`), because a name that resolved to the internet when
it was typed can be re-pointed at the city's network afterwards. At sending, the name is resolved once,
those addresses are checked, and the connection is made to them alone (`pinned`): a resolver answering
differently a moment later (DNS rebinding) is never asked.

While a sending is pinned, every other name the sending thread looks up (a redirect to another host, a key
server apprise asks) is judged the same way and refused if it is not public: the check fails closed.

`EVENTFLOW_OWN_CHANNEL_HOSTS` names inner hosts such a channel may still use (an SMS gateway); those are
neither checked nor pinned.
"""
from __future__ import annotations

import ipaddress
import socket
import threading
from contextlib import contextmanager
from dataclasses import dataclass

#: the system's resolver, as it was when this module was imported (`pinned` puts its own in front of it)
_resolve = socket.getaddrinfo
_pins = threading.local()
_install = threading.Lock()


def normal(host) -> str:
    """A host name as compared here: lower case, no trailing dot, an IPv6 literal without its brackets."""
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = (host or "").strip().lower().rstrip(".")
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def allowed_host(host, allowed) -> bool:
    """Is `host` one of the inner hosts the operator allowed (EVENTFLOW_OWN_CHANNEL_HOSTS)?"""
    return normal(host) in {normal(name) for name in allowed}


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
    host = normal(host)
    if not host:
        return Verdict(host, (), "?")
    try:
        addresses = tuple(dict.fromkeys(info[4][0] for info in _resolve(host, None)))
    except (OSError, UnicodeError):
        return Verdict(host, (), "unresolved")
    if not addresses or not all(public(address) for address in addresses):
        return Verdict(host, addresses, "inner")
    return Verdict(host, addresses)


def _pinned_getaddrinfo(host, port=None, *args, **kwargs):
    """socket.getaddrinfo; in a thread that is sending to a pinned host, that host resolves to its checked
    addresses alone (those of another address family skipped), and any other name only if it is public."""
    pins = getattr(_pins, "hosts", None)
    if not pins:
        return _resolve(host, port, *args, **kwargs)
    addresses = pins.get(normal(host))
    if addresses is None:
        verdict = judge(host)
        if verdict.inner is not None:
            raise socket.gaierror(socket.EAI_NONAME, f"refused: {normal(host)[:60]} is not on the public internet")
        addresses = verdict.addresses
    found = []
    for address in addresses:
        try:
            found.extend(_resolve(address, port, *args, **kwargs))
        except socket.gaierror:       # e.g. an IPv6 address asked for as IPv4 only
            continue
    if not found:
        raise socket.gaierror(socket.EAI_NONAME, f"no address of {normal(host)[:60]} in the family asked for")
    return found


@contextmanager
def pinned(host: str, addresses: tuple[str, ...]):
    """While inside, this thread's connections to `host` (apprise's requests and smtplib both resolve through
    socket.getaddrinfo) go to `addresses` and nowhere else, and to any other name only if it resolves to the
    public internet alone (a redirect, a key server); other threads resolve as usual. TLS still checks the
    certificate against the name."""
    with _install:
        if socket.getaddrinfo is not _pinned_getaddrinfo:
            socket.getaddrinfo = _pinned_getaddrinfo
    before = getattr(_pins, "hosts", None)
    _pins.hosts = {**(before or {}), normal(host): tuple(addresses)}
    try:
        yield
    finally:
        _pins.hosts = before
