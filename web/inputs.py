"""What a request may carry, checked once for every view (issue #15 §4): no input gives a 5xx.

- Text never holds NUL (PostgreSQL refuses it in text, SQLite would keep it) nor a lone surrogate (an
  escaped "\\ud800" in JSON: not Unicode, neither database can store it): 422 naming the field, on both
  databases alike, whether it came in the query string, a path segment or a header (checked before the
  view runs), a form field or a JSON body, keys too, or a JSON part of a multipart form (checked when the
  view reads them, so under the size limit the view sets).
- A JSON body nested deeper than MAX_DEPTH is refused with 400 when it is read (Python's parser would
  otherwise stop on its recursion limit); NaN, Infinity and numbers past a float are refused by name (422).
- A number in a path where the route takes `<int:…>` is a record id: beyond the database's INTEGER
  (engine/core/ids.py) no route matches, so it answers 404 like any other id that names nothing.
"""
from __future__ import annotations

import json
import math
import re

from flask import Request, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter

from engine.core.errors import InvalidData, Unreadable
from engine.core.ids import MAX_ID

#: deeper than any document eventflow reads (catalogs, task forms, reports nest a few levels)
MAX_DEPTH = 64
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
NUL_REASON = "不得含有 NUL 字符 (must not contain NUL, \\u0000)"
SURROGATE_REASON = "含有不成对的代理项，不是有效的 Unicode 文本 (a lone surrogate such as \\ud800 is not Unicode text)"
NOT_FINITE_REASON = "须为有限数字，JSON 没有 NaN 或 Infinity (a finite number: JSON has no NaN or Infinity)"


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text, or None."""
    bad = _BAD_TEXT.search(value)
    if bad is None:
        return None
    return NUL_REASON if bad.group() == "\x00" else SURROGATE_REASON


def digits_up_to(limit: int) -> str:
    """A regular expression for the whole numbers 0 … limit in decimal (leading zeros allowed): those with
    fewer digits, then for each digit of `limit` its prefix, a smaller digit and any digits after."""
    digits = str(limit)
    alternatives = [fr"\d{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    for i, digit in enumerate(digits):
        rest = len(digits) - i - 1
        if digit != "0":
            alternatives.append(f"{digits[:i]}[0-{int(digit) - 1}]" + (fr"\d{{{rest}}}" if rest else ""))
    alternatives.append(digits)
    return "0*(?:" + "|".join(alternatives) + ")"


class RecordIdConverter(IntegerConverter):
    """`<int:…>` in a route: a record id, 0 … MAX_ID. A larger number matches no route, so it answers 404
    (the bound is in the pattern, not only in `max`: werkzeug tells a method it does not allow before it
    checks a converter's value, and would answer 405 to a POST where a GET rule has the same path)."""

    regex = digits_up_to(MAX_ID)

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002 - werkzeug's names
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def parse_json(raw: str | bytes, field: str = "(body)"):
    """JSON as eventflow reads it: ValueError for what is not JSON (callers answer that as they did),
    Unreadable (400) for nesting deeper than MAX_DEPTH, InvalidData (422) naming the field of any text
    that cannot be stored or number that is not finite (check_json)."""
    try:
        value = json.loads(raw)
        too_deep = _depth_exceeds(value, MAX_DEPTH)
    except RecursionError:     # far deeper still: the parser's own limit
        too_deep = True
    if too_deep:
        raise Unreadable(f"{field}: JSON 嵌套超过 {MAX_DEPTH} 层 (nested deeper than {MAX_DEPTH} levels)",
                         field=field)
    check_json(value, field)
    return value


def _depth_exceeds(value, limit: int) -> bool:
    todo = [(value, 1)]
    while todo:
        node, depth = todo.pop()
        if isinstance(node, (dict, list)):
            if depth > limit:
                return True
            todo.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return False


def check_json(value, field: str = "(body)") -> None:
    """InvalidData naming each place in a parsed JSON value whose text (a key or a string) cannot be
    stored, or whose number is NaN or infinite (Python's reader takes NaN, Infinity and 1e400; JSON has
    no such numbers and a database would not give them back): `location.address`, `photos[0]`; a bad
    key is named by its parent and the key's position."""
    errors = []
    todo = [(value, None)]
    while todo:
        node, where = todo.pop()
        if isinstance(node, str):
            reason = text_problem(node)
            if reason:
                errors.append({"field": where or field, "reason": reason})
        elif isinstance(node, float) and not math.isfinite(node):
            errors.append({"field": where or field, "reason": NOT_FINITE_REASON})
        elif isinstance(node, dict):
            for position, (key, child) in enumerate(node.items()):
                reason = text_problem(key)
                if reason:
                    errors.append({"field": f"{where or field} (key {position + 1})", "reason": reason})
                    continue
                todo.append((child, f"{where}.{key}" if where else key))
        elif isinstance(node, list):
            todo.extend((child, f"{where or ''}[{i}]") for i, child in enumerate(node))
    if errors:
        errors.sort(key=lambda e: e["field"])
        raise InvalidData(errors)


class CheckedJSONProvider(DefaultJSONProvider):
    """request.get_json() (and so every view's body) goes through parse_json."""

    def loads(self, s, **kwargs):
        if kwargs:
            return super().loads(s, **kwargs)
        return parse_json(s)


def _problems(pairs, where: str) -> list[dict]:
    """What cannot be stored among (name, value) pairs of one part of a request. A name that cannot be
    stored itself (or no name) is named by the part: (query), (path), (headers), (form)."""
    errors = []
    for name, value in pairs:
        named = isinstance(name, str) and name and text_problem(name) is None
        for field, text in ((where, None if named else name), (name if named else where, value)):
            reason = text_problem(text) if isinstance(text, str) else None
            if reason:
                errors.append({"field": field, "reason": reason})
    return errors


def check_request() -> None:
    """before_request: the query string, path segments and headers (names and values). Form fields and
    JSON bodies are checked when the view reads them (CheckedRequest, CheckedJSONProvider), under the size
    limit the view sets (photo uploads allow more, device alerts less)."""
    errors = (_problems(request.args.items(multi=True), "(query)")
              + _problems((request.view_args or {}).items(), "(path)")
              + _problems(request.headers.items(), "(headers)"))
    if errors:
        raise InvalidData(errors)


class CheckedRequest(Request):
    """request.form and request.files are checked (names, values, file names) when first read."""

    def _load_form_data(self):
        if "form" in self.__dict__:
            return
        super()._load_form_data()
        errors = (_problems(self.form.items(multi=True), "(form)")
                  + _problems(((name, upload.filename) for name, upload in self.files.items(multi=True)), "(form)"))
        if errors:
            raise InvalidData(errors)


def set_up(app) -> None:
    """Before any route is added: ids in paths are bounded; every JSON body and every request is checked."""
    app.url_map.converters["int"] = RecordIdConverter
    app.request_class = CheckedRequest
    app.json = CheckedJSONProvider(app)
    app.before_request_funcs.setdefault(None, []).insert(0, check_request)


def prefers_minimal() -> bool:
    """Whether the request asks for the short answer (`Prefer: return=minimal`, RFC 7240): the first `return`
    preference of its Prefer headers, its value quoted or not; a preference, so anything else, or a header that
    cannot be read, asks for the whole answer."""
    preferences = ",".join(request.headers.getlist("Prefer"))
    for part in _PREFERENCE.findall(preferences):
        name, _, value = part.split(";", 1)[0].partition("=")
        if name.strip().lower() == "return":
            return value.strip().strip('"') == "minimal"
    return False


#: one preference of a Prefer header: up to a comma that is not inside quotes
_PREFERENCE = re.compile(r'(?:[^,"]|"[^"]*")+')
