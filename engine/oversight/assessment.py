"""考核得分 — an assessment score per unit, person or community for a period (issue #8, §8.6, §9).

score = Σ weightᵢ × indicatorᵢ (each indicator a ratio from 0 to 1; one with nothing to count is left out and
the other weights are scaled up to the same total) − deduction × each entry of the period's circular
(响应超期, 反馈不及时, 处置不到位) − deduction × each failed spot check (a community's), never below 0.

The weights and deductions are settings (`EVENTFLOW_ASSESSMENT_WEIGHTS`, `EVENTFLOW_ASSESSMENT_DEDUCTION`), so
a city changes them without code. Every score comes with its parts, so it can be recomputed.

No score is given on no data (issue #20): a party whose period has nothing to count for an indicator the score
requires (`EVENTFLOW_ASSESSMENT_REQUIRES`, by default 按期处置率: nothing of theirs fell due) — or for none of the
weighted ones — gets `score: null` with 「无数据，不评分」 and why, and no rank. Each score carries its rank among
the parties of its kind and its change from the previous period (engine/oversight/comparison.py).
"""
from __future__ import annotations

from engine.casework import record
from engine.oversight import circular as circulars
from engine.oversight import comparison, indicators
from engine.core.errors import InvalidData


def parse_weights(text: str) -> dict[str, float]:
    """"on_time_rate:40,first_time_rate:30,…" → {indicator: weight}; a bad one raises ValueError naming it."""
    weights = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, _, number = part.partition(":")
        if name.strip() not in indicators.INDICATORS or name.strip() == "average_handling_hours":
            raise ValueError(f"{name.strip()!r} is not a ratio indicator ({', '.join(indicators.INDICATORS)})")
        try:
            weight = float(number)
        except ValueError:
            raise ValueError(f"the weight of {name.strip()!r} is not a number: {number!r}") from None
        if weight < 0:
            raise ValueError(f"the weight of {name.strip()!r} is negative")
        weights[name.strip()] = weight
    if not weights or sum(weights.values()) <= 0:
        raise ValueError("at least one indicator with a weight above 0")
    return weights


#: what a party without a score shows
NO_DATA = "无数据，不评分"


def parse_required(text: str) -> tuple[str, ...]:
    """"on_time_rate,…" → the indicators without which no score is given; a bad one raises ValueError naming it."""
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    for name in names:
        if name not in indicators.INDICATORS:
            raise ValueError(f"{name!r} is not an indicator ({', '.join(indicators.INDICATORS)})")
    return names


def _at(level: str, names) -> list[str]:
    """Those of these indicators that are counted at `level` (docs/indicators.md)."""
    return [k for k in names if level in indicators.APPLIES.get(k, indicators.LEVELS)]


def scores(session, catalogs, level: str, start, end, weights: dict[str, float], deduction: float,
           found: dict | None = None, required: tuple[str, ...] = ("on_time_rate",)) -> dict[str, dict]:
    """{party: {score, full, parts: [...], deductions: {...}, reason, missing}} (`found`: the period's
    `indicators.compute`, if the caller has it already). `score` is None — `reason` 「无数据，不评分」, `missing`
    the indicators that had nothing to count and why — when a `required` indicator counted at this level, or
    every weighted one, has no value."""
    if level not in indicators.LEVELS:
        raise InvalidData([{"field": "level", "reason": f"one of {', '.join(indicators.LEVELS)}"}])
    found = indicators.compute(session, level, start, end) if found is None else found
    listed = circulars.counts(session, start, end)[level]
    full = sum(weights.values())
    needed, weighed = _at(level, required), _at(level, weights)
    result = {}
    for party in sorted(set(found) | set(listed)):
        values = found.get(party) or {}
        counted = {k: w for k, w in weights.items() if (values.get(k) or {}).get("value") is not None}
        scale = full / sum(counted.values()) if counted else 0
        parts = [{"indicator": k, "name": indicators.INDICATORS[k][0], "weight": w,
                  "value": values[k]["value"], "points": round(w * scale * values[k]["value"], 2)}
                 for k, w in counted.items()]
        entries = listed.get(party, {})
        spot = (values.get("spot_check_pass_rate") or {})
        failed_spots = (spot.get("denominator") or 0) - (spot.get("numerator") or 0)
        deductions = {**{c: n * deduction for c, n in entries.items()}, "spot_check_failed": failed_spots * deduction}
        earned = sum(p["points"] for p in parts) if counted else 0.0
        why = indicators.reasons(level, values) if values else {}
        missing = [k for k in needed if (values.get(k) or {}).get("value") is None] or ([] if counted else weighed)
        unscored = bool(missing) or not counted
        result[party] = {"score": None if unscored else round(max(earned - sum(deductions.values()), 0.0), 2),
                         "full": full, "parts": parts, "deductions": deductions,
                         "reason": NO_DATA if unscored else None,
                         "missing": [{"indicator": k, "name": indicators.INDICATORS[k][0],
                                      "reason": why.get(k) or indicators.EMPTY[k]} for k in missing]}
    return result


def compared(session, catalogs, level: str, start, end, weights: dict[str, float], deduction: float,
             required: tuple[str, ...], found: dict | None = None, previous: dict | None = None) -> dict[str, dict]:
    """`scores` of [start, end), each with its `rank` among its kind (`kind`, `kind_name`, `ranked`), and the
    previous period's score and rank with the change (环比, in points): engine/oversight/comparison.py
    (`found`, `previous`: the two periods' `indicators.compute`, if the caller has them)."""
    now = scores(session, catalogs, level, start, end, weights, deduction, found, required)
    before = scores(session, catalogs, level, *comparison.previous_period(start, end), weights, deduction,
                    previous, required)
    of_kind = comparison.kinds(session, catalogs, level, set(now) | set(before))
    comparison.rank(now, of_kind)
    comparison.rank(before, of_kind)
    for party, score in now.items():
        earlier = before.get(party) or {}
        score["previous_score"], score["previous_rank"] = earlier.get("score"), earlier.get("rank")
        score["change"] = (round(score["score"] - earlier["score"], 2)
                           if score["score"] is not None and earlier.get("score") is not None else None)
    return now


def report(cmd, level: str, start, end, weights: dict[str, float], deduction: float,
           required: tuple[str, ...] = ("on_time_rate",)) -> list[dict]:
    """The scores of the parties `cmd.user` may see (engine/oversight/indicators.py `visible`), each with its
    name, rank and change (`compared`)."""
    found = compared(cmd.session, cmd.catalogs, level, start, end, weights, deduction, required)
    keep = indicators.visible(cmd.session, cmd.catalogs, cmd.user, level, found)
    names = record.named(cmd.session, cmd.catalogs, keep) if level == "person" else None
    return [{"key": party, "name": indicators.describe(cmd.catalogs, level, party, {}, names=names)["name"],
             **found[party]} for party in keep]
