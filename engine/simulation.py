"""A simulated city (issue #17): a realistic synthetic history replayed through the real engine on the
simulated clock, for the demo (`make run` seeds a month of it), the dashboards and the benchmark.

`run(session_factory, base_env, events=N, start=…, end=…, seed=S)` registers N reports between `start` and
`end` from the six sources of §5 in the shares of `SOURCE_SHARES`, of Table A.1 types in the shares of
`TYPE_WEIGHTS`, spread over the days with `HOURLY_SHAPE`. Each report is a *story*: a Python generator that
acts as the people of Figure 1 would — it calls the domain's own operations (`registration.report`,
`open311.submit`, `devices.receive`, `tasks.complete`, `lifecycle.withdraw/reopen/merge`,
`supervision.request_extension/decide_extension`, `comments.urge`), each in its own unit of work as the
API runs it, and yields how long until its next move. Beside the reports run the §9 activities: daily
patrols (巡查打卡), a key hazard point per community and month (§9.2: reported, rectified, verified) and the
city's weekly spot checks (§9.3: drawn and recorded).

Time moves only on the simulated clock: before every move the driver walks it forward with
`runtime/sweep.advance`, which fires every timer and runs every periodic job at its own moment, so a late
move misses its limit exactly as it would in the running app (§8: the overdue is recorded, a 督办 record
opened). Stories whose next move falls after `end` stop there: events still open at the end stay open.

Every random choice comes from `random.Random` seeded by the run's seed and the story's number, so a seed
gives the same history, and the stories are independent of each other — a later version may hand slices
of them (`part`) to several processes on PostgreSQL; the driver here is one process.

The shares are assumptions of this module (the standard gives none): they are marked where they are set.
"""
from __future__ import annotations

import dataclasses
import heapq
import io
import json
import logging
import random
import secrets
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from typing import Callable, Iterator

from PIL import Image
from pyproj import Geod
from sqlalchemy import func, select

from engine.accounts import permissions, users
from engine.accounts.users import Principal
from engine.casework import lifecycle, tasks
from engine.channels import devices, open311
from engine.core.clock import SHANGHAI, SimulatedClock, local
from engine.core.errors import EventflowError
from engine.jobs import periodic
from engine.limits import supervision
from engine.oversight import hazards, spot_checks
from engine.oversight import returns as return_rulings
from engine.pool import comments, photos, registration
from engine.runtime import sweep
from engine.store import uow
from engine.store.models import ArrivalCheck, Audit, Deadline, Device, Event, ExtensionRequest, Patrol, Revisit, User, WorkItem

log = logging.getLogger(__name__)

# -- the shares (assumptions: the standard sets none) --------------------------------------------------
#: §5's six sources. Assumed from the Longgang pilot's pattern of a grid-based city: most events are found
#: by the grid workers' daily patrols, the hotline and apps bring a third, sensors a tenth.
SOURCE_SHARES = {"grid_worker": 42, "committee_patrol": 8, "citizen": 33, "iot_alert": 12, "one_thing": 2,
                 "superior": 3}
#: §5.3's citizen channels (catalogs/data/channels.json), the hotline first
CHANNEL_SHARES = {"hotline_12345": 55, "zhihui_cunshe": 20, "suishoupai": 20, "zhifa_platform": 5}
#: the communities' shares of the reports (assumed: by size)
COMMUNITY_SHARES = {"lg-xincheng": 35, "lg-longgang": 30, "lg-yanjiang": 20, "lg-fangyan": 15}
#: Table A.1 types, by how often they are reported (assumed: city appearance and order dominate a grid's
#: patrol; the sensitive rows 1-3 are rare); a type not listed is not simulated
TYPE_WEIGHTS = {"A01": 1, "A02": 2, "A03": 2, "A04": 1, "A05": 14, "A06": 3, "A07": 7, "A08": 13, "A09": 12,
                "A10": 3, "A11": 5, "A12": 3, "A13": 7, "A14": 4, "A15": 2, "A16": 1, "A17": 1, "A18": 5,
                "A19": 1, "A20": 1, "A21": 3, "A22": 1, "A23": 1, "A24": 2, "A25": 2, "A26": 1, "A27": 1,
                "A28": 1, "A29": 1, "A30": 5}
#: what the cameras and sensors of §5.4 see (video AI: stalls, litter, roads; sensors: sewage, smoke)
DEVICE_TYPES = {"camera": {"A05": 5, "A08": 5, "A09": 3, "A11": 2, "A12": 1},
                "sensor": {"A15": 2, "A30": 3, "A13": 2}}
#: the reports of an hour of the day (Asia/Shanghai), relative: patrols and office hours peak in the
#: morning and the afternoon, a few come at night (citizens, sensors)
HOURLY_SHAPE = [1, 0.5, 0.3, 0.3, 0.3, 0.5, 1.5, 4, 9, 10, 9, 7, 4, 5, 8, 9, 8, 6, 4, 3, 3, 2, 1.5, 1]
#: a weekend or holiday's share of a working day's reports
REST_DAY_SHARE = 0.5
#: how often each path is taken (assumed): §7.1 核实 verdicts, §7.2 研判, §7.3 the whistle's branches, §8.4/§8.5
PATHS = {
    "withdrawn_early": 0.02,    # 撤单 before 核实
    "duplicate": 0.05,          # a citizen reports the same matter again; merged (合并)
    "invalid": 0.06, "returned": 0.04, "transferred": 0.03,   # 核实 verdicts (else 属实)
    "stationed": 0.38, "cadre": 0.32,                          # 研判 (else 吹哨)
    "stationed_escalates": 0.15,  # 下沉部门 cannot resolve it: 吹哨
    "co_departments": 0.25, "on_site": 0.4, "difficult": 0.25,
    "returned_once": 0.1, "returned_twice": 0.04,             # 退回 → 改派, twice → 兜底指定
    "return_ruled_unreasonable": 0.3,   # the city rules the first return unreasonable (不合理退回, issue #19)
    "extension": 0.06, "extension_approved": 0.75,            # §8.4
    "late": 0.12,               # a move past its limit (§8: recorded overdue, 督办)
    "urge": 0.5,                # of the late 签收: the community urges (催办, §9.1)
    "rework": 0.08,             # 核查不通过 → 重办
    "closure_sent_back": 0.04,  # 结案接收: the whistle officer sends the department's closure back (§7.3.3) → 重办
    "reopen": 0.03,             # 重启 after closure
    "withdrawn_late": 0.01,     # 撤单 while the departments work
    "photos": 0.25,             # a result as before/after photos (§8.5) instead of words
    "unsatisfied": 0.05, "fairly_satisfied": 0.2,
    "revisit_unreached": 0.08,  # 回访: the reporter not reached (未接通 …); the rating as `rating` draws it
    "hazard_month_missed": 0.1, "hazard_rejected": 0.15, "spot_check_failed": 0.1,
    "handled_on_spot": 0.1,     # of a grid worker's reports: fixed on the spot (即知即改), the community verifies it
    "on_spot_rejected": 0.15,   # of those: not fixed as said, the normal way
    "arrive_far": 0.1,          # a 到场 checked in more than EVENTFLOW_ARRIVAL_FAR_M from the event (§8.3)
}
#: the stationed office of each department in each community (§7.2: police, enforcement, market supervision)
STATIONED = {"lg-xincheng": {"gongan": "gongan.xincheng_pcs", "zhifa": "zhifa.zhongdui1", "shijian": "shijian.xincheng_scjgs"},
             "lg-longgang": {"gongan": "gongan.longgang_pcs", "zhifa": "zhifa.zhongdui2", "shijian": "shijian.longgang_scjgs"},
             "lg-yanjiang": {"gongan": "gongan.longgang_pcs", "zhifa": "zhifa.zhongdui2", "shijian": "shijian.longgang_scjgs"},
             "lg-fangyan": {"gongan": "gongan.xincheng_pcs", "zhifa": "zhifa.zhongdui1", "shijian": "shijian.xincheng_scjgs"}}
SUPERIOR_BODIES = ["龙港市社会治理中心", "龙港市委办公室", "龙港市人民政府办公室", "温州市综治办"]
STREETS = ["新城大道", "世纪大道", "人民路", "龙翔路", "站前路", "池浦路", "沿江路", "方岩路", "华中路", "龙金大道"]
#: how many spots (street addresses) per community the reports come from: repeats of a spot make the
#: duplicates of §7.1 happen by themselves too
SPOTS = 120
PHOTOS = 6


#: the tour: the first stories of a run each take one path of Figure 1 for certain (every other choice of
#: theirs "no"), so even a short run reaches every path (`paths_reached`); the rest are drawn by the shares
TOUR = [{"source": "grid_worker", "disposal": "stationed"},
        {"source": "grid_worker", "disposal": "whistle", "co_departments": True},
        {"source": "citizen", "disposal": "whistle", "on_site": True},
        {"source": "grid_worker", "disposal": "whistle", "returned_once": True, "return_ruled_unreasonable": True},
        {"source": "grid_worker", "disposal": "whistle", "returned_twice": True, "return_ruled_unreasonable": True},
        {"source": "grid_worker", "disposal": "whistle", "extension": True, "extension_approved": True},
        {"source": "grid_worker", "disposal": "whistle", "late": True, "urge": True},
        {"source": "grid_worker", "disposal": "cadre", "rework": True},
        {"source": "grid_worker", "disposal": "cadre", "reopen": True},
        {"source": "committee_patrol", "verdict": "invalid"},
        {"source": "grid_worker", "withdrawn_early": True},
        {"source": "grid_worker", "disposal": "cadre", "duplicate": True},
        {"source": "citizen", "verdict": "returned"},
        {"source": "iot_alert", "verdict": "transferred", "disposal": "cadre"},
        {"source": "grid_worker", "disposal": "stationed", "stationed_escalates": True},
        {"source": "grid_worker", "disposal": "whistle", "withdrawn_late": True},
        {"source": "grid_worker", "disposal": "whistle", "closure_sent_back": True},
        {"source": "superior"},
        {"source": "one_thing"},
        {"source": "grid_worker", "disposal": "cadre", "revisit_unsatisfied": True},
        {"source": "citizen", "disposal": "cadre", "revisit_unreached": True},
        {"source": "grid_worker", "handled_on_spot": True},
        {"source": "grid_worker", "handled_on_spot": True, "on_spot_rejected": True, "disposal": "cadre"},
        {"source": "grid_worker", "disposal": "whistle", "on_site": True, "arrive_far": True}]


class StoryRandom(random.Random):
    """A story's own random source; `forced` fixes some of its choices (the tour's)."""

    def __init__(self, seed, forced: dict | None = None):
        super().__init__(seed)
        self.forced = forced


def _pick(rng: random.Random, weights: dict, name: str | None = None):
    forced = getattr(rng, "forced", None)
    if forced is not None and name in forced:
        return forced[name]
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _chance(rng: random.Random, path: str) -> bool:
    forced = getattr(rng, "forced", None)
    if forced is not None:
        return bool(forced.get(path, False))
    return rng.random() < PATHS[path]


def _minutes(rng: random.Random, low: float, high: float) -> timedelta:
    return timedelta(minutes=rng.uniform(low, high))


# -- the people -----------------------------------------------------------------------------------------
def short(community: str) -> str:
    return community.split("-", 1)[-1]


def staff_plan(catalogs) -> list[tuple]:
    """The simulated city's staff (username, display name, roles, community, unit, sensitive access): per
    community two grid workers, two cadres (the first designated for Table A.1 rows 1-3), a whistle officer,
    a committee member and the stationed police, enforcement and market-supervision staff; two clerks per city
    department and company; a second clerk at the city authority."""
    people = []
    for community, offices in STATIONED.items():
        name, committee = short(community), catalogs.community(community)["committee"]
        people += [(f"sim-grid-{name}-{i}", f"网格员 {name}{i}", ["grid_worker"], community, None, False) for i in (1, 2)]
        people += [(f"sim-staff-{name}-{i}", f"社区干部 {name}{i}", ["community_staff"], community, None, i == 1)
                   for i in (1, 2)]
        people.append((f"sim-whistle-{name}", f"吹哨人员 {name}", ["whistle_officer"], community, None, False))
        people.append((f"sim-committee-{name}", f"联合党委 {name}", ["committee"], community, committee, False))
        people += [(f"sim-stationed-{name}-{dept}", f"下沉人员 {name} {dept}", ["stationed_staff"], community, unit, False)
                   for dept, unit in offices.items()]
    for unit in catalogs.get("units"):
        if unit["kind"] in ("department", "company"):
            people += [(f"sim-dept-{unit['code']}-{i}", f"{unit['name']} 办事员{i}", ["department_staff"], None,
                        unit["code"], False) for i in (1, 2)]
    people.append(("sim-city-1", "市社会治理中心 审核员", ["city_authority"], None, catalogs.city_authority(), False))
    return people


def ensure_staff(session_factory, env, password: str | None = None, scrypt_n: int = 2**14) -> int:
    """Create the staff of `staff_plan` that do not exist yet, each in its own unit; how many were created."""
    password = password or secrets.token_urlsafe(12)
    created = 0
    for username, display, roles, community, unit, sensitive in staff_plan(env.catalogs):
        if uow.read(session_factory, lambda s, u=username: users.exists(s, u)):
            continue
        uow.run(session_factory, lambda s, u=username, d=display, r=roles, c=community, n=unit, x=sensitive:
                users.create_user(s, env.catalogs, env.wall_clock, u, password, r, c, n, d, scrypt_n, x))
        created += 1
    return created


def ensure_devices(session_factory, env) -> dict[str, tuple[str, str]]:
    """A camera and a sensor in each community (§5.4), registered once: {device id: (kind, secret)}."""
    found = {}
    for community in STATIONED:
        for kind in ("camera", "sensor"):
            device_id = f"sim-{kind}-{short(community)}"
            row = uow.read(session_factory, lambda s, d=device_id: s.get(Device, d))
            if row is None:
                secret = uow.run(session_factory, lambda s, d=device_id, c=community, k=kind: devices.register(
                    s, d, c, k, env.clock.now(), env.catalogs, actor="simulation"))
            else:
                secret = row.secret
            found[device_id] = (kind, secret)
    return found


@dataclass
class People:
    """Who may do what, as loaded once from the users table."""

    all: list[Principal]

    @classmethod
    def load(cls, session) -> "People":
        rows = session.scalars(select(User).where(User.active.is_(True)).order_by(User.username))
        return cls([users.principal(row) for row in rows])

    def with_role(self, role: str, community: str | None = None, unit: str | None = None) -> list[Principal]:
        return [p for p in self.all if role in p.roles and (community is None or p.community == community)
                and (unit is None or p.unit == unit)]

    def named(self, username: str) -> Principal:
        return next(p for p in self.all if p.username == username)


# -- the driver -----------------------------------------------------------------------------------------
class Refused(Exception):
    """A story found the engine in a state it did not expect (a task it meant to do is not there)."""


@dataclass
class Outcome:
    """What a run did: reports registered (by source), stories finished, moves refused by the engine
    (each with its reason) and unexpected errors. A healthy run has neither of the last two."""

    reports: dict = field(default_factory=dict)
    stories: int = 0
    finished: int = 0
    moves: int = 0
    refused: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    timers_fired: int = 0

    def as_dict(self) -> dict:
        return {"reports": dict(sorted(self.reports.items())), "registered": sum(self.reports.values()),
                "stories": self.stories, "finished": self.finished, "moves": self.moves,
                "timers_fired": self.timers_fired, "refused": self.refused[:20], "errors": self.errors[:20]}


class City:
    """The engine as the simulated people use it: each method is one unit of work, as an API call is."""

    def __init__(self, session_factory, env, people: People, device_secrets: dict, rng: random.Random):
        self.factory, self.env, self.people, self.devices = session_factory, env, people, device_secrets
        self.catalogs = env.catalogs
        self.outcome = Outcome()
        self.spots = {c: self._spots(c, rng) for c in STATIONED}
        self.images = [_jpeg(i) for i in range(PHOTOS)]

    # -- places and moments
    def _spots(self, community: str, rng: random.Random) -> list[tuple[float, float, str]]:
        area = next(f for f in self.catalogs.get("communities")["features"] if f["properties"]["code"] == community)
        ring = area["geometry"]["coordinates"][0]
        lngs, lats = [p[0] for p in ring], [p[1] for p in ring]
        spots = []
        while len(spots) < SPOTS:
            lat, lng = rng.uniform(min(lats), max(lats)), rng.uniform(min(lngs), max(lngs))
            if self.catalogs.community_at(lat, lng) == community:
                spots.append((round(lat, 6), round(lng, 6), f"龙港市{rng.choice(STREETS)} {rng.randint(1, 400)} 号"))
        return spots

    def now(self) -> datetime:
        return self.env.clock.now()

    def office(self, at: datetime, rng: random.Random, within: tuple = (5, 40)) -> datetime:
        """`at` if in office hours of a working day, else the next opening plus a few minutes."""
        calendar = self.env.limits.calendar
        day = at.astimezone(SHANGHAI)
        opening, closing = time(8, 30), time(17, 30)
        if calendar.is_working_day(day.date()) and opening <= day.time() < closing:
            return at
        date = day.date() + (timedelta(days=1) if day.time() >= closing else timedelta())
        while not calendar.is_working_day(date):
            date += timedelta(days=1)
        start = datetime.combine(date, opening, tzinfo=SHANGHAI).astimezone(timezone.utc)
        return start + _minutes(rng, *within)

    # -- units of work
    def run(self, op: Callable, user: Principal | None = None):
        return uow.run(self.factory, lambda s: op(self.env.command(s, user)))

    def read(self, fn: Callable):
        return uow.read(self.factory, fn)

    def report(self, user: Principal, payload: dict) -> int:
        event, _ = self.run(lambda cmd: registration.report(cmd, payload), user)
        return self._started(event.id, payload["source"])

    def report_fixed(self, user: Principal, payload: dict, rng) -> int:
        """即知即改: a report of a problem fixed on the spot, with a photo after the fix (engine/casework/on_spot.py)."""
        after = self.env.photos.check([("after.jpg", rng.choice(self.images))], "after_photos")
        event, _ = self.run(lambda cmd: registration.report(
            cmd, {**payload, "handled_on_spot": True, "on_spot_summary": "已当场处置"}, fixed={"after_photos": after}), user)
        return self._started(event.id, payload["source"])

    def submit(self, form: dict, channel: str) -> int:
        event, _ = self.run(lambda cmd: open311.submit(cmd, form, channel))
        return self._started(event.id, "citizen")

    def alert(self, device_id: str, alert: dict) -> int | None:
        body = json.dumps(alert, ensure_ascii=False).encode("utf-8")
        stamp = str(int(self.now().timestamp()))
        signature = devices.sign(self.devices[device_id][1], stamp, body)
        accepted = self.run(lambda cmd: devices.receive(cmd, device_id, stamp, signature, body))
        if not accepted.created:   # a repeat of the device's open alert: counted on that event
            return None
        return self._started(accepted.event_id, "iot_alert")

    def _started(self, event_id: int, source: str) -> int:
        self.run(lambda cmd: lifecycle.start(cmd, event_id))   # the second unit, as the API does it
        self.outcome.reports[source] = self.outcome.reports.get(source, 0) + 1
        return event_id

    def task(self, session, event_id: int, name: str, unit: str | None = None) -> WorkItem:
        query = select(WorkItem).where(WorkItem.event_id == event_id, WorkItem.spec_name == name)
        if unit is not None:
            query = query.where(WorkItem.unit == unit)
        item = session.scalars(query.order_by(WorkItem.created_at, WorkItem.id)).first()
        if item is None:
            raise Refused(f"event {event_id} has no ready task {name}" + (f" of {unit}" if unit else ""))
        return item

    def worker(self, session, item: WorkItem, rng) -> Principal:
        """One of the people who may do the task (its role, scope and the event's sensitivity)."""
        event = session.get(Event, item.event_id)
        fit = [p for p in self.people.all if permissions.may_work_on(p, item, self.catalogs)
               and permissions.may_see_sensitive(p, self.catalogs, event.type_code, event.reporter)
               and (item.role != "stationed_staff" or p.community == event.community)]
        if not fit:
            raise Refused(f"nobody may do {item.spec_name} of event {item.event_id}")
        return rng.choice(fit)

    def complete(self, rng, event_id: int, name: str, data: dict, unit: str | None = None) -> str:
        """Someone who may do it completes the event's ready task `name` (of `unit`, for a co-department)."""
        def op(session):
            item = self.task(session, event_id, name, unit)
            cmd = self.env.command(session, self.worker(session, item, rng))
            return tasks.complete(cmd, item.id, data)["event_status"]
        self.outcome.moves += 1
        return uow.run(self.factory, op)

    def has_task(self, event_id: int, name: str) -> bool:
        return self.read(lambda s: s.scalar(select(WorkItem.id).where(WorkItem.event_id == event_id,
                                                                      WorkItem.spec_name == name)) is not None)

    def status(self, event_id: int) -> str:
        return self.read(lambda s: s.get(Event, event_id).status)

    def photo(self, rng, event_id: int, user: Principal) -> str:
        """A photo taken on the spot and uploaded to the event; its key."""
        checked = self.env.photos.check([("photo.jpg", rng.choice(self.images))], "file")
        return self.run(lambda cmd: photos.add(cmd, event_id, checked), user)[0]["key"]

    def result(self, rng, event_id: int, user: Principal, words: str, prefix: str = "") -> dict:
        """§8.5: a written summary, or before/after photos."""
        if _chance(rng, "photos"):
            before, after = self.photo(rng, event_id, user), self.photo(rng, event_id, user)
            return {f"{prefix}before_photos": [before], f"{prefix}after_photos": [after]}
        return {f"{prefix}summary" if prefix else "result_summary": words}

    def department_user(self, unit: str, rng) -> Principal:
        return rng.choice(self.people.with_role("department_staff", unit=unit))

    def staff(self, community: str, rng, sensitive: bool = False) -> Principal:
        people = self.people.with_role("community_staff", community)
        if sensitive:
            people = [p for p in people if p.sensitive_access]
        return rng.choice(people)


def _jpeg(index: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), ((index * 53) % 256, 120 + index * 9, 200 - index * 17)).save(out, "JPEG")
    return out.getvalue()


# -- the stories ----------------------------------------------------------------------------------------
Story = Iterator[datetime | timedelta]


def rating(rng) -> str:
    roll = rng.random()
    return "不满意" if roll < PATHS["unsatisfied"] else "基本满意" if roll < PATHS["unsatisfied"] + PATHS["fairly_satisfied"] else "满意"


#: what a reporter says at the 回访, by rating
REVISIT_WORDS = {"满意": "处理得很及时，满意", "基本满意": "基本解决了", "不满意": "问题还在，没有解决"}


def revisit_rating(rng) -> str:
    forced = getattr(rng, "forced", None)
    if forced is not None:
        return "不满意" if forced.get("revisit_unsatisfied") else "满意"
    return rating(rng)


def revisit_story(city: City, rng, event_id: int) -> Story:
    """回访 after closure (§4.3, §8.6; issue #18): the community asks the reporter within the limit of 3 working
    days (past it with the share of PATHS["late"]: a missed limit, 督办); reached or not; a 不满意 with its cause
    reopens the event once (重新办理, back to 研判): the cadres handle it again, and it is asked again."""
    while city.has_task(event_id, "revisit"):
        late = _chance(rng, "late")
        yield city.office(city.now() + (_minutes(rng, 60 * 24 * 5, 60 * 24 * 6) if late else _minutes(rng, 30, 60 * 20)),
                          rng)
        if _chance(rng, "revisit_unreached"):
            data = {"revisit_reached": False, "revisit_contact": rng.choice(("未接通", "无人接听", "号码错误"))}
        else:
            said = revisit_rating(rng)
            data = {"revisit_reached": True, "revisit_rating": said, "revisit_words": REVISIT_WORDS[said]}
            if said == "不满意":
                data["revisit_cause"] = "问题没有彻底解决，要求重新处理"
        if city.complete(rng, event_id, "revisit", data) != "open":
            return
        yield city.office(city.now() + _minutes(rng, 10, 60), rng)       # 重新办理: 研判 again
        city.complete(rng, event_id, "analyse", {"disposal": "cadre", "analysis_note": "回访不满意，重新办理"})
        yield _minutes(rng, 30, 100)
        city.complete(rng, event_id, "handle_by_cadre", {"result_summary": "已重新处置"})
        yield city.office(city.now() + _minutes(rng, 20, 120), rng)
        city.complete(rng, event_id, "check", {"passed": True, "rating": rating(rng)})


def report_story(city: City, rng: random.Random) -> Story:
    """One report from its source to wherever Figure 1 takes it."""
    source = _pick(rng, SOURCE_SHARES, "source")
    community = _pick(rng, COMMUNITY_SHARES)
    if source == "superior":
        yield from superior_story(city, rng, community)
        return
    if source == "one_thing":
        yield from one_thing_story(city, rng, community)
        return
    lat, lng, address = rng.choice(city.spots[community])
    code = _pick(rng, TYPE_WEIGHTS, "type")
    description = f"{city.catalogs.event_type(code)['content'][:60]}（{address}）"
    location = {"lat": lat, "lng": lng, "address": address}
    reporter = None
    if source == "citizen":
        channel = _pick(rng, CHANNEL_SHARES)
        event_id = city.submit({"service_code": code, "lat": str(lat), "long": str(lng), "crs": "wgs84",
                                "address_string": address, "description": description, "first_name": "先生",
                                "last_name": rng.choice("王李张刘陈杨黄赵"), "phone": f"1380000{rng.randint(0, 9999):04d}"},
                               channel)
    elif source == "iot_alert":
        kind = rng.choice(("camera", "sensor"))
        code = _pick(rng, DEVICE_TYPES[kind])
        device_id = f"sim-{kind}-{short(community)}"
        event_id = city.alert(device_id, {"alert_id": f"{rng.getrandbits(48):012x}", "type_code": code,
                                          "description": f"{'视频AI识别' if kind == 'camera' else '传感器告警'}："
                                                         f"{city.catalogs.event_type(code)['content'][:40]}",
                                          "occurred_at": local(city.now()), "location": location,
                                          "confidence": round(rng.uniform(0.6, 0.99), 2)})
        if event_id is None:
            return
    else:
        role = "grid_worker" if source == "grid_worker" else "committee"
        reporter = rng.choice(city.people.with_role(role, community))
        payload = {"source": source, "type_code": code, "description": description, "community": community,
                   "location": location}
        if source == "grid_worker" and not city.catalogs.is_sensitive(code) and _chance(rng, "handled_on_spot"):
            yield from on_spot_story(city, rng, city.report_fixed(reporter, payload, rng), community, code, reporter,
                                     location)
            return
        event_id = city.report(reporter, payload)
    yield from event_story(city, rng, event_id, community, code, reporter, location)


def on_spot_story(city: City, rng, event_id: int, community: str, code: str, reporter, location) -> Story:
    """即知即改: the community verifies a fix reported with its after photo — confirmed, it is closed; not fixed as
    said, it goes the normal way (核实 onwards)."""
    yield city.office(city.now() + _minutes(rng, 10, 90), rng)
    if _chance(rng, "on_spot_rejected"):
        city.complete(rng, event_id, "verify_on_spot", {"on_spot_confirmed": False, "on_spot_note": "现场核实未处置到位"})
        yield from event_story(city, rng, event_id, community, code, reporter, location)
        return
    city.complete(rng, event_id, "verify_on_spot", {"on_spot_confirmed": True})


def event_story(city: City, rng, event_id: int, community: str, code: str, reporter, location) -> Story:
    """核实 (§7.1) and what follows it, for a report of a Table A.1 type."""
    sensitive = city.catalogs.is_sensitive(code)
    if _chance(rng, "duplicate"):        # the same matter from a citizen, merged by the registrar (§7.1)
        yield _minutes(rng, 10, 90)
        if city.status(event_id) != "open":
            return
        twin = city.submit({"service_code": code, "lat": f"{location['lat'] + 0.0002:.6f}",
                            "long": f"{location['lng'] - 0.0002:.6f}", "crs": "wgs84",
                            "address_string": location["address"], "description": "同一问题再次反映"},
                           _pick(rng, CHANNEL_SHARES))
        yield _minutes(rng, 5, 40)
        if city.status(event_id) == "open" and city.status(twin) == "open":
            city.run(lambda cmd: lifecycle.merge(cmd, twin, {"into": event_id, "reason": "同一事项重复上报"}),
                     city.staff(community, rng, sensitive))
            city.outcome.moves += 1
    if _chance(rng, "withdrawn_early"):
        yield _minutes(rng, 5, 60)
        who = reporter or city.staff(community, rng, sensitive)
        city.run(lambda cmd: lifecycle.withdraw(cmd, event_id, "问题已自行解决，申请撤单"), who)
        city.outcome.moves += 1
        return
    yield city.office(city.now() + _minutes(rng, 5, 45), rng)
    verdict = _pick(rng, {"invalid": PATHS["invalid"], "returned": PATHS["returned"],
                          "transferred": PATHS["transferred"],
                          "accept": 1 - PATHS["invalid"] - PATHS["returned"] - PATHS["transferred"]}, "verdict")
    if verdict == "invalid":
        city.complete(rng, event_id, "verify", {"verdict": "invalid", "verify_note": "现场核实无此情况"})
        return
    if verdict == "returned":
        city.complete(rng, event_id, "verify", {"verdict": "return", "verify_note": "不属于社区事务，请向12345反映"})
        return
    if verdict == "transferred":
        target = rng.choice([c for c in STATIONED if c != community])
        city.complete(rng, event_id, "verify", {"verdict": "transfer", "target_community": target,
                                                "verify_note": "事发地属相邻社区"})
        event_id = city.read(lambda s: s.get(Event, event_id).transferred_to_id)
        community = target
        yield city.office(city.now() + _minutes(rng, 10, 60), rng)
    city.complete(rng, event_id, "verify", {"verdict": "accept"})
    yield from analysis_story(city, rng, event_id, community, code, reporter)


def analysis_story(city: City, rng, event_id: int, community: str, code: str, reporter) -> Story:
    """研判 (§7.2) → 交办下沉部门 / 社区干部 / 吹哨 → 核查, the 回访 after closure, and a 重启 after that."""
    sensitive = city.catalogs.is_sensitive(code)
    department = city.catalogs.competent_department(code)
    yield _minutes(rng, 5, 40)
    stationed_unit = STATIONED[community].get(department)
    disposal = _pick(rng, {"stationed": PATHS["stationed"], "cadre": PATHS["cadre"],
                           "whistle": 1 - PATHS["stationed"] - PATHS["cadre"]}, "disposal")
    if sensitive and disposal == "whistle":   # Table A.1 rows 1-3 stay with the police and the designated cadres
        disposal = "stationed"
    if disposal == "stationed" and not stationed_unit:
        disposal = "cadre"
    data = {"disposal": disposal, "analysis_note": "研判分析"}
    if disposal == "stationed":
        data["stationed_unit"] = stationed_unit
    city.complete(rng, event_id, "analyse", data)
    if disposal == "whistle":
        yield from whistle_story(city, rng, event_id, community, code)
    else:
        task = "handle_stationed" if disposal == "stationed" else "handle_by_cadre"
        escalate = disposal == "stationed" and not sensitive and _chance(rng, "stationed_escalates")
        reworked = False
        while True:
            yield _late(rng, 30, 100, 130, 300)   # §8.1: 2 hours by default
            if escalate:
                city.complete(rng, event_id, task, {"resolved": False, "escalate_reason": "涉及部门职责，社区层面难以解决"})
                yield from whistle_story(city, rng, event_id, community, code, escalated=True)
                break
            user = city.read(lambda s: city.worker(s, city.task(s, event_id, task), rng))
            words = "已现场处置完毕"
            if disposal == "stationed":
                data = {"resolved": True, **city.result(rng, event_id, user, words, prefix="stationed_")}
                if "stationed_summary" not in data:
                    data["stationed_summary"] = words
            else:
                data = city.result(rng, event_id, user, words)
            city.complete(rng, event_id, task, data)
            yield city.office(city.now() + _minutes(rng, 20, 120), rng)
            if not reworked and _chance(rng, "rework"):
                city.complete(rng, event_id, "check", {"passed": False, "check_note": "整改不到位，请重办", "rating": "不满意"})
                reworked = True
                continue
            city.complete(rng, event_id, "check", {"passed": True, "rating": rating(rng)})
            break
    yield from revisit_story(city, rng, event_id)
    if city.status(event_id) == "closed" and _chance(rng, "reopen"):
        yield _minutes(rng, 60 * 4, 60 * 24 * 3)
        who = reporter or city.staff(community, rng, sensitive)
        city.run(lambda cmd: lifecycle.reopen(cmd, event_id, "问题再次出现"), who)
        city.outcome.moves += 1
        yield city.office(city.now() + _minutes(rng, 10, 60), rng)
        city.complete(rng, event_id, "analyse", {"disposal": "cadre", "analysis_note": "重启后由社工处置"})
        yield _minutes(rng, 30, 100)
        city.complete(rng, event_id, "handle_by_cadre", {"result_summary": "已再次处置"})
        yield city.office(city.now() + _minutes(rng, 20, 120), rng)
        city.complete(rng, event_id, "check", {"passed": True, "rating": rating(rng)})
        yield from revisit_story(city, rng, event_id)


_GEOD = Geod(ellps="WGS84")


def _late(rng, low, high, late_low, late_high) -> timedelta:
    """Minutes to a move: usually in [low, high], late (past the limit) with the share of PATHS["late"]."""
    return _minutes(rng, late_low, late_high) if _chance(rng, "late") else _minutes(rng, low, high)


def whistle_story(city: City, rng, event_id: int, community: str, code: str, escalated: bool = False) -> Story:
    """吹哨 (§7.3) → 签收受理 or 退回 (改派, 兜底指定) → 到场 → 协办 → 处置反馈 → 结案接收 (§7.3.3) → 核查
    (§8.3-§8.5)."""
    right = city.catalogs.competent_department(code)
    departments = [u["code"] for u in city.catalogs.get("units") if u["kind"] == "department"]
    returns = 2 if _chance(rng, "returned_twice") else 1 if _chance(rng, "returned_once") else 0
    wrong = [d for d in departments if d != right]
    co = rng.sample([d for d in departments if d != right], rng.choice((1, 1, 2))) if _chance(rng, "co_departments") else []
    on_site = _chance(rng, "on_site")
    yield city.office(city.now() + _minutes(rng, 5, 30), rng)
    first = rng.choice([d for d in wrong if d not in co]) if returns else right
    city.complete(rng, event_id, "issue_whistle", {"lead_department": first, "co_departments": co, "on_site": on_site,
                                                   "whistle_reason": "社区无法自行处置，需部门处置"})
    for unit in co:                                 # §7.3.1: dispatched with the lead, each accepts its own part
        yield _late(rng, 2, 10, 35, 80)
        city.complete(rng, event_id, "co_accept", {"accept_note": "协办已受理"}, unit=unit)
    lead = first
    for count in range(1, returns + 1):
        yield _minutes(rng, 5, 25)
        city.complete(rng, event_id, "accept_whistle", {"decision": "return",
                                                        "return_code": "not_ours", "return_reason": "非本部门职责，派错部门"})
        if count == 2:
            yield city.office(city.now() + _minutes(rng, 30, 180), rng)
            city.complete(rng, event_id, "authority_assign", {"owner_department": right, "decision_note": "按附录A职责兜底指定"})
            lead = right
            break
        yield _minutes(rng, 5, 30)
        lead = right if returns == 1 else rng.choice([d for d in wrong if d not in co and d != first])
        city.complete(rng, event_id, "redispatch", {"lead_department": lead, "redispatch_note": "改派"})
    late = _chance(rng, "late")
    if late and _chance(rng, "urge"):      # §9.1 催办 while the order waits past its 30 minutes
        yield _minutes(rng, 35, 50)
        city.run(lambda cmd: comments.urge(cmd, event_id, {"text": "请尽快签收受理"}),
                 rng.choice(city.people.with_role("whistle_officer", community)))
        city.outcome.moves += 1
        yield _minutes(rng, 5, 30)
    else:
        yield _minutes(rng, 35, 90) if late else _minutes(rng, 3, 25)
    if returns == 2:
        city.complete(rng, event_id, "accept_assigned", {"accept_note": "已受理"})
    else:
        city.complete(rng, event_id, "accept_whistle", {"decision": "accept", "accept_note": "已受理"})
    if _chance(rng, "withdrawn_late"):
        yield _minutes(rng, 20, 120)
        city.run(lambda cmd: lifecycle.withdraw(cmd, event_id, "来电人撤回诉求"), city.staff(community, rng))
        city.outcome.moves += 1
        return
    user = city.department_user(lead, rng)
    difficult = False
    if on_site:
        yield _late(rng, 10, 50, 65, 120)              # §8.3: on site within the hour
        difficult = _chance(rng, "difficult")
        lat, lng = city.read(lambda s: (s.get(Event, event_id).lat, s.get(Event, event_id).lng))
        # on the spot (a phone's fix some tens of metres off), or now and then somewhere else (§8.3 到场位置偏离)
        lng, lat, _ = _GEOD.fwd(lng, lat, rng.uniform(0, 360), 1200 if _chance(rng, "arrive_far") else 40)
        data = {"arrival_location": {"lat": round(lat, 7), "lng": round(lng, 7)},
                "arrival_photo": city.photo(rng, event_id, user),
                "on_spot": "difficult" if difficult else "solved"}
        if difficult:
            data["difficult_reason"] = "需协调产权单位，现场无法即时解决"
        city.complete(rng, event_id, "arrive", data)
    if _chance(rng, "extension"):                   # §8.4: the community asks, the city decides
        yield from extension_story(city, rng, event_id, community)
    if difficult:
        yield _minutes(rng, 60 * 24, 60 * 24 * 4) if not _chance(rng, "late") else _minutes(rng, 60 * 24 * 7, 60 * 24 * 9)
    else:
        yield _late(rng, 60, 60 * 18, 60 * 25, 60 * 40)   # §8.3: closed within 24 hours of dispatch
    if city.status(event_id) != "open":
        return
    city.complete(rng, event_id, "dispose_feedback", city.result(rng, event_id, user, "已按要求处置完毕"))
    for unit in co:
        yield _minutes(rng, 10, 240)
        city.complete(rng, event_id, "co_report", {"part_summary": "协办部分已处置"}, unit=unit)
    if co:
        yield _minutes(rng, 10, 120)
        city.complete(rng, event_id, "consolidate", {"result_summary": "主办、协办均已处置完毕"})
    yield from receipt_story(city, rng, event_id)
    yield city.office(city.now() + _minutes(rng, 20, 180), rng)
    if _chance(rng, "rework"):
        city.complete(rng, event_id, "check", {"passed": False, "check_note": "核查未整改到位，请重办", "rating": "不满意"})
        yield _minutes(rng, 60, 600)
        city.complete(rng, event_id, "dispose_rework", {"result_summary": "已重新处置"})
        yield from receipt_story(city, rng, event_id, again=True)
        yield city.office(city.now() + _minutes(rng, 20, 180), rng)
    city.complete(rng, event_id, "check", {"passed": True, "rating": rating(rng)})
    if returns and not city.catalogs.is_sensitive(code) and _chance(rng, "return_ruled_unreasonable"):
        # the city rules the first return unreasonable once the event is closed (issue #19: the unit's
        # 不合理退回, no longer the community's misroute; the closed day's counts move with it)
        yield city.office(city.now() + _minutes(rng, 30, 600), rng)
        first_return = city.read(lambda s: s.scalar(select(Audit.id).where(
            Audit.event_id == event_id, Audit.action == "whistle_returned").order_by(Audit.id).limit(1)))
        city.run(lambda cmd: return_rulings.rule(cmd, first_return,
                                                 {"verdict": "unreasonable", "note": "属该部门职责，退回理由不成立"}),
                 rng.choice(city.people.with_role("city_authority")))
        city.outcome.moves += 1


def receipt_story(city: City, rng, event_id: int, again: bool = False) -> Story:
    """结案接收 (§7.3.3): the community's whistle officer takes the department's closure, or sends it back once
    for the department to redo (重办) before taking it."""
    yield _minutes(rng, 5, 60)
    if not again and _chance(rng, "closure_sent_back"):
        city.complete(rng, event_id, "receive_closure", {"passed": False, "receipt_note": "结案反馈未附处置情况，请补充后重新反馈"})
        yield _minutes(rng, 60, 300)
        city.complete(rng, event_id, "dispose_rework", {"result_summary": "已补充处置情况"})
        yield _minutes(rng, 5, 60)
    city.complete(rng, event_id, "receive_closure", {"passed": True})


def extension_story(city: City, rng, event_id: int, community: str) -> Story:
    yield _minutes(rng, 30, 180)
    deadline = city.read(lambda s: s.scalars(select(Deadline).where(
        Deadline.event_id == event_id, Deadline.kind.in_(("close", "close_difficult")), Deadline.status == "pending")
        .order_by(Deadline.id)).first())
    if deadline is None:
        return
    due = deadline.due_at if deadline.due_at.tzinfo else deadline.due_at.replace(tzinfo=timezone.utc)
    wanted = due + timedelta(days=2)
    request = city.run(lambda cmd: supervision.request_extension(
        cmd, deadline.id, {"reason": "情况复杂，需协调多方，申请延期", "requested_due_at": local(wanted)}),
        city.staff(community, rng, city.read(lambda s: city.catalogs.is_sensitive(s.get(Event, event_id).type_code))))
    city.outcome.moves += 1
    yield city.office(city.now() + _minutes(rng, 30, 240), rng)
    pending = city.read(lambda s: s.get(ExtensionRequest, request["id"]).status == "pending"
                        and s.get(Deadline, deadline.id).status == "pending")
    if not pending:
        return
    approve = _chance(rng, "extension_approved") and city.now() < wanted
    body = {"approve": True, "new_due_at": local(wanted)} if approve else {"approve": False, "note": "理由不充分，不予延期"}
    city.run(lambda cmd: supervision.decide_extension(cmd, request["id"], body),
             rng.choice(city.people.with_role("city_authority")))
    city.outcome.moves += 1


def superior_story(city: City, rng, community: str) -> Story:
    """上级交办 (§5.6, §8.2): the committee consults, splits the work, and reports by the superior's deadline."""
    committee = rng.choice(city.people.with_role("committee", community))
    lat, lng, address = rng.choice(city.spots[community])
    days = rng.randint(3, 10)
    deadline = datetime.combine((city.now().astimezone(SHANGHAI) + timedelta(days=days)).date(), time(17, 0),
                                tzinfo=SHANGHAI)
    code = rng.choice(("A09", "A14", "A30", "A25", "A12"))
    event_id = city.report(committee, {
        "source": "superior", "type_code": code, "community": community,
        "description": f"专项工作：{city.catalogs.event_type(code)['content'][:50]}",
        "superior_body": rng.choice(SUPERIOR_BODIES), "superior_deadline": deadline.isoformat(),
        "location": {"lat": lat, "lng": lng, "address": address}})
    yield city.office(city.now() + _minutes(rng, 30, 240), rng)
    units = rng.sample(["zhifa", "shijian", "gongan", "xiaofang", "zigui", "yingji"], rng.randint(1, 2))
    assignments = [{"unit": u, "task_description": "按分工落实整治"} for u in units]
    if rng.random() < 0.5:
        assignments.append({"person": city.staff(community, rng).username, "task_description": "入户宣传"})
    city.complete(rng, event_id, "consult", {"consult_note": "会商研判，明确分工", "assignments": assignments})
    late = _chance(rng, "late")
    for item in assignments:
        yield _minutes(rng, 60 * 2, 60 * 24 * (days - 1) / len(assignments)) if not late else _minutes(rng, 60 * 24, 60 * 24 * days)
        name = "part_unit" if "unit" in item else "part_person"
        city.complete(rng, event_id, name, {"part_summary": "分工任务已完成"}, unit=item.get("unit"))
    yield city.office(city.now() + _minutes(rng, 30, 240), rng)
    city.complete(rng, event_id, "committee_report", {"result_summary": "专项工作已完成，报送上级"})


def one_thing_story(city: City, rng, community: str) -> Story:
    """社区治理"一件事" (§5.5, Appendix B): the committee leads, the matter's departments each do a part."""
    committee = rng.choice(city.people.with_role("committee", community))
    matter = rng.choice(city.catalogs.get("one_thing_matters"))
    lat, lng, address = rng.choice(city.spots[community])
    event_id = city.report(committee, {"source": "one_thing", "type_code": matter["code"], "community": community,
                                            "description": matter["name"], "location": {"lat": lat, "lng": lng,
                                                                                        "address": address}})
    yield city.office(city.now() + _minutes(rng, 30, 240), rng)
    co = rng.sample(matter["cooperating"], min(len(matter["cooperating"]), rng.randint(2, 3)))
    city.complete(rng, event_id, "lead_matter", {"co_departments": co, "lead_note": "牵头协调"})
    for unit in co:
        yield _late(rng, 5, 25, 35, 70)
        city.complete(rng, event_id, "co_accept", {"accept_note": "已受理"}, unit=unit)
    for unit in co:
        yield _minutes(rng, 60, 60 * 12)
        city.complete(rng, event_id, "co_report", {"part_summary": "本部门职责部分已完成"}, unit=unit)
    yield city.office(city.now() + _minutes(rng, 30, 240), rng)
    city.complete(rng, event_id, "matter_summary", {"result_summary": "一件事已协同办结"})


# -- §9: patrols, hazard points, spot checks -----------------------------------------------------------
def patrol_story(city: City, rng, start: datetime, end: datetime) -> Story:
    """Each grid worker checks in once a working day (巡查打卡, §9.2 人员到位)."""
    day = start
    while day < end:
        day = city.office(day, rng, (10, 90))
        if day >= end:
            return
        yield day
        for worker in city.people.with_role("grid_worker"):
            lat, lng, _address = rng.choice(city.spots[worker.community])
            body = {"grid": f"{short(worker.community)}-网格{rng.randint(1, 6)}", "lat": lat, "lng": lng,
                    "note": "日常巡查"}
            city.run(lambda cmd, w=worker, b=body: hazards.check_in(cmd.session, cmd.catalogs, w, cmd.now(), b), worker)
        day = datetime.combine(day.astimezone(SHANGHAI).date() + timedelta(days=1), time(0), tzinfo=SHANGHAI)


def hazard_story(city: City, rng, community: str, month_start: datetime, end: datetime) -> Story:
    """§9.2: one key hazard point for the month: reported, rectified, verified by the committee."""
    if _chance(rng, "hazard_month_missed"):
        return
    yield city.office(month_start + timedelta(days=rng.randint(1, 15), hours=rng.randint(0, 12)), rng)
    reporter = city.staff(community, rng)
    store = city.env.photos
    lat, lng, address = rng.choice(city.spots[community])
    point = city.run(lambda cmd: hazards.report_with_photos(
        cmd.session, cmd.catalogs, store, reporter, cmd.now(),
        {"title": "老旧小区消防通道堵塞", "description": "楼道堆放杂物，消防通道不畅", "address": address},
        store.check([("before.jpg", rng.choice(city.images))], "before_photos")).id, reporter)
    rejected = _chance(rng, "hazard_rejected")
    for attempt in range(2 if rejected else 1):
        yield city.office(city.now() + timedelta(days=rng.randint(2, 6)), rng)
        fixer = city.staff(community, rng)
        city.run(lambda cmd: hazards.rectify_with_photos(
            cmd.session, store, fixer, cmd.now(), point, {"note": "已清理杂物，恢复通道"},
            store.check([("after.jpg", rng.choice(city.images))], "after_photos")), fixer)
        yield city.office(city.now() + timedelta(days=rng.randint(1, 3)), rng)
        verifier = rng.choice(city.people.with_role("committee", community))
        passed = not (rejected and attempt == 0)
        city.run(lambda cmd: hazards.verify(cmd.session, verifier, cmd.now(), point, {
            "passed": passed, "note": "验收通过" if passed else "仍有杂物，未整改到位"}), verifier)


def spot_check_story(city: City, rng, start: datetime, end: datetime) -> Story:
    """§9.3: every Friday afternoon the city authority draws and checks a sample of each community's
    events that ended that week, and of its hazard points."""
    day = start.astimezone(SHANGHAI).date()
    while True:
        day += timedelta(days=(4 - day.weekday()) % 7)
        at = datetime.combine(day, time(15, 0), tzinfo=SHANGHAI).astimezone(timezone.utc)
        if at >= end:
            return
        if at > city.now():
            yield at
        inspector = rng.choice(city.people.with_role("city_authority"))
        since = max(start, at - timedelta(days=7))
        for community in STATIONED:
            for kind in ("events", "hazards"):
                seed = rng.getrandbits(32)
                check_id, drawn = city.run(lambda cmd, c=community, k=kind, n=seed: _drawn(spot_checks.draw(
                    cmd, c, since, at, 3 if k == "events" else 1, n, k)), inspector)
                for item in drawn:
                    passed = not _chance(rng, "spot_check_failed")
                    city.run(lambda cmd, c=check_id, i=item, k=kind, p=passed: spot_checks.record(
                        cmd, c, i, {"passed": p, "note": "抽查合格" if p else "处置记录不完整"}, k), inspector)
        day += timedelta(days=1)


def _drawn(check) -> tuple[int, list[int]]:
    return check.id, list(check.sample or [])


# -- when -----------------------------------------------------------------------------------------------
def report_times(rng: random.Random, count: int, start: datetime, end: datetime, calendar) -> list[datetime]:
    """`count` moments in [start, end), by HOURLY_SHAPE, rest days at REST_DAY_SHARE; sorted."""
    hours, weights = [], []
    at = start.astimezone(SHANGHAI).replace(minute=0, second=0, microsecond=0)
    while at < end:
        factor = 1.0 if calendar.is_working_day(at.date()) else REST_DAY_SHARE
        hours.append(at)
        weights.append(HOURLY_SHAPE[at.hour] * factor)
        at += timedelta(hours=1)
    times = []
    for hour in rng.choices(hours, weights=weights, k=count):
        moment = (hour + timedelta(seconds=rng.uniform(0, 3600))).astimezone(timezone.utc)
        times.append(min(max(moment, start), end - timedelta(seconds=1)))
    return sorted(times)


def month_starts(start: datetime, end: datetime) -> list[datetime]:
    """The first moment of each calendar month (Asia/Shanghai) that overlaps [start, end)."""
    first = start.astimezone(SHANGHAI).date().replace(day=1)
    months = []
    while True:
        moment = datetime.combine(first, time(0), tzinfo=SHANGHAI)
        if moment >= end:
            return months
        months.append(moment)
        first = (first + timedelta(days=32)).replace(day=1)


# -- the run --------------------------------------------------------------------------------------------
def environment(base_env, start: datetime):
    """The engine's parts of `base_env` (catalogs, handlers, photos, windows) on a simulated clock set to
    `start` (also its wall clock: the devices sign by it), with its own periodic jobs."""
    clock = SimulatedClock(start)
    return dataclasses.replace(base_env, clock=clock, wall_clock=clock, jobs=periodic())


def has_events(session_factory) -> bool:
    return uow.read(session_factory, lambda s: s.scalar(select(Event.id).limit(1)) is not None)


def run(session_factory, base_env, events: int, start: datetime, end: datetime, seed: int = 0,
        password: str | None = None, scrypt_n: int = 2**14, progress: Callable | None = None,
        activities: bool = True, tour: bool = True) -> Outcome:
    """Replay `events` reports (and, with `activities`, the §9 work) over [start, end) through the engine;
    the first of them take the `TOUR` (unless `tour` is false), the others are drawn by the shares.
    `progress(n)` is called as each report is made. The database must have processes/ deployed; the staff
    of `staff_plan` (with `password`, hashed with `scrypt_n`) and the devices are created if missing."""
    if end <= start:
        raise ValueError("the simulated period must end after it starts")
    env = environment(base_env, start)
    ensure_staff(session_factory, env, password, scrypt_n)
    secrets_of = ensure_devices(session_factory, env)
    people = uow.read(session_factory, People.load)
    rng = random.Random(seed)
    city = City(session_factory, env, people, secrets_of, random.Random(f"{seed}:spots"))
    queue: list = []
    stories: dict[int, tuple[Iterator, bool]] = {}   # number → (story, whether it is a report)

    def add(story: Iterator, at: datetime, counted: bool = False) -> None:
        number = len(stories)
        stories[number] = (story, counted)
        heapq.heappush(queue, (at, number))

    for index, at in enumerate(report_times(rng, events, start, end, env.limits.calendar)):
        forced = {"verdict": "accept", "type": "A05", **TOUR[index]} if tour and index < len(TOUR) else None
        add(report_story(city, StoryRandom(f"{seed}:report:{index}", forced)), at, counted=True)
    if activities:
        add(patrol_story(city, random.Random(f"{seed}:patrols"), start, end), start)
        add(spot_check_story(city, random.Random(f"{seed}:spot"), start, end), start)
        for month in month_starts(start, end):
            for community in STATIONED:
                add(hazard_story(city, random.Random(f"{seed}:hazard:{community}:{month:%Y%m}"), community,
                                 month, end), max(start, month))
    city.outcome.stories = len(stories)
    begun: set[int] = set()
    while queue:
        at, number = heapq.heappop(queue)
        if at >= end:
            break
        city.outcome.timers_fired += _advance(session_factory, env, at)
        story, counted = stories[number]
        first = counted and number not in begun
        begun.add(number)
        try:
            wait = next(story)
        except StopIteration:
            city.outcome.finished += 1
            continue
        except (EventflowError, Refused) as err:
            city.outcome.refused.append(f"story {number} at {local(env.clock.now())}: {_said(err)}")
            continue
        except Exception as err:  # noqa: BLE001 - one broken story must not stop the city
            log.exception("simulation: story %s failed", number)
            city.outcome.errors.append(f"story {number} at {local(env.clock.now())}: {type(err).__name__}: {err}")
            continue
        finally:
            if first and progress is not None:
                progress(1)
        nxt = wait if isinstance(wait, datetime) else env.clock.now() + wait
        heapq.heappush(queue, (max(nxt, env.clock.now()), number))
    city.outcome.timers_fired += _advance(session_factory, env, end)
    return city.outcome


#: the paths of Figure 1 and the §9 work, each as what it leaves behind: an audit action, a task done (by its
#: name in processes/), or an end state of the event (docs/process-conventions.md)
PATH_EVIDENCE = {
    "stationed": ("task", "下沉部门处置"), "cadre": ("task", "社区干部处置"), "whistle": ("action", "whistle_dispatched"),
    "returns": ("action", "whistle_returned"), "redispatch": ("task", "改派"), "authority_assign": ("task", "兜底指定"),
    "co_departments": ("task", "协办反馈"), "on_site": ("task", "到场"), "extensions": ("action", "extension_decided"),
    "misses": ("action", "overdue"), "urged": ("action", "urged"), "rework": ("action", "rework"),
    "closure_sent_back": ("action", "closure_sent_back"), "whistle_unlisted": ("action", "whistle_unlisted"),
    "reopen": ("action", "reopened"), "duplicates_merged": ("action", "merged_into"),
    "superior": ("task", "会商研判"), "one_thing": ("task", "牵头研判"),
    "closed": ("status", "closed"), "invalid": ("status", "invalid"), "returned": ("status", "returned"),
    "transferred": ("status", "transferred"), "withdrawn": ("status", "withdrawn"), "merged": ("status", "merged"),
    "spot_checks": ("action", "spot_checked"), "hazards": ("action", "hazard_verified"),
    "revisits": ("task", "回访"),
    "on_spot": ("task", "核实（即知即改）"), "on_spot_rejected": ("action", "on_spot_rejected"),
}


def paths_reached(session) -> dict[str, int]:
    """How often each path of `PATH_EVIDENCE` was taken, read back from the audit trail and the events'
    end states (a failed 核查 is a `task_completed` of 核查 with passed false, a closure sent back one of 结案接收);
    patrols from their table."""
    actions = dict(session.execute(select(Audit.action, func.count()).group_by(Audit.action)).all())
    done = dict(session.execute(select(Audit.task_name, func.count()).where(Audit.action == "task_completed")
                                .group_by(Audit.task_name)).all())
    statuses = dict(session.execute(select(Event.status, func.count()).group_by(Event.status)).all())
    checks = session.scalars(select(Audit.data).where(Audit.action == "task_completed", Audit.task_name == "核查"))
    actions["rework"] = sum(1 for data in checks if isinstance(data, dict) and data.get("passed") is False)
    receipts = session.scalars(select(Audit.data).where(Audit.action == "task_completed", Audit.task_name == "结案接收"))
    actions["closure_sent_back"] = sum(1 for data in receipts if isinstance(data, dict) and data.get("passed") is False)
    found = {"task": done, "action": actions, "status": statuses}
    reached = {path: found[kind].get(key, 0) for path, (kind, key) in PATH_EVIDENCE.items()}
    reached["patrols"] = session.scalar(select(func.count(Patrol.id))) or 0
    reached["arrival_far"] = session.scalar(select(func.count(ArrivalCheck.id)).where(ArrivalCheck.far.is_(True))) or 0
    reached["revisit_reopened"] = session.scalar(select(func.count(Revisit.id)).where(Revisit.reopened.is_(True))) or 0
    reached["revisit_missed"] = session.scalar(select(func.count(Deadline.id)).where(
        Deadline.kind == "revisit", Deadline.status == "missed")) or 0
    for source, count in session.execute(select(Event.source, func.count()).group_by(Event.source)).all():
        reached[f"source:{source}"] = count
    return reached


def _advance(session_factory, env, at: datetime) -> int:
    if at <= env.clock.now():
        return 0
    result = sweep.advance(session_factory, env, at)
    return sum(len(v) for v in result.fired.values())


def _said(err: Exception) -> str:
    if isinstance(err, EventflowError):
        return f"{type(err).__name__}: {err.message} {json.dumps(err.details, ensure_ascii=False)[:300]}"
    return str(err)
