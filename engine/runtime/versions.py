"""Process versions for their owners (issue #7): what changed against the version before — BPMN elements
added, removed and changed, forms added, removed and changed, the layout alone moved — and activating any
version (rollback: new events start on it; running instances stay on theirs until migrated).
"""
from __future__ import annotations

from lxml import etree
from sqlalchemy import func, select, update

from engine.core.clock import local
from engine.core.errors import Conflict, NotFound
from engine.store.models import Audit, Instance, ProcessVersion
from engine.runtime.spiff import SAFE_XML

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
#: BPMN attribute defaults: a modeler leaves them out (bpmn-js drops isSequential="false"), a hand writes them
DEFAULTS = {"isSequential": "false", "cancelActivity": "true", "isInterrupting": "true", "isForCompensation": "false",
            "startQuantity": "1", "completionQuantity": "1", "isClosed": "false", "parallelMultiple": "false",
            "instantiate": "false", "triggeredByEvent": "false"}
#: who deploys, activates and migrates process versions


def _tracked(element) -> bool:
    """An element reported on its own: it has an id, and is not an event's definition (a timer's
    expression is part of its timer event, as the modeler shows it)."""
    if not isinstance(element.tag, str):      # a comment or processing instruction
        return False
    name = etree.QName(element).localname
    return bool(element.get("id")) and name != "definitions" and not name.endswith("EventDefinition")


def _elements(files: dict) -> tuple[dict, dict]:
    """({element id: (kind, name, signature)}, {path: layout signature}) of every BPMN file.

    An element's signature is its canonical XML with the elements inside it that have ids of their own
    cut down to their ids, so a change shows on the element that changed, not on everything around it."""
    found, layout = {}, {}
    for path, text in sorted(files.items()):
        if not path.endswith(".bpmn"):
            continue
        root = etree.fromstring(text.encode("utf-8"), SAFE_XML)
        layout[path] = b"".join(etree.tostring(d, method="c14n") for d in root.iter("{*}BPMNDiagram"))
        for element in root.iter(f"{{{BPMN}}}*"):
            if not _tracked(element):
                continue
            copy = etree.fromstring(etree.tostring(element))
            for node in copy.iter():              # a default written out or left out is no change
                for name, default in DEFAULTS.items():
                    if node.get(name) == default:
                        del node.attrib[name]
            for inner in list(copy.iter()):
                if inner is not copy and _tracked(inner) and inner.getparent() is not None:
                    placeholder = etree.Element("ref", id=inner.get("id"))
                    inner.getparent().replace(inner, placeholder)
            found[element.get("id")] = (etree.QName(element).localname, element.get("name") or "",
                                        etree.tostring(copy, method="c14n"))
    return found, layout


def changes(before: dict | None, after: dict) -> dict:
    """What `after` (a version's files) changed against `before` (None for a first version)."""
    new, new_layout = _elements(after)
    if before is None:
        return {"first": True, "added": [], "removed": [], "changed": [],
                "forms": {"added": [], "removed": [], "changed": []}, "layout_changed": False}
    old, old_layout = _elements(before)

    def row(element_id, source):
        kind, name, _ = source[element_id]
        return {"id": element_id, "type": kind, "name": name}

    forms_before = {p: t for p, t in before.items() if not p.endswith(".bpmn")}
    forms_after = {p: t for p, t in after.items() if not p.endswith(".bpmn")}
    return {"first": False,
            "added": [row(i, new) for i in sorted(set(new) - set(old))],
            "removed": [row(i, old) for i in sorted(set(old) - set(new))],
            "changed": [row(i, new) for i in sorted(set(new) & set(old)) if new[i][2] != old[i][2]],
            "forms": {"added": sorted(set(forms_after) - set(forms_before)),
                      "removed": sorted(set(forms_before) - set(forms_after)),
                      "changed": sorted(p for p in set(forms_after) & set(forms_before)
                                        if forms_after[p] != forms_before[p])},
            "layout_changed": old_layout != new_layout}


def previous(session, version: ProcessVersion) -> ProcessVersion | None:
    return session.scalar(select(ProcessVersion).where(ProcessVersion.process_key == version.process_key,
                                                       ProcessVersion.version < version.version)
                          .order_by(ProcessVersion.version.desc()).limit(1))


def describe(version: ProcessVersion, instances: dict | None = None) -> dict:
    body = {"id": version.id, "process_key": version.process_key, "version": version.version,
            "content_hash": version.content_hash, "active": version.active,
            "deployed_at": local(version.deployed_at), "deployed_by": version.deployed_by,
            "user_tasks": sorted(k for k in version.task_meta if not k.startswith("_"))}
    if instances is not None:       # its instances: how many, and how many by status
        body["instances"], body["instances_by_status"] = sum(instances.values()), instances
    return body


def instance_counts(session) -> dict[int, dict]:
    """Per version: its instances by status (running, suspended, completed, terminated)."""
    counts: dict[int, dict] = {}
    for version_id, status, number in session.execute(select(Instance.version_id, Instance.status,
                                                             func.count(Instance.id))
                                                      .group_by(Instance.version_id, Instance.status)):
        counts.setdefault(version_id, {})[status] = number
    return counts


def process_name(files: dict, key: str) -> str | None:
    """The name a version's diagram gives its process (`<process id="community_event" name="社区事件流转与处置">`)."""
    for path, text in sorted(files.items()):
        if path.endswith(".bpmn"):
            root = etree.fromstring(text.encode("utf-8"), SAFE_XML)
            found = next((p for p in root.iter(f"{{{BPMN}}}process") if p.get("id") == key), None)
            if found is not None:
                return found.get("name") or None
    return None


def process_names(session) -> dict[str, str | None]:
    """{process key: its name} as each process's newest version names it."""
    newest = (select(ProcessVersion.process_key, func.max(ProcessVersion.version).label("version"))
              .group_by(ProcessVersion.process_key).subquery())
    rows = session.execute(select(ProcessVersion.process_key, ProcessVersion.files)
                           .join(newest, (newest.c.process_key == ProcessVersion.process_key)
                                 & (newest.c.version == ProcessVersion.version)))
    return {key: process_name(files, key) for key, files in rows}


def listing(session, process_key: str | None = None) -> list[dict]:
    """Every version, newest first per process, each with its instances by status and its process's name."""
    counts, names = instance_counts(session), process_names(session)
    query = select(ProcessVersion).order_by(ProcessVersion.process_key, ProcessVersion.version.desc())
    if process_key:
        query = query.where(ProcessVersion.process_key == process_key)
    return [{**describe(v, counts.get(v.id, {})), "name": names.get(v.process_key)} for v in session.scalars(query)]


def detail(session, version_id: int) -> dict:
    version = session.get(ProcessVersion, version_id)
    if version is None:
        raise NotFound(f"process version {version_id} does not exist", field="version_id")
    before = previous(session, version)
    body = describe(version, instance_counts(session).get(version.id, {}))
    body["previous_version"] = before.version if before is not None else None
    body["name"] = process_name(version.files, version.process_key)
    body["changes"] = changes(before.files if before is not None else None, version.files)
    return body


def files_of(session, version_id: int) -> dict | None:
    """A version's files by path (None if there is no such version)."""
    row = session.get(ProcessVersion, version_id)
    return dict(row.files) if row is not None else None


def activate(session, version_id: int, actor: str, now) -> ProcessVersion:
    """启用: new events of the process start on this version (a rollback when it is an older one). The
    caller has checked the actor may (engine/accounts/permissions.py `VERSIONS`)."""
    version = session.get(ProcessVersion, version_id, with_for_update=True)
    if version is None:
        raise NotFound(f"process version {version_id} does not exist", field="version_id")
    if version.active:
        raise Conflict(f"{version.process_key} v{version.version} 已是启用版本 (already the active version)")
    was = session.scalar(select(ProcessVersion.version).where(ProcessVersion.process_key == version.process_key,
                                                              ProcessVersion.active.is_(True)))
    session.execute(update(ProcessVersion).where(ProcessVersion.process_key == version.process_key)
                    .values(active=False))
    version.active = True
    session.add(Audit(at=now, actor=actor, action="version_activated",
                      data={"process": version.process_key, "version": version.version, "was": was}))
    return version
