"""Personal data of a reporter (issue #6 privacy): a citizen's phone and name are shown in full only to the
community that registered the event (its cadres, who call back: §7.1 反馈来源) and to the city; everyone
else — a department clerk, another community — sees them masked (138****1111, 王*). The audit trail keeps
what the source sent; what is *shown* of it is masked the same way."""
from __future__ import annotations

import copy

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
    """The registering community's cadres and the city (global roles) see a reporter's contact in full."""
    if user.is_global:
        return True
    return event.community is not None and user.community == event.community and bool(COMMUNITY_ROLES & set(user.roles))


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
