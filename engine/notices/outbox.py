"""The notification outbox: every message to a person, unit or community is a row (issue #4), and every row
is written by `notify`, the one place a notice is made (issue #18: the channels that carry notices out of
the app — e-mail, DingTalk/WeCom robots, webhooks — are added here, once, for every notice). Nothing else
inserts into the `notification` table (tests/engine/test_escalation.py checks the source). Each notice also
goes to the channels outside the app its recipient set up (`store`, engine/notices/delivery.py).

A message to a unit outside office hours or on a non-working day also goes to whoever the unit's duty
roster (值班表, catalogs/data/duty_rosters.json) has on duty that day, so a miss at night or on a
holiday reaches a person, not only an office that is closed. The escalation ladder
(engine/limits/escalation.py) says per rung whether its notices are copied so (`duty_officer`).
"""
from __future__ import annotations

import json
from functools import lru_cache

from engine.core.clock import SHANGHAI
from engine.notices import delivery
from engine.store.models import Notification
from engine.limits.workdays import WorkCalendar

#: built once (a hot statement: every step that tells someone runs it)
_INSERT = Notification.__table__.insert()
#: what a duty officer's copy begins with
ON_DUTY = "【值班】"


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


def on_duty(catalogs, unit: str, at) -> str | None:
    """Who hears a unit's notices at `at`: the person its duty roster (or the nearest unit above it) has on
    duty that day, out of office hours only; None in office hours or with nobody on the roster."""
    if not out_of_hours(catalogs, at):
        return None
    return catalogs.on_duty(unit, at.astimezone(SHANGHAI).date().isoformat())


#: the key that marks a duty officer's copy among the rows `store` is given (not a column: `store` takes it off)
DUTY_COPY = "duty_copy"


def notify(session, catalogs, at, event_id, recipient_kind: str, recipient: str, kind: str, message: str, *,
           clause: str | None = None, rung: str | None = None, duty_copy: bool = True) -> list[dict]:
    """Tell a person, a unit or a community (`recipient_kind`): the notice is stored in this unit of work,
    with the step that caused it (`store`). `clause` is what it cites (§8.3, §9.1 …), `rung` the escalation
    ladder's rung that sent it; a unit out of hours is also told through whoever is on duty, unless
    `duty_copy` is False (a rung without `duty_officer`). The rows written, the recipient's first."""
    base = dict(at=at, event_id=event_id, kind=kind, clause=clause, rung=rung)
    rows = [dict(base, recipient_kind=recipient_kind, recipient=recipient, message=message)]
    if duty_copy and recipient_kind == "unit":
        person = on_duty(catalogs, recipient, at)
        if person:
            rows.append(dict(base, recipient_kind="person", recipient=person, message=f"{ON_DUTY}{message}",
                             **{DUTY_COPY: True}))
    store(session, catalogs, rows)
    return [{k: v for k, v in row.items() if k != DUTY_COPY} for row in rows]


def store(session, catalogs, rows: list[dict]) -> None:
    """The notices, in the caller's unit of work, each with a delivery to every channel outside the app its
    recipient set up (engine/notices/delivery.py). Where no recipient has a channel, one batched INSERT. A
    channel in its quiet hours holds the notice and hands it to whoever its unit's duty roster has on duty
    that day, once (a duty officer's own quiet hours hand nothing on)."""
    if not rows:
        return
    if not delivery.any_channel(session, {(row["recipient_kind"], row["recipient"]) for row in rows}):
        session.execute(_INSERT, [{k: v for k, v in row.items() if k != DUTY_COPY} for row in rows])
        return
    told = {(row["event_id"], row["kind"], row["recipient_kind"], row["recipient"]) for row in rows}
    for row in rows:
        row = dict(row)
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


def test_notice(session, at, channel) -> Notification:
    """发送测试 (我的通知方式): a notice to a channel's owner, sent on that channel alone whatever its categories and
    quiet hours — it is this channel's test, asked for now — and kept in 消息 and the delivery log like any other."""
    notice = Notification(at=at, event_id=None, recipient_kind=channel.owner_kind, recipient=channel.owner,
                          kind=delivery.TEST_KIND,
                          message=f"【测试】这是通知方式「{channel.label}」的测试通知：收到即表示设置成功。")
    session.add(notice)
    delivery.deliver(session, notice, channel, at)
    return notice
