"""Who may do what (issue #15): every role and scope rule of eventflow, in one module.

Two kinds of rule live here and nowhere else:

- **Operation rules** (`Rule`): which roles may ask for an operation at all. Every API operation and every
  page names one (`web/auth.signed_in(permissions.MERGE)`); `eventflow docs` writes them into the OpenAPI
  document as `x-roles` and into the README's role × operation table, and a test calls every operation as
  every role against that table. A refused role gets 403 naming `role` before anything is read.
- **Object checks** (`may_*`, and the SQL conditions `*_of`/`*_filter`): whether this user may act on this
  event, task, community or point — their scope (a community and/or a unit of the unit tree, §6) and
  Table A.1's sensitive rows 1–3 (重点人员、平安建设、警情), which only the police (the type's competent
  department and the units below it) and the cadres a community designated see, besides their reporter.

The API, the pages, the CLI and the exports call these; nothing else tests a role by name.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, exists, false, or_, select, true
from sqlalchemy.orm import aliased

from engine.core.errors import Forbidden
from engine.store.dialects import one_of
from engine.store.models import Delegation, Event, EventParty, WorkItem
from engine.accounts.users import GLOBAL_ROLES, ROLES


@dataclass(frozen=True)
class Rule:
    """An operation and the roles that may ask for it; `scope` says, in words, what narrows it further."""

    name: str
    roles: tuple[str, ...]
    scope: str = ""

    def allows(self, user) -> bool:
        return user is not None and bool(set(user.roles) & set(self.roles))

    def require(self, user) -> None:
        if not self.allows(user):
            raise Forbidden(f"无权进行此操作 (this needs one of the roles {', '.join(self.roles)})", field="role")


#: every operation rule, by name (the order the README lists them in)
RULES: dict[str, Rule] = {}


def _rule(name: str, roles, scope: str = "") -> Rule:
    rule = Rule(name, tuple(r for r in ROLES if r in set(roles)), scope)
    RULES[name] = rule
    return rule


ADMINS = ("process_admin", "system_admin")
CITY = ("city_authority", "process_admin", "system_admin")
#: §9.3 抽查通报: the results are published to the communities (and their joint party committees) they name
PUBLISHED_TO = ("community_staff", "committee", "whistle_officer")

#: no token at all: sign-in, health, the document itself, Open311's public reads, a device's signed alert
PUBLIC = Rule("public", (), "anyone (Open311 submissions carry a channel key; device alerts a signature)")
SIGNED_IN = _rule("signed_in", ROLES, "what their scope reaches")
#: §5: the sources each role may register as a signed-in user (issue #15). `citizen` (§5.3) comes only through
#: an Open311 key (engine/open311.py) and `iot_alert` (§5.4) only from a signed device (engine/channels/devices.py).
#: grid_worker: §5.1 its own reports; committee: §5.2 it leads the patrol, §5.5 its responsibility list,
#: §5.6/§8.2 an assignment it was given; community_staff: the committee's cadres walk its patrol and take in
#: its "one thing" matters; stationed_staff, whistle_officer: members of the committee's patrol (§5.2);
#: city_authority: §5.6 the city recording an assignment to a community. §5 names no source for the others.
SOURCE_USERS = {"grid_worker": ("grid_worker",),
                "committee": ("committee_patrol", "one_thing", "superior"),
                "community_staff": ("committee_patrol", "one_thing"),
                "stationed_staff": ("committee_patrol",),
                "whistle_officer": ("committee_patrol",),
                "city_authority": ("superior",)}
REPORT = _rule("report", SOURCE_USERS,
               "their own community (the city: any); each source only by those it belongs to (§5)")
SPEAK_FOR_SOURCE = _rule("speak_for_source", ROLES, "the reporter, or a cadre of the event's community (撤单, 重启)")
URGE = _rule("urge", ("community_staff", "committee", "whistle_officer", "city_authority"),
             "an open event they see (§9.1 催办)")
MERGE = _rule("merge", ("community_staff", "city_authority"), "events of their own community (the city: any)")
ADMINISTER = _rule("administer", ADMINS, "挂起, 恢复, 终止, 重新启动 an event's process")
VERSIONS = _rule("versions", ADMINS, "deploy, list, activate and migrate process versions")
INCIDENTS = _rule("incidents", ADMINS, "流程异常: list and retry")
CATALOG_EDIT = _rule("catalog_edit", ("system_admin",),
                     "units, duty rosters, calendar, communities, escalation ladder, Table A.1 and B.1, step limits")
COMMUNITY_SETTINGS = _rule("community_settings", ("community_staff", "system_admin"),
                           "their own community's whistle list and time limits")
CATALOG_HISTORY = _rule("catalog_history", CITY)
SIM_CLOCK = _rule("sim_clock", CITY, "only under the simulated clock")
USERS = _rule("users", ("system_admin",))
INDICATORS = _rule("indicators", ROLES,
                   "the city and administrators all rows; others their own community's, unit's and person's")
CIRCULAR = _rule("circular", (*CITY, *PUBLISHED_TO),
                 "the city all; a community's people the lines naming their community or its joint party committee "
                 "(§9.3 通报)")
UNLISTED_WHISTLES = _rule("unlisted_whistles", ("community_staff", "committee", "whistle_officer", *CITY),
                          "清单外吹哨 (§7.3.2): the city and administrators every community; a community's people their own")
PATROL = _rule("patrol", ("grid_worker", "community_staff", "committee", "stationed_staff"), "their community")
HAZARD_REPORT = _rule("hazard_report", ("community_staff", "committee"), "their community")
HAZARD_READ = _rule("hazard_read", ("community_staff", "committee", *CITY),
                    "隐患整治点: their own community's (the city and administrators: any)")
HAZARD_VERIFY = _rule("hazard_verify", ("committee", "city_authority"), "the committee its community; the city any")
COMMUNITY_READ = _rule("community_read", ROLES, "their own community (the city and administrators: any)")
SPOT_CHECK = _rule("spot_check", ("city_authority", "system_admin"), "§9.3 抽查")
SPOT_CHECK_READ = _rule("spot_check_read", (*CITY, *PUBLISHED_TO),
                        "the city all; a community's people the draws of their own community (§9.3 抽查通报)")
EXTENSION_REQUEST = _rule("extension_request", ("community_staff",), "deadlines of their community's events (§8.4)")
EXTENSION_DECIDE = _rule("extension_decide", ("city_authority",), "§8.4 审批")
NOTICE_CHANNELS = _rule("notice_channels", ("system_admin",),
                        "通知渠道: channels outside the app, the delivery log, resending")
MY_NOTICE_CHANNELS = _rule("my_notice_channels", ROLES,
                           "我的通知方式: a person's own channels (add, edit, pause, delete, test) and what was sent "
                           "to them; a system administrator any channel (may_manage_channel)")
LIVE = _rule("live", ROLES, "their own 待办 and 消息 as the lists show them, while the session lasts (issue #18)")
MANAGE = _rule("manage", ("community_staff", "process_admin", "system_admin"), "the 管理 pages")
DELEGATE = _rule("delegate", ("department_staff",),
                 "下派/收回: the unit's own clerks, its own tasks, to a sub-unit or person of its tree (issue #19)")
RETURNS_READ = _rule("returns_read", (*CITY, "department_staff"),
                     "退回: the city every unit's returns and their reasons, a department its own unit's and those of "
                     "the units below it, with the city's rulings (a sensitive event's only counted, issue #19)")
RETURN_RULING = _rule("return_ruling", ("city_authority",),
                      "裁定退回是否合理 (不合理退回 counts against the unit, not as the community's misroute)")

#: roles of the registering community that see a reporter's contact in full
CONTACT_ROLES = {"community_staff", "committee"}
#: roles that read what is addressed to their community as a whole (消息)
COMMUNITY_READERS = {"community_staff", "committee", "whistle_officer"}


def is_global(user) -> bool:
    """The city authority and administrators: every community and unit."""
    return bool(set(user.roles) & GLOBAL_ROLES)


def units_within(catalogs, unit: str | None) -> list[str]:
    if not unit:
        return []
    return catalogs.units_within(unit)


def returns_units(user, catalogs) -> list[str] | None:
    """The units whose returns (退回) and the city's rulings on them this user reads: None for the city (every
    unit), a department's clerk their own unit and the units below it (RETURNS_READ)."""
    if is_global(user):
        return None
    return units_within(catalogs, user.unit)


# -- sensitive events (Table A.1 rows 1–3) -------------------------------------------------------------
def forbidden_codes(user, catalogs) -> list[str]:
    """The sensitive types this user may not see (their own reports aside): all of them but for the police
    (the type's competent department or a unit below it) and a community's designated cadres."""
    codes = []
    for code in catalogs.sensitive_codes():
        department = catalogs.competent_department(code)
        police = bool(user.unit and department and catalogs.is_within(user.unit, department))
        designated = bool(getattr(user, "sensitive_access", False) and user.community)
        if not (police or designated):
            codes.append(code)
    return codes


def may_see_sensitive(user, catalogs, type_code: str | None, reporter: str | None) -> bool:
    """Whether the type alone keeps this event from the user (scope aside)."""
    return type_code not in forbidden_codes(user, catalogs) or (reporter is not None and reporter == user.username)


def sensitive_filter(user, catalogs):
    """SQL condition on Event: no sensitive event the user may not see, but their own reports."""
    codes = forbidden_codes(user, catalogs)
    return or_(Event.type_code.not_in(codes), Event.reporter == user.username) if codes else true()


def sensitive_hidden(user, catalogs):
    """SQL condition on Event: a sensitive event the user may not see — `may_see_sensitive` false, the
    negation of `sensitive_filter` (an event with no reporter is nobody's own report)."""
    codes = forbidden_codes(user, catalogs)
    return and_(Event.type_code.in_(codes), or_(Event.reporter.is_(None), Event.reporter != user.username)) \
        if codes else false()


def per_user(cache: dict, user, catalogs, build):
    """`build()` kept in `cache` per (user, catalogs object, catalogs content): a user's visibility condition,
    or a statement made of it, is the same on every request (SQL expressions are immutable: one is shared by
    every thread), and building one — and working out its cache key — costs more than running the query it
    is part of (bench/throughput.py). A user that is no Principal (unhashable) gets a new one each time."""
    try:
        key = (user, id(catalogs), catalogs.content_hash)
        found = cache.get(key)
    except TypeError:
        return build()
    if found is None:
        if len(cache) >= 10_000:
            cache.clear()
        found = cache[key] = build()
    return found


_EVENTS_OF: dict = {}


def events_of(user, catalogs):
    """SQL condition on Event: the events a user may see — their community's, their units' dispatches and
    parts, their own reports; everything for the city level — less the sensitive ones not theirs."""
    return per_user(_EVENTS_OF, user, catalogs, lambda: _events_of(user, catalogs))


def _events_of(user, catalogs):
    sensitive = sensitive_filter(user, catalogs)
    if is_global(user):
        return sensitive
    parties = [and_(EventParty.kind == "person", EventParty.value == user.username)]
    clauses = [Event.reporter == user.username]
    if user.community:
        clauses.append(Event.community == user.community)
    if user.unit:
        units = units_within(catalogs, user.unit)
        clauses.append(Event.lead_unit.in_(units))
        parties.append(and_(EventParty.kind == "unit", EventParty.value.in_(units)))
    clauses.append(Event.id.in_(select(EventParty.event_id).where(or_(*parties))))
    return and_(or_(*clauses), sensitive)


# -- tasks -----------------------------------------------------------------------------------------------
#: the event of a work item, as its own name in the query (the caller's query may join Event too)
_OF_ITEM = aliased(Event)


def work_items_of(user, catalogs):
    """SQL condition on WorkItem: the ready tasks this user may see and complete — of their roles, given to
    them by name, to their community, or to their unit or one above it — less sensitive events' tasks."""
    if not user.roles:
        return false()
    scope = [and_(WorkItem.assignee_kind == "person", WorkItem.person == user.username)]
    if user.community:
        scope.append(and_(WorkItem.assignee_kind == "community", WorkItem.community == user.community))
    if user.unit:
        scope.append(and_(WorkItem.assignee_kind == "unit", WorkItem.unit.in_(units_within(catalogs, user.unit))))
    # 下派: passed down to them or a unit of theirs, while it stands (the unit itself still sees it above). Each
    # part of the OR is one an index answers, the standing 下派 a list read once (`one_of`): SQLite (never
    # analyzed) combines them (MULTI-INDEX OR) and sorts the user's tasks; PostgreSQL does so (BitmapOr) where
    # they are few among the city's, and walks 待办's order where they are many (bench/growth.py,
    # tests/engine/test_paging.py)
    scope.append(one_of(WorkItem.id, select(Delegation.task_id).where(Delegation.status == "active",
                                                                      delegated_to(user, catalogs))))
    codes = forbidden_codes(user, catalogs)
    # per work item, one look-up of its event (not a list of every sensitive event ever: issue #17)
    sensitive = ~exists().where(_OF_ITEM.id == WorkItem.event_id, _OF_ITEM.type_code.in_(codes)) if codes else true()
    return and_(WorkItem.role.in_(sorted(user.roles)), or_(*scope), sensitive)


def may_work_on(user, item: WorkItem, catalogs, passed=None) -> bool:
    """The task's role, and its assignee's scope — or, with `passed` (the task's active 下派, if any), passed
    down to the user or a unit of theirs."""
    if item.role not in user.roles:
        return False
    if passed is not None and holds_delegation(user, passed, catalogs):
        return True
    if item.assignee_kind == "community":
        return item.community is not None and item.community == user.community
    if item.assignee_kind == "unit":
        return bool(user.unit) and catalogs.is_within(item.unit, user.unit)
    return item.person == user.username


# -- 下派 (issue #19): a unit's task passed to a sub-unit or person of its tree ---------------------------------
def delegated_to(user, catalogs):
    """SQL condition on Delegation: passed down to this user by name, or to their unit or one below it."""
    clauses = [and_(Delegation.to_person.is_not(None), Delegation.to_person == user.username)]
    if user.unit:
        clauses.append(Delegation.to_unit.in_(units_within(catalogs, user.unit)))
    return or_(*clauses)


def holds_delegation(user, delegation, catalogs) -> bool:
    """Is an active 下派 theirs to do: to them by name, or to their unit or one above it."""
    if delegation.status != "active":
        return False
    if delegation.to_person:
        return delegation.to_person == user.username
    return bool(user.unit and delegation.to_unit) and catalogs.is_within(delegation.to_unit, user.unit)


def is_units_clerk(user, item: WorkItem) -> bool:
    """The unit's own clerk for this task: a department's staff of the very unit the task is given to, with
    its role (a unit above sees the task but does not run the unit's organisation; a sub-unit it was passed
    to does the work, and does not pass it on)."""
    return DELEGATE.allows(user) and item.assignee_kind == "unit" and item.role in user.roles \
        and bool(user.unit) and user.unit == item.unit


def may_delegate(user, item: WorkItem) -> None:
    """下派 and 收回: only the unit's own clerks (`is_units_clerk`); Forbidden naming `task` otherwise."""
    DELEGATE.require(user)
    if not is_units_clerk(user, item):
        raise Forbidden("只有任务所属单位本级的工作人员可以下派或收回 (only the unit's own clerks pass its tasks down)",
                        field="task")


def may_pass_to_unit(catalogs, item: WorkItem, unit: str | None) -> bool:
    """A sub-unit of the task's unit (中队, 所): below it in the unit tree, not the unit itself."""
    return bool(unit) and unit != item.unit and catalogs.is_within(unit, item.unit)


def may_pass_to_person(catalogs, item: WorkItem, person, type_code: str | None) -> bool:
    """A person of the task's unit or a unit below it, active, with the task's role, who may see the event."""
    return bool(person is not None and person.active and person.unit and item.role in person.roles
                and catalogs.is_within(person.unit, item.unit)
                and may_see_sensitive(person, catalogs, type_code, None))


# -- events ---------------------------------------------------------------------------------------------
def may_see_contact(user, event) -> bool:
    """A reporter's contact in full: the registering community's cadres; the city authority only while the
    event waits for its 分拨 (it may have to call the citizen to find the place)."""
    if event.community is None:
        return "city_authority" in user.roles
    return user.community == event.community and bool(CONTACT_ROLES & set(user.roles))


def may_use_source(user, source: str) -> bool:
    """May this signed-in user register an event of this §5 source? (403 naming `source` otherwise)"""
    return any(source in SOURCE_USERS.get(role, ()) for role in user.roles)


def sources_for(user, sources) -> list[str]:
    """The sources the user may register, in §5's order (the report page's picker)."""
    return [source for source in sources if may_use_source(user, source)]


#: 即知即改: who fixes a problem there and then and reports it as already handled — a grid worker on patrol (§5.1)
#: and a stationed officer (公安、执法、市监 in the community, §7.2); the community verifies it (engine/casework/on_spot.py)
ON_SPOT_ROLES = ("grid_worker", "stationed_staff")


def may_report_on_spot(user) -> bool:
    """May this user report an event as already handled on the spot (即知即改)? (403 naming `handled_on_spot`)"""
    return bool(set(user.roles) & set(ON_SPOT_ROLES))


def may_speak_for_source(user, event) -> bool:
    """撤单 and 重启: the reporter, or a cadre of the event's community acting on the caller's behalf (§7.1)."""
    return event.reporter == user.username or ("community_staff" in user.roles and user.community == event.community)


def may_merge(user, *events) -> None:
    """合并 / 非重复: the registering community's cadres for their own events, the city for any."""
    MERGE.require(user)
    if not is_global(user) and any(e.community != user.community for e in events):
        raise Forbidden("只能处理本社区的事件 (only events of your own community)", field="community")


def may_request_extension(user, event) -> None:
    """§8.4 延期申请: a cadre of the event's community."""
    if not EXTENSION_REQUEST.allows(user) or user.community != event.community:
        raise Forbidden("延期由事件所属社区的社区干部申请 (§8.4: the event's community applies)", field="role")


def scoped_rows(model, user, catalogs):
    """SQL condition on a row naming a community, a unit and a person (督办 records): everything for the
    city level; else their community's, their units' (and units below), and their own."""
    if is_global(user):
        return true()
    clauses = [model.person == user.username]
    if user.community:
        clauses.append(model.community == user.community)
    if user.unit:
        clauses.append(model.unit.in_(units_within(catalogs, user.unit)))
    return or_(*clauses)


def extension_requests_of(user):
    """SQL condition on Event for 延期申请: the city level all; a community its own events' requests."""
    if is_global(user):
        return true()
    return Event.community == user.community if user.community else false()


def reads_community_messages(user) -> bool:
    return bool(user.community and COMMUNITY_READERS & set(user.roles))


# -- catalogs ---------------------------------------------------------------------------------------------
def may_edit_catalog(user, name: str, editable, community: str | None = None) -> bool:
    if CATALOG_EDIT.allows(user):
        return name in editable
    # a community's own settings: its whistle list and limits (§7.3.2, §8.1), its steps' limits (issue #19)
    return name in ("communities", "step_limits") and community is not None and "community_staff" in user.roles \
        and user.community == community


# -- §8.6 / §9 -------------------------------------------------------------------------------------------
def may_read_community(user, community: str | None) -> bool:
    """A community's reports (月报, 巡查, 隐患): its own people; the city and administrators any."""
    return is_global(user) or bool(community and community == user.community)


def require_community(user, community: str | None) -> None:
    if not may_read_community(user, community):
        raise Forbidden("只能查看本社区 (only your own community)", field="community")


def community_to_read(user, asked: str | None) -> str | None:
    """The community a report or list is for: the one `asked` (`?community=`), else the user's own; Forbidden
    unless the user may read it (`may_read_community`)."""
    community = asked or user.community
    require_community(user, community)
    return community


# -- §9.3 published results: a community reads its own lines ----------------------------------------------
def own_communities(user, catalogs) -> set[str]:
    """The communities whose published §9.3 results (circular lines, spot-check findings) a user reads: their
    own community, and those whose joint party committee (社区联合党委) is their unit or one below it."""
    found = {user.community} if user.community else set()
    if user.unit:
        within = set(units_within(catalogs, user.unit))
        found |= {option["value"] for option in catalogs.options("communities")
                  if (catalogs.community(option["value"]) or {}).get("committee") in within}
    return found


def community_parties(catalogs, community: str) -> set[tuple[str, str]]:
    """The circular's parties that are a community's own: the community, and its joint party committee."""
    committee = (catalogs.community(community) or {}).get("committee")
    return {("community", community)} | ({("unit", committee)} if committee else set())


def circular_parties(user, catalogs) -> set[tuple[str, str]] | None:
    """The circular's (level, party) whose lines a user reads (`CIRCULAR`): None — every party — for the city
    and administrators; for a community's people, their communities' (`own_communities`) and those
    communities' joint party committees' (§9.3: 抽查通报, published to whom it names)."""
    if is_global(user):
        return None
    if not CIRCULAR.allows(user):
        return set()
    return {party for community in own_communities(user, catalogs) for party in community_parties(catalogs, community)}


def may_read_spot_check(user, catalogs, community: str | None) -> bool:
    """A spot check (§9.3): the city and administrators any; a community's people the draws of their own."""
    return is_global(user) or (SPOT_CHECK_READ.allows(user) and community in own_communities(user, catalogs))


def spot_check_communities(user, catalogs) -> set[str] | None:
    """The communities whose draws a user lists: None (every one) for the city level."""
    if is_global(user):
        return None
    return own_communities(user, catalogs) if SPOT_CHECK_READ.allows(user) else set()


def may_patrol(user) -> bool:
    return PATROL.allows(user) and bool(user.community)


def may_report_hazard(user, community: str | None) -> bool:
    return HAZARD_REPORT.allows(user) and bool(community) and user.community == community


def may_see_hazards(user) -> bool:
    """隐患 (API and pages): a community's cadres and committee, and the city level."""
    return HAZARD_READ.allows(user) and (bool(user.community) or is_global(user))


def may_verify_hazard(user, community: str | None) -> bool:
    return "city_authority" in user.roles or ("committee" in user.roles and user.community == community)


def may_read_unit_row(user, catalogs, unit: str | None) -> bool:
    """§8.6 indicators: a unit's row for the city level and for the unit's own people (and those above)."""
    return is_global(user) or bool(user.unit and unit and catalogs.is_within(unit, user.unit))


def may_read_community_row(user, community: str | None) -> bool:
    """A community's row for the city level and for the community's own people."""
    return is_global(user) or bool(user.community and community == user.community)


def may_read_person_row(user, catalogs, person) -> bool:
    """A person's row: their own; a unit's people for those of their unit and below; a community's cadres
    for its people; the city level all."""
    if is_global(user) or person.username == user.username:
        return True
    if user.unit and person.unit and catalogs.is_within(person.unit, user.unit):
        return True
    return bool(user.community and person.community == user.community and CONTACT_ROLES & set(user.roles))


def may_manage_channel(user, channel) -> bool:
    """A notice channel outside the app (engine/notices/delivery.py): a system administrator any; anyone else only
    a channel of their own — a person's channel whose owner is themselves (never a unit's or a community's)."""
    if user is None or channel is None:
        return False
    if NOTICE_CHANNELS.allows(user):
        return True
    return channel.owner_kind == "person" and channel.owner == user.username
