"""Catalogs edited in the app (issue #6): a community's whistle list (§7.3.2) and time limits (§8.1), the
unit tree and its supervisors (分管领导), the duty rosters (值班表), the working calendar (工作日), the
escalation ladder (逐级通知, issue #18), and Appendix A Table A.1 and Appendix B Table B.1 (issue #19: the
standard's lists end in "等": a city adds and words its own rows).

A row of Table A.1 or B.1 that an event refers to (whatever its state: old events still show it) cannot be
removed, only retired (`"retired": true`): a retired row is no longer offered for new reports
(catalogs/model.py `offered`) and still names the events that have it. Table A.1's sensitive mark (rows 1–3,
engine/accounts/privacy.py) and a sensitive row's competent department decide who sees those events: they
are not changed in the app.

An edit is checked by the one catalog loader together with everything else in force (a whistle list
naming a type that is not in Table A.1, a unit whose parent does not exist, a time limit that is no
duration: each refused with its row and reason) and against what the database still uses (a unit with
active users or open work, a duty roster naming no active user). A refused edit stores nothing. An
accepted one is stored as a revision — the whole catalog, who, when, and what changed — and audited;
the app uses it at once, and every other app node within `EVENTFLOW_CATALOG_REFRESH_S` seconds
(web/services.py). The shipped data files stay as they are: a revision replaces its file.

Who: a system administrator edits any of them; a community's staff (community_staff) edits its own
community's whistle list and time limits (§7.3.2: 应拟定本社区吹哨事件清单).
"""
from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

from sqlalchemy import func, select, text

from catalogs import CatalogError, load_catalogs
from catalogs.loader import DATA_DIR, FILES, read_documents
from engine.accounts import catalog_refusals, permissions
from engine.core import words
from engine.core.clock import local
from engine.core.errors import Conflict, Forbidden, InvalidData, NotFound
from engine.store import paging
from engine.store.models import Audit, CatalogRevision, Event, User, WorkItem

#: the catalogs edited in the app; the others (roles, channels, deadline kinds) are system settings, changed by
#: deploying new data files
EDITABLE = ("communities", "units", "duty_rosters", "calendar", "escalation",
            "event_types", "one_thing_matters",   # Appendix A Table A.1, Appendix B Table B.1 (issue #19)
            "step_limits")                         # §8.1 the community's own steps (issue #19)
#: catalog → what identifies a row, for the summary of an edit
_ROW_KEYS = {"units": lambda row: row["code"], "duty_rosters": lambda row: f"{row['unit']} {row['date']}",
             "escalation": lambda row: row["code"],
             "step_limits": lambda row: f"{row['community']} {row['event_type']}"}
#: the appendices' tables: rows by code, an edit's summary names the fields changed, a row in use is retired
APPENDIX_TABLES = ("event_types", "one_thing_matters")

#: PostgreSQL advisory lock key: two edits checked against each other's catalogs, never side by side
_EDIT_LOCK = 0x65766366
_NEWEST = (select(CatalogRevision.name, func.max(CatalogRevision.id)).group_by(CatalogRevision.name))


def overrides(session) -> dict[str, bytes]:
    """The newest revision of each edited catalog, as the loader takes them."""
    ids = [row_id for _, row_id in session.execute(_NEWEST)]
    rows = session.scalars(select(CatalogRevision).where(CatalogRevision.id.in_(ids))) if ids else []
    return {row.name: row.content.encode("utf-8") for row in rows}


def newest_id(session) -> int | None:
    """Changes whenever any catalog is edited: an app node compares it to what it loaded."""
    return session.scalar(select(func.max(CatalogRevision.id)))


def load(session, directory=None):
    """The catalogs in force: the data files, each replaced by its newest revision."""
    return load_catalogs(directory, overrides(session))


def may_edit(user, name: str, community: str | None = None) -> bool:
    return permissions.may_edit_catalog(user, name, EDITABLE, community)


def newest_of(session, name: str) -> int:
    """The newest revision of one catalog (0: its data file is in force): what an edit form started from."""
    return session.scalar(select(func.max(CatalogRevision.id)).where(CatalogRevision.name == name)) or 0


def _lock(session, name: str, base: int | None) -> None:
    """One edit at a time (PostgreSQL: an advisory lock; SQLite: BEGIN IMMEDIATE already), and none over
    an edit saved since the form was opened (`base`: the revision it started from)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _EDIT_LOCK})
    if base is not None and newest_of(session, name) != base:
        raise Conflict("修改期间已有他人保存了该目录，请刷新后重新修改 (someone saved this catalog since you opened "
                       "it; reload and edit again)", field="base_revision")


def in_force(session, name: str, directory=None):
    """A catalog as it is in force now, read from the database (not from this node's memory)."""
    raw = overrides(session).get(name)
    if raw is None:
        raw = (Path(directory) if directory is not None else DATA_DIR).joinpath(FILES[name]).read_bytes()
    return json.loads(raw.decode("utf-8"))


def save(session, name: str, document, user, now, directory=None, base: int | None = None):
    """Check and store a whole catalog. Returns (revision or None when nothing changed, the new catalogs)."""
    if name not in EDITABLE:
        raise NotFound(f"catalog {name!r} is not edited in the app; one of {', '.join(EDITABLE)}", field="name")
    if not may_edit(user, name):
        raise Forbidden(f"该目录由系统管理员修改 (catalog {name} is edited by a system administrator)", field="role")
    _lock(session, name, base)
    return _store(session, name, in_force(session, name, directory), document, user, now, directory)


#: what a community's own staff edit of it (§7.3.2 吹哨清单, §8.1 处置时限, §9.2 网格)
COMMUNITY_FIELDS = ("whistle_list", "time_limits", "grids")


def save_community(session, code: str, body, user, now, directory=None, base: int | None = None):
    """§7.3.2 whistle list, §8.1 time limits and §9.2 grids of one community (`whistle_list`, `time_limits`,
    `grids`; any of them), changed in the communities catalog as it is in force (another community's edit is
    kept)."""
    _lock(session, "communities", base)
    document = in_force(session, "communities", directory)
    before = copy.deepcopy(document)
    feature = next((f for f in document["features"] if f["properties"]["code"] == code), None)
    if feature is None:
        raise NotFound(f"community {code} does not exist", field="community")
    if not may_edit(user, "communities", code):
        raise Forbidden("只有本社区干部或系统管理员可以修改 (the community's own staff, or a system administrator)",
                        field="role")
    if not isinstance(body, dict) or not (set(COMMUNITY_FIELDS) & set(body)):
        raise InvalidData([{"field": "(body)", "reason": "send whistle_list, time_limits and/or grids"}])
    unknown = sorted(set(body) - set(COMMUNITY_FIELDS))
    if unknown:
        raise InvalidData([{"field": f, "reason": "not a field of a community edited here"} for f in unknown])
    for field in COMMUNITY_FIELDS:
        if field in body:
            feature["properties"][field] = body[field]
    return _store(session, "communities", before, document, user, now, directory, community=code)


#: the steps a community times itself (§8.1), as step_limits.json names them
STEPS = ("verify", "analyse", "whistle", "check")


def save_community_steps(session, code: str, body, user, now, directory=None, base: int | None = None):
    """§8.1 the limits one community sets on its own steps (核实, 研判, 吹哨/派单, 核查): `{event type or
    "default": {step: duration}}` replaces that community's rows of step_limits.json (the other communities'
    and every community's rows are kept); checked and stored like any edit. An empty body leaves the community
    on every community's limits."""
    _lock(session, "step_limits", base)
    if all(f["properties"]["code"] != code for f in in_force(session, "communities", directory)["features"]):
        raise NotFound(f"community {code} does not exist", field="community")
    if not may_edit(user, "step_limits", code):
        raise Forbidden("只有本社区干部或系统管理员可以修改 (the community's own staff, or a system administrator)",
                        field="role")
    if not isinstance(body, dict):
        raise InvalidData([{"field": "(body)", "reason": "应为 {事件类型或 default: {环节: 时限}} (an object of "
                                                         "event type → {step: duration})"}])
    errors = []
    for key, steps in body.items():
        if not isinstance(steps, dict):
            errors.append({"field": key, "reason": "应为 {环节: 时限} (an object of step → duration)"})
            continue
        errors += [{"field": f"{key}.{step}", "reason": f"不是社区环节，应为 {'、'.join(STEPS)} (not a step)"}
                   for step in steps if step not in STEPS]
    if errors:
        raise InvalidData(errors)
    document = in_force(session, "step_limits", directory)
    before = copy.deepcopy(document)
    kept = [row for row in document if row["community"] != code]
    mine = [{"community": code, "event_type": key, **steps} for key, steps in body.items() if steps]
    return _store(session, "step_limits", before, kept + mine, user, now, directory, community=code,
                  rows_of=lambda index: mine[index - len(kept)]["event_type"] if index >= len(kept) else None)


def _store(session, name, before, document, user, now, directory, community=None, rows_of=None):
    try:
        raw = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
    except (TypeError, ValueError) as err:
        raise InvalidData([{"field": "(body)", "reason": f"not JSON data: {err}"}]) from None
    documents = overrides(session)
    documents[name] = raw
    # a row of Table A.1 or B.1 that events have: said first (the loader may name what else refers to it)
    in_use = _removed_in_use(session, before, document) if name in APPENDIX_TABLES else []
    try:
        new = load_catalogs(directory, documents)
    except CatalogError as err:
        said = catalog_refusals.reasons(err.errors, name, read_documents(directory, documents), before, community,
                                        rows_of)
        raise InvalidData(in_use + said, message=f"{FILES[name]}: {err}") from None
    if in_use:
        raise InvalidData(in_use)
    still_used(session, new, name, before)
    summary = summarize(name, before, new.get(name))
    if not any(summary.values()):
        return None, new
    row = CatalogRevision(name=name, content=raw.decode("utf-8"), sha256=hashlib.sha256(raw).hexdigest(),
                          saved_at=now, actor=user.username, summary=summary)
    session.add(row)
    session.flush()
    session.add(Audit(at=now, actor=user.username, action="catalog_edited",
                      data={"catalog": name, "revision": row.id, "community": community, **summary}))
    return row, new


#: what still refers to a unit or community that an edit removes, and what to do first
_USED_BY = {"user": "仍有在用的账号", "open work": "仍有未办完的待办", "open event": "仍有办理中的事件"}
_USED_TODO = {"user": "把这些账号改到其他单位或社区，或停用", "open work": "办完或转给其他单位",
              "open event": "办结这些事件"}


def still_used(session, catalogs, name: str, before) -> None:
    """What the database still refers to must stay: units and communities with active users, open work or
    open events; a duty-roster entry added or changed names an active user."""
    errors = []
    if name == "units":
        units = {u["code"] for u in catalogs.get("units")}
        used = {("user", u) for u in session.scalars(select(User.unit).where(User.active.is_(True),
                                                                            User.unit.is_not(None)))}
        used |= {("open work", u) for u in session.scalars(select(WorkItem.unit).where(WorkItem.unit.is_not(None)))}
        used |= {("open event", u) for u in session.scalars(select(Event.lead_unit).where(
            Event.status == "open", Event.lead_unit.is_not(None)))}
        names = {u["code"]: u.get("name") or u["code"] for u in before}
        errors += [{"field": unit, "reason": words.both(f"「{names.get(unit, unit)}」{_USED_BY[what]}，不能删除：请先"
                                                        f"{_USED_TODO[what]}", f"still used by an active {what}")}
                   for what, unit in sorted(used) if unit not in units]
        # a 分管领导's account, named or changed, hears the escalation ladder's notices: it must be a real one
        people = set(session.scalars(select(User.username).where(User.active.is_(True))))
        leaders = {u["code"]: (u.get("supervisor") or {}).get("username") for u in before}
        for unit in catalogs.get("units"):
            username = (unit.get("supervisor") or {}).get("username")
            if username and username not in people and leaders.get(unit["code"]) != username:
                errors.append({"field": f"{unit['code']}.supervisor.username",
                               "reason": words.both(f"「{unit['name']}」的「领导账号」{username} 不是在用的账号：请填写"
                                                    "在用账号的用户名，或留空", "no active user of that name")})
    if name == "communities":
        codes = {f["properties"]["code"] for f in catalogs.get("communities")["features"]}
        used = {("user", c) for c in session.scalars(select(User.community).where(User.active.is_(True),
                                                                                 User.community.is_not(None)))}
        used |= {("open event", c) for c in session.scalars(select(Event.community).where(
            Event.status == "open", Event.community.is_not(None)))}
        used |= {("open work", c) for c in session.scalars(select(WorkItem.community).where(   # e.g. a 回访 after closure
            WorkItem.community.is_not(None)))}
        names = {f["properties"]["code"]: f["properties"].get("name") or f["properties"]["code"]
                 for f in before["features"]}
        errors += [{"field": code, "reason": words.both(f"「{names.get(code, code)}」{_USED_BY[what]}，不能删除：请先"
                                                        f"{_USED_TODO[what]}", f"still used by an active {what}")}
                   for what, code in sorted(used) if code not in codes]
    if name in APPENDIX_TABLES:
        errors += _appendix_rows_kept(name, before, catalogs.get(name))
    if name == "duty_rosters":
        people = set(session.scalars(select(User.username).where(User.active.is_(True))))
        kept = {json.dumps(row, sort_keys=True) for row in before}
        for index, row in enumerate(catalogs.get("duty_rosters")):
            if row["person"] not in people and json.dumps(row, sort_keys=True) not in kept:
                unit = catalogs.unit(row["unit"]) or {}
                errors.append({"field": f"[{index}].person",
                               "reason": words.both(f"「{unit.get('name', row['unit'])} {row['date']}」的「值班人员（账号）」"
                                                    f"{row['person']} 不是在用的账号：请填写在用账号的用户名",
                                                    "no active user of that name")})
    if errors:
        raise InvalidData(errors)


def _removed_in_use(session, before: list, document) -> list[dict]:
    """A row of Table A.1 or B.1 that events refer to (an event of any state: old events still show it)
    stays; retired, if it is not to be offered any more. `document` as sent (not yet checked)."""
    sent = {row.get("code") for row in document if isinstance(row, dict)} if isinstance(document, list) else set()
    removed = sorted({row["code"] for row in before} - sent)
    if not removed:
        return []
    used = dict(session.execute(select(Event.type_code, func.count()).where(Event.type_code.in_(removed))
                                .group_by(Event.type_code)).all())
    rows = {row["code"]: row for row in before}
    return [{"field": code, "reason": words.both(f"「{code} {rows[code].get('content') or rows[code].get('name') or ''}」"
                                                 f"已有 {used[code]} 件事件使用，不能删除：请改为勾选“停用”",
                                                 f"still used by {used[code]} events: retire it instead")}
            for code in removed if used.get(code)]


def _appendix_rows_kept(name: str, before: list, after: list) -> list[dict]:
    """A Table A.1 row keeps its sensitive mark, and a sensitive row its competent department (who may see
    the events of it: engine/accounts/permissions.py `forbidden_codes`). (A row in use stays:
    `_removed_in_use`.)"""
    errors = []
    kept = {row["code"]: row for row in after}
    if name == "event_types":
        for old in before:
            new = kept.get(old["code"])
            if new is None:
                continue
            row = f"「{old['code']} {old.get('content') or ''}」".replace(" 」", "」")
            if bool(new.get("sensitive")) != bool(old.get("sensitive")):
                errors.append({"field": f"{old['code']}.sensitive",
                               "reason": f"{row}的涉密标记（附录A 第1—3项）不能在应用中修改：请保持原样 (the sensitive "
                                         "mark is not changed in the app)"})
            elif old.get("sensitive") and new["department"] != old["department"]:
                errors.append({"field": f"{old['code']}.department",
                               "reason": f"{row}是涉密事项，其主管部门决定谁能查看，不能在应用中修改：请保持原样 (a "
                                         "sensitive row's department decides who sees its events: not changed in "
                                         "the app)"})
    return errors


def summarize(name: str, before, after) -> dict:
    """Rows added, removed and changed (communities by code, with the fields that changed; so Table A.1's and
    B.1's rows)."""
    if name == "calendar":
        keys = sorted(set(before) | set(after))
        changed = [k for k in keys if before.get(k) != after.get(k) and k != "years"]
        years_before, years_after = before.get("years", {}), after.get("years", {})
        return {"added": sorted(set(years_after) - set(years_before)),
                "removed": sorted(set(years_before) - set(years_after)),
                "changed": changed + sorted(y for y in set(years_before) & set(years_after)
                                            if years_before[y] != years_after[y])}
    if name == "communities":
        rows_before = {f["properties"]["code"]: f for f in before["features"]}
        rows_after = {f["properties"]["code"]: f for f in after["features"]}
        changed = []
        for code in sorted(set(rows_before) & set(rows_after)):
            old, new = rows_before[code], rows_after[code]
            fields = sorted(k for k in set(old["properties"]) | set(new["properties"])
                            if old["properties"].get(k) != new["properties"].get(k))
            if old.get("geometry") != new.get("geometry"):
                fields.append("geometry")
            if fields:
                changed.append(f"{code}: {', '.join(fields)}")
        return {"added": sorted(set(rows_after) - set(rows_before)),
                "removed": sorted(set(rows_before) - set(rows_after)), "changed": changed}
    if name in APPENDIX_TABLES:
        rows_before, rows_after = {r["code"]: r for r in before}, {r["code"]: r for r in after}
        changed = []
        for code in sorted(set(rows_before) & set(rows_after)):
            old, new = rows_before[code], rows_after[code]
            fields = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
            if fields:
                changed.append(f"{code}: {', '.join(fields)}")
        return {"added": sorted(set(rows_after) - set(rows_before)),
                "removed": sorted(set(rows_before) - set(rows_after)), "changed": changed}
    key = _ROW_KEYS[name]
    rows_before, rows_after = {key(r): r for r in before}, {key(r): r for r in after}
    return {"added": sorted(set(rows_after) - set(rows_before)),
            "removed": sorted(set(rows_before) - set(rows_after)),
            "changed": sorted(k for k in set(rows_before) & set(rows_after) if rows_before[k] != rows_after[k])}


#: 修改记录's order: the newest revision first
HISTORY_ORDER = paging.Order("revisions", CatalogRevision.id, descending=True)
HISTORY_PAGE = paging.PageRequest(50)


def history(session, name: str, page: paging.PageRequest = HISTORY_PAGE) -> paging.Page:
    """修改记录: a page of the revisions of a catalog, newest first."""
    if name not in EDITABLE:
        raise NotFound(f"catalog {name!r} is not edited in the app; one of {', '.join(EDITABLE)}", field="name")
    query = select(CatalogRevision).where(CatalogRevision.name == name)
    found = paging.fetch(session, query, HISTORY_ORDER, page)
    actors = {r.actor for r in found.items}
    names = dict(session.execute(select(User.username, User.display_name).where(User.username.in_(actors))).all()) \
        if actors else {}
    return found.map(lambda rows: [
        {"revision": r.id, "saved_at": local(r.saved_at), "actor": r.actor,
         "actor_name": names.get(r.actor, r.actor),   # who, as people read it (the display name)
         "sha256": r.sha256, "summary": r.summary}
        for r in rows])

