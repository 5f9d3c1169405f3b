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
        yield CatalogError(RETURN_REASONS, "", "no reason with needs_text: true (其他, said in words)")


def _check_step_limits(rows: list[dict], communities: set[str], event_types: set[str],
                       kinds: set[str]) -> Iterable[CatalogError]:
    """§8.1: each row names a community (or "*") and an Appendix A type (or "default"), once; its limits are
    durations of a step that is a deadline kind."""
    seen: dict[tuple[str, str], int] = {}
    for position, row in enumerate(rows):
        where, key = f"[{position}]", (row["community"], row["event_type"])
        if row["community"] != "*" and row["community"] not in communities:
            yield CatalogError(STEPS, f"{where}.community", f"unknown community {row['community']!r} (or \"*\")")
        if row["event_type"] != "default" and row["event_type"] not in event_types:
            yield CatalogError(STEPS, f"{where}.event_type",
                               f"unknown event type {row['event_type']!r} (an Appendix A code or \"default\")")
        if key in seen:
            yield CatalogError(STEPS, where, f"{key[0]} {key[1]} is set twice (rows {seen[key] + 1} and {position + 1})")
        seen.setdefault(key, position)
        for step in STEP_FIELDS:
            if step not in row:
                continue
            if step not in kinds:
                yield CatalogError(STEPS, f"{where}.{step}", f"no deadline kind {step!r} in deadline_kinds.json")
            try:
                parse_duration(row[step])
            except ValueError as exc:
                yield CatalogError(STEPS, f"{where}.{step}", str(exc))


def _check_escalation(rows: list[dict], units: dict[str, dict], limits: set[str]) -> Iterable[CatalogError]:
    """The ladder: codes unique; `after` a duration, given exactly for `missed_for`; its limits and units
    known; someone told (duty_officer alone tells no one); a message naming only what is filled in."""
    yield from _unique(ESCALATION, rows, "code")
    for row in rows:
        code = row["code"]
        if row["trigger"] == "missed_for":
            if "after" not in row:
                yield CatalogError(ESCALATION, f"{code}.after", "missed_for needs `after`, e.g. \"PT4H\"")
            else:
                try:
                    parse_duration(row["after"])
                except ValueError as exc:
                    yield CatalogError(ESCALATION, f"{code}.after", str(exc))
        elif "after" in row:
            yield CatalogError(ESCALATION, f"{code}.after", f"only a missed_for rung has `after`, not {row['trigger']}")
        for i, limit in enumerate(row.get("limits", [])):
            if limit not in limits:
                yield CatalogError(ESCALATION, f"{code}.limits[{i}]", f"unknown deadline kind {limit!r}")
        for i, who in enumerate(row["notify"]):
            if who.startswith("unit:") and who[5:] not in units:
                yield CatalogError(ESCALATION, f"{code}.notify[{i}]", f"unknown unit {who[5:]!r}")
        if row["notify"] == ["duty_officer"]:
            yield CatalogError(ESCALATION, f"{code}.notify",
                               "duty_officer only copies the units told: name who is told as well")
        yield from _check_template(f"{code}.message", row["message"])


def _check_template(path: str, text: str) -> Iterable[CatalogError]:
    try:
        fields = [(name, conversion, spec) for _, name, spec, conversion in Formatter().parse(text) if name is not None]
    except ValueError as exc:
        yield CatalogError(ESCALATION, path, f"unbalanced braces: {exc} (write {{{{ and }}}} for a brace itself)")
        return
    for name, conversion, spec in fields:
        if name not in PLACEHOLDERS or conversion or spec:
            yield CatalogError(ESCALATION, path, f"unknown placeholder {{{name}}}: one of "
                                                 + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS))


def _check_duty_rosters(rows: list[dict], units: dict[str, dict]) -> Iterable[CatalogError]:
    """Each entry names a unit of the tree and a real date, and a unit has one person per date."""
    seen = set()
    for position, row in enumerate(rows):
        where = f"[{position}]"
        if row["unit"] not in units:
            yield CatalogError(DUTY, f"{where}.unit", f"unknown unit {row['unit']!r}")
        try:
            date.fromisoformat(row["date"])
        except ValueError:
            yield CatalogError(DUTY, f"{where}.date", f"{row['date']!r} is not a date")
        if (row["unit"], row["date"]) in seen:
            yield CatalogError(DUTY, where, f"{row['unit']} has two people on duty on {row['date']}")
        seen.add((row["unit"], row["date"]))


def _check_warn_shares(rows: list[dict]) -> Iterable[CatalogError]:
    for row in rows:
        share = row["warn_share"]
        if isinstance(share, str) and not 0 < Fraction(share) < 1:
            yield CatalogError(DEADLINE_KINDS, f"{row['code']}.warn_share", f"{share} is not between 0 and 1")


def _check_default_limits(rows: list[dict]) -> Iterable[CatalogError]:
    """A kind counted in working time reads its default limit as working days ("P3D") or office hours
    ("PT2H"), never both (engine/limits/deadlines.py)."""
    for row in rows:
        limit = row.get("default_limit")
        if limit and row["basis"] == "working" and "D" in limit and "T" in limit:
            yield CatalogError(DEADLINE_KINDS, f"{row['code']}.default_limit",
                               f"{limit} mixes days and hours: a working-time limit is \"P<n>D\" or \"PT<h>H\"")


def _check_calendar(calendar: dict) -> Iterable[CatalogError]:
    """Office hours that open before they close; each year's dates real, in that year, and a day either
    off or worked, not both."""
    hours = calendar["office_hours"]
    if hours["start"] >= hours["end"]:
        yield CatalogError(CALENDAR, "office_hours", f"start {hours['start']} is not before end {hours['end']}")
    for year, days in calendar["years"].items():
        for kind in ("holidays", "workdays"):
            for position, text in enumerate(days[kind]):
                try:
                    day = date.fromisoformat(text)
                except ValueError:
                    yield CatalogError(CALENDAR, f"years.{year}.{kind}[{position}]", f"{text!r} is not a date")
                    continue
                if str(day.year) != year:
                    yield CatalogError(CALENDAR, f"years.{year}.{kind}[{position}]", f"{text} is not in {year}")
                elif kind == "holidays" and day.weekday() >= 5:
                    yield CatalogError(CALENDAR, f"years.{year}.{kind}[{position}]",
                                       f"{text} is a weekend day: list only weekdays that are off")
                elif kind == "workdays" and day.weekday() < 5:
                    yield CatalogError(CALENDAR, f"years.{year}.{kind}[{position}]",
                                       f"{text} is a weekday: list only weekend days that are worked (调休)")
        for both in sorted(set(days["holidays"]) & set(days["workdays"])):
            yield CatalogError(CALENDAR, f"years.{year}", f"{both} is listed both as a holiday and as a workday")


def _unique(file: str, rows: list[dict], field: str, ids: list[str] | None = None) -> Iterable[CatalogError]:
    """Every row's ``field`` differs; rows are named by code (or ``ids``), positions counted from 1."""
    ids = ids or [row["code"] for row in rows]
    first_seen: dict[Any, int] = {}
    for position, row in enumerate(rows, start=1):
        value = row[field]
        if value in first_seen:
            path = ids[position - 1] if field == "code" else f"{ids[position - 1]}.{field}"
            yield CatalogError(file, path, f"duplicate {field} {value!r} (entries {first_seen[value]} and {position})")
        else:
            first_seen[value] = position


def _check_units(rows: list[dict], units: dict[str, dict]) -> Iterable[CatalogError]:
    yield from _unique(UNITS, rows, "code")
    for unit in rows:
        parent = unit["parent"]
        if parent is None:
            continue
        if parent not in units:
            yield CatalogError(UNITS, f"{unit['code']}.parent", f"unknown unit {parent!r}")
        elif unit["kind"] == "office" and units[parent]["kind"] not in OFFICE_PARENT_KINDS:
            yield CatalogError(UNITS, f"{unit['code']}.parent",
                               f"an office's parent must be a department or company, "
                               f"{parent!r} is kind {units[parent]['kind']!r}")
    yield from _parent_cycles(units)
    authorities = [u["code"] for u in rows if u["kind"] == "authority"]
    if not authorities:
        yield CatalogError(UNITS, "", "no unit of kind 'authority' (the city authority approves "
                                      "extensions, §8.4, and spot-checks, §9.3)")
    for extra in authorities[1:]:
        yield CatalogError(UNITS, f"{extra}.kind",
                           f"more than one city authority (already {authorities[0]!r}); §8.4 needs exactly one")


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
                               "parent cycle: " + " → ".join([*cycle, cycle[0]]))


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
                                       str(exc))


def _expect_unit(file: str, path: str, code: str, units: dict[str, dict],
                 kinds: tuple[str, ...] | None) -> Iterable[CatalogError]:
    if code not in units:
        yield CatalogError(file, path, f"unknown unit {code!r}")
    elif kinds and units[code]["kind"] not in kinds:
        yield CatalogError(file, path, f"unit {code!r} is kind {units[code]['kind']!r}, expected "
                                       + " or ".join(repr(k) for k in kinds))


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
                yield CatalogError(COMMUNITIES, f"{code}.whistle_list[{i}]", f"unknown event type {type_code!r}")
        for key, value in p["time_limits"].items():  # §8.1
            if key != "default" and key not in event_types:
                yield CatalogError(COMMUNITIES, f"{code}.time_limits.{key}",
                                   f"unknown event type {key!r} (keys are 'default' or Appendix A codes)")
            try:
                parse_duration(value)
            except ValueError as exc:
                yield CatalogError(COMMUNITIES, f"{code}.time_limits.{key}", str(exc))
    yield from _check_polygons(features, codes)


def _check_polygons(features: list[dict], codes: list[str]) -> Iterable[CatalogError]:
    """§7.1: an event's location decides its community, so polygons must be valid and must not overlap."""
    valid = []
    for feature, code in zip(features, codes, strict=False):
        geometry = feature["geometry"]
        polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        if any(ring[0] != ring[-1] for polygon in polygons for ring in polygon):
            yield CatalogError(COMMUNITIES, f"{code}.geometry",
                               "a ring is not closed (first and last positions differ)")
            continue
        shaped = shape(geometry)
        if not shaped.is_valid:
            yield CatalogError(COMMUNITIES, f"{code}.geometry", f"invalid polygon: {explain_validity(shaped)}")
            continue
        for other_code, other in valid:
            # Sharing a boundary is fine; sharing any interior point is not ('T********' = interiors meet).
            if shaped.intersects(other) and shaped.relate_pattern(other, "T********"):
                yield CatalogError(COMMUNITIES, f"{code}.geometry", f"overlaps community {other_code!r}")
        valid.append((code, shaped))
