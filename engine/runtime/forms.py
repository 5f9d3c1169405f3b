"""Task forms as data: JSON Schema files with display hints, referenced from BPMN (STYLE.md; issue #2).

A property may take its choices from a catalog: `"x-options": {"catalog": "departments"}`. The choices
are resolved when the form is served (as `oneOf` of `{const, title}`) and when data is checked.
"""
from __future__ import annotations

import copy
import hashlib
import json
import math

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from engine.core import words
from engine.runtime.sandbox import RESERVED_NAMES


def parse_form(text: str | bytes, file: str) -> dict:
    """Load a form file; raise ValueError naming what is wrong with it."""
    try:
        schema = json.loads(text)
    except ValueError as err:
        raise ValueError(f"表单不是有效的 JSON：请改正 (not valid JSON: {err})") from None
    problem = _not_a_schema(text, schema)
    if problem:
        raise ValueError(f"表单不是有效的 JSON Schema：请改正 (not a valid JSON Schema: {problem})")
    if schema.get("type") != "object" or not isinstance(schema.get("properties"), dict):
        raise ValueError("表单须是 type 为 object、带 properties 的 JSON Schema "
                         "(a form is a JSON Schema of type object with properties)")
    return schema


#: SHA-256 of the form files that passed the metaschema in this process, as catalogs/loader.py keeps its passed
#: documents: a diagram's user tasks share forms, each deploy checks every task's, and every compile of a version
#: its files (the metaschema's check is some milliseconds a form). Refused ones are not kept.
_PASSED: set[bytes] = set()
_PASSED_MAX = 512


def _not_a_schema(text: str | bytes, schema) -> str | None:
    """Why the form file `text` (valid JSON, parsed: `schema`) is not a JSON Schema, or None."""
    digest = hashlib.sha256(text.encode("utf-8") if isinstance(text, str) else text).digest()
    if digest in _PASSED:
        return None
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as err:
        return err.message
    if len(_PASSED) >= _PASSED_MAX:
        _PASSED.clear()
    _PASSED.add(digest)
    return None


def form_problems(schema: dict, catalog_names) -> list[str]:
    """Deploy-time checks: field names that would shadow script names, unknown catalogs, photo fields
    of the wrong type."""
    problems = []
    for name, prop in schema["properties"].items():
        if name in RESERVED_NAMES or not name.isidentifier() or name.startswith("_"):
            problems.append(f"字段名 {name} 与脚本引擎的名称冲突或不是合法的标识符：请改名 "
                            f"(field name {name!r} clashes with a script-engine name or is not an identifier)")
        for sub in _subschemas(prop):
            widget = sub.get("x-widget")
            if widget == "photos" and (sub.get("type") != "array" or (sub.get("items") or {}).get("type") != "string"):
                problems.append(f"字段 {name} 的 x-widget photos 须是字符串列表 (field {name!r}: x-widget photos is an array of "
                                "strings (photo keys))")
            if widget == "photo" and sub.get("type") != "string":
                problems.append(f"字段 {name} 的 x-widget photo 须是字符串 (field {name!r}: x-widget photo is a string (a photo key))")
        for hint in _option_hints(prop):
            catalog = hint.get("catalog")
            if catalog not in catalog_names:
                problems.append(f"字段 {name} 的选项目录 {catalog} 不存在：请改为已有的目录 "
                                f"(field {name!r}: x-options names unknown catalog {catalog!r})")
    return problems


def _subschemas(prop: dict):
    """A property and every schema nested in it (array items, object properties), depth first."""
    if not isinstance(prop, dict):
        return
    yield prop
    yield from _subschemas(prop.get("items"))
    for nested in (prop.get("properties") or {}).values():
        yield from _subschemas(nested)


def _option_hints(prop: dict):
    for schema in _subschemas(prop):
        if isinstance(schema.get("x-options"), dict):
            yield schema["x-options"]


def photo_references(schema: dict, data, path: str = "") -> list[tuple[str, object]]:
    """(field, value) of every photo reference in `data`: the items of an `x-widget: photos` array
    (`after_photos.0`) and the value of an `x-widget: photo` string (`arrival_photo`), also inside
    nested objects and arrays of objects. Each must name a photo stored for the task's event."""
    found = []
    if not isinstance(data, dict):
        return found
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict) or name not in data:
            continue
        value, where = data[name], f"{path}{name}"
        if prop.get("x-widget") == "photos" and isinstance(value, list):
            found.extend((f"{where}.{i}", item) for i, item in enumerate(value))
        elif prop.get("x-widget") == "photo":
            found.append((where, value))
        elif isinstance(value, dict):
            found.extend(photo_references(prop, value, f"{where}."))
        elif isinstance(value, list) and isinstance(prop.get("items"), dict):
            for i, item in enumerate(value):
                found.extend(photo_references(prop["items"], item, f"{where}.{i}."))
    return found


def resolve(schema: dict, catalogs) -> dict:
    """The form with catalog choices filled in, as served to the client and used to check data
    (also inside arrays and nested objects, e.g. the unit of each 分工 assignment)."""
    resolved = copy.deepcopy(schema)
    for prop in resolved["properties"].values():
        for target in _subschemas(prop):
            if isinstance(target.get("x-options"), dict):
                options = catalogs.options(target["x-options"]["catalog"])
                target["oneOf"] = [{"const": o["value"], "title": o["label"]} for o in options]
    return resolved


def with_defaults(schema: dict, data: dict) -> dict:
    """The data with each absent top-level field that declares a `default` filled in: a process can
    then rely on the variable existing (e.g. an empty list of 协办部门) without the client sending it."""
    filled = dict(data)
    for name, prop in schema["properties"].items():
        if name not in filled and isinstance(prop, dict) and "default" in prop:
            filled[name] = copy.deepcopy(prop["default"])
    return filled


def _alternatives(err, titles: dict, where: str) -> dict | None:
    """`anyOf`/`oneOf` of required-field groups (§8.5: a written summary, or before *and* after
    photos; §8.2: a unit or a person): name the first field of the first group, and every group in words."""
    if err.validator not in ("anyOf", "oneOf"):
        return None
    groups = [alt.get("required") for alt in err.validator_value if isinstance(alt, dict)]
    if not groups or not all(groups):
        return None
    if isinstance(err.instance, dict):
        titles = {**titles, **{name: prop.get("title", name)
                               for name, prop in (err.schema.get("properties") or {}).items()
                               if isinstance(prop, dict)}}
    said = " 或 ".join("、".join(words.quoted(titles.get(name, name)) for name in group) for group in groups)
    english = " | ".join(" + ".join(g) for g in groups)
    path = ".".join(str(p) for p in err.absolute_path)
    given = [g for g in groups if isinstance(err.instance, dict) and all(n in err.instance for n in g)]
    if err.validator == "oneOf" and len(given) > 1:
        field, reason = given[1][0], words.both(f"{where}只能填写其一：{said}，请清空其余的",
                                                 f"only one of these: {english}")
    else:
        field, reason = groups[0][0], words.both(f"{where}请至少填写其一：{said}", f"one of these is required: {english}")
    return {"field": f"{path}.{field}" if path else field, "reason": reason}


def _parts(path: str) -> list:
    return [int(p) if p.isdigit() else p for p in path.split(".")]


def _label(schema: dict, path: list) -> str:
    """The field at `path` in words, by the titles of the form: 「任务分工」第 2 行的「承办单位」."""
    return _at(schema, path)[0]


def _at(schema: dict, path: list) -> tuple[str, dict]:
    """(the field at `path` in words, its schema)."""
    said, node = [], schema
    for part in path:
        if isinstance(part, int):
            items = node.get("items") if isinstance(node, dict) else None
            noun = "张" if isinstance(node, dict) and node.get("x-widget") == "photos" else \
                "行" if isinstance(items, dict) and isinstance(items.get("properties"), dict) else "项"
            said.append(f"第 {part + 1} {noun}")
            node = items if isinstance(items, dict) else {}
            continue
        prop = ((node.get("properties") or {}) if isinstance(node, dict) else {}).get(part)
        prop = prop if isinstance(prop, dict) else {}
        said.append(words.quoted(prop.get("title") or str(part)))
        node = prop
    text = ""
    for piece in said:
        text += piece if not text or piece.startswith("第") else f"的{piece}"
    return text, node


#: id(schema) → (schema, its validator): a served form is resolved once per version (engine/runtime/specs.py),
#: so its validator is built once too; the schema is kept so its id cannot be reused by another dict
_VALIDATORS: dict[int, tuple[dict, Draft202012Validator]] = {}


def _validator(schema: dict) -> Draft202012Validator:
    found = _VALIDATORS.get(id(schema))
    if found is None or found[0] is not schema:
        if len(_VALIDATORS) > 1000:
            _VALIDATORS.clear()
        found = _VALIDATORS[id(schema)] = (schema, Draft202012Validator(
            schema, format_checker=Draft202012Validator.FORMAT_CHECKER))   # a `format` is checked too
    return found[1]


def validate(schema: dict, data) -> list[dict]:
    """Every problem with `data`, as {field, reason}: the field's path, and the reason in Chinese and English
    naming the field by its title and saying what to do (engine/core/words.py)."""
    errors = []
    titles = {name: prop.get("title", name) for name, prop in (schema.get("properties") or {}).items()
              if isinstance(prop, dict)}
    for err in sorted(_validator(schema).iter_errors(data), key=lambda e: list(e.path)):
        where = list(err.absolute_path)
        path = ".".join(str(p) for p in where)
        label = _label(schema, where)
        alternatives = _alternatives(err, titles, label if where else "")
        if alternatives:
            errors.append(alternatives)
        elif err.validator in ("required", "dependentRequired"):   # name the missing one (lat without lng)
            missing = err.message.split("'")[1] if "'" in err.message else "?"
            field = f"{path}.{missing}" if path else missing
            missing_label, missing_schema = _at(schema, [*where, missing])
            if err.validator == "required":
                reason = words.required_reason(missing_label, field, missing_schema)
            else:
                given = "、".join(words.quoted(((err.schema.get("properties") or {}).get(n) or {}).get("title", n))
                                 for n, needs in (err.validator_value or {}).items()
                                 if isinstance(err.instance, dict) and n in err.instance and missing in needs)
                reason = words.together_reason(missing_label, field, given or "已填写的字段")
            errors.append({"field": field, "reason": reason})
        elif err.validator == "additionalProperties":
            extras = sorted(set(err.instance) - set(err.schema.get("properties", {})))
            for extra in extras:
                errors.append({"field": f"{path}.{extra}" if path else extra,
                               "reason": words.not_a_field_reason(extra)})
        else:
            errors.append({"field": path or "(form)",
                           "reason": words.schema_reason(err, label or "表单", path or "(form)")})
    errors.extend({"field": path or "(form)",
                   "reason": words.both(f"{_label(schema, _parts(path)) if path else '表单'}应为有限的数",
                                        f"{path or '(form)'}: NaN and Infinity are not numbers here")}
                  for path in _non_finite(data))
    return errors


def _non_finite(value, path: str = ""):
    """Paths of NaN/Infinity in submitted data: JSON has no such numbers, and a stored instance
    would not give them back."""
    if isinstance(value, float) and not math.isfinite(value):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _non_finite(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _non_finite(item, f"{path}.{index}" if path else str(index))
