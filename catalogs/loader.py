"""Read the catalog data files, validate each against its JSON Schema, then cross-check them.

An administrator changes catalogs by editing the files in ``catalogs/data/`` (or a copy pointed to by
``load_catalogs(directory)``), never code; this module is what stops a typo from reaching the engine.
Every problem is reported as a :class:`CatalogError` naming the file, the row and the reason.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from .checks import cross_check
from .errors import CatalogError
from .model import Catalogs

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"
SCHEMA_DIR = PACKAGE_DIR / "schemas"

# catalog key → data file; the order is the order of loading, checking and hashing.
FILES = {
    "roles": "roles.json",
    "units": "units.json",
    "event_types": "event_types.json",  # Appendix A, Table A.1
    "one_thing_matters": "one_thing_matters.json",  # Appendix B, Table B.1
    "communities": "communities.geojson",  # §7.1 jurisdiction, §7.3.2 whistle lists, §8.1 time limits
    "deadline_kinds": "deadline_kinds.json",  # §8.1—§8.3 limits: natural or working time, warnings, extensions
    "calendar": "calendar.json",  # 工作日: office hours, holiday arrangements beyond chinesecalendar
    "duty_rosters": "duty_rosters.json",  # 值班表: who hears a unit's notices out of hours (issue #4)
    "channels": "channels.json",  # §5.3 citizen channels of the Open311 endpoint (issue #5)
    "escalation": "escalation.json",  # 逐级通知: who hears of a limit at dispatch, warning, miss and after (#18)
    "step_limits": "step_limits.json",  # §8.1 the community's own steps (核实, 研判, 吹哨/派单, 核查) per type (#19)
    "return_reasons": "return_reasons.json",  # 退回原因: a unit's coded reasons to return an order (#19)
}

_MAX_REASON = 200  # jsonschema quotes whole instances in some messages; keep reports readable


def load_catalogs(directory: str | os.PathLike[str] | None = None,
                  overrides: dict[str, bytes] | None = None) -> Catalogs:
    """Load, validate and cross-check every catalog file in ``directory`` (default: the shipped data).

    ``overrides`` maps a catalog key to the UTF-8 JSON that replaces its file: the revisions an
    administrator saved in the app (engine/accounts/catalog_edits.py), checked exactly as a file is.
    Raises :class:`CatalogError` for the first problem found, with all problems in ``.errors``.
    """
    directory = Path(directory) if directory is not None else DATA_DIR
    overrides = overrides or {}
    if len(_PASSED) >= _PASSED_MAX:
        _PASSED.clear()
    digest = hashlib.sha256()
    data: dict[str, Any] = {}
    errors: list[CatalogError] = []
    for key, file in FILES.items():
        raw = overrides[key] if key in overrides else _read(directory / file, file)
        # File name and length delimit each file, so moving bytes between files changes the hash.
        digest.update(f"{file}\0{len(raw)}\0".encode())
        digest.update(raw)
        data[key] = _parse(raw, file)
        errors.extend(_checked(key, raw, data[key]))
    _raise_if_any(errors)  # cross-checks assume every file has its schema's shape
    _raise_if_any(cross_check(data))
    return Catalogs(data, content_hash=digest.hexdigest())


def _raise_if_any(errors: list[CatalogError]) -> None:
    if errors:
        first = errors[0]
        first.errors = list(errors)
        raise first


def _read(path: Path, file: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise CatalogError(file, "", f"file not found in {path.parent}", zh="找不到该目录文件，请联系系统管理员") from None
    except OSError as exc:
        raise CatalogError(file, "", f"cannot read: {exc.strerror or exc}", zh="无法读取该目录文件，请联系系统管理员") from None


def _parse(raw: bytes, file: str) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise CatalogError(file, f"byte {exc.start}", "not UTF-8 text", zh="不是 UTF-8 文本，请以 UTF-8 保存") from None
    except json.JSONDecodeError as exc:
        raise CatalogError(file, f"line {exc.lineno} column {exc.colno}", exc.msg,
                           zh=f"第 {exc.lineno} 行第 {exc.colno} 列不是有效的 JSON，请改正") from None


@cache
def _validator(key: str) -> Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / f"{key}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


#: (catalog key, SHA-256 of its bytes) of the documents their schema passed in this process: the same bytes
#: pass again, so each app built on them (every gunicorn worker, every test's app: two loads, ~24 ms of
#: jsonschema each) does not validate them again. Refused documents are not kept (their errors are wanted).
_PASSED: set[tuple[str, bytes]] = set()
_PASSED_MAX = 4096   # an administrator's every saved revision is new bytes: forget them all past this many


def _checked(key: str, raw: bytes, document: Any) -> list[CatalogError]:
    seen = (key, hashlib.sha256(raw).digest())
    if seen in _PASSED:
        return []
    errors = _schema_errors(key, document)
    if not errors:
        _PASSED.add(seen)
    return errors


def _schema_errors(key: str, document: Any) -> list[CatalogError]:
    file = FILES[key]
    found = sorted(_validator(key).iter_errors(document), key=lambda e: _sort_key(e.absolute_path))
    errors = []
    for error in found:
        where = list(error.absolute_path)
        reason = error.message
        if error.validator == "required" and isinstance(error.instance, dict):
            missing = [name for name in error.validator_value if name not in error.instance]
            where.append(missing[0])
            reason = "missing required field"
        if len(reason) > _MAX_REASON:
            reason = reason[: _MAX_REASON - 1] + "…"
        errors.append(CatalogError(file, locate(key, document, where), reason, detail=error))
    return errors


def read_documents(directory: str | os.PathLike[str] | None = None,
                   overrides: dict[str, bytes] | None = None) -> dict[str, Any]:
    """Every catalog as the loader would read it (an unreadable one: None), for naming rows in words
    (catalogs/words.py)."""
    directory = Path(directory) if directory is not None else DATA_DIR
    overrides = overrides or {}
    documents: dict[str, Any] = {}
    for key, file in FILES.items():
        try:
            raw = overrides[key] if key in overrides else _read(directory / file, file)
            documents[key] = _parse(raw, file)
        except CatalogError:
            documents[key] = None
    return documents


def schema_of(key: str) -> dict:
    """The JSON Schema a catalog is checked against."""
    return _validator(key).schema


def _sort_key(path) -> tuple:
    return tuple((0, part, "") if isinstance(part, int) else (1, 0, str(part)) for part in path)


def locate(key: str, document: Any, where: list[str | int]) -> str:
    """Turn a JSON path into ``row.field[i]``, naming the row by its code where it has one.

    ``["features", 2, "properties", "whistle_list", 0]`` in communities → ``"lg-xincheng.whistle_list[0]"``;
    ``[6, "department"]`` in event_types → ``"A07.department"``; a row without a usable code → ``"[6]"``.
    """
    rows, rest = document, list(where)
    if key == "communities":
        if rest[:1] != ["features"] or len(rest) < 2:
            return _join("", rest)
        rows, rest = document.get("features"), rest[1:]
    if not rest or not isinstance(rest[0], int):
        return _join("", rest)
    index, rest = rest[0], rest[1:]
    row = rows[index] if isinstance(rows, list) and index < len(rows) else None
    if key == "communities":
        row = row.get("properties") if isinstance(row, dict) else None
        if rest[:1] == ["properties"]:
            rest = rest[1:]
    code = row.get("code") if isinstance(row, dict) else None
    return _join(code if isinstance(code, str) and code else f"[{index}]", rest)


def _join(head: str, parts: list[str | int]) -> str:
    text = head
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
