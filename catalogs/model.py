"""The loaded, validated catalogs and the lookups the engine and web layers use.

Build one with :func:`catalogs.load_catalogs`; the constructor assumes data that passed the loader's checks.
Every accessor returns a copy, so callers may change what they get without changing the catalogs.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import shapely
from shapely.geometry import shape

# §8.1: 一般要求在2小时内处置完毕 — the time limit when a community sets none.
DEFAULT_TIME_LIMIT = "PT2H"
# Public catalog names, as in GET /api/catalogs/{name}.
NAMES = ("roles", "units", "departments", "event_types", "one_thing_matters", "communities", "deadline_kinds",
         "calendar", "duty_rosters", "channels", "escalation", "return_reasons", "step_limits")
#: §8.1 the community's own steps that carry a limit (catalogs/data/step_limits.json; deadline kinds of the
#: same codes in deadline_kinds.json)
STEPS = ("verify", "analyse", "whistle", "check")
#: units that take orders (派单, 协办): city departments, their local offices, and the companies of
#: Table B.1 (供电局, 水务公司)
DEPARTMENT_KINDS = ("department", "office", "company")


class Catalogs:
    """Roles, the unit tree, Appendix A and B, and the communities, indexed by code."""

    def __init__(self, data: dict[str, Any], content_hash: str):
        self._data = data
        self.content_hash = content_hash  # sha256 over the data files: changes whenever a file does
        self._roles = {r["code"]: r for r in data["roles"]}
        self._role_by_name = {r["name"]: r["code"] for r in data["roles"]}
        self._units = {u["code"]: u for u in data["units"]}
        self._within: dict[str, tuple[str, ...]] = {}   # units_within, per scope unit
        self._event_types = {t["code"]: t for t in data["event_types"]}
        self._one_thing = {m["code"]: m for m in data["one_thing_matters"]}
        self._deadline_kinds = {k["code"]: k for k in data["deadline_kinds"]}
        self._channels = {c["code"]: c for c in data["channels"]}
        self._return_reasons = {r["code"]: r for r in data["return_reasons"]}
        self._duty = {(d["unit"], d["date"]): d["person"] for d in data["duty_rosters"]}
        self._steps = {(r["community"], r["event_type"]): r for r in data["step_limits"]}
        features = data["communities"]["features"]
        self._communities = {f["properties"]["code"]: f["properties"] for f in features}
        self._areas = []
        for feature in features:
            area = shape(feature["geometry"])
            shapely.prepare(area)  # community_at runs on every report; prepared geometry makes it cheap
            self._areas.append((feature["properties"]["code"], area))

    def replace_with(self, other: "Catalogs") -> None:
        """Take on another load's data (an edit saved in the app): everyone holding this object sees the
        new catalogs at once. Each lookup reads one index, so a reader sees the old or the new one."""
        self.__dict__.update(other.__dict__)

    # -- GET /api/catalogs/{name} ---------------------------------------------------------------

    def names(self) -> list[str]:
        return list(NAMES)

    def get(self, name: str) -> Any:
        """JSON-serialisable catalog ``name``; raises KeyError for an unknown name."""
        if name == "departments":
            return [copy.deepcopy(u) for u in self._data["units"] if u["kind"] in DEPARTMENT_KINDS]
        if name not in NAMES:
            raise KeyError(name)
        return copy.deepcopy(self._data[name])

    def options(self, name: str) -> list[dict[str, str]]:
        """Form choices ``[{"value": code, "label": 中文}]`` in file order; KeyError for an unknown name."""
        if name in ("units", "departments"):
            return [{"value": u["code"], "label": self._unit_label(u)} for u in self.get(name)]
        if name == "roles":
            return [{"value": r["code"], "label": r["name"]} for r in self._data["roles"]]
        if name == "event_types":  # "A05 市容环境卫生 · 人行道秩序整治"
            return [{"value": t["code"], "label": f"{t['code']} {t['category']} · {t['content']}"}
                    for t in self._data["event_types"]]
        if name == "one_thing_matters":
            return [{"value": m["code"], "label": f"{m['code']} {m['name']}"} for m in self._data["one_thing_matters"]]
        if name == "communities":
            return [{"value": code, "label": p["name"]} for code, p in self._communities.items()]
        if name == "duty_rosters":
            return [{"value": f"{d['unit']}:{d['date']}", "label": f"{d['date']} {d['unit']} {d['person']}"}
                    for d in self._data["duty_rosters"]]
        if name == "deadline_kinds":
            return [{"value": k["code"], "label": f"{k['name']}（{k['clause']}）"} for k in self._data["deadline_kinds"]]
        if name == "escalation":
            return [{"value": r["code"], "label": f"{r['name']}（{r['clause']}）"} for r in self._data["escalation"]]
        if name == "return_reasons":
            return [{"value": r["code"], "label": r["name"]} for r in self._data["return_reasons"]]
        if name == "step_limits":
            return [{"value": f"{r['community']}:{r['event_type']}", "label": f"{r['community']} {r['event_type']}"}
                    for r in self._data["step_limits"]]
        raise KeyError(name)

    def _unit_label(self, unit: dict) -> str:
        if unit["kind"] == "office" and unit["parent"] in self._units:  # "公安局 / 龙港派出所"
            return f"{self._units[unit['parent']]['name']} / {unit['name']}"
        return unit["name"]

    # -- roles and units ------------------------------------------------------------------------

    def role(self, code_or_name: str) -> str | None:
        """Role code for a code or a Chinese name (BPMN lanes may use either), else None."""
        if code_or_name in self._roles:
            return code_or_name
        return self._role_by_name.get(code_or_name)

    def unit(self, code: str) -> dict | None:
        unit = self._units.get(code)
        return copy.deepcopy(unit) if unit is not None else None

    def unit_ancestors(self, code: str) -> list[str]:
        """``code`` and its parents up to the root, e.g. ``["gongan.longgang_pcs", "gongan"]``.

        Raises KeyError for an unknown unit.
        """
        if code not in self._units:
            raise KeyError(code)
        chain = []
        while code is not None:  # the loader guarantees the tree has no cycles
            chain.append(code)
            code = self._units[code]["parent"]
        return chain

    def units_within(self, scope_unit_code: str) -> list[str]:
        """Codes of ``scope_unit_code`` and every unit below it, in file order; worked out once per unit and
        load (each signed-in request of a unit's user asks: engine/accounts/permissions.py)."""
        found = self._within.get(scope_unit_code)
        if found is None:
            found = self._within[scope_unit_code] = tuple(code for code in self._units
                                                          if self.is_within(code, scope_unit_code))
        return list(found)

    def is_within(self, unit_code: str, scope_unit_code: str) -> bool:
        """True when ``unit_code`` is ``scope_unit_code`` or below it; False for unknown codes."""
        return unit_code in self._units and scope_unit_code in self.unit_ancestors(unit_code)

    def city_authority(self) -> str:
        """Code of the 市级主管部门 that approves extensions (§8.4) and spot-checks (§9.3)."""
        return next(u["code"] for u in self._data["units"] if u["kind"] == "authority")

    # -- Appendix A, communities ----------------------------------------------------------------

    def event_type(self, code: str) -> dict | None:
        row = self._event_types.get(code)
        return copy.deepcopy(row) if row is not None else None

    def process_of(self, code: str | None) -> str | None:
        """The process an event of type ``code`` starts, if its Table A.1 row names one (``process``);
        None: the default one (Figure 1's community_event)."""
        return (self._event_types.get(code) or {}).get("process")

    def processes_named(self) -> dict[str, str]:
        """Every event type that names its own process: {code: process key}, in file order."""
        return {code: row["process"] for code, row in self._event_types.items() if row.get("process")}

    def sensitive_codes(self) -> tuple[str, ...]:
        """The codes of Table A.1's sensitive rows (1–3), in file order."""
        return tuple(code for code, row in self._event_types.items() if row.get("sensitive"))

    def offered(self, name: str) -> list[dict]:
        """The rows of Table A.1 (``event_types``) or B.1 (``one_thing_matters``) offered for new reports: all
        but the retired ones (issue #19), in file order."""
        return [copy.deepcopy(row) for row in self._data[name] if not row.get("retired")]

    def is_retired(self, code: str | None) -> bool:
        """A Table A.1 or B.1 row no longer offered for new reports (its events still name it)."""
        row = self._event_types.get(code) or self._one_thing.get(code) or {}
        return bool(row.get("retired"))

    def is_sensitive(self, code: str) -> bool:
        """Table A.1 rows 1–3 (重点人员、警情): never listed publicly (issue #5), restricted views (#6)."""
        return bool((self._event_types.get(code) or {}).get("sensitive"))

    def channel(self, code: str) -> dict | None:
        """A §5.3 citizen channel of the Open311 endpoint (12345 hotline, 智慧村社通, 随手拍 …)."""
        row = self._channels.get(code)
        return copy.deepcopy(row) if row is not None else None

    def return_reason(self, code: str | None) -> dict | None:
        """退回原因: one of the coded reasons a unit returns an order with (name, needs_text), or None."""
        row = self._return_reasons.get(code) if code is not None else None
        return copy.deepcopy(row) if row is not None else None

    def deadline_kind(self, code: str) -> dict | None:
        """A §8 time limit's settings: basis (natural | working), warn_share, max_extensions."""
        kind = self._deadline_kinds.get(code)
        return copy.deepcopy(kind) if kind is not None else None

    def on_duty(self, unit_code: str, day: str) -> str | None:
        """值班表: who is on duty for a unit (or, failing that, the nearest unit above it) on `day`."""
        for code in self.unit_ancestors(unit_code) if unit_code in self._units else []:
            person = self._duty.get((code, day))
            if person:
                return person
        return None

    def rungs(self, trigger: str, limit: str | None = None) -> list[dict]:
        """逐级通知: the rungs of the escalation ladder fired by `trigger` (dispatched | warning | missed |
        missed_for) for a time limit of kind `limit`, in file order."""
        return [copy.deepcopy(r) for r in self._data["escalation"] if r["trigger"] == trigger
                and (limit is None or "limits" not in r or limit in r["limits"])]

    def rung(self, code: str) -> dict | None:
        """One rung of the escalation ladder by its code."""
        row = next((r for r in self._data["escalation"] if r["code"] == code), None)
        return copy.deepcopy(row) if row is not None else None

    def calendar(self) -> dict:
        """Office hours and the holiday arrangements of years beyond chinesecalendar (工作日历)."""
        return copy.deepcopy(self._data["calendar"])

    def one_thing_matter(self, code: str) -> dict | None:
        row = self._one_thing.get(code)
        return copy.deepcopy(row) if row is not None else None

    def competent_department(self, event_type_code: str) -> str:
        """Appendix A 主管部门 of an event type; raises KeyError for an unknown type."""
        return self._event_types[event_type_code]["department"]

    def community(self, code: str) -> dict | None:
        """A community's properties (code, name, committee, whistle_list, time_limits, grids if listed), or None."""
        props = self._communities.get(code)
        return copy.deepcopy(props) if props is not None else None

    def community_at(self, lat: float, lng: float) -> str | None:
        """§7.1 jurisdiction: the community whose area holds the point, else None.

        Arguments are (lat, lng) as maps and phones give them; GeoJSON stores (lng, lat).  A point on a
        shared boundary belongs to the first such community in the file.
        """
        lat, lng = float(lat), float(lng)
        if not (math.isfinite(lat) and math.isfinite(lng)):
            return None
        for code, area in self._areas:
            if shapely.intersects_xy(area, lng, lat):  # intersects = inside or on the boundary
                return code
        return None

    def time_limit(self, community_code: str | None, event_type_code: str | None) -> str:
        """§8.1 disposal time limit as an ISO 8601 duration: the community's override for the type,
        else the community's default, else PT2H (also for an unknown or missing community)."""
        props = self._communities.get(community_code) if community_code is not None else None
        limits = props["time_limits"] if props is not None else {}
        return limits.get(event_type_code) or limits.get("default") or DEFAULT_TIME_LIMIT

    def step_limit(self, step: str, community_code: str | None, event_type_code: str | None) -> str | None:
        """§8.1 the limit of one of the community's own steps (`STEPS`: 核实, 研判, 吹哨/派单, 核查) for an event
        of this type, the most particular row that sets it: the community's for the type, the community's
        default, every community's for the type, every community's default; None when no row sets it."""
        for key in ((community_code, event_type_code), (community_code, "default"), ("*", event_type_code),
                    ("*", "default")):
            value = (self._steps.get(key) or {}).get(step)
            if value:
                return value
        return None

    def one_thing_limits(self, code: str | None, unit_code: str | None = None) -> dict:
        """Appendix B: the limits a "one thing" matter's row sets — `lead` (the lead's, for the whole matter)
        and, for a co-operating unit, its `accept` and `close` (its own row, else the row's `default`); {} for
        none."""
        limits = (self._one_thing.get(code) or {}).get("limits") or {}
        if unit_code is None:
            return {"lead": limits["lead"]} if "lead" in limits else {}
        return copy.deepcopy(limits.get(unit_code) or limits.get("default") or {})

    def whistle_listed(self, community_code: str, event_type_code: str) -> bool:
        """§7.3.2: whether the community's whistle list marks this Appendix A type."""
        props = self._communities.get(community_code)
        return props is not None and event_type_code in props["whistle_list"]
