"""The order in which SQLite's writers take their turns (engine/store/db.py `_writers_queue`): first come, first
served, across every process and thread that writes one database file.

The turn itself is a flock on `<database>.writers.lock`: it alone keeps writers apart, and the kernel lets go of it
when a process dies. Waiters used to try it every half millisecond, so whoever tried first after the holder let go
won, and a wait was a lottery: with four clients completing tasks each waiter won one turn in three, and one wait in
a hundred lasted eleven turns or more (bench/peer.py on SQLite, 2026-12-07: a turn held 2.7 ms at the median, 10 ms
at p99, while the waits' p99 was 40-48 ms and a completion's 50-68 ms). Now each writer takes a ticket from
`<database>.writers.queue` (two counters: the tickets given out, and the ticket being served) and tries the lock
only once its ticket is served; the holder serves the next ticket when it lets go.

The order is advisory. A torn read of the counters, a ticket served out of turn or one whose writer died can make
a writer wait longer or race as before, never two write at once. A ticket that holds the queue up (its writer died,
or gave up while others waited ahead of it) is passed over once the ticket being served has not changed for
STALL_S: the waiters then race for the lock as before, and whichever holds it next serves the ticket after its
own."""
from __future__ import annotations

import fcntl
import os
import struct
import time
from typing import Callable

#: how long the ticket being served may stay the same, the lock free or not, before the waiters behind it try
#: the lock anyway (a turn is held 3-10 ms; a long one, a catalog import or a rebuild, only makes them try in vain)
STALL_S = 0.1
#: the queue file: tickets given out, the ticket being served (little-endian 64-bit integers)
_COUNTERS = struct.Struct("<qq")


def open_queue(database_path: str) -> int:
    """The queue beside the database file, opened for this connection (a descriptor of its own: flock is held
    per open file, so threads sharing one would share its locks)."""
    return os.open(f"{database_path}.writers.queue", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)


def _counters(queue: int) -> tuple[int, int]:
    data = os.pread(queue, _COUNTERS.size, 0)
    return _COUNTERS.unpack(data) if len(data) == _COUNTERS.size else (0, 0)


def _update(queue: int, change: Callable[[int, int], tuple[int, int] | None]):
    """`change(given, served)` applied under the queue's own lock (held for a read and a write)."""
    fcntl.flock(queue, fcntl.LOCK_EX)
    try:
        new = change(*_counters(queue))
        if new is not None:
            os.pwrite(queue, _COUNTERS.pack(*new), 0)
        return new
    finally:
        fcntl.flock(queue, fcntl.LOCK_UN)


def take_ticket(queue: int) -> int:
    return _update(queue, lambda given, served: (given + 1, served))[0] - 1


def serving(queue: int) -> int:
    """The ticket being served, read without a lock (see above: a torn read only costs a nap)."""
    return _counters(queue)[1]


def served(queue: int, ticket: int) -> None:
    """`ticket`'s turn is over, or given up: the next ticket is served (unless a later one already was)."""
    _update(queue, lambda given, now: (given, ticket + 1) if now <= ticket else None)


def nap(ticket: int, now_serving: int) -> float:
    """Seconds to wait before looking again: 0.2 ms when next or served, longer the more tickets are ahead."""
    ahead = ticket - now_serving
    return 0.0002 if ahead <= 1 else min(0.002, 0.0005 * ahead)


def wait_turn(queue: int, try_lock: Callable[[], bool], wait_s: float, clock=time.monotonic,
              sleep=time.sleep) -> int | None:
    """Take a ticket, and call `try_lock()` whenever it is served (or the queue has stalled) until it returns
    True: the ticket, to hand to `served` once the turn is over. None if `wait_s` passed first: the ticket is
    given up, and served at once if it was being served."""
    ticket = take_ticket(queue)
    start = clock()
    seen, since = None, start
    while True:
        now_serving, now = serving(queue), clock()
        if now_serving != seen:
            seen, since = now_serving, now
        if (now_serving >= ticket or now - since > STALL_S) and try_lock():
            return ticket
        if now - start > wait_s:
            if now_serving == ticket:
                served(queue, ticket)
            return None
        sleep(nap(ticket, now_serving))
