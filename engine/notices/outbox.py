"""The notification outbox: every message to a person, unit or community is a row (issue #4).

A message to a unit outside office hours or on a non-working day also goes to whoever the unit's duty
roster (值班表, catalogs/data/duty_rosters.json) has on duty that day, so a miss at night or on a
holiday reaches a person, not only an office that is closed.
"""
from __future__ import annotations

import json
from functools import lru_cache

from engine.core.clock import SHANGHAI
from engine.notices import delivery
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


#: the key of a duty officer's copy among `messages`' rows (not a column: `store` takes it off)
DUTY_COPY = "duty_copy"
_INSERT = Notification.__table__.insert()


def messages(catalogs, at, event_id, recipient_kind: str, recipient: str, kind: str, message: str) -> list[dict]:
    """The outbox rows for one message: to the recipient, and to whoever is on duty for a unit out of hours."""
    rows = [dict(at=at, event_id=event_id, recipient_kind=recipient_kind, recipient=recipient, kind=kind,
                 message=message)]
    if recipient_kind == "unit" and out_of_hours(catalogs, at):
        person = catalogs.on_duty(recipient, at.astimezone(SHANGHAI).date().isoformat())
        if person:
            rows.append(dict(at=at, event_id=event_id, recipient_kind="person", recipient=person, kind=kind,
                             message=f"【值班】{message}", **{DUTY_COPY: True}))
    return rows


def notify(session, catalogs, at, event_id, recipient_kind: str, recipient: str, kind: str, message: str) -> None:
    store(session, catalogs, messages(catalogs, at, event_id, recipient_kind, recipient, kind, message))


def store(session, catalogs, rows: list[dict]) -> None:
    """The notices (`messages`' rows), in the caller's unit of work, each with a delivery to every channel
    outside the app its recipient set up (engine/notices/delivery.py). Where no recipient has a channel,
    one batched INSERT. A channel in its quiet hours holds the notice and hands it to whoever its unit's duty
    roster has on duty that day, once (a duty officer's own quiet hours hand nothing on)."""
    if not rows:
        return
    if not delivery.any_channel(session, {(row["recipient_kind"], row["recipient"]) for row in rows}):
        session.connection().execute(_INSERT, [{k: v for k, v in row.items() if k != DUTY_COPY} for row in rows])
        return
    told = {(row["event_id"], row["kind"], row["recipient_kind"], row["recipient"]) for row in rows}
    for row in rows:
        copy = row.pop(DUTY_COPY, False)
        notice = Notification(**row)
        session.add(notice)
        held = delivery.fan_out(session, notice, row["at"])
        for channel in [] if copy else held:
            unit = delivery.unit_of(session, channel)
            person = catalogs.on_duty(unit, row["at"].astimezone(SHANGHAI).date().isoformat()) if unit else None
            if person and (row["event_id"], row["kind"], "person", person) not in told:
                told.add((row["event_id"], row["kind"], "person", person))
                handed = Notification(**{**row, "recipient_kind": "person", "recipient": person,
                                         "message": f"【值班代收·{channel.label}免打扰】{row['message']}"})
                session.add(handed)
                delivery.fan_out(session, handed, row["at"])
