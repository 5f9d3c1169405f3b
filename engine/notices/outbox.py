"""The notification outbox: every message to a person, unit or community is a row (issue #4).

A message to a unit outside office hours or on a non-working day also goes to whoever the unit's duty
roster (值班表, catalogs/data/duty_rosters.json) has on duty that day, so a miss at night or on a
holiday reaches a person, not only an office that is closed.
"""
from __future__ import annotations

import json
from functools import lru_cache

from engine.core.clock import SHANGHAI
from engine.store.models import Notification
from engine.limits.workdays import WorkCalendar


def _calendar(catalogs) -> WorkCalendar:
    """The working calendar in force. Cached by its content, not by the Catalogs object: an edit saved in
    the app (or by another node) replaces the calendar inside the same object (`replace_with`), and the
    duty-roster copies must follow it at once (issue #15)."""
    return _calendar_of(json.dumps(catalogs.calendar(), sort_keys=True))


@lru_cache(maxsize=8)
def _calendar_of(document: str) -> WorkCalendar:
    return WorkCalendar(json.loads(document))


def out_of_hours(catalogs, at) -> bool:
    calendar = _calendar(catalogs)
    local = at.astimezone(SHANGHAI)
    return (not calendar.is_working_day(local.date())
            or not calendar.office_open <= local.time().replace(tzinfo=None) < calendar.office_close)


def messages(catalogs, at, event_id, recipient_kind: str, recipient: str, kind: str, message: str) -> list[dict]:
    """The outbox rows for one message: to the recipient, and to whoever is on duty for a unit out of hours."""
    rows = [dict(at=at, event_id=event_id, recipient_kind=recipient_kind, recipient=recipient, kind=kind,
                 message=message)]
    if recipient_kind == "unit" and out_of_hours(catalogs, at):
        person = catalogs.on_duty(recipient, at.astimezone(SHANGHAI).date().isoformat())
        if person:
            rows.append(dict(at=at, event_id=event_id, recipient_kind="person", recipient=person, kind=kind,
                             message=f"【值班】{message}"))
    return rows


def notify(session, catalogs, at, event_id, recipient_kind: str, recipient: str, kind: str, message: str) -> None:
    for row in messages(catalogs, at, event_id, recipient_kind, recipient, kind, message):
        session.add(Notification(**row))
