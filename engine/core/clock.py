"""The injected clock (STYLE.md §5). Engine, timers and audit read `now` here, never datetime.now().

Times are stored in UTC and shown in Asia/Shanghai.
"""
from __future__ import annotations

import threading
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def parse_instant(text: str) -> datetime:
    """An ISO date-time that must carry its offset (a naive time is ambiguous). ValueError for anything
    else, a number or a list included."""
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not an ISO date-time text")
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset (write e.g. 2026-10-08T09:00:00+08:00)")
    if not 1900 <= value.year <= 2200:
        raise ValueError(f"{text!r} is outside the years 1900–2200")
    return value.astimezone(timezone.utc)


def utc(value: datetime) -> datetime:
    """An instant as an aware UTC datetime (SQLite hands back naive UTC)."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def local(value: datetime | None) -> str | None:
    """An instant as an ISO string in Asia/Shanghai, for display and API output."""
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(SHANGHAI).isoformat()


class SystemClock:
    """The time of day, to the second: what the trail, the limits and the pages keep and show (a fraction of a
    second told no one anything, and cost 7 bytes of every time SQLite keeps: engine/store/models.py)."""

    simulated = False

    def now(self) -> datetime:
        return datetime.now(timezone.utc).replace(microsecond=0)


class SimulatedClock:
    """A clock that only moves when told to (tests, demonstrations; §8 deadlines without waiting)."""

    simulated = True

    def __init__(self, start: datetime):
        self._now = start.astimezone(timezone.utc)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return self._now

    def set(self, value: datetime) -> None:
        value = value.astimezone(timezone.utc)
        with self._lock:
            if value < self._now:
                raise ValueError(f"the simulated clock only moves forward (now {self._now.isoformat()})")
            self._now = value

    def follow(self, value: datetime) -> None:
        """Take on a later time another process saved (engine/store/clock_state.py); an earlier one is
        ignored (this process was moved further already), never an error."""
        value = value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)
        with self._lock:
            if value > self._now:
                self._now = value
