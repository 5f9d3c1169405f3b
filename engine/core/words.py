"""The words a person reads when something is refused (issue #20): in the user's language, naming the field by
its label and saying what to do.

The engine writes a reason as one string, Chinese first and the English in a closing bracket —
"必填项 (required)" — so the JSON API keeps both, as it always has. `split` takes such a string apart and
`in_language` keeps the part the reader's language wants: the web app shows only the Chinese by default and
only the English after the language switch (web/words.py; a Chinese-only message is looked up in the
message catalog there). `both` and `prefixed` write such strings.

`schema_reason` gives every JSON Schema validator that can fire (minLength, pattern, enum, …) its reason in
both languages, naming the field by its title: 「问题描述」至少 2 个字，请补充 (description: at least 2
characters). Task forms (engine/runtime/forms.py) and the catalogs edited in the app
(engine/accounts/catalog_edits.py) use it alike.
"""
from __future__ import annotations

import re

#: CJK ideographs (a Chinese word): what makes a text Chinese
_IDEOGRAPH = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
#: where several reasons were joined into one message ("必填项 (required)；不在可选范围内 (not one of …)")
_JOINED = re.compile(r"(?<=\))；")


def has_chinese(text: str) -> bool:
    return bool(_IDEOGRAPH.search(text or ""))


def _english(text: str) -> bool:
    """More latin letters than ideographs, and a word of them: "(§7.1 属地: the location lies in …)" is
    English, "(§7.3.2)" and "(附录A 表A.1 中没有此事项)" are not."""
    return bool(_LATIN_WORD.search(text)) and len(_LATIN.findall(text)) > len(_IDEOGRAPH.findall(text))


def _closing_group(text: str) -> int | None:
    """Where the bracket closing `text` opens (brackets inside it balanced), or None."""
    if not text.endswith(")"):
        return None
    depth = 0
    for index in range(len(text) - 1, -1, -1):
        if text[index] == ")":
            depth += 1
        elif text[index] == "(":
            depth -= 1
            if depth == 0:
                return index
    return None


def split(message: str) -> tuple[str | None, str | None]:
    """(Chinese, English) of one message: "中文 (English)" → both; the older "English (中文)" → both too;
    a Chinese message alone → (message, None); an English one alone → (None, message)."""
    text = (message or "").strip()
    start = _closing_group(text)
    if start is not None and start > 0:
        before, inside = text[:start].rstrip(), text[start + 1:-1].strip()
        if has_chinese(before) and _english(inside):
            return before, inside
        if not has_chinese(before) and _LATIN_WORD.search(before) and has_chinese(inside) and not _english(inside):
            return inside, before
    if has_chinese(text):
        return text, None
    return None, text or None


def in_language(message, language: str | None, translate=None) -> str:
    """The part of `message` a reader of `language` ("zh_CN", "en") reads; several reasons joined with "；" each
    on its own. In English a Chinese-only message goes through `translate` (the message catalog), if given."""
    if not isinstance(message, str):
        return message
    english = bool(language) and str(language).lower().startswith("en")
    parts = []
    for segment in _JOINED.split(message):
        chinese, other = split(segment)
        if english:
            parts.append(other if other is not None else (translate(chinese) if translate else chinese))
        else:
            parts.append(chinese if chinese is not None else other)
    return ("; " if english else "；").join(p for p in parts if p)


def both(chinese: str, english: str) -> str:
    """One message in both languages, as the engine writes them: "中文 (English)"."""
    return f"{chinese} ({english})"


def prefixed(message: str, chinese: str, english: str) -> str:
    """`message` with a prefix said in each of its languages: 第 3 行：… (row 3: …)."""
    zh, en = split(message)
    if zh is None:
        return f"{english}{en}"
    if en is None:
        return f"{chinese}{zh}"
    return both(f"{chinese}{zh}", f"{english}{en}")


def quoted(label: str) -> str:
    """A field or row as the reasons name it: 「问题描述」."""
    return f"「{label}」"


# --- JSON Schema validators ----------------------------------------------------------------------------------

_TYPE_WORDS = {"string": "文本", "boolean": "是或否", "integer": "整数", "number": "数字", "array": "列表",
               "object": "一组字段", "null": "空"}
#: `format` values, as staff read them, with an example to copy
_FORMAT_WORDS = {"date": ("日期", "2026-10-01"), "date-time": ("日期和时间", "2026-10-01T09:00:00+08:00"),
                 "time": ("时间", "09:00:00+08:00"), "email": ("电子邮箱", "name@example.cn"),
                 "uri": ("网址", "https://example.cn/"), "ipv4": ("IPv4 地址", "192.168.1.10"),
                 "duration": ("时长", "PT2H")}
#: patterns the catalogs and forms use, explained (a schema may say it itself with `x-hint`)
_PATTERN_WORDS = {r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$": "应为日期，如 2026-10-01",
                  r"^([01][0-9]|2[0-3]):[0-5][0-9]$": "应为 24 小时制的时间，如 08:30",
                  r"^P": "应为时长，如 PT2H（2 小时）或 P3D（3 天）",
                  r"^§[0-9.]+$": "应为标准条款号，如 §8.3"}


def _count_noun(schema: dict) -> str:
    return "张" if schema.get("x-widget") in ("photos", "photo") else "项"


def _shown(value) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def schema_reason(error, field: str, name: str) -> str:
    """The reason for one jsonschema error (`validator`, `validator_value`, `instance`, `schema` are read),
    naming the field in words (`field`: 「问题描述」, 「任务分工」第 2 行的「承办单位」; `name` in the English) and
    saying what to do."""
    rule, value, given = error.validator, error.validator_value, error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}
    noun = _count_noun(schema)
    if rule == "minLength":
        if value <= 1:
            return both(f"{field}不能为空，请填写", f"{name}: must not be empty")
        return both(f"{field}至少 {value} 个字，请补充", f"{name}: at least {value} characters")
    if rule == "maxLength":
        return both(f"{field}最多 {value} 个字，现有 {len(given) if isinstance(given, str) else '?'} 个，请删减",
                    f"{name}: at most {value} characters")
    if rule == "minItems":
        verb = "上传" if noun == "张" else "选择或填写"
        if value <= 1:
            return both(f"{field}请至少{verb} 1 {noun}", f"{name}: at least one item")
        return both(f"{field}请至少{verb} {value} {noun}", f"{name}: at least {value} items")
    if rule == "maxItems":
        return both(f"{field}最多 {value} {noun}，请删去多余的", f"{name}: at most {value} items")
    if rule == "uniqueItems":
        return both(f"{field}有重复的{noun}，请去掉重复", f"{name}: items must not repeat")
    if rule == "pattern":
        hint = schema.get("x-hint")
        words = f"应为{hint}" if hint else _PATTERN_WORDS.get(value, "格式不对，请按页面提示的格式填写")
        return both(f"{field}{words}（现为“{_shown(given)}”）", f"{name}: {_shown(given)} does not match {value}")
    if rule == "format":
        what, example = _FORMAT_WORDS.get(value, (value, ""))
        hint = f"，如 {example}" if example else ""
        return both(f"{field}应为{what}{hint}", f"{name}: not a valid {value}")
    if rule in ("enum", "const", "oneOf", "anyOf"):
        return both(f"{field}不在可选范围内，请从选项中选择", f"{name}: not one of the choices")
    if rule == "minimum":
        return both(f"{field}不能小于 {value}", f"{name}: at least {value}")
    if rule == "maximum":
        return both(f"{field}不能大于 {value}", f"{name}: at most {value}")
    if rule == "exclusiveMinimum":
        return both(f"{field}应大于 {value}", f"{name}: more than {value}")
    if rule == "exclusiveMaximum":
        return both(f"{field}应小于 {value}", f"{name}: less than {value}")
    if rule == "multipleOf":
        return both(f"{field}应为 {value} 的整数倍", f"{name}: a multiple of {value}")
    if rule == "type":
        wanted = value if isinstance(value, list) else [value]
        words = "或".join(_TYPE_WORDS.get(w, w) for w in wanted if w != "null") or "空"
        return both(f"{field}应为{words}，请重新填写", f"{name}: expected {'/'.join(wanted)}")
    if rule == "not":
        return both(f"{field}此情况下不应填写，请清空", f"{name}: not to be given in this case")
    if rule in ("minProperties", "maxProperties"):
        least = rule == "minProperties"
        return both(f"{field}{'至少' if least else '最多'}填写 {value} 项",
                    f"{name}: {'at least' if least else 'at most'} {value} entries")
    if rule in ("contains", "minContains", "maxContains"):
        return both(f"{field}缺少应有的项，请检查后补充", f"{name}: {error.message}")
    if rule == "propertyNames":
        return both(f"{field}中的名称“{_shown(given)}”不对，请改正", f"{name}: {error.message}")
    return both(f"{field}填写有误，请检查后重新填写", f"{name}: {error.message}")


def required_reason(field: str, name: str, schema: dict | None = None) -> str:
    """A required field (in words: 「问题描述」) left out; what to do by its kind (`schema`, if known)."""
    schema = schema if isinstance(schema, dict) else {}
    items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
    if schema.get("x-widget") in ("photos", "photo"):
        todo = "请拍照或上传照片"
    elif any(k in s for s in (schema, items) for k in ("enum", "oneOf", "x-options")) or schema.get("type") == "boolean":
        todo = "请选择"
    else:
        todo = "请填写"
    return both(f"{field}为必填项，{todo}", f"{name}: required")


def together_reason(field: str, name: str, others: str) -> str:
    """`dependentRequired`: a field that goes with one given (纬度 without 经度)."""
    return both(f"{field}须与{others}一同填写", f"{name}: required together with a field that was given")


def not_a_field_reason(name: str) -> str:
    return both(f"表单中没有「{name}」这一项，请刷新页面后重新填写", f"{name}: not a field of this form")
