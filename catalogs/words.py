"""The catalogs' rows and fields in the words their editor pages use (issue #20), so a refused edit names what
to fix as staff see it: 「A05 占道经营」的「主管部门」, 「综合行政执法局」的「上级单位」, 「2027 年」的「放假日期」第 3 项.

`describe(key, documents, path)` reads a loader path (catalogs/loader.py `locate`: "A05.department",
"[3].unit", "years.2027.holidays[2]") against the documents being checked (catalog key → parsed JSON).
"""
from __future__ import annotations

import re
from typing import Any

#: each data file as the editor pages name it
TABLES = {"roles.json": "角色", "units.json": "单位目录", "event_types.json": "附录A 表A.1",
          "one_thing_matters.json": "附录B 表B.1", "communities.geojson": "社区目录", "deadline_kinds.json": "时限种类",
          "calendar.json": "工作日历", "duty_rosters.json": "值班表", "channels.json": "群众渠道",
          "escalation.json": "逐级通知", "step_limits.json": "社区环节时限", "return_reasons.json": "退回原因"}
#: unit kinds (catalogs/data/units.json `kind`) in words
KIND_WORDS = {"department": "市直部门", "office": "派出机构/基层站所", "company": "企业", "committee": "社区联合党委",
              "authority": "市级主管部门"}
#: catalog key → field (dotted, without row indexes) → its label on the editor page
FIELDS: dict[str, dict[str, str]] = {
    "units": {"code": "代码", "name": "名称", "full_name": "全称", "kind": "类别", "parent": "上级单位",
              "supervisor": "分管领导", "supervisor.name": "姓名", "supervisor.title": "职务",
              "supervisor.username": "领导账号", "name_en": "英文名称"},
    "event_types": {"code": "编码", "no": "序号", "category": "事件信息分类", "content": "具体内容",
                    "department": "主管部门", "sensitive": "涉密标记", "retired": "停用", "process": "流程"},
    "one_thing_matters": {"code": "编码", "no": "序号", "name": "事项信息名称", "lead": "牵头单位",
                          "cooperating": "协同部门", "limits": "时限", "retired": "停用"},
    "communities": {"code": "代码", "name": "名称", "committee": "社区联合党委", "whistle_list": "吹哨事项清单",
                    "time_limits": "时限", "time_limits.default": "一般时限", "geometry": "辖区边界"},
    "calendar": {"office_hours": "办公时间", "office_hours.start": "上班", "office_hours.end": "下班",
                 "years": "年度安排", "holidays": "放假日期（工作日）", "workdays": "调休上班（周末）"},
    "duty_rosters": {"unit": "单位", "date": "日期", "person": "值班人员（账号）", "note": "备注"},
    "escalation": {"code": "代码", "name": "名称", "trigger": "时机", "after": "超期后（小时）", "limits": "适用时限",
                   "notify": "通知对象", "kind": "消息类别", "clause": "引用条款", "message": "通知内容",
                   "description": "说明"},
    "step_limits": {"community": "社区", "event_type": "事件类型", "verify": "核实", "analyse": "研判",
                    "whistle": "吹哨/派单", "check": "核查"},
    "deadline_kinds": {"code": "代码", "name": "名称", "warn_share": "预警比例", "default_limit": "默认时限",
                       "clause": "条款", "basis": "计时方式"},
    "channels": {"code": "代码", "name": "名称"},
    "roles": {"code": "代码", "name": "名称"},
    "return_reasons": {"code": "代码", "name": "名称", "needs_text": "需填写说明"},
}
_PART = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]")


def quoted(text: str) -> str:
    return f"「{text}」"


def _rows(key: str, document: Any) -> list:
    if key == "communities":
        features = document.get("features") if isinstance(document, dict) else None
        return [f.get("properties") if isinstance(f, dict) else None for f in features] \
            if isinstance(features, list) else []
    return document if isinstance(document, list) else []


def _name_of(documents: dict, key: str, code) -> str | None:
    for row in _rows(key, documents.get(key)):
        if isinstance(row, dict) and row.get("code") == code:
            if key == "event_types":
                return f"{code} {row.get('content') or ''}".strip()
            return row.get("name") or None
    return None


def unit_name(documents: dict, code) -> str:
    """A unit as people name it: 综合行政执法局 (its code only if it has no name)."""
    return _name_of(documents, "units", code) or str(code)


def _row_words(key: str, row: dict, documents: dict) -> str | None:
    code = row.get("code")
    if key == "event_types":
        return f"{code} {row.get('content') or ''}".strip() if code else None
    if key == "one_thing_matters":
        return f"{code} {row.get('name') or ''}".strip() if code else None
    if key == "duty_rosters":
        return f"{unit_name(documents, row.get('unit'))} {row.get('date') or ''}".strip()
    if key == "step_limits":
        community = row.get("community")
        place = "全部社区" if community == "*" else (_name_of(documents, "communities", community) or community)
        kind = row.get("event_type")
        what = "一般" if kind == "default" else (_name_of(documents, "event_types", kind) or kind)
        return f"{place} · {what}"
    return row.get("name") or code


def _field_words(key: str, parts: list) -> str:
    """「吹哨事项清单」第 2 项, 「分管领导」的「领导账号」."""
    labels, said, dotted = FIELDS.get(key, {}), "", []
    for part in parts:
        if isinstance(part, int):
            said += f"第 {part + 1} 项"
            continue
        dotted.append(part)
        label = labels.get(".".join(dotted)) or labels.get(part) or part
        said += (quoted(label) if not said else f"的{quoted(label)}")
    return said


def _parts(text: str) -> list:
    return [int(index) if index else name for name, index in _PART.findall(text)]


def describe(key: str, documents: dict, path: str) -> tuple[str, str]:
    """(the row in words, the field in words) at a loader `path` of catalog `key`; either may be ""."""
    document = documents.get(key)
    if key == "calendar":
        parts = _parts(path)
        if parts[:1] == ["years"] and len(parts) > 1:
            return quoted(f"{parts[1]} 年"), _field_words(key, parts[2:])
        return "", _field_words(key, parts)
    rows = _rows(key, document)
    head, rest = None, path
    match = re.match(r"\[(\d+)\]", path)
    if match:
        head, rest = int(match.group(1)), path[match.end():]
    else:   # the longest row code `path` starts with (unit codes have dots: zhifa.zd1)
        codes = sorted((r.get("code") for r in rows if isinstance(r, dict) and isinstance(r.get("code"), str)),
                       key=len, reverse=True)
        found = next((c for c in codes if path == c or path.startswith(c + ".") or path.startswith(c + "[")), None)
        if found is not None:
            head, rest = next(i for i, r in enumerate(rows) if isinstance(r, dict) and r.get("code") == found), \
                path[len(found):]
    if head is None:
        return "", _field_words(key, _parts(path))
    row = rows[head] if head < len(rows) and isinstance(rows[head], dict) else {}
    words = _row_words(key, row, documents) if row else None
    return quoted(words) if words else f"第 {head + 1} 行", _field_words(key, _parts(rest))


def where(key: str, documents: dict, path: str) -> str:
    """The row and field together: 「A05 占道经营」的「主管部门」."""
    row, field = describe(key, documents, path)
    if row and field:
        return f"{row}的{field}"
    return row or field
