"""考核得分 — an assessment score per unit, person or community for a period (issue #8, §8.6, §9).

score = Σ weightᵢ × indicatorᵢ (each indicator a ratio from 0 to 1; one with nothing to count is left out and
the other weights are scaled up to the same total) − deduction × each entry of the period's circular
(响应超期, 反馈不及时, 处置不到位) − deduction × each failed spot check (a community's), never below 0.

The weights and deductions are settings (`EVENTFLOW_ASSESSMENT_WEIGHTS`, `EVENTFLOW_ASSESSMENT_DEDUCTION`), so
a city changes them without code. Every score comes with its parts, so it can be recomputed.
"""
from __future__ import annotations

from engine.casework import record
from engine.oversight import circular as circulars
from engine.oversight import indicators
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


def scores(session, catalogs, level: str, start, end, weights: dict[str, float], deduction: float,
           found: dict | None = None) -> dict[str, dict]:
    """{party: {score, full, parts: [...], deductions: {...}}} (`found`: the period's `indicators.compute`, if
    the caller has it already)."""
    if level not in indicators.LEVELS:
        raise InvalidData([{"field": "level", "reason": f"one of {', '.join(indicators.LEVELS)}"}])
    found = indicators.compute(session, level, start, end) if found is None else found
    listed = circulars.counts(session, start, end)[level]
    full = sum(weights.values())
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
        result[party] = {"score": round(max(earned - sum(deductions.values()), 0.0), 2), "full": full,
                         "parts": parts, "deductions": deductions}
    return result


def report(cmd, level: str, start, end, weights: dict[str, float], deduction: float) -> list[dict]:
    """The scores of the parties `cmd.user` may see (engine/oversight/indicators.py `visible`), each with its name."""
    found = scores(cmd.session, cmd.catalogs, level, start, end, weights, deduction)
    keep = indicators.visible(cmd.session, cmd.catalogs, cmd.user, level, found)
    names = record.named(cmd.session, cmd.catalogs, keep) if level == "person" else None
    return [{"key": party, "name": indicators.describe(cmd.catalogs, level, party, {}, names)["name"], **found[party]}
            for party in keep]
