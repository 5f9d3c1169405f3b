"""Task forms as data: JSON Schema files with display hints, referenced from BPMN (STYLE.md; issue #2).

A property may take its choices from a catalog: `"x-options": {"catalog": "departments"}`. The choices
are resolved when the form is served (as `oneOf` of `{const, title}`) and when data is checked.
"""
from __future__ import annotations

import copy
import json
import math

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from engine.runtime.sandbox import RESERVED_NAMES

_REASONS = {
    "required": "必填项 (required)",
    "additionalProperties": "表单中没有此字段 (not a field of this form)",
    "enum": "不在可选范围内 (not one of the choices)",
    "oneOf": "不在可选范围内 (not one of the choices)",
    "const": "不在可选范围内 (not one of the choices)",
    # `"properties": {"x": {"not": {}}}` in an if/then: a field that must not be given in that case
    "not": "此情况下不应填写 (not to be given in this case)",
}
_TYPE_WORDS = {"string": "文本", "boolean": "是/否", "integer": "整数", "number": "数字",
               "array": "列表", "object": "对象"}


def parse_form(text: str | bytes, file: str) -> dict:
    """Load a form file; raise ValueError naming what is wrong with it."""
    try:
        schema = json.loads(text)
    except ValueError as err:
        raise ValueError(f"not valid JSON: {err}") from None
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as err:
        raise ValueError(f"not a valid JSON Schema: {err.message}") from None
    if schema.get("type") != "object" or not isinstance(schema.get("properties"), dict):
        raise ValueError("a form is a JSON Schema of type object with properties")
    return schema


def form_problems(schema: dict, catalog_names) -> list[str]:
    """Deploy-time checks: field names that would shadow script names, unknown catalogs, photo fields
    of the wrong type."""
    problems = []
    for name, prop in schema["properties"].items():
        if name in RESERVED_NAMES or not name.isidentifier() or name.startswith("_"):
            problems.append(f"field name {name!r} clashes with a script-engine name or is not an identifier")
        for sub in _subschemas(prop):
            widget = sub.get("x-widget")
            if widget == "photos" and (sub.get("type") != "array" or (sub.get("items") or {}).get("type") != "string"):
                problems.append(f"field {name!r}: x-widget photos is an array of strings (photo keys)")
            if widget == "photo" and sub.get("type") != "string":
                problems.append(f"field {name!r}: x-widget photo is a string (a photo key)")
        for hint in _option_hints(prop):
            catalog = hint.get("catalog")
            if catalog not in catalog_names:
                problems.append(f"field {name!r}: x-options names unknown catalog {catalog!r}")
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


def _alternatives(err, titles: dict) -> dict | None:
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
    words = " 或 ".join("、".join(titles.get(name, name) for name in group) for group in groups)
    english = " | ".join(" + ".join(g) for g in groups)
    path = ".".join(str(p) for p in err.absolute_path)
    given = [g for g in groups if isinstance(err.instance, dict) and all(n in err.instance for n in g)]
    if err.validator == "oneOf" and len(given) > 1:
        field, reason = given[1][0], f"只能填写其一：{words} (only one of these: {english})"
    else:
        field, reason = groups[0][0], f"请至少填写其一：{words} (one of these is required: {english})"
    return {"field": f"{path}.{field}" if path else field, "reason": reason}


#: id(schema) → (schema, its validator): a served form is resolved once per version (engine/runtime/specs.py),
#: so its validator is built once too; the schema is kept so its id cannot be reused by another dict
_VALIDATORS: dict[int, tuple[dict, Draft202012Validator]] = {}


def _validator(schema: dict) -> Draft202012Validator:
    found = _VALIDATORS.get(id(schema))
    if found is None or found[0] is not schema:
        if len(_VALIDATORS) > 1000:
            _VALIDATORS.clear()
        found = _VALIDATORS[id(schema)] = (schema, Draft202012Validator(schema))
    return found[1]


def validate(schema: dict, data) -> list[dict]:
    """Every problem with `data`, as {field, reason} (the field named, the reason in words)."""
    errors = []
    titles = {name: prop.get("title", name) for name, prop in (schema.get("properties") or {}).items()
              if isinstance(prop, dict)}
    for err in sorted(_validator(schema).iter_errors(data), key=lambda e: list(e.path)):
        path = ".".join(str(p) for p in err.absolute_path)
        alternatives = _alternatives(err, titles)
        if alternatives:
            errors.append(alternatives)
        elif err.validator == "required":
            missing = err.message.split("'")[1] if "'" in err.message else "?"
            errors.append({"field": f"{path}.{missing}" if path else missing, "reason": _REASONS["required"]})
        elif err.validator == "dependentRequired":   # e.g. lat without lng: name the missing one
            missing = err.message.split("'")[1] if "'" in err.message else "?"
            errors.append({"field": f"{path}.{missing}" if path else missing,
                           "reason": "须与已填写的字段一同填写 (required together with a field that was given)"})
        elif err.validator == "additionalProperties":
            extras = sorted(set(err.instance) - set(err.schema.get("properties", {})))
            for extra in extras:
                errors.append({"field": f"{path}.{extra}" if path else extra,
                               "reason": _REASONS["additionalProperties"]})
        elif err.validator == "type":
            want = err.validator_value
            words = "/".join(_TYPE_WORDS.get(w, w) for w in (want if isinstance(want, list) else [want]))
            errors.append({"field": path or "(form)", "reason": f"应为{words} (expected {want})"})
        else:
            errors.append({"field": path or "(form)",
                           "reason": _REASONS.get(err.validator, err.message)})
    errors.extend({"field": path or "(form)", "reason": "应为有限的数 (NaN and Infinity are not numbers here)"}
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
