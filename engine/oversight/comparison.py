"""环比 and 排名 (issue #20): how a party's §8.6 indicators and assessment score moved since the previous period,
and where its score stands among the parties of its kind.

- **The previous period** is the one of equal length just before: the same number of calendar months before a
  period of whole months (Asia/Shanghai: October against September, a quarter against the quarter before), the
  same number of days before any other period of whole days, the same length before any other period. Both are
  read from the counts kept per day (engine/oversight/rollups.py), so the comparison costs what a second period
  does, whatever its length.
- **The change** of a rate is in percentage points (0.5 → 0.6 is +10.0), of the average handling time in hours;
  none when either period has nothing to count.
- **The rank** (排名) is among the parties of the same kind that have a score in the period: communities among
  communities, a city department among city departments (a local office among local offices, a joint party
  committee among committees: the unit catalog's `kind`), a person among people of the same role (their first
  role in engine/accounts/users.py's order). Equal scores share a rank (1, 2, 2, 4). A party with no score
  (无数据，不评分: engine/oversight/assessment.py) has no rank and is not counted among those ranked.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import select

from engine.accounts.users import ROLES
from engine.oversight import rollups

#: the names of the kinds of unit (catalogs/README.md), for the page's 排名 (of which kind)
UNIT_KINDS = {"department": "市直部门", "office": "基层站所", "company": "公共服务企业", "committee": "社区联合党委",
              "authority": "市级主管部门"}
#: the indicator whose change is in hours, not percentage points
HOURS = ("average_handling_hours",)


def _months_before(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def previous_period(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """[start, end)'s previous period of equal length (the module's docstring)."""
    days = rollups.whole_days(start, end)
    if days is None:
        return start - (end - start), start
    first, last = days
    if first.day == 1 and last.day == 1:
        months = (last.year - first.year) * 12 + last.month - first.month
        return rollups.midnight(_months_before(first, months)), rollups.midnight(first)
    return rollups.midnight(first - timedelta(days=(last - first).days)), rollups.midnight(first)


def change(key: str, now: float | None, before: float | None) -> float | None:
    """环比 of one indicator: percentage points for a rate, hours for the average handling time."""
    if now is None or before is None:
        return None
    if key in HOURS:
        return round(now - before, 2)
    return round((now - before) * 100, 1)


def kinds(session, catalogs, level: str, parties) -> dict[str, tuple[str, str]]:
    """{party: (kind, its name)} — what a party is ranked among — in one read of the people for `person`."""
    parties = list(parties)
    if level == "community":
        return {party: ("community", "社区") for party in parties}
    if level == "unit":
        found = {}
        for party in parties:
            kind = (catalogs.unit(party) or {}).get("kind", "unit")
            found[party] = (kind, UNIT_KINDS.get(kind, "单位"))
        return found
    from engine.store.models import User
    role_names = {o["value"]: o["label"] for o in catalogs.options("roles")}
    roles = dict(session.execute(select(User.username, User.roles).where(User.username.in_(parties)))
                 .all()) if parties else {}
    found = {}
    for party in parties:
        first = next((r for r in ROLES if r in (roles.get(party) or ())), None)
        found[party] = (first, role_names.get(first, first)) if first else ("person", "个人")
    return found


def rank(scores: dict[str, dict], of_kind: dict[str, tuple[str, str]]) -> None:
    """Add to each party's score its `kind`, `kind_name`, `rank` among the scored parties of its kind (None
    without a score) and `ranked`, how many of its kind have a score."""
    groups: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for party, found in scores.items():
        found["kind"], found["kind_name"] = of_kind.get(party, ("", ""))
        if found["score"] is not None:
            groups[found["kind"]].append((found["score"], party))
    for found in scores.values():
        found["rank"], found["ranked"] = None, len(groups[found["kind"]])
    for members in groups.values():
        members.sort(key=lambda pair: (-pair[0], pair[1]))
        last_score, last_rank = None, 0
        for position, (score, party) in enumerate(members, start=1):
            if score != last_score:
                last_score, last_rank = score, position
            scores[party]["rank"] = last_rank
