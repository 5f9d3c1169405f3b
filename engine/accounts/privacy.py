"""Privacy (issue #6).

- **A reporter's contact**: a citizen's phone and name are shown in full only to the community that
  registered the event (its cadres, who call back: §7.1 反馈来源) — and, while an address-only report waits
  for 分拨 in no community's pool yet, to the city authority that places it; everyone else — a department
  clerk, another community, the city once the event is in a pool, administrators — sees them masked
  (138****1111, 王*). The audit trail keeps what the
  source sent; what is *shown* of it is masked the same way.
- **Sensitive events** (Table A.1 rows 1–3: 重点人员、平安建设、警情; `sensitive` in the event-types catalog)
  are seen, among those whose scope reaches them, only by the police — users of the type's competent
  department (公安局) or a unit below it, e.g. a station's stationed officer — and by the cadres their
  community designated (`sensitive_access`), plus the one who reported it; who that is, is decided in
  `engine/accounts/permissions.py`. Every read of one's content — its page, its task, a photo, the map, the
  diagram, the whistle order, a list that shows its description — goes through `disclose`, and the unit of
  work (engine/store/uow.py) records it as `sensitive_viewed` (who, when, where), whatever the caller.
  Anything derived from one — messages, comments, reasons, supervision entries, circular and report
  lines — is shown to others as `REDACTED`, without its number, text or names (`redact_row`).
"""
from __future__ import annotations

import copy

from sqlalchemy import select

from engine.accounts import permissions
from engine.store import uow
from engine.store.models import Audit, Event, Instance
from engine.core import contracts

#: contact fields as the API and Open311 name them
PHONE_FIELDS, NAME_FIELDS, EMAIL_FIELDS = ("phone",), ("name", "first_name", "last_name"), ("email",)
#: what stands for a sensitive event's content for someone who may not see the event
REDACTED = "涉密事件（无权查看内容）"


def mask_phone(value: str) -> str:
    digits = str(value)
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 8 else "****"


def mask_name(value: str) -> str:
    text = str(value)
    return text[:1] + "*" * max(len(text) - 1, 1) if text else text


def mask_email(value: str) -> str:
    local, _, domain = str(value).partition("@")
    return (local[:1] + "***@" + domain) if domain else "***"


def masked(contact: dict | None) -> dict | None:
    if not isinstance(contact, dict):
        return contact
    out = dict(contact)
    for key, value in contact.items():
        if value in (None, ""):
            continue
        if key in PHONE_FIELDS:
            out[key] = mask_phone(value)
        elif key in NAME_FIELDS:
            out[key] = mask_name(value)
        elif key in EMAIL_FIELDS:
            out[key] = mask_email(value)
    return out


def redact_detail(body: dict, event, user) -> dict:
    """The event as this user may see it: `reporter_contact` in full or masked, and the same for the
    contact the timeline's `reported` entry carries (as the source sent it)."""
    full = permissions.may_see_contact(user, event)
    body["reporter_contact"] = event.reporter_contact if full else masked(event.reporter_contact)
    body["contact_masked"] = not full and bool(event.reporter_contact)
    if not full:
        for entry in body.get("timeline", []):
            if entry.get("action") == "reported" and isinstance(entry.get("data"), dict):
                data = copy.deepcopy(entry["data"])
                if "reporter_contact" in data:
                    data["reporter_contact"] = masked(data["reporter_contact"])
                entry["data"] = masked(data)      # Open311's own fields: phone, email, first/last name
    return body


# -- sensitive events: every read of their content is recorded -------------------------------------------
def disclose(session, catalogs, user, event, now, where: str) -> None:
    """The one function every read of an event's content passes: for a sensitive event (Table A.1 rows
    1–3) it notes who read it, when and where; the unit of work writes the notes as `sensitive_viewed`
    audit rows when it ends (a read-only unit in a short write of its own), whoever the caller was."""
    if event is not None and catalogs.is_sensitive(event.type_code):
        uow.note(session, record, {"at": now, "actor": user.username, "event_id": event.id, "where": where})


def disclose_ids(session, catalogs, user, ids, now, where: str) -> None:
    """`disclose` for each sensitive event among these ids that the user may see (a list that showed what
    was derived from them: messages, reasons, circular and spot-check lines)."""
    for event in sensitive_among(session, catalogs, ids):
        if permissions.may_see_sensitive(user, catalogs, event.type_code, event.reporter):
            disclose(session, catalogs, user, event, now, where)


#: ids per IN (…) list: PostgreSQL takes at most 65,535 parameters a statement (a year's circular names more)
CHUNK = 10_000


def sensitive_among(session, catalogs, ids) -> list:
    """The sensitive events (Table A.1 rows 1–3) among these ids, however many ids there are."""
    ids = sorted({i for i in ids if i is not None})
    codes = catalogs.sensitive_codes()
    if not ids or not codes:
        return []
    return [event for start in range(0, len(ids), CHUNK)
            for event in session.scalars(select(Event).where(Event.id.in_(ids[start:start + CHUNK]),
                                                             Event.type_code.in_(codes)))]


def disclose_listed(cmd, event_ids, where: str) -> None:
    """A list showed `cmd.user` what was derived from these events: the sensitive ones' reads are recorded."""
    disclose_ids(cmd.session, cmd.catalogs, cmd.user, event_ids, cmd.now(), where)


def record(session, disclosures: list[dict]) -> None:
    """Write the noted reads (engine/store/uow.py calls this; one row per event and place per unit)."""
    seen = set()
    for item in disclosures:
        key = (item["actor"], item["event_id"], item["where"])
        if key in seen:
            continue
        seen.add(key)
        session.add(Audit(at=item["at"], actor=item["actor"], action=contracts.SENSITIVE_VIEWED, event_id=item["event_id"],
                          data={"view": item["where"]}))


def hidden_ids(user, catalogs, rows) -> set[int]:
    """Of (event id, type code, reporter) rows, the ids of sensitive events this user may not see."""
    return {event_id for event_id, type_code, reporter in rows
            if event_id is not None and not permissions.may_see_sensitive(user, catalogs, type_code, reporter)}


def redact_row(row: dict, text_fields=(), name_fields=(), id_fields=("event_id", "event_number")) -> dict:
    """A list entry derived from a sensitive event, for someone who may not see the event: counted, but
    without its number, text or names."""
    out = dict(row)
    for name in id_fields:
        if name in out:
            out[name] = None
    for name in text_fields:
        if out.get(name) is not None:
            out[name] = REDACTED
    for name in name_fields:
        if name in out:
            out[name] = None
    out["sensitive"] = True
    return out


def instance_errors(session, catalogs, user, errors: dict) -> dict:
    """{instance id: message} of a sweep's failures as this user may read them: a failure of a sensitive
    event's process may quote its data, so it says only that it failed (the incident keeps what it may)."""
    if not errors:
        return {}
    rows = session.execute(select(Instance.id, Event.type_code, Event.reporter).join(Event, Event.id == Instance.event_id)
                           .where(Instance.id.in_(list(errors))))
    hidden = hidden_ids(user, catalogs, list(rows))
    return {str(k): (REDACTED if k in hidden else v) for k, v in errors.items()}


def redactor(session, catalogs, user):
    """`redact_items` for this reader, as a function of the items (for a list built elsewhere)."""
    return lambda items: redact_items(session, catalogs, user, items)


def redact_items(session, catalogs, user, items: list[dict]) -> list[dict]:
    """Rows naming an event (`event_id`, `event_number`: a migration's plan or result) as this user may read
    them: a sensitive event they may not see keeps its row, without its id or number."""
    ids = {i.get("event_id") for i in items} - {None}
    if not ids:
        return items
    rows = [(e.id, e.type_code, e.reporter) for e in sensitive_among(session, catalogs, ids)]
    hidden = hidden_ids(user, catalogs, rows)
    return [redact_row(i) if i.get("event_id") in hidden else i for i in items]


def scrub(value, numbers: set[str]):
    """A copy of `value` (a timeline, a detail) with these event numbers replaced wherever they appear: the
    events it links to that the reader may not see (a repeat of a sensitive report names its original)."""
    if not numbers:
        return value
    if isinstance(value, str):
        for number in numbers:
            value = value.replace(number, "（无权查看的事件）")
        return value
    if isinstance(value, dict):
        return {k: scrub(v, numbers) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, numbers) for v in value]
    return value


def linked_hidden_numbers(session, catalogs, user, event) -> set[str]:
    """Numbers of the sensitive events linked to this one (repeat of, merged into, transferred from or to, and
    those linked to it) that the user may not see."""
    return hidden_among(linked_events(session, event), catalogs, user)


def linked_events(session, event) -> list:
    """The events linked to this one — repeat of, merged into, transferred from or to, and those flagged as
    repeating it or merged into it — as rows (number, type_code, reporter, duplicate_of_id, merged_into_id)."""
    return session.execute(select(Event.number, Event.type_code, Event.reporter, Event.duplicate_of_id,
                                  Event.merged_into_id).where(
        Event.id.in_({event.duplicate_of_id, event.merged_into_id, event.transferred_from_id,
                      event.transferred_to_id} - {None})
        | (Event.duplicate_of_id == event.id) | (Event.merged_into_id == event.id))).all()


def hidden_among(rows, catalogs, user) -> set[str]:
    """The numbers among `linked_events` rows of the sensitive events the user may not see."""
    return {row.number for row in rows if not permissions.may_see_sensitive(user, catalogs, row.type_code, row.reporter)}
