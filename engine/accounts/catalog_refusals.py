"""A refused catalog edit in words (issue #20): each of the loader's refusals (catalogs/loader.py, catalogs/checks.py)
naming its row and field as the editor pages do (catalogs/words.py) with the reason in Chinese, saying what to do,
and the loader's own English after it ("中文 (English)", engine/core/words.py). A unit the edit removes is named as
it was; what another catalog says many times over (the 13 rows of Table A.1 that name a unit just deleted) is said
once, with its rows."""
from __future__ import annotations

import re

from catalogs import CatalogError
from catalogs import words as catalog_words
from catalogs.loader import FILES
from engine.core import words


def reasons(errors: list[CatalogError], name: str, documents: dict, before, community: str | None = None,
            rows_of=None) -> list[dict]:
    """{field, reason} of each refusal of an edit of catalog `name`: `documents` are the catalogs as checked
    (catalogs/loader.py `read_documents`), `before` the edited catalog as it was; for one community's edit the field
    is named without the community, for its step limits by the event type of the row (`rows_of`)."""
    return Refusal(name, documents, before, community, rows_of).all(errors)


#: more refusals than this of one kind in another catalog are said as one line (a unit 25 rows name)
_GROUPED = 3


class Refusal:
    """The loader's errors as a person reads them (issue #20): the row and field in words (catalogs/words.py),
    the reason in Chinese saying what to do, the loader's own English after it; what another catalog says many
    times over (the rows of Table A.1 that name a unit just deleted) said once, with its rows."""

    def __init__(self, name, documents, before, community=None, rows_of=None):
        self.name, self.documents, self.community, self.rows_of = name, documents, community, rows_of
        #: an edit of the unit tree: the units before it, so a unit it removes is named as it was
        self.units_before = {u["code"]: u for u in before if isinstance(u, dict) and "code" in u} \
            if name == "units" else {}
        if self.units_before and isinstance(documents.get("units"), list):
            kept = {u.get("code") for u in documents["units"] if isinstance(u, dict)}
            self.documents = {**documents, "units": documents["units"] + [u for c, u in self.units_before.items()
                                                                          if c not in kept]}

    def all(self, errors: list[CatalogError]) -> list[dict]:
        said = [self.one(e) for e in errors]
        groups: dict[tuple, list[dict]] = {}
        for entry in said:
            if entry["group"] is not None:
                groups.setdefault(entry["group"], []).append(entry)
        found, done = [], set()
        for entry in said:
            group = groups.get(entry["group"]) if entry["group"] is not None else None
            if group is None or len(group) <= _GROUPED:
                found.append({"field": entry["field"], "reason": entry["reason"]})
            elif entry["group"] not in done:
                done.add(entry["group"])
                found.append(self._grouped(group))
        return found

    def one(self, error: CatalogError) -> dict:
        key = next((k for k, f in FILES.items() if f == error.file), self.name)
        row, field = catalog_words.describe(key, self.documents, error.path)
        where = f"{row}的{field}" if row and field else row or field
        table = catalog_words.TABLES.get(error.file, error.file)
        elsewhere = key != self.name
        reason = self._chinese(error, where or table)
        if elsewhere and where:           # another catalog refers to what this edit changed: say which
            reason = f"{table}{reason}"
        text = words.both(reason, str(error))
        group = (error.file, re.sub(r"第 \d+ 项", "", field), error.zh, error.ref) if elsewhere and error.zh else None
        return {"field": self._path(error), "reason": text, "group": group, "row": row, "table": table,
                "english": str(error), "zh": self._what(error)}

    def _what(self, error: CatalogError) -> str:
        """The reason alone, in Chinese: a unit this edit removed is named as it was."""
        removed = self.units_before.get(error.ref) if error.ref else None
        if removed is not None:
            return f"单位「{removed.get('name') or error.ref}」已被删除，但这里仍在使用它：请先改为其他单位，或保留该单位"
        if error.zh:
            return error.zh
        return ""

    def _chinese(self, error: CatalogError, where: str) -> str:
        what = self._what(error)
        if what:
            return f"{where}：{what}" if where else what
        detail = error.detail
        if detail is not None and detail.validator == "required":
            return words.split(words.required_reason(where, error.path))[0]
        if detail is not None:
            return words.split(words.schema_reason(detail, where, error.path))[0]
        return f"{where}：数据有误，请检查后重新填写"

    def _grouped(self, group: list[dict]) -> dict:
        first = group[0]
        rows = "、".join(e["row"] for e in group[:5]) + (f"等 {len(group)} 行" if len(group) > 5 else "")
        reason = f"{first['table']}中{rows}的{first['group'][1]}：{first['zh']}"
        english = f"{len(group)} rows of {first['group'][0]}, first {first['english']}"
        return {"field": first["field"], "reason": words.both(reason, english)}

    def _path(self, error: CatalogError) -> str:
        """The loader's path as the API names the field (for one community's edit, the field alone; for its
        step limits, the event type of the row: `A13.verify`)."""
        path = error.path
        if self.community and path.startswith(f"{self.community}."):
            path = path[len(self.community) + 1:]
        if self.rows_of is not None and path.startswith("[") and "]" in path:
            index, _closing, rest = path[1:].partition("]")
            key = self.rows_of(int(index)) if index.isdigit() else None
            if key is not None:
                path = key + rest
        return path or error.file
