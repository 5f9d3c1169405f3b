"""What a page's query string asks for (`?from=2026-12-01&level=unit`), checked: a value a page cannot use is
a 400 that names the parameter by the label people see on the page (「开始日期」格式应为 2026-12-01), answered
with the error page (web/ui/error_pages.py); the API checks its own (web/units.py)."""
from __future__ import annotations

import re
from datetime import date

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine.core.errors import InvalidQuery

#: the query parameters of the pages, by the words of the forms that set them
LABELS = {"from": _l("开始日期"), "to": _l("结束日期"), "level": _l("统计层级"), "first": _l("每类显示条数"),
          "cursor": _l("翻页位置"), "limit": _l("每页条数"), "status": _l("状态"), "month": _l("月份"),
          "community": _l("社区"), "type_code": _l("事件类型"), "source": _l("来源"), "light": _l("预警灯"),
          "party": _l("通报对象"), "category": _l("问题类别"), "file": _l("流程文件"), "unit": _l("单位"),
          "code": _l("退回原因"), "view": _l("显示方式"), "since": _l("起始位置"), "number": _l("事件编号"),
          "lead_unit": _l("主办部门"), "next": _l("返回地址")}
_MONTH = re.compile(r"[0-9]{4}-[0-9]{2}")


def label(name: str) -> str:
    """A parameter as people read it (its code if no page names it)."""
    return str(LABELS.get(name, name))


def bad(name: str, reason: str) -> InvalidQuery:
    """The refusal of `?name=`: 400, in the API's shape (field and reason)."""
    return InvalidQuery([{"field": name, "reason": reason}])


def day(name: str, default: date | None = None) -> date | None:
    """`?name=` as a day (2026-12-01), or `default` when not given."""
    raw = request.args.get(name) or ""
    if not raw:
        return default
    try:
        found = date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        found = None
    if found is None or not 1900 <= found.year <= 2200:
        raise bad(name, _("格式应为 2026-12-01（年-月-日）"))
    return found


def month(name: str, default: str) -> str:
    """`?name=` as a month (2026-10), or `default` when not given."""
    raw = request.args.get(name) or ""
    if not raw:
        return default
    if not _MONTH.fullmatch(raw) or not 1 <= int(raw[5:]) <= 12 or not 1900 <= int(raw[:4]) <= 2200:
        raise bad(name, _("格式应为 2026-10（年-月）"))
    return raw


def one_of(name: str, words: dict, default: str | None = None) -> str | None:
    """`?name=` as one of `words` ({value: its word on the page}), or `default` when not given; a refusal lists
    the words, not the codes."""
    raw = request.args.get(name) or default
    if raw is not None and raw not in words:
        raise bad(name, _("应为以下之一：%(words)s", words="、".join(str(w) for w in words.values())))
    return raw
