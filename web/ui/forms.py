"""Task forms in the web app (issue #6): a task's resolved form (engine/runtime/forms.py: JSON Schema with display
hints and catalog choices as `oneOf`) rendered as the fields of a server-side HTML form, and what the
browser posts parsed back into task data, which the engine then checks against the same schema.

Inputs are named by the engine's field paths, so its errors land beside the right input: `verdict`,
`arrival_location.lat` (nested object), `assignments.1.unit` (a row of an array of objects), and each
photo field's files under its own name (`after_photos`). The page wraps the fields in
`<form method="post" enctype="multipart/form-data">`.
"""
from __future__ import annotations

import copy
import math

from flask_babel import gettext as _
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from markupsafe import Markup, escape

ROWS = 5            # rows rendered for an array of objects (任务分工) when its maxItems allows as many
MAX_ROW_INDEX = 1000  # posted row indexes above this are ignored: a post cannot make us build huge lists
RADIO_MAX = 5       # a choice without an x-widget is a radio group up to this many options, else a select
PHOTO_TYPES = "image/jpeg,image/png,image/webp"   # what engine/pool/photos.py decodes (as on the report page)
_ABSENT = object()


# --- the schema, read as widgets ------------------------------------------------------------------------

def _type(prop: dict):
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return kind


def _choices(prop: dict) -> list[tuple[object, str]]:
    """(value, Chinese title) of each choice: a boolean's 是/否, an `enum` with its `x-enum-titles`, or
    the `oneOf` of `{const, title}` a catalog resolves to."""
    if _type(prop) == "boolean":
        return [(True, _("是")), (False, _("否"))]
    if isinstance(prop.get("enum"), list):
        titles = prop.get("x-enum-titles") or []
        return [(value, titles[i] if i < len(titles) else _text(value)) for i, value in enumerate(prop["enum"])]
    alternatives = prop.get("oneOf")
    if isinstance(alternatives, list) and alternatives and all(isinstance(a, dict) and "const" in a
                                                                 for a in alternatives):
        return [(a["const"], a.get("title") or _text(a["const"])) for a in alternatives]
    return []


def _kind(prop: dict) -> str:
    """photos | photo | object | rows | checkboxes | lines | radio | select | number | textarea | text"""
    widget = prop.get("x-widget")
    if widget in ("photos", "photo"):
        return widget
    kind = _type(prop)
    if kind == "object" and isinstance(prop.get("properties"), dict):
        return "object"
    if kind == "array":
        items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
        if _type(items) == "object" and isinstance(items.get("properties"), dict):
            return "rows"
        return "checkboxes" if _choices(items) else "lines"
    choices = _choices(prop)
    if choices:
        if widget in ("radio", "select"):
            return widget
        return "radio" if len(choices) <= RADIO_MAX else "select"
    if kind in ("number", "integer"):
        return "number"
    return "textarea" if widget == "textarea" else "text"


def _ordered(schema: dict) -> list[tuple[str, dict]]:
    """The properties in `x-order`, then any it does not list."""
    props = {n: p for n, p in (schema.get("properties") or {}).items() if isinstance(p, dict)}
    order = [n for n in schema.get("x-order") or [] if n in props]
    return [(n, props[n]) for n in order + [n for n in props if n not in order]]


def _text(value) -> str:
    """A value as the browser sends it back: booleans as true/false, nothing as ''."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _id(path: str) -> str:
    return "f-" + path.replace(".", "-")


# --- rendering ---------------------------------------------------------------------------------------------

def _el(tag: str, attrs: dict | None = None, *children) -> Markup:
    """An element with escaped attribute values and children (Markup children pass as they are);
    attributes that are None or False are left out, True ones written bare (<input> is void)."""
    html = [Markup("<") + Markup(tag)]
    for name, value in (attrs or {}).items():
        if value is None or value is False:
            continue
        html.append(Markup(" ") + Markup(name) if value is True else Markup(' {}="{}"').format(Markup(name), value))
    html.append(Markup(">"))
    if tag != "input":
        html.extend(escape(child) for child in children)
        html.append(Markup("</{}>").format(Markup(tag)))
    return Markup("").join(html)


class _Pending(dict):
    """The errors not yet shown beside a field, and where each shown one went (`placed`: the rendered field's
    path → its reasons)."""

    def __init__(self, errors):
        super().__init__(errors)
        self.placed: dict[str, list[str]] = {}


def render(schema: dict, values: dict | None = None, errors: dict[str, str] | None = None) -> Markup:
    """The HTML of the form's fields (no <form>, no submit button) in `x-order`, filled with `values`
    (or each field's `default`), each engine error beside the nearest rendered field; an error that
    names no field of the form is shown above them."""
    pending = _Pending(errors or {})
    fields = _fields(schema, values, "", pending, with_help=True)
    stray = [_el("p", {"class": "error", "role": "alert"}, reason) for reason in pending.values()]
    return Markup("\n").join(stray + fields)


def place(schema: dict, values: dict | None, errors: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Where render() shows each error, for a page that shows them without reloading (web/static/task_form.js):
    ({path of the rendered field (`data-field`, or a row's `data-path`): its reasons}, [errors naming no field])."""
    pending = _Pending(errors)
    _fields(schema, values, "", pending, with_help=False)
    return {path: "；".join(reasons) for path, reasons in pending.placed.items()}, list(pending.values())


def _fields(schema: dict, values, prefix: str, pending: dict, with_help: bool) -> list[Markup]:
    required = set(schema.get("required") or [])
    values = values if isinstance(values, dict) else {}
    return [_field(prefix + name, prop, values[name] if name in values else prop.get("default"),
                   name in required and not (prefix == "" and _default_answers(prop)), pending, with_help)
            for name, prop in _ordered(schema)]


def _default_answers(prop: dict) -> bool:
    """Whether a top-level field left empty is answered by its `default` (engine/runtime/forms.py
    `with_defaults` fills it in): required in the schema, yet nothing the user must give — 协办部门's
    empty list — so it gets no star."""
    if "default" not in prop:
        return False
    try:
        return Draft202012Validator(prop).is_valid(prop["default"])
    except SchemaError:     # a schema the validator cannot read: keep the star, the engine says what is wrong
        return False


def _claim(pending: dict, path: str) -> list[str]:
    """Take the errors on `path` and on anything below it that no inner field has taken."""
    mine = [key for key in pending if key == path or key.startswith(path + ".")]
    reasons = [pending.pop(key) for key in mine]
    if reasons and isinstance(pending, _Pending):
        pending.placed[path] = reasons
    return reasons


def _field(path: str, prop: dict, value, required: bool, pending: dict, with_help: bool) -> Markup:
    kind, fid = _kind(prop), _id(path)
    title = prop.get("title") or path.rsplit(".", 1)[-1]
    star = Markup(" ") + _el("span", {"class": "req"}, "*") if required else Markup("")
    notes = [prop["description"]] if with_help and prop.get("description") else []
    if kind == "photos" and isinstance(prop.get("maxItems"), int):
        notes.append(_("最多 %(n)s 张", n=prop["maxItems"]))
    help_ = _el("p", {"class": "help", "id": fid + "-help"}, " ".join(notes)) if notes else Markup("")
    if kind in ("object", "rows"):      # inner fields take their errors first; the rest show here
        inner = (_fields(prop, value, path + ".", pending, with_help) if kind == "object"
                 else _rows(path, prop, value, pending))
        body = [_el("legend", None, title, star), help_, *inner]
        return _el("div", {"class": f"field {kind}", "data-field": path},
                   _el("fieldset", None, *body, _errors(fid, _claim(pending, path))))
    errors = _claim(pending, path)
    described = " ".join(i for i, there in ((fid + "-help", notes), (fid + "-error", errors)) if there) or None
    if kind in ("radio", "checkboxes"):
        # a group is titled by its legend, not a <label>: a label would also match the options' words
        # (核查是否通过 contains 是), and each option has a label of its own
        return _el("div", {"class": "field", "data-field": path},
                   _el("fieldset", {"aria-describedby": described}, _el("legend", None, title, star), help_,
                       _options(path, prop, value, kind, bool(errors)), _errors(fid, errors)))
    common = {"id": fid, "name": path, "aria-describedby": described, "aria-invalid": "true" if errors else None,
              "aria-required": "true" if required else None}
    return _el("div", {"class": "field", "data-field": path}, _el("label", {"for": fid}, title, star), help_,
               _control(kind, prop, value, common), _errors(fid, errors))


def _errors(fid: str, reasons: list[str]) -> Markup:
    if not reasons:
        return Markup("")
    return _el("p", {"class": "error", "id": fid + "-error"}, "；".join(reasons))


def _rows(path: str, prop: dict, value, pending: dict) -> list[Markup]:
    """A fixed number of rows `path.i.sub` (empty rows are dropped when parsed); the fields' help is
    shown in the first row only, so a phone screen is not five times the same text."""
    items = prop["items"]
    given = value if isinstance(value, list) else []
    limit = prop.get("maxItems") if isinstance(prop.get("maxItems"), int) else ROWS
    rows = []
    for i in range(max(len(given), min(limit, ROWS))):
        row_path = f"{path}.{i}"
        inner = _fields(items, given[i] if i < len(given) else None, row_path + ".", pending, with_help=i == 0)
        legend = _el("legend", None, f"{items['title']} {i + 1}" if items.get("title") else _("第 %(n)s 条", n=i + 1))
        rows.append(_el("fieldset", {"class": "row", "data-row": str(i), "data-path": row_path}, legend, *inner,
                        _errors(_id(row_path), _claim(pending, row_path))))
    return rows


def _options(path: str, prop: dict, value, kind: str, invalid: bool) -> Markup:
    """Radio buttons or checkboxes, each in a <label> holding the option's title."""
    choices = _choices(prop["items"] if kind == "checkboxes" else prop)
    chosen = {_text(v) for v in value} if isinstance(value, list) else {_text(value)} if value is not None else set()
    labels = []
    for i, (option, title) in enumerate(choices):
        oid = f"{_id(path)}--{i}"
        box = _el("input", {"type": "radio" if kind == "radio" else "checkbox", "id": oid, "name": path,
                            "value": _text(option), "checked": _text(option) in chosen,
                            "aria-invalid": "true" if invalid else None})
        labels.append(_el("label", {"for": oid}, box, " ", title))
    return _el("div", {"class": "choices"}, *labels)


def _control(kind: str, prop: dict, value, common: dict) -> Markup:
    lengths = {"minlength": prop.get("minLength"), "maxlength": prop.get("maxLength")}
    if kind == "select":
        current = _text(value)
        options = [_el("option", {"value": ""}, _("请选择"))]
        options += [_el("option", {"value": _text(v), "selected": _text(v) == current}, t) for v, t in _choices(prop)]
        return _el("select", common, *options)
    if kind == "textarea":
        return _el("textarea", {**common, "rows": "3", **lengths}, _text(value))
    if kind == "lines":      # an array of free strings: one per line
        lines = "\n".join(_text(v) for v in value) if isinstance(value, list) else _text(value)
        return _el("textarea", {**common, "rows": "3"}, lines)
    if kind in ("photos", "photo"):
        return _el("input", {**common, "type": "file", "accept": PHOTO_TYPES,
                             "multiple": kind == "photos"})
    if kind == "number":     # text, not type=number: a phone's number pad, and a bad value shown back as typed
        mode = "numeric" if _type(prop) == "integer" else "decimal"
        return _el("input", {**common, "type": "text", "inputmode": mode, "value": _text(value)})
    return _el("input", {**common, "type": "text", "value": _text(value), **lengths})


# --- parsing what the browser posts ------------------------------------------------------------------------

def parse(schema: dict, form, files) -> tuple[dict, dict[str, list[tuple[str, bytes]]]]:
    """(data, uploads): the posted fields typed per the schema, leaving out what was left empty (so the
    engine names a missing required field), and each photo field's non-empty files as (filename, bytes),
    keyed by its path. A value that does not parse stays a string, for the engine to name."""
    uploads: dict[str, list[tuple[str, bytes]]] = {}
    return _parse_object(schema, form, files, "", "", uploads), uploads


def _parse_object(schema: dict, form, files, source: str, target: str, uploads: dict) -> dict:
    data = {}
    for name, prop in _ordered(schema):
        value = _parse_field(prop, form, files, source + name, target + name, uploads)
        if value is not _ABSENT:
            data[name] = value
    return data


def _parse_field(prop: dict, form, files, source: str, target: str, uploads: dict):
    """`source` is the posted name, `target` the path in the data (they differ once empty rows are
    dropped: the third row posted may become `assignments.1`)."""
    kind = _kind(prop)
    if kind in ("photos", "photo"):
        found = []
        for upload in files.getlist(source) if files else []:
            content = upload.read()
            if upload.filename or content:     # a photo input left empty posts a part with neither
                found.append((upload.filename or "photo", content))
        if found:
            uploads[target] = found if kind == "photos" else found[:1]
        return _ABSENT
    if kind == "object":
        return _parse_object(prop, form, files, source + ".", target + ".", uploads) or _ABSENT
    if kind == "rows":
        rows = []
        for index in _row_indexes(source, form, files):
            row_uploads: dict = {}
            row = _parse_object(prop["items"], form, files, f"{source}.{index}.", f"{target}.{len(rows)}.", row_uploads)
            if row or row_uploads:
                rows.append(row)
                uploads.update(row_uploads)
        return rows or _ABSENT
    if kind == "checkboxes":
        items = [_typed(prop["items"], v.strip()) for v in form.getlist(source) if v.strip()]
        return items or _ABSENT
    raw = form.get(source)
    if raw is None:
        return _ABSENT
    raw = raw.replace("\r\n", "\n").strip()
    if kind == "lines":
        items = [line.strip() for line in raw.split("\n") if line.strip()]
        return [_typed(prop.get("items") or {}, v) for v in items] or _ABSENT
    return _typed(prop, raw) if raw else _ABSENT


def _row_indexes(source: str, form, files) -> list[int]:
    start = source + "."
    found = set()
    for key in [*form.keys(), *(files.keys() if files else [])]:
        if key.startswith(start):
            index = key[len(start):].split(".", 1)[0]
            if index.isascii() and index.isdigit() and int(index) < MAX_ROW_INDEX:
                found.add(int(index))
    return sorted(found)


def _typed(prop: dict, raw: str):
    """The choice whose value reads `raw`, or a number, or `raw` itself."""
    for value, _title in _choices(prop):
        if _text(value) == raw:
            return value
    kind = _type(prop)
    if kind in ("integer", "number"):
        try:
            return int(raw)
        except ValueError:
            pass
        try:
            number = float(raw)
        except ValueError:
            return raw
        if not math.isfinite(number):
            return raw
        return int(number) if kind == "integer" and number.is_integer() else number
    return raw


def fill_photos(data: dict, schema: dict, keys: dict[str, list[str]]) -> dict:
    """A copy of `data` with the keys of the photos stored for each upload path from parse(): a list
    for an `x-widget: photos` field, the first key for an `x-widget: photo` field."""
    filled = copy.deepcopy(data)
    for path, found in keys.items():
        if not found:
            continue
        node, holder = schema, filled
        parts = path.split(".")
        for depth, part in enumerate(parts):
            if isinstance(holder, list):          # a row of an array of objects
                holder, node = holder[int(part)], node["items"]
                continue
            prop = node["properties"][part]
            if depth == len(parts) - 1:
                holder[part] = list(found) if prop.get("x-widget") == "photos" else found[0]
            else:
                holder, node = holder.setdefault(part, [] if _type(prop) == "array" else {}), prop
    return filled
