"""重点隐患整治点 and 巡查打卡 — §9.2: 社区应对人员到位、事件流转处置、重点问题等情况进行汇总上报，并每月至少上报一处重点
隐患整治点，及时落实整改 (issue #8).

- **Patrols** (巡查打卡): a grid worker, cadre or committee member records that they walked a grid, when and where.
  They count as staff presence in the monthly report.
- **Hazard points**: a community's cadre or committee reports one for a month, with before photos; the
  community rectifies it, with after photos and a note; the committee (or the city authority) verifies it.
  A failed verification sends it back to be rectified again.
- **Reminder and flag**: on the last `REMIND_DAYS` working days of a month, a community with no hazard point
  reported for it is reminded (once); when the month has closed with none, the community is flagged for it
  (once) — for a month the app watched (it ran during it), not for months before it was installed. The
  sweep checks this once a day (a job beside it: engine/jobs.py).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from engine.accounts import permissions
from engine.core.clock import SHANGHAI, local
from engine.core.errors import Conflict, Forbidden, InvalidData, NotFound
from engine.store import paging
from engine.store.models import Audit, HazardMonth, HazardPoint, Patrol
from engine.notices.outbox import notify

#: the last working days of a month on which a community without a hazard point is reminded
REMIND_DAYS = 3


#: the fields of a patrol and a hazard point as their pages label them
_LABELS = {"grid": "网格", "title": "隐患名称", "description": "隐患描述", "address": "地址", "note": "备注",
           "rectification": "整改情况"}


def _text(body, name, errors, minimum=2, maximum=2000):
    value = body.get(name)
    if not isinstance(value, str) or len(value.strip()) < minimum:
        errors.append({"field": name, "reason": f"「{_LABELS.get(name, name)}」请填写，至少 {minimum} 个字 "
                                                f"(at least {minimum} characters)"})
        return None
    return value.strip()[:maximum]


def month_of(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m")


# -- patrols -------------------------------------------------------------------------------------------
def _degrees(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)   # JSON true is no angle


def check_in(session, catalogs, user, now, body) -> Patrol:
    if not permissions.may_patrol(user):
        raise Forbidden("巡查打卡由社区网格员、干部或联合党委成员进行 (a community's patrol staff)", field="role")
    body = body if isinstance(body, dict) else {}
    errors = []
    grid = _text(body, "grid", errors, 1, 100)
    lat, lng = body.get("lat"), body.get("lng")
    if (lat is None) != (lng is None) or (lat is not None and not (
            _degrees(lat) and _degrees(lng) and -90 <= lat <= 90 and -180 <= lng <= 180)):
        errors.append({"field": "lat", "reason": "「纬度」「经度」须一同填写，以度为单位（WGS-84），或都留空 "
                                                 "(lat and lng together, in degrees (WGS-84))"})
    if errors:
        raise InvalidData(errors)
    note = body.get("note") if isinstance(body.get("note"), str) else None
    patrol = Patrol(username=user.username, community=user.community, grid=grid, at=now, lat=lat, lng=lng,
                    note=(note or "").strip()[:2000] or None)
    session.add(patrol)
    session.flush()
    return patrol


def describe_patrol(p: Patrol) -> dict:
    return {"id": p.id, "username": p.username, "community": p.community, "grid": p.grid, "at": local(p.at),
            "lat": p.lat, "lng": p.lng, "note": p.note}


# -- hazard points -------------------------------------------------------------------------------------
def report(session, catalogs, user, now, body, photo_keys: list[str]) -> HazardPoint:
    body = body if isinstance(body, dict) else {}
    community = body.get("community") or user.community
    if not isinstance(community, str) or catalogs.community(community) is None:
        raise InvalidData([{"field": "community", "reason": f"「社区」{community} 不存在：请从列表中选择 "
                                                            f"(unknown community {community!r})"}])
    if not permissions.may_report_hazard(user, community):
        raise Forbidden("由本社区干部或联合党委上报 (the community's cadres or committee)", field="role")
    errors = []
    title = _text(body, "title", errors, 2, 200)
    description = _text(body, "description", errors)
    address = _text(body, "address", errors, 2, 300)
    month = body.get("month") or month_of(now)
    if not (isinstance(month, str) and len(month) == 7 and month.isascii() and month[4] == "-"
            and month[:4].isdigit() and month[5:].isdigit() and 1 <= int(month[5:]) <= 12):
        errors.append({"field": "month", "reason": "「月份」应写成如 2026-10 (YYYY-MM)"})
    if not photo_keys:
        errors.append({"field": "before_photos", "reason": "请附整治前照片 (before photos)"})
    if errors:
        raise InvalidData(errors)
    point = HazardPoint(community=community, month=month, title=title, description=description, address=address,
                        status="reported", reported_by=user.username, reported_at=now, before_photos=photo_keys,
                        after_photos=[])
    session.add(point)
    session.flush()
    session.add(Audit(at=now, actor=user.username, action="hazard_reported",
                      data={"hazard": point.id, "community": community, "month": month, "title": title}))
    return point


def find(session, hazard_id: int) -> HazardPoint | None:
    """A hazard point to read (None if there is none)."""
    return session.get(HazardPoint, hazard_id)


def _point(session, hazard_id: int) -> HazardPoint:
    point = session.get(HazardPoint, hazard_id, with_for_update=True)
    if point is None:
        raise NotFound(f"hazard point {hazard_id} does not exist", field="hazard_id")
    return point


def may_rectify(session, user, hazard_id: int) -> HazardPoint:
    """The point, if this user may rectify it (checked before any photo of it is written)."""
    point = _point(session, hazard_id)
    if not permissions.may_report_hazard(user, point.community):
        raise Forbidden("由本社区整改 (the community rectifies it)", field="role")
    return point


def rectify(session, user, now, hazard_id: int, body, photo_keys: list[str]) -> HazardPoint:
    point = may_rectify(session, user, hazard_id)
    if point.status not in ("reported", "rejected"):
        raise Conflict(f"该隐患点已{ {'rectified': '整改', 'verified': '验收'}[point.status] } (it is {point.status})",
                       field="status")
    errors = []
    note = _text(body if isinstance(body, dict) else {}, "note", errors)
    if not photo_keys:
        errors.append({"field": "after_photos", "reason": "请附整治后照片 (after photos)"})
    if errors:
        raise InvalidData(errors)
    point.status, point.rectified_by, point.rectified_at = "rectified", user.username, now
    point.rectification_note, point.after_photos = note, photo_keys
    session.add(Audit(at=now, actor=user.username, action="hazard_rectified", data={"hazard": point.id}))
    return point


def verify(session, user, now, hazard_id: int, body) -> HazardPoint:
    point = _point(session, hazard_id)
    if not permissions.may_verify_hazard(user, point.community):
        raise Forbidden("由社区联合党委或市级主管部门验收 (the committee or the city authority)", field="role")
    if point.status != "rectified":
        raise Conflict("只有已整改的隐患点可以验收 (only a rectified point is verified)", field="status")
    if user.username in (point.reported_by, point.rectified_by):
        raise Forbidden("不能验收自己上报或整改的隐患点 (not a point you reported or rectified)", field="role")
    body = body if isinstance(body, dict) else {}
    errors = []
    if not isinstance(body.get("passed"), bool):
        errors.append({"field": "passed", "reason": "true (验收通过) or false (未整改到位)"})
    note = _text(body, "note", errors)
    if errors:
        raise InvalidData(errors)
    point.status = "verified" if body["passed"] else "rejected"
    point.verified_by, point.verified_at, point.verify_note = user.username, now, note
    session.add(Audit(at=now, actor=user.username, action="hazard_verified",
                      data={"hazard": point.id, "passed": body["passed"], "note": note}))
    return point


def report_with_photos(session, catalogs, store, user, now, body, checked) -> HazardPoint:
    """`report` with the before photos (already decoded: engine/pool/photos.py) written under the point."""
    point = report(session, catalogs, user, now, body, ["pending"] if checked else [])
    point.before_photos = store.store_under(f"hazards/{point.id}", checked)
    return point


def rectify_with_photos(session, store, user, now, hazard_id: int, body, checked) -> HazardPoint:
    """`rectify` with the after photos, written only once the user may rectify it."""
    may_rectify(session, user, hazard_id)
    keys = store.store_under(f"hazards/{hazard_id}", checked) if checked else []
    return rectify(session, user, now, hazard_id, body, keys)


def photo(store, point: HazardPoint, key: str) -> tuple[str, bytes]:
    """(content type, bytes) of one of the point's before or after photos."""
    if key not in (point.before_photos or []) + (point.after_photos or []):
        raise NotFound(f"photo {key} does not exist")
    content_type = "image/png" if key.endswith(".png") else "image/webp" if key.endswith(".webp") else "image/jpeg"
    return content_type, store.read_under(f"hazards/{point.id}", key)


#: the lists of hazard points and patrols, newest first, a page at a time (engine/store/paging.py)
POINT_ORDER = paging.Order("hazards", HazardPoint.id, descending=True)
PATROL_ORDER = paging.Order("patrols", Patrol.at, Patrol.id, descending=True)
PAGE = paging.PageRequest(100)


def _page(session, model, order, page: paging.PageRequest, **equal) -> paging.Page:
    """A page of `model`'s rows whose columns equal the values given (None: any), in `order`."""
    query = select(model)
    for column, value in equal.items():
        if value:
            query = query.where(getattr(model, column) == value)
    return paging.fetch(session, query, order, page)


def list_points(session, community: str | None, month: str | None = None,
                page: paging.PageRequest = PAGE) -> paging.Page:
    return _page(session, HazardPoint, POINT_ORDER, page, community=community, month=month).map(
        lambda points: [describe(p) for p in points])


def list_patrols(session, community: str | None = None, username: str | None = None,
                 page: paging.PageRequest = PAGE) -> paging.Page:
    return _page(session, Patrol, PATROL_ORDER, page, community=community, username=username).map(
        lambda patrols: [describe_patrol(p) for p in patrols])


def describe(point: HazardPoint) -> dict:
    return {"id": point.id, "community": point.community, "month": point.month, "title": point.title,
            "description": point.description, "address": point.address, "status": point.status,
            "reported_by": point.reported_by, "reported_at": local(point.reported_at),
            "before_photos": point.before_photos or [], "rectified_by": point.rectified_by,
            "rectified_at": local(point.rectified_at), "rectification_note": point.rectification_note,
            "after_photos": point.after_photos or [], "verified_by": point.verified_by,
            "verified_at": local(point.verified_at), "verify_note": point.verify_note}


# -- the reminder and the flag (the sweep) --------------------------------------------------------------
def _last_working_days(calendar, day: date, count: int) -> list[date]:
    last = (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    found = []
    while last.month == day.month and len(found) < count:
        if calendar.is_working_day(last):
            found.append(last)
        last -= timedelta(days=1)
    return found


def _month_row(session, community, month) -> HazardMonth:
    row = session.scalar(select(HazardMonth).where(HazardMonth.community == community, HazardMonth.month == month))
    if row is None:
        row = HazardMonth(community=community, month=month)
        session.add(row)
        session.flush()
    return row


def reported_months(session, communities, months) -> set[tuple[str, str]]:
    return set(session.execute(select(HazardPoint.community, HazardPoint.month).where(
        HazardPoint.community.in_(communities), HazardPoint.month.in_(months))).all())


def remind_and_flag(session, catalogs, calendar, now) -> dict:
    """Remind (on the month's last working days) and flag (once the month closed) each community without a
    hazard point for the month. Returns {"reminded": [...], "flagged": [...]}; each happens once."""
    today = now.astimezone(SHANGHAI).date()
    this_month = today.strftime("%Y-%m")
    previous = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    communities = [c["value"] for c in catalogs.options("communities")]
    have = reported_months(session, communities, [this_month, previous])
    watched = {row.community: row for row in session.scalars(select(HazardMonth).where(
        HazardMonth.month == previous, HazardMonth.community.in_(communities)))}
    for community in communities:       # this month is watched from now on (a past month never was)
        _month_row(session, community, this_month)
    done = {"reminded": [], "flagged": []}
    if today in _last_working_days(calendar, today, REMIND_DAYS):
        for community in communities:
            if (community, this_month) in have:
                continue
            row = _month_row(session, community, this_month)
            if row.reminded_at is None:
                row.reminded_at = now
                notify(session, catalogs, now, None, "community", community, "hazard_reminder",
                       f"【提醒】本社区 {this_month} 尚未上报重点隐患整治点，请于月底前上报（§9.2 每月至少一处）")
                done["reminded"].append(community)
    for community in communities:
        row = watched.get(community)
        if (community, previous) in have or row is None:
            continue
        if row.flagged_at is None:
            row.flagged_at = now
            session.add(Audit(at=now, actor="system", action="hazard_month_flagged",
                              data={"community": community, "month": previous}))
            done["flagged"].append(community)
    return done


def month_state(session, community, month) -> dict:
    row = session.scalar(select(HazardMonth).where(HazardMonth.community == community, HazardMonth.month == month))
    points = session.scalar(select(func.count(HazardPoint.id)).where(HazardPoint.community == community,
                                                                      HazardPoint.month == month)) or 0
    return {"reported": points, "reminded_at": local(row.reminded_at) if row else None,
            "flagged_at": local(row.flagged_at) if row else None}
