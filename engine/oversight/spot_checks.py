"""抽查 — spot checks by the city authority (§9.3: 市级主管部门定期对社区事件信息处置…情况进行抽查通报，并将抽查
结果纳入社区联合党委考核; issue #8).

A draw takes a community, a period, a size and what to sample — the events of that community that ended
in the period, or its key hazard points (§9.2) reported in it — which, in id order, are sampled with Python's
`random.Random(seed).sample` — the seed is recorded (given, or drawn from
the operating system's randomness), and so is what it was drawn from (`population`): anyone can draw the
same sample again, `random.Random(seed).sample(population, size)`, even after an event of it changed. Each
checked event gets a finding (合格 or 不合格, with what was found); the pass rate counts in the community's
(its joint party committee's) indicators.

"Ended" is every way an event's process ends (`ENDED`): 办结, but also 不属实, 撤单, 退回来源, 转办, 合并 and
终止 — a community must not be able to keep work out of the sample by writing it off (issue #15). Each drawn
event shows how it ended (`status`, `status_name`, `closed_at`).

The results are published (§9.3 抽查通报): a community's people read the draws of their own community
(engine/accounts/permissions.py `may_read_spot_check`), and its monthly report lists the findings of the month
(`findings_of`); a drawn sensitive event they may not see shows as 涉密事件, without its number or the note.
"""
from __future__ import annotations

import random
import secrets

from sqlalchemy import func, select

from engine.accounts import permissions, privacy
from engine.core.clock import local
from engine.core.errors import Conflict, Forbidden, InvalidData, NotFound, must_exist
from engine.pool.events import STATUS_WORDS
from engine.store.models import Audit, Event, HazardPoint, SpotCheck, SpotCheckFinding, User

MAX_SIZE = 200


KINDS = ("events", "hazards")
#: the statuses of an event whose process has ended (all but 办理中 and a start that failed, which waits)
ENDED = tuple(status for status in STATUS_WORDS if status not in ("open", "error"))


def candidates(session, community: str, start, end, kind: str = "events") -> list[int]:
    """What a draw samples from, in id order: the community's events that ended (`ENDED`) in [start, end),
    or its key hazard points (§9.2) reported in it."""
    if kind == "hazards":
        return list(session.scalars(select(HazardPoint.id).where(
            HazardPoint.community == community, HazardPoint.reported_at >= start, HazardPoint.reported_at < end)
            .order_by(HazardPoint.id)))
    return list(session.scalars(select(Event.id).where(Event.community == community, Event.status.in_(ENDED),
                                                       Event.closed_at >= start, Event.closed_at < end)
                                .order_by(Event.id)))


def sample(ids: list[int], size: int, seed: int) -> list[int]:
    """The draw itself: reproducible from the seed."""
    return random.Random(seed).sample(ids, min(size, len(ids)))


def draw(cmd, community, start, end, size, seed=None, kind="events") -> SpotCheck:
    """Draw a sample of `kind` from `community`'s [start, end) (`candidates`), recorded and audited."""
    permissions.SPOT_CHECK.require(cmd.user)
    session, catalogs, now = cmd.session, cmd.catalogs, cmd.now()
    errors = []
    if not isinstance(community, str) or catalogs.community(community) is None:
        errors.append({"field": "community", "reason": f"「社区」{community} 不存在：请从列表中选择 "
                                                       f"(unknown community {community!r})"})
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_SIZE:
        errors.append({"field": "size", "reason": f"「抽取件数」应为 1 到 {MAX_SIZE} 的整数 (a whole number from 1 to {MAX_SIZE})"})
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63):
        errors.append({"field": "seed", "reason": "「随机种子」应为 0 到 2^63-1 的整数，或留空自动生成 "
                                                  "(a whole number from 0 to 2^63-1 (leave it out to draw one))"})
    if start is None or end is None or end <= start:
        errors.append({"field": "to" if start is not None else "from",
                       "reason": "请填写「起」「止」日期，起日期须早于止日期 (a period with from before to)"})
    if kind not in KINDS:
        errors.append({"field": "kind", "reason": "「抽查对象」请选择已结束的事件或重点隐患整治点 "
                                                  "(events (ended events) or hazards (key hazard points))"})
    if errors:
        raise InvalidData(errors)
    seed = secrets.randbits(62) if seed is None else seed
    population = candidates(session, community, start, end, kind)
    chosen = sample(population, size, seed)
    check = SpotCheck(community=community, kind=kind, period_from=start, period_to=end, size=size, seed=seed,
                      drawn_by=cmd.actor, drawn_at=now, sample=chosen, population=population)
    session.add(check)
    session.flush()
    session.add(Audit(at=now, actor=cmd.actor, action="spot_check_drawn",
                      data={"spot_check": check.id, "community": community, "kind": kind, "seed": seed,
                            "sample": chosen}))
    return check


def record(cmd, check_id: int, item_id: int, body, kind: str = "events") -> SpotCheckFinding:
    """The finding on one drawn event or hazard point (once; a second finding on it is refused)."""
    permissions.SPOT_CHECK.require(cmd.user)
    session, now = cmd.session, cmd.now()
    check = find(session, check_id)
    field = "hazard_id" if kind == "hazards" else "event_id"
    if check.kind != kind or item_id not in (check.sample or []):
        raise NotFound(f"{field[:-3]} {item_id} was not drawn in spot check {check_id}", field=field)
    body = body if isinstance(body, dict) else {}
    errors = []
    if not isinstance(body.get("passed"), bool):
        errors.append({"field": "passed", "reason": "true (合格) or false (不合格)"})
    note = body.get("note")
    if not isinstance(note, str) or len(note.strip()) < 2:
        errors.append({"field": "note", "reason": "写明抽查情况，至少2个字 (what was found, at least 2 characters)"})
    if errors:
        raise InvalidData(errors)
    column = getattr(SpotCheckFinding, field)
    if session.scalar(select(SpotCheckFinding.id).where(SpotCheckFinding.spot_check_id == check_id,
                                                        column == item_id)) is not None:
        raise Conflict("该项已有抽查结论 (its finding is recorded)", field=field)
    finding = SpotCheckFinding(spot_check_id=check_id, passed=body["passed"], note=note.strip()[:2000],
                               checked_by=cmd.actor, checked_at=now, **{field: item_id})
    session.add(finding)
    session.add(Audit(at=now, actor=cmd.actor, action="spot_checked",
                      event_id=item_id if field == "event_id" else None,
                      data={"spot_check": check_id, field: item_id, "passed": body["passed"], "note": finding.note}))
    return finding


def recent(cmd, community: str | None = None, limit: int = 100) -> list[dict]:
    """The newest draws (of one community, if named), as `cmd.user` may read them (`view`): the city any
    community's, a community's people their own's (§9.3)."""
    query = select(SpotCheck).order_by(SpotCheck.id.desc()).limit(limit)
    readable = permissions.spot_check_communities(cmd.user, cmd.catalogs)
    if community and readable is not None and community not in readable:
        raise Forbidden("只能查看本社区的抽查 (only your own community's spot checks, §9.3)", field="community")
    if community:
        query = query.where(SpotCheck.community == community)
    elif readable is not None:
        query = query.where(SpotCheck.community.in_(sorted(readable)))
    return [view(cmd, check) for check in cmd.session.scalars(query)]


def find(session, check_id: int) -> SpotCheck:
    return must_exist(session.get(SpotCheck, check_id), f"spot check {check_id} does not exist", field="spot_check_id")


def show(cmd, check_id: int) -> dict:
    """One draw as `cmd.user` may read it (404 if there is none; 403 naming `community` if it is another
    community's)."""
    check = find(cmd.session, check_id)
    if not permissions.may_read_spot_check(cmd.user, cmd.catalogs, check.community):
        raise Forbidden("只能查看本社区的抽查 (only your own community's spot checks, §9.3)", field="community")
    return view(cmd, check)


def view(cmd, check: SpotCheck) -> dict:
    """`describe` for `cmd.user`, the reads of the sensitive events it shows recorded (engine/accounts/privacy.py)."""
    body = describe(cmd.session, check, cmd.user, cmd.catalogs)
    privacy.disclose_listed(cmd, [i.get("event_id") for i in body["items"] if not i.get("sensitive")], "spot_check")
    return body


def describe(session, check: SpotCheck, viewer=None, catalogs=None) -> dict:
    """A draw with its items and findings; for a `viewer`, a drawn sensitive event they may not see shows as
    涉密事件, without its number (issue #15)."""
    hazards = check.kind == "hazards"
    findings = {(f.hazard_id if hazards else f.event_id): f for f in session.scalars(select(SpotCheckFinding).where(
        SpotCheckFinding.spot_check_id == check.id))}
    if hazards:
        names = dict(session.execute(select(HazardPoint.id, HazardPoint.title).where(
            HazardPoint.id.in_(check.sample or []))).all()) if check.sample else {}
    else:   # each event with how it ended (a 不属实 or 撤单 is checked as much as a 办结)
        rows = session.execute(select(Event.id, Event.number, Event.status, Event.closed_at, Event.type_code,
                                      Event.reporter).where(Event.id.in_(check.sample))).all() if check.sample else []
        hidden = privacy.hidden_ids(viewer, catalogs, [(r.id, r.type_code, r.reporter) for r in rows]) if viewer else set()
        names = {row.id: row for row in rows}

    def item(key):
        found = findings.get(key)
        if hazards:
            head = {"hazard_id": key, "title": names.get(key)}
        elif key in hidden:   # a sensitive event the viewer may not see: counted, without its number (issue #15)
            head = {"event_id": key, "event_number": None, "status": None, "status_name": None, "closed_at": None,
                    "sensitive": True}
        else:
            row = names.get(key)
            head = {"event_id": key, "event_number": row and row.number, "status": row and row.status,
                    "status_name": row and STATUS_WORDS.get(row.status, row.status),
                    "closed_at": local(row.closed_at) if row else None}
        return {**head, "finding": None if found is None else {
            "passed": found.passed, "note": found.note, "checked_by": found.checked_by,
            "checked_at": local(found.checked_at)}}
    return {"id": check.id, "community": check.community, "kind": check.kind, "from": local(check.period_from),
            "to": local(check.period_to), "size": check.size, "seed": check.seed, "drawn_by": check.drawn_by,
            "drawn_at": local(check.drawn_at), "population": check.population,
            "items": [item(key) for key in check.sample or []]}


def findings_of(cmd, community: str, start, end) -> dict:
    """The findings recorded in [start, end) on draws of `community` (its monthly report, §9.2/§9.3), oldest
    first: each with its draw, what was checked (an event's number, a hazard point's title), 合格 or not, the
    note and who checked it (display name) and when; `passed`/`checked` count them. A sensitive event the
    reader may not see shows as 涉密事件, without its number or the note (issue #15)."""
    session, catalogs = cmd.session, cmd.catalogs
    rows = session.execute(
        select(SpotCheckFinding, SpotCheck.kind, Event.number, Event.type_code, Event.reporter, HazardPoint.title)
        .join(SpotCheck, SpotCheck.id == SpotCheckFinding.spot_check_id)
        .outerjoin(Event, Event.id == SpotCheckFinding.event_id)
        .outerjoin(HazardPoint, HazardPoint.id == SpotCheckFinding.hazard_id)
        .where(SpotCheck.community == community, SpotCheckFinding.checked_at >= start,
               SpotCheckFinding.checked_at < end)
        .order_by(SpotCheckFinding.checked_at, SpotCheckFinding.id)).all()
    hidden = privacy.hidden_ids(cmd.user, catalogs, [(r[0].event_id, r.type_code, r.reporter) for r in rows])
    names = dict(session.execute(select(User.username, User.display_name).where(
        User.username.in_({r[0].checked_by for r in rows}))).all()) if rows else {}
    items = []
    for row in rows:
        finding = row[0]
        item = {"spot_check_id": finding.spot_check_id, "kind": row.kind, "event_id": finding.event_id,
                "event_number": row.number, "hazard_id": finding.hazard_id, "title": row.title,
                "passed": finding.passed, "note": finding.note,
                "checked_by": names.get(finding.checked_by, finding.checked_by), "checked_at": local(finding.checked_at)}
        items.append(privacy.redact_row(item, text_fields=("note",)) if finding.event_id in hidden else item)
    privacy.disclose_listed(cmd, [i["event_id"] for i in items if not i.get("sensitive")], "monthly_report")
    return {"items": items, "checked": len(items), "passed": sum(1 for i in items if i["passed"])}


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
