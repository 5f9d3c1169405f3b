"""Cross-file checks run after every file has passed its JSON Schema.

Schemas catch shapes; these catch meaning: codes that must be unique, references that must resolve
(Appendix A's 主管部门, Appendix B's 协同部门, a community's 联合党委), a unit tree without cycles,
community polygons that tile without overlapping (§7.1 jurisdiction), whistle lists against Appendix A
(§7.3.2) and time limits that are real durations (§8.1).
"""

from __future__ import annotations

from datetime import date
from string import Formatter
from fractions import Fraction
from typing import Any, Iterable

from shapely.geometry import shape
from shapely.validation import explain_validity

from .durations import parse_duration
from .errors import CatalogError
from .words import KIND_WORDS

#: what to write for a duration, said after a bad one
DURATION_HINT = "请写成时长，如 PT2H（2 小时）、PT30M（30 分钟）或 P3D（3 天）"
#: the words of a field whose values must differ (_unique)
UNIQUE_WORDS = {"code": "代码", "name": "名称", "no": "序号", "committee": "社区联合党委"}

ROLES, UNITS, EVENT_TYPES, ONE_THING, COMMUNITIES, DEADLINE_KINDS, CALENDAR, DUTY, CHANNELS, ESCALATION, STEPS = (
    "roles.json", "units.json", "event_types.json", "one_thing_matters.json", "communities.geojson",
    "deadline_kinds.json", "calendar.json", "duty_rosters.json", "channels.json", "escalation.json",
    "step_limits.json",
)
RETURN_REASONS = "return_reasons.json"
#: the community's own steps a step_limits row may time (§8.1), each also a deadline kind
STEP_FIELDS = ("verify", "analyse", "whistle", "check")
#: what a rung's message may name (engine/limits/escalation.py fills them in)
PLACEHOLDERS = ("number", "limit", "limit_clause", "due_at", "assignee", "unit", "person", "community",
                "supervisor", "after", "clause")
# Table B.1 lists city departments and companies (供电局, 水务公司) as 协同部门, never local offices.
COOPERATING_KINDS = ("department", "company")
# An office (派出所, 执法中队, 市场监管所, 消防救援站) is the local office of a department or company.
OFFICE_PARENT_KINDS = ("department", "company")


def cross_check(data: dict[str, Any]) -> list[CatalogError]:
    units = {u["code"]: u for u in data["units"]}
    event_types = {t["code"] for t in data["event_types"]}
    features = data["communities"]["features"]
    return [
        *_unique(ROLES, data["roles"], "code"),
        *_unique(ROLES, data["roles"], "name"),  # lanes may name a role by its Chinese name
        *_check_units(data["units"], units),
        *_unique(EVENT_TYPES, data["event_types"], "no"),
        *_check_event_types(data["event_types"], units),
        *_unique(ONE_THING, data["one_thing_matters"], "no"),
        *_check_one_thing_matters(data["one_thing_matters"], units),
        *_check_communities(features, units, event_types),
        *_unique(DEADLINE_KINDS, data["deadline_kinds"], "code"),
        *_check_warn_shares(data["deadline_kinds"]),
        *_check_default_limits(data["deadline_kinds"]),
        *_check_calendar(data["calendar"]),
        *_check_duty_rosters(data["duty_rosters"], units),
        *_unique(CHANNELS, data["channels"], "code"),
        *_check_escalation(data["escalation"], units, {k["code"] for k in data["deadline_kinds"]}),
        *_check_return_reasons(data["return_reasons"]),
        *_check_step_limits(data["step_limits"], {f["properties"]["code"] for f in features}, event_types,
                            {k["code"] for k in data["deadline_kinds"]}),
    ]


def _check_return_reasons(rows: list[dict]) -> Iterable[CatalogError]:
    """退回原因: codes and names unique, and a reason that takes words (其他): a unit can always say why."""
    yield from _unique(RETURN_REASONS, rows, "code")
    yield from _unique(RETURN_REASONS, rows, "name")
    if not any(row.get("needs_text") for row in rows):
        yield CatalogError(RETURN_REASONS, "", "no reason with needs_text: true (其他, said in words)",
                           zh="没有需填写说明的原因（如“其他”）：请至少保留一条，让单位总能说明理由")


def _check_step_limits(rows: list[dict], communities: set[str], event_types: set[str],
                       kinds: set[str]) -> Iterable[CatalogError]:
    """§8.1: each row names a community (or "*") and an Appendix A type (or "default"), once; its limits are
    durations of a step that is a deadline kind."""
    seen: dict[tuple[str, str], int] = {}
    for position, row in enumerate(rows):
        where, key = f"[{position}]", (row["community"], row["event_type"])
        if row["community"] != "*" and row["community"] not in communities:
            yield CatalogError(STEPS, f"{where}.community", f"unknown community {row['community']!r} (or \"*\")",
                               zh=f"社区 {row['community']} 不存在：请从社区列表中选择，或选“全部社区”")
        if row["event_type"] != "default" and row["event_type"] not in event_types:
            yield CatalogError(STEPS, f"{where}.event_type",
                               f"unknown event type {row['event_type']!r} (an Appendix A code or \"default\")",
                               zh=f"事件类型 {row['event_type']} 不在附录A 表A.1 中：请从列表中选择，或选“一般”")
        if key in seen:
            yield CatalogError(STEPS, where, f"{key[0]} {key[1]} is set twice (rows {seen[key] + 1} and {position + 1})",
                               zh=f"同一社区、同一事件类型设置了两次（第 {seen[key] + 1} 行和第 {position + 1} 行）：请删去其中一行")
        seen.setdefault(key, position)
        for step in STEP_FIELDS:
            if step not in row:
                continue
            if step not in kinds:
                yield CatalogError(STEPS, f"{where}.{step}", f"no deadline kind {step!r} in deadline_kinds.json",
                                   zh="时限种类目录中没有这一环节：请联系系统管理员添加")
            try:
                parse_duration(row[step])
            except ValueError as exc:
                yield CatalogError(STEPS, f"{where}.{step}", str(exc), zh=f"“{row[step]}”不是有效的时限：{DURATION_HINT}")


def _check_escalation(rows: list[dict], units: dict[str, dict], limits: set[str]) -> Iterable[CatalogError]:
    """The ladder: codes unique; `after` a duration, given exactly for `missed_for`; its limits and units
    known; someone told (duty_officer alone tells no one); a message naming only what is filled in."""
    yield from _unique(ESCALATION, rows, "code")
    for row in rows:
        code = row["code"]
        if row["trigger"] == "missed_for":
            if "after" not in row:
                yield CatalogError(ESCALATION, f"{code}.after", "missed_for needs `after`, e.g. \"PT4H\"",
                                   zh="“超期后仍未办结满”须填写超期多久后通知，如 4（小时）")
            else:
                try:
                    parse_duration(row["after"])
                except ValueError as exc:
                    yield CatalogError(ESCALATION, f"{code}.after", str(exc),
                                       zh=f"“{row['after']}”不是有效的时长：{DURATION_HINT}")
        elif "after" in row:
            yield CatalogError(ESCALATION, f"{code}.after", f"only a missed_for rung has `after`, not {row['trigger']}",
                               zh="只有时机为“超期后仍未办结满”的一级才填写超期时长：请清空，或改选时机")
        for i, limit in enumerate(row.get("limits", [])):
            if limit not in limits:
                yield CatalogError(ESCALATION, f"{code}.limits[{i}]", f"unknown deadline kind {limit!r}",
                                   zh=f"时限种类 {limit} 不存在：请从列表中选择")
        for i, who in enumerate(row["notify"]):
            if who.startswith("unit:") and who[5:] not in units:
                yield CatalogError(ESCALATION, f"{code}.notify[{i}]", f"unknown unit {who[5:]!r}",
                                   zh=f"单位 {who[5:]} 不存在：请先在单位目录中添加，或改选其他单位", ref=who[5:])
        if row["notify"] == ["duty_officer"]:
            yield CatalogError(ESCALATION, f"{code}.notify",
                               "duty_officer only copies the units told: name who is told as well",
                               zh="只选“非工作时间同时通知值班人员”时没有人被通知：请同时勾选要通知的单位或人员")
        yield from _check_template(f"{code}.message", row["message"])


def _check_template(path: str, text: str) -> Iterable[CatalogError]:
    try:
        fields = [(name, conversion, spec) for _, name, spec, conversion in Formatter().parse(text) if name is not None]
    except ValueError as exc:
        yield CatalogError(ESCALATION, path, f"unbalanced braces: {exc} (write {{{{ and }}}} for a brace itself)",
                           zh="花括号不成对：占位符写成 {number} 这样；要显示花括号本身，请写两个 {{ 或 }}")
        return
    for name, conversion, spec in fields:
        if name not in PLACEHOLDERS or conversion or spec:
            yield CatalogError(ESCALATION, path, f"unknown placeholder {{{name}}}: one of "
                                                 + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS),
                               zh=f"{{{name}}} 不是可用的占位符：请只用页面上列出的占位符")


def _check_duty_rosters(rows: list[dict], units: dict[str, dict]) -> Iterable[CatalogError]:
    """Each entry names a unit of the tree and a real date, and a unit has one person per date."""
    seen = set()
    for position, row in enumerate(rows):
        where = f"[{position}]"
        if row["unit"] not in units:
            yield CatalogError(DUTY, f"{where}.unit", f"unknown unit {row['unit']!r}",
                               zh=f"单位 {row['unit']} 不存在：请从单位列表中选择", ref=row["unit"])
        try:
            date.fromisoformat(row["date"])
        except ValueError:
            yield CatalogError(DUTY, f"{where}.date", f"{row['date']!r} is not a date",
                               zh=f"“{row['date']}”不是有效的日期：请写成如 2026-10-01")
        if (row["unit"], row["date"]) in seen:
            yield CatalogError(DUTY, where, f"{row['unit']} has two people on duty on {row['date']}",
                               zh="同一单位同一天已有一人值班：请删去其中一行")
        seen.add((row["unit"], row["date"]))


def _check_warn_shares(rows: list[dict]) -> Iterable[CatalogError]:
    for row in rows:
        share = row["warn_share"]
        if isinstance(share, str) and not 0 < Fraction(share) < 1:
            yield CatalogError(DEADLINE_KINDS, f"{row['code']}.warn_share", f"{share} is not between 0 and 1",
                               zh=f"预警比例 {share} 应在 0 和 1 之间，如 3/4")


def _check_default_limits(rows: list[dict]) -> Iterable[CatalogError]:
    """A kind counted in working time reads its default limit as working days ("P3D") or office hours
    ("PT2H"), never both (engine/limits/deadlines.py)."""
    for row in rows:
        limit = row.get("default_limit")
        if limit and row["basis"] == "working" and "D" in limit and "T" in limit:
            yield CatalogError(DEADLINE_KINDS, f"{row['code']}.default_limit",
                               f"{limit} mixes days and hours: a working-time limit is \"P<n>D\" or \"PT<h>H\"",
                               zh=f"{limit} 同时含天和小时：按工作时间计的时限写成 P5D（工作日）或 PT2H（办公小时）之一")


def _check_calendar(calendar: dict) -> Iterable[CatalogError]:
    """Office hours that open before they close; each year's dates real, in that year, and a day either
    off or worked, not both."""
    hours = calendar["office_hours"]
    if hours["start"] >= hours["end"]:
        yield CatalogError(CALENDAR, "office_hours", f"start {hours['start']} is not before end {hours['end']}",
                           zh=f"上班时间 {hours['start']} 应早于下班时间 {hours['end']}，请改正")
    for year, days in calendar["years"].items():
        for kind in ("holidays", "workdays"):
            for position, text in enumerate(days[kind]):
                try:
                    day = date.fromisoformat(text)
                except ValueError:
                    yield CatalogError(CALENDAR, f"years.{year}.{kind}[{position}]", f"{text!r} is not a date",
                                       zh=f"“{text}”不是有效的日期：请写成如 {year}-10-01")
                    continue
                if str(day.year) != year:
                    yield CatalogError(CALENDAR, f"years.{year}.{kind}[{position}]", f"{text} is not in {year}",
                                       zh=f"{text} 不在 {year} 年：请写到 {day.year} 年的安排中，或改正日期")
                elif kind == "holidays" and day.weekday() >= 5:
                    yield CatalogError(CALENDAR, f"years.{year}.{kind}[{position}]",
                                       f"{text} is a weekend day: list only weekdays that are off",
                                       zh=f"{text} 是周末：放假日期只列需要放假的工作日（周一至周五），请删去")
                elif kind == "workdays" and day.weekday() < 5:
                    yield CatalogError(CALENDAR, f"years.{year}.{kind}[{position}]",
                                       f"{text} is a weekday: list only weekend days that are worked (调休)",
                                       zh=f"{text} 是工作日：调休上班只列需要上班的周末，请删去")
        for both in sorted(set(days["holidays"]) & set(days["workdays"])):
            yield CatalogError(CALENDAR, f"years.{year}", f"{both} is listed both as a holiday and as a workday",
                               zh=f"{both} 同时列为放假日期和调休上班：请只保留一处")


def _unique(file: str, rows: list[dict], field: str, ids: list[str] | None = None) -> Iterable[CatalogError]:
    """Every row's ``field`` differs; rows are named by code (or ``ids``), positions counted from 1."""
    ids = ids or [row["code"] for row in rows]
    first_seen: dict[Any, int] = {}
    for position, row in enumerate(rows, start=1):
        value = row[field]
        if value in first_seen:
            path = ids[position - 1] if field == "code" else f"{ids[position - 1]}.{field}"
            yield CatalogError(file, path, f"duplicate {field} {value!r} (entries {first_seen[value]} and {position})",
                               zh=f"{UNIQUE_WORDS.get(field, field)} {value} 重复（第 {first_seen[value]} 条和第 "
                                  f"{position} 条）：请改成不同的")
        else:
            first_seen[value] = position


def _check_units(rows: list[dict], units: dict[str, dict]) -> Iterable[CatalogError]:
    yield from _unique(UNITS, rows, "code")
    for unit in rows:
        parent = unit["parent"]
        if parent is None:
            continue
        if parent not in units:
            yield CatalogError(UNITS, f"{unit['code']}.parent", f"unknown unit {parent!r}",
                               zh=f"上级单位 {parent} 不存在：请改选上级单位", ref=parent)
        elif unit["kind"] == "office" and units[parent]["kind"] not in OFFICE_PARENT_KINDS:
            yield CatalogError(UNITS, f"{unit['code']}.parent",
                               f"an office's parent must be a department or company, "
                               f"{parent!r} is kind {units[parent]['kind']!r}",
                               zh=f"派出机构/基层站所的上级应为市直部门或企业，「{units[parent]['name']}」是"
                                  f"{KIND_WORDS.get(units[parent]['kind'], units[parent]['kind'])}：请改选上级单位")
    yield from _parent_cycles(units)
    authorities = [u["code"] for u in rows if u["kind"] == "authority"]
    if not authorities:
        yield CatalogError(UNITS, "", "no unit of kind 'authority' (the city authority approves "
                                      "extensions, §8.4, and spot-checks, §9.3)",
                           zh="没有类别为“市级主管部门”的单位：须有一个（审批延期 §8.4、抽查 §9.3），请保留或添加")
    for extra in authorities[1:]:
        yield CatalogError(UNITS, f"{extra}.kind",
                           f"more than one city authority (already {authorities[0]!r}); §8.4 needs exactly one",
                           zh=f"市级主管部门只能有一个（已有「{units[authorities[0]]['name']}」）：请改选类别")


def _parent_cycles(units: dict[str, dict]) -> Iterable[CatalogError]:
    in_reported_cycle: set[str] = set()
    for start in units:
        chain, code = [], start
        while code in units and code not in chain:
            chain.append(code)
            code = units[code]["parent"]
        if code in chain and code not in in_reported_cycle:  # walked back into the chain: a cycle
            cycle = chain[chain.index(code):]
            in_reported_cycle.update(cycle)
            yield CatalogError(UNITS, f"{cycle[0]}.parent",
                               "parent cycle: " + " → ".join([*cycle, cycle[0]]),
                               zh="上级单位形成循环（" + " → ".join(units[c]["name"] for c in [*cycle, cycle[0]])
                                  + "）：请改正其中一个单位的上级")


def _check_event_types(rows: list[dict], units: dict[str, dict]) -> Iterable[CatalogError]:
    yield from _unique(EVENT_TYPES, rows, "code")
    for row in rows:  # Appendix A: each row's 主管部门 is a city department
        yield from _expect_unit(EVENT_TYPES, f"{row['code']}.department", row["department"], units, ("department",))


def _check_one_thing_matters(rows: list[dict], units: dict[str, dict]) -> Iterable[CatalogError]:
    yield from _unique(ONE_THING, rows, "code")
    for row in rows:
        if row["lead"] != "committee":  # Table B.1: 社区联合党委 leads every row; a unit code may override
            yield from _expect_unit(ONE_THING, f"{row['code']}.lead", row["lead"], units, None)
        for i, code in enumerate(row["cooperating"]):
            yield from _expect_unit(ONE_THING, f"{row['code']}.cooperating[{i}]", code, units, COOPERATING_KINDS)
        for key, value in (row.get("limits") or {}).items():     # the lead's and each co-department's limits
            if key not in ("lead", "default"):    # a department's own (still kept when it leaves `cooperating`)
                yield from _expect_unit(ONE_THING, f"{row['code']}.limits.{key}", key, units, COOPERATING_KINDS)
            for name, limit in ({"lead": value} if key == "lead" else value).items():
                try:
                    parse_duration(limit)
                except ValueError as exc:
                    yield CatalogError(ONE_THING, f"{row['code']}.limits.{key}" + ("" if key == "lead" else f".{name}"),
                                       str(exc), zh=f"“{limit}”不是有效的时限：{DURATION_HINT}")


def _expect_unit(file: str, path: str, code: str, units: dict[str, dict],
                 kinds: tuple[str, ...] | None) -> Iterable[CatalogError]:
    if code not in units:
        yield CatalogError(file, path, f"unknown unit {code!r}",
                           zh=f"单位 {code} 不存在：请先在单位目录中添加，或改选其他单位", ref=code)
    elif kinds and units[code]["kind"] not in kinds:
        yield CatalogError(file, path, f"unit {code!r} is kind {units[code]['kind']!r}, expected "
                                       + " or ".join(repr(k) for k in kinds),
                           zh=f"「{units[code]['name']}」是{KIND_WORDS.get(units[code]['kind'], units[code]['kind'])}，"
                              f"这里应为{'或'.join(KIND_WORDS.get(k, k) for k in kinds)}：请改选")


def _check_communities(features: list[dict], units: dict[str, dict], event_types: set[str]) -> Iterable[CatalogError]:
    props = [f["properties"] for f in features]
    codes = [p["code"] for p in props]
    yield from _unique(COMMUNITIES, props, "code")
    yield from _unique(COMMUNITIES, props, "committee", ids=codes)  # §3.2: one committee per community
    for p in props:
        code = p["code"]
        yield from _expect_unit(COMMUNITIES, f"{code}.committee", p["committee"], units, ("committee",))
        for i, type_code in enumerate(p["whistle_list"]):  # §7.3.2: marked against Appendix A
            if type_code not in event_types:
                yield CatalogError(COMMUNITIES, f"{code}.whistle_list[{i}]", f"unknown event type {type_code!r}",
                                   zh=f"事件类型 {type_code} 不在附录A 表A.1 中：请只勾选表中的事项")
        for key, value in p["time_limits"].items():  # §8.1
            if key != "default" and key not in event_types:
                yield CatalogError(COMMUNITIES, f"{code}.time_limits.{key}",
                                   f"unknown event type {key!r} (keys are 'default' or Appendix A codes)",
                                   zh=f"事件类型 {key} 不在附录A 表A.1 中：请删去这一时限")
            try:
                parse_duration(value)
            except ValueError as exc:
                yield CatalogError(COMMUNITIES, f"{code}.time_limits.{key}", str(exc),
                                   zh=f"“{value}”不是有效的时限：{DURATION_HINT}")
    yield from _check_polygons(features, codes)


def _check_polygons(features: list[dict], codes: list[str]) -> Iterable[CatalogError]:
    """§7.1: an event's location decides its community, so polygons must be valid and must not overlap."""
    valid = []
    names = {code: feature["properties"].get("name") or code for feature, code in zip(features, codes, strict=False)}
    for feature, code in zip(features, codes, strict=False):
        geometry = feature["geometry"]
        polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        if any(ring[0] != ring[-1] for polygon in polygons for ring in polygon):
            yield CatalogError(COMMUNITIES, f"{code}.geometry",
                               "a ring is not closed (first and last positions differ)",
                               zh="辖区边界没有闭合（首尾两点不同）：请重新绘制边界")
            continue
        shaped = shape(geometry)
        if not shaped.is_valid:
            yield CatalogError(COMMUNITIES, f"{code}.geometry", f"invalid polygon: {explain_validity(shaped)}",
                               zh="辖区边界不是有效的多边形（如边线自相交）：请重新绘制边界")
            continue
        for other_code, other in valid:
            # Sharing a boundary is fine; sharing any interior point is not ('T********' = interiors meet).
            if shaped.intersects(other) and shaped.relate_pattern(other, "T********"):
                yield CatalogError(COMMUNITIES, f"{code}.geometry", f"overlaps community {other_code!r}",
                                   zh=f"辖区边界与「{names[other_code]}」重叠：请调整边界，相邻社区只能共用边线")
        valid.append((code, shaped))
