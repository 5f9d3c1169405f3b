"""The order in which SQLite's writers take their turns (engine/store/db.py `_writers_queue`): first come, first
served, across every process and thread that writes one database file.

The turn itself is a flock on `<database>.writers.lock`: it alone keeps writers apart, and the kernel lets go of it
when a process dies. Waiters used to try it every half millisecond, so whoever tried first after the holder let go
won, and a wait was a lottery: with four clients completing tasks each waiter won one turn in three, so ((2/3)^11)
about one wait in a hundred lasted eleven turns or more (bench/peer.py on SQLite, 2026-12-07: a turn held 2.7 ms at
the median and 10 ms at p99, while the waits' p99 was 40-48 ms and a completion's 50-68 ms). Now each writer takes
a ticket from `<database>.writers.queue` (two counters: the tickets given out, and the ticket being served) and
tries the lock only once its ticket is served; the holder serves the next ticket when it lets go.

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
from typing import BinaryIO, Callable

#: how long the ticket being served may stay the same, the lock free or not, before the waiters behind it try
#: the lock anyway (a turn is held 3-10 ms; a long one, a catalog import or a rebuild, only makes them try in vain)
STALL_S = 0.1
#: how long a writer tries for the queue's own lock (held for a read and a write) before it goes without: a
#: ticket not taken makes it race as before, and a ticket not served costs those behind STALL_S, where waiting
#: without end could stop every writer. As long as STALL_S: the holder lets go of the interpreter's lock at each
#: of its four system calls and may wait 5 ms to get it back from a busy thread (a 5 ms bound lost 2-5 serves in 3 s)
QUEUE_WAIT_S = STALL_S
#: the queue file: tickets given out, the ticket being served (little-endian 64-bit integers)
_COUNTERS = struct.Struct("<qq")
#: what `wait_turn` gives a writer that got the lock without a ticket (the queue was busy): nothing to serve
NO_TICKET = -1


def open_queue(database_path: str) -> BinaryIO:
    """The queue beside the database file, opened for this connection (a file of its own: flock is held per
    open file, so threads sharing one would share its locks); closed with it, or by the garbage collector."""
    fd = os.open(f"{database_path}.writers.queue", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    return os.fdopen(fd, "r+b", buffering=0)


def _counters(queue: BinaryIO) -> tuple[int, int]:
    data = os.pread(queue.fileno(), _COUNTERS.size, 0)
    return _COUNTERS.unpack(data) if len(data) == _COUNTERS.size else (0, 0)


def _update(queue: BinaryIO, change: Callable[[int, int], tuple[int, int] | None]) -> tuple[int, int] | None:
    """`change(given, served)` applied under the queue's own lock: the counters written, or None if `change`
    left them, or the lock stayed taken for QUEUE_WAIT_S (never waited for without end: a process stopped
    while it held it, or a connection let go of by the garbage collector on a thread inside this very call)."""
    deadline = time.monotonic() + QUEUE_WAIT_S
    while True:
        try:
            fcntl.flock(queue, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() > deadline:
                return None
            time.sleep(0.0001)
    try:
        new = change(*_counters(queue))
        if new is not None:
            os.pwrite(queue.fileno(), _COUNTERS.pack(*new), 0)
        return new
    finally:
        fcntl.flock(queue, fcntl.LOCK_UN)


def take_ticket(queue: BinaryIO) -> int | None:
    """The next ticket, or None if the queue was busy."""
    taken = _update(queue, lambda given, served: (given + 1, served))
    return None if taken is None else taken[0] - 1


def serving(queue: BinaryIO) -> int:
    """The ticket being served, read without a lock (see above: a torn read only costs a nap or a try)."""
    return _counters(queue)[1]


def served(queue: BinaryIO, ticket: int) -> None:
    """`ticket`'s turn is over: the next ticket is served (unless a later one already was)."""
    if ticket != NO_TICKET:
        _update(queue, lambda given, now: (given, ticket + 1) if now <= ticket else None)


def nap(ticket: int, now_serving: int) -> float:
    """Seconds to wait before looking again: 0.2 ms when next or served, longer the more tickets are ahead."""
    ahead = ticket - now_serving
    return 0.0002 if ahead <= 1 else min(0.002, 0.0005 * ahead)


def wait_turn(queue: BinaryIO, try_lock: Callable[[], bool], wait_s: float, clock=time.monotonic,
              sleep=time.sleep) -> int | None:
    """Take a ticket, and call `try_lock()` whenever it is served (or the queue has stalled) until it returns
    True: the ticket, to hand to `served` once the turn is over (NO_TICKET if the queue was too busy to give
    one: the writer raced for the lock). None if `wait_s` passed first: the ticket is given up, and the next
    one served at once if it was being served."""
    ticket = take_ticket(queue)
    start = clock()
    seen, since = None, start
    while True:
        now_serving, now = serving(queue), clock()
        if now_serving != seen:
            seen, since = now_serving, now
        if (ticket is None or now_serving >= ticket or now - since > STALL_S) and try_lock():
            return NO_TICKET if ticket is None else ticket
        if now - start > wait_s:
            if ticket is not None:     # decided under the queue's lock: it may have been served meanwhile
                _update(queue, lambda given, now_: (given, ticket + 1) if now_ == ticket else None)
            return None
        sleep(0.0005 if ticket is None else nap(ticket, now_serving))
