"""办理记录 (issue #19): what each completed step of an event said, by whom and when, readable — the department's
处置结果 beside its before/after photos (§8.5), the 吹哨理由 and 研判意见 for the unit that accepts (§7.2, §7.3), the
受理意见, the 核查意见 … — for the event page and the next task's page.

It is read from the audit trail, which keeps every completed form's data after the process ends
(engine/runtime/instances.py). Each entry's labels are the titles of the form the step used, found in the process
version its instance ran (the version's task metadata names each user task's form), so any deployed process reads
the same way; values are shown readably: a choice by its title (`x-enum-titles`, a catalog's label), a boolean as
是/否, a date-time in Asia/Shanghai, photos as their keys. Who did it is their display name and unit (or
community), never the login name; a value that names a person (a `person` field, e.g. a 分工's 承办人) too.

The caller decides who may read it: the event page and the task (engine/pool/reading.py `event_detail`,
engine/casework/tasks.py `detail`) answer only someone who may see the event (a sensitive event: permissions
`may_see_sensitive`), and record that read (privacy `disclose`)."""
from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, select

from engine.core import contracts
from engine.core.clock import SHANGHAI, local, parse_instant
from engine.store.models import Audit, Instance, User

#: the completed steps of an event, oldest first, each with the process version its instance ran
_STEPS = (select(Audit.at, Audit.actor, Audit.task_id, Audit.task_name, Audit.data, Instance.version_id)
          .outerjoin(Instance, Instance.id == Audit.instance_id)
          .where(Audit.event_id == bindparam("event_id"), Audit.action == contracts.TASK_COMPLETED)
          .order_by(Audit.id))
#: who the actor is, for people: never the login name
SYSTEM_NAME = "系统"
UNKNOWN_NAME = "（未知人员）"
YES, NO = "是", "否"
#: fields whose value is a person's user name (a 分工's 承办人: consult.json `assignments[].person`)
PERSON_FIELDS = ("person",)


class Step(NamedTuple):
    """A completed user task as the record reads it: its audit row, and the version its instance ran."""

    at: datetime
    actor: str
    task_id: str | None
    task_name: str | None
    data: dict | None
    version_id: int | None


def steps(trail, versions: dict) -> list[Step]:
    """The completed steps among an event's audit rows (`trail`, oldest first, as the event page reads them),
    each with its instance's version (`versions`: instance id → version id)."""
    return [Step(a.at, a.actor, a.task_id, a.task_name, a.data, versions.get(a.instance_id))
            for a in trail if a.action == contracts.TASK_COMPLETED]


def of_event(cmd, event_id: int, rows: list[Step] | None = None, people: dict | None = None) -> list[dict]:
    """The event's record, oldest first: one entry per completed user task —
    `{task_id, task, form_title, at, by: {name, unit}, fields: [{name, label, kind, value, text, items}]}`.
    The caller has checked that the user may see the event. `rows` and `people`: the steps and the people they
    name, when the caller read them already (engine/pool/reading.py `event_detail`)."""
    if rows is None:
        rows = [Step(*row) for row in cmd.session.execute(_STEPS, {"event_id": event_id})]
    if not rows:
        return []
    if people is None:
        people = _people(cmd.session, cmd.catalogs, {r.actor for r in rows}, rows)
    entries = []
    for row in rows:
        schema = _form_of(cmd, row)
        data = row.data if isinstance(row.data, dict) else {}
        entries.append({"task_id": row.task_id, "task": row.task_name,
                        "form_title": (schema or {}).get("title") or row.task_name,
                        "at": local(row.at), "by": _who(row.actor, people),
                        "fields": fields(schema, data, cmd.catalogs, people)})
    return entries


def newest_first(record: list[dict]) -> list[dict]:
    """The record with its latest step first: what the next task's page shows above its form."""
    return list(reversed(record))


# -- which form a step used ------------------------------------------------------------------------------------
def _form_of(cmd, row) -> dict | None:
    """The resolved form (catalog choices filled in) of the user task this audit row completed, or None: the
    version's user tasks titled as the row's task (one per title in practice; if several, the one whose form
    holds every key of the data)."""
    if row.version_id is None:
        return None
    compiled = cmd.env.specs.get(cmd.session, row.version_id)
    named = [meta["form"] for key, meta in sorted(compiled.task_meta.items())
             if not key.startswith("_") and isinstance(meta, dict) and row.task_name in (meta.get("title"), key)
             and meta.get("form") in compiled.forms]
    if not named:
        return None
    keys = set(row.data) if isinstance(row.data, dict) else set()
    path = next((p for p in named if keys <= set(compiled.forms[p].get("properties") or {})), named[0])
    return compiled.resolved_form(path, cmd.catalogs)


# -- values, readably ------------------------------------------------------------------------------------------
def fields(schema: dict | None, data: dict, catalogs, people: dict) -> list[dict]:
    """The data's fields in the form's order (`x-order`, then its properties), each labelled by its title:
    `{name, label, kind, value, text}` — kind `photos` (value: the photo keys), `items` (a list of objects:
    `items`, each a list of such fields) or `text`. Empty answers are left out; a key the form does not
    define (an older version's) is shown under its own name."""
    props = (schema or {}).get("properties") or {}
    order = [k for k in (schema or {}).get("x-order") or [] if k in props]
    order += [k for k in props if k not in order]
    order += [k for k in data if k not in order]
    shown = []
    for name in order:
        if name not in data or _empty(data[name]):
            continue
        prop = props.get(name) if isinstance(props.get(name), dict) else {}
        shown.append(_field(name, prop, data[name], catalogs, people))
    return shown


def _field(name: str, prop: dict, value, catalogs, people: dict) -> dict:
    entry = {"name": name, "label": prop.get("title") or name, "value": value}
    widget = prop.get("x-widget")
    if widget in ("photos", "photo"):
        keys = [k for k in (value if isinstance(value, list) else [value]) if isinstance(k, str)]
        return {**entry, "kind": "photos", "value": keys, "text": f"{len(keys)} 张照片"}
    items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        parts = [fields(items, v, catalogs, people) for v in value]
        text = "；".join("，".join(f"{f['label']}：{f['text']}" for f in part) for part in parts)
        return {**entry, "kind": "items", "items": parts, "text": text}
    return {**entry, "kind": "text", "text": readable(prop, value, catalogs, people, name)}


def readable(prop: dict, value, catalogs, people: dict, name: str = "") -> str:
    """One value in words: a choice by its title, 是/否, a local date-time, a list joined with 、, an object as
    its titled parts, a person by their display name."""
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, list):
        items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
        return "、".join(readable(items, v, catalogs, people, name) for v in value)
    if isinstance(value, dict):
        return "，".join(f"{f['label']}：{f['text']}" for f in fields(prop, value, catalogs, people))
    title = _choice_title(prop, value)
    if title is not None:
        return title
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        if name in PERSON_FIELDS or name.endswith("_person"):
            return _who(value, people)["name"]
        if prop.get("format") == "date-time":
            return _local_time(value)
    return str(value)


def _choice_title(prop: dict, value) -> str | None:
    """The title of a chosen value: `enum` with `x-enum-titles`, or `oneOf` of {const, title} (a catalog's
    choices, engine/runtime/forms.py `resolve`)."""
    enum, titles = prop.get("enum"), prop.get("x-enum-titles")
    if isinstance(enum, list) and isinstance(titles, list) and value in enum:
        index = enum.index(value)
        if index < len(titles):
            return str(titles[index])
    for option in prop.get("oneOf") or []:
        if isinstance(option, dict) and "const" in option and option["const"] == value and option.get("title"):
            return str(option["title"])
    return None


def _local_time(text: str) -> str:
    try:
        return parse_instant(text).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return text


def _empty(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


# -- who --------------------------------------------------------------------------------------------------------
def people(session, catalogs, usernames: set[str], rows=()) -> dict[str, dict]:
    """{user name: {name, unit}} of these accounts, for a page that names who did something, and of the persons
    the steps `rows` name in their answers."""
    return _people(session, catalogs, usernames, rows)


def who(username: str, found: dict) -> dict:
    """{name, unit} of an actor for people (`people` found them): never the login name. An actor that is not a
    person's account (`open311:<channel>`, a channel's name) is shown as it is."""
    if username not in found and username != "system" and ":" in (username or ""):
        return {"name": username, "unit": None}
    return _who(username, found)


def named(session, catalogs, usernames) -> dict[str, str]:
    """{user name: 陈芳（新城社区）} of these accounts, for a column or a line that names a person: the display name
    and unit (`who`), never the login name."""
    wanted = {u for u in usernames if u}
    found = people(session, catalogs, wanted) if wanted else {}
    return {u: line(who(u, found)) for u in wanted}


def line(person: dict) -> str:
    """{name, unit} as one line: 陈芳（新城社区）."""
    return f"{person['name']}（{person['unit']}）" if person.get("unit") else person["name"]


def _people(session, catalogs, usernames: set[str], rows) -> dict[str, dict]:
    """{user name: {name, unit}} of the actors, and of the persons named in the steps' data (分工's 承办人)."""
    names = set(usernames)
    for row in rows:
        names |= _persons_in(row.data)
    found = session.execute(select(User.username, User.display_name, User.unit, User.community)
                            .where(User.username.in_(sorted(names)))) if names else []
    return {u.username: {"name": u.display_name or UNKNOWN_NAME, "unit": _place(catalogs, u.unit, u.community)}
            for u in found}


def _persons_in(data) -> set[str]:
    found = set()
    if isinstance(data, dict):
        for key, value in data.items():
            if (key in PERSON_FIELDS or key.endswith("_person")) and isinstance(value, str):
                found.add(value)
            else:
                found |= _persons_in(value)
    elif isinstance(data, list):
        for value in data:
            found |= _persons_in(value)
    return found


def _who(username: str, people: dict) -> dict:
    """{name, unit} for people: the display name and unit; the system's own steps as 系统; a name no account
    has any more as unknown (never the login name)."""
    if username in people:
        return dict(people[username])
    if username == "system":
        return {"name": SYSTEM_NAME, "unit": None}
    return {"name": UNKNOWN_NAME, "unit": None}


def _place(catalogs, unit: str | None, community: str | None) -> str | None:
    """A user's unit in words (公安局 / 新城派出所), else their community's name."""
    if unit:
        row = catalogs.unit(unit)
        if row is None:
            return unit
        parent = catalogs.unit(row["parent"]) if row.get("kind") == "office" and row.get("parent") else None
        return f"{parent['name']} / {row['name']}" if parent else row["name"]
    if community:
        return (catalogs.community(community) or {}).get("name", community)
    return None
