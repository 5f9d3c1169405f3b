"""抽查 — spot checks by the city authority (§9.3: 市级主管部门定期对社区事件信息处置…情况进行抽查通报，并将抽查
结果纳入社区联合党委考核; issue #8).

A draw takes a community, a period and a size: the events of that community closed in the period, in id
order, are sampled with Python's `random.Random(seed).sample` — the seed is recorded (given, or drawn from
the operating system's randomness), so anyone can draw the same sample again from the same events. Each
checked event gets a finding (合格 or 不合格, with what was found); the pass rate counts in the community's
(its joint party committee's) indicators.
"""
from __future__ import annotations

import random
import secrets

from sqlalchemy import func, select

from engine.clock import local
from engine.errors import Conflict, Forbidden, InvalidData, NotFound
from engine.models import Audit, Event, SpotCheck, SpotCheckFinding

CHECKERS = ("city_authority", "system_admin")
MAX_SIZE = 200


def candidates(session, community: str, start, end) -> list[int]:
    """The events a draw samples from: the community's events closed in [start, end), in id order."""
    return list(session.scalars(select(Event.id).where(Event.community == community, Event.status == "closed",
                                                       Event.closed_at >= start, Event.closed_at < end)
                                .order_by(Event.id)))


def sample(ids: list[int], size: int, seed: int) -> list[int]:
    """The draw itself: reproducible from the seed."""
    return random.Random(seed).sample(ids, min(size, len(ids)))


def draw(session, catalogs, user, now, community, start, end, size, seed=None) -> SpotCheck:
    if not set(user.roles) & set(CHECKERS):
        raise Forbidden(f"this needs one of the roles {', '.join(CHECKERS)}", field="role")
    errors = []
    if catalogs.community(community) is None:
        errors.append({"field": "community", "reason": f"unknown community {community!r}"})
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_SIZE:
        errors.append({"field": "size", "reason": f"a whole number from 1 to {MAX_SIZE}"})
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63):
        errors.append({"field": "seed", "reason": "a whole number from 0 to 2^63-1 (leave it out to draw one)"})
    if start is None or end is None or end <= start:
        errors.append({"field": "to" if start is not None else "from", "reason": "a period with from before to"})
    if errors:
        raise InvalidData(errors)
    seed = secrets.randbits(62) if seed is None else seed
    chosen = sample(candidates(session, community, start, end), size, seed)
    check = SpotCheck(community=community, period_from=start, period_to=end, size=size, seed=seed,
                      drawn_by=user.username, drawn_at=now, sample=chosen)
    session.add(check)
    session.flush()
    session.add(Audit(at=now, actor=user.username, action="spot_check_drawn",
                      data={"spot_check": check.id, "community": community, "seed": seed, "sample": chosen}))
    return check


def record(session, user, now, check_id: int, event_id: int, body) -> SpotCheckFinding:
    """The finding on one drawn event (once; a second finding on it is refused)."""
    if not set(user.roles) & set(CHECKERS):
        raise Forbidden(f"this needs one of the roles {', '.join(CHECKERS)}", field="role")
    check = session.get(SpotCheck, check_id)
    if check is None:
        raise NotFound(f"spot check {check_id} does not exist", field="spot_check_id")
    if event_id not in (check.sample or []):
        raise NotFound(f"event {event_id} was not drawn in spot check {check_id}", field="event_id")
    body = body if isinstance(body, dict) else {}
    errors = []
    if not isinstance(body.get("passed"), bool):
        errors.append({"field": "passed", "reason": "true (合格) or false (不合格)"})
    note = body.get("note")
    if not isinstance(note, str) or len(note.strip()) < 2:
        errors.append({"field": "note", "reason": "写明抽查情况，至少2个字 (what was found, at least 2 characters)"})
    if errors:
        raise InvalidData(errors)
    if session.scalar(select(SpotCheckFinding.id).where(SpotCheckFinding.spot_check_id == check_id,
                                                        SpotCheckFinding.event_id == event_id)) is not None:
        raise Conflict("该事件已有抽查结论 (this event's finding is recorded)", field="event_id")
    finding = SpotCheckFinding(spot_check_id=check_id, event_id=event_id, passed=body["passed"],
                               note=note.strip()[:2000], checked_by=user.username, checked_at=now)
    session.add(finding)
    session.add(Audit(at=now, actor=user.username, action="spot_checked", event_id=event_id,
                      data={"spot_check": check_id, "passed": body["passed"], "note": finding.note}))
    return finding


def describe(session, check: SpotCheck) -> dict:
    findings = {f.event_id: f for f in session.scalars(select(SpotCheckFinding).where(
        SpotCheckFinding.spot_check_id == check.id))}
    numbers = dict(session.execute(select(Event.id, Event.number).where(Event.id.in_(check.sample or []))).all()) \
        if check.sample else {}
    return {"id": check.id, "community": check.community, "from": local(check.period_from),
            "to": local(check.period_to), "size": check.size, "seed": check.seed, "drawn_by": check.drawn_by,
            "drawn_at": local(check.drawn_at),
            "items": [{"event_id": e, "event_number": numbers.get(e),
                       "finding": None if e not in findings else {
                           "passed": findings[e].passed, "note": findings[e].note,
                           "checked_by": findings[e].checked_by, "checked_at": local(findings[e].checked_at)}}
                      for e in check.sample or []]}


def pass_counts(session, start, end) -> dict[str, tuple[int, int]]:
    """{community: (合格数, 抽查数)} of the findings recorded in [start, end)."""
    rows = session.execute(select(SpotCheck.community, SpotCheckFinding.passed, func.count(SpotCheckFinding.id))
                           .join(SpotCheck, SpotCheck.id == SpotCheckFinding.spot_check_id)
                           .where(SpotCheckFinding.checked_at >= start, SpotCheckFinding.checked_at < end)
                           .group_by(SpotCheck.community, SpotCheckFinding.passed))
    counts: dict[str, list[int]] = {}
    for community, passed, number in rows:
        entry = counts.setdefault(community, [0, 0])
        entry[1] += number
        entry[0] += number if passed else 0
    return {c: (p, t) for c, (p, t) in counts.items()}
