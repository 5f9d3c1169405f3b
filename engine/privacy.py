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
  community designated (`sensitive_access`), plus the one who reported it. Not by other cadres, departments or the city. Every view of one is audited
  (`sensitive_viewed`: who, when).
"""
from __future__ import annotations

import copy

from sqlalchemy import or_, select, true

from engine.models import Audit, Event, WorkItem

#: roles of the registering community that see the contact in full
COMMUNITY_ROLES = {"community_staff", "committee"}
#: contact fields as the API and Open311 name them
PHONE_FIELDS, NAME_FIELDS, EMAIL_FIELDS = ("phone",), ("name", "first_name", "last_name"), ("email",)


def mask_phone(value: str) -> str:
    digits = str(value)
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 8 else "****"


def mask_name(value: str) -> str:
    text = str(value)
    return text[:1] + "*" * max(len(text) - 1, 1) if text else text


def mask_email(value: str) -> str:
    local, _, domain = str(value).partition("@")
    return (local[:1] + "***@" + domain) if domain else "***"


def sees_contact(user, event) -> bool:
    """The registering community's cadres see a reporter's contact in full; the city authority only while
    the event waits for its 分拨 (it may have to call the citizen to find the place)."""
    if event.community is None:
        return "city_authority" in user.roles
    return user.community == event.community and bool(COMMUNITY_ROLES & set(user.roles))


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
    full = sees_contact(user, event)
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


def forbidden_codes(user, catalogs) -> list[str]:
    """The sensitive types this user may not see (their own reports aside)."""
    codes = []
    for code in catalogs.sensitive_codes():
        department = catalogs.competent_department(code)
        police = bool(user.unit and department and catalogs.is_within(user.unit, department))
        designated = bool(getattr(user, "sensitive_access", False) and user.community)
        if not (police or designated):
            codes.append(code)
    return codes


def event_filter(user, catalogs):
    """SQL condition on Event: no sensitive event the user may not see, but their own reports."""
    codes = forbidden_codes(user, catalogs)
    return or_(Event.type_code.not_in(codes), Event.reporter == user.username) if codes else true()


def work_item_filter(user, catalogs):
    """SQL condition on WorkItem: no task of a sensitive event the user may not see."""
    codes = forbidden_codes(user, catalogs)
    if not codes:
        return true()
    return WorkItem.event_id.not_in(select(Event.id).where(Event.type_code.in_(codes)))


def may_see(user, catalogs, event) -> bool:
    return event.type_code not in forbidden_codes(user, catalogs) or event.reporter == user.username


def log_view(session, catalogs, event, user, now, where: str) -> None:
    """Every view of a sensitive event is recorded: who, when, where (API, event page, task page)."""
    if catalogs.is_sensitive(event.type_code):
        session.add(Audit(at=now, actor=user.username, action="sensitive_viewed", event_id=event.id,
                          data={"view": where}))
