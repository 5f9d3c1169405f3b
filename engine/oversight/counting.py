"""The SQL the §8.6 indicators count with (issue #17), shared by the full computation over any period
(engine/oversight/indicators.py) and the counts kept per day (engine/oversight/rollups.py), so both count
the same way: whose obligation a deadline is, the events closed in a period (first time or not, their last
rating), the 回访 recorded (the citizen's satisfaction), the whistle orders dispatched and returned (and the
returns the city ruled unreasonable, issue #19), and the Asia/Shanghai day of a moment."""
from __future__ import annotations

from sqlalchemy import (BigInteger, Date, Integer, and_, case, cast, func, literal, literal_column, or_, select,
                        type_coerce)

from engine.core import contracts
from engine.store.models import Audit, Deadline, Event, ReturnRuling, Revisit, is_completion, of_action
from handlers import actions

#: the kinds of limit that are a handling obligation (处置), and the acceptance one (签收受理)
HANDLING = ("community_handle", "close", "close_difficult", "superior")
ACCEPTANCE = ("accept",)
#: the community's own steps (§8.1: 核实, 研判, 吹哨/派单, 核查; catalogs/data/step_limits.json)
STEPS = ("verify", "analyse", "whistle", "check")
#: the limits whose miss is a late response in the circular (§9.1 响应超期); the others' is late feedback
RESPONSE = ("accept", "arrive", "superior", "verify", "analyse", "whistle")
#: the city's ruling that a return was unreasonable (不合理退回, issue #19; engine/oversight/returns.py)
UNREASONABLE = "unreasonable"
#: the levels whose orders and returns are counted: the unit's (退回率, 不合理退回率) and, for the community
#: whose event it is, its orders and the returns that stand as its misroute (派错率)
ORDER_LEVELS = ("unit", "community")


def dialect(session) -> str:
    return session.get_bind().dialect.name


def shanghai_day(session, column):
    """The Asia/Shanghai calendar day (UTC+8, no daylight saving) of a stored moment, as a DATE."""
    if dialect(session) == "sqlite":                    # naive UTC text 'YYYY-MM-DD HH:MM:SS.ffffff'
        return type_coerce(func.date(column, "+8 hours"), Date)
    return cast(func.timezone("Asia/Shanghai", column), Date)


def party_column(level: str):
    """Whose obligation a deadline is (docs/indicators.md): the unit; the person named on it, or else who did
    the work that met it; a community its own (no unit, no person)."""
    if level == "unit":
        return Deadline.unit
    if level == "person":
        return func.coalesce(func.nullif(Deadline.person, ""), Deadline.met_by)
    return case((and_(func.coalesce(Deadline.unit, "") == "", func.coalesce(Deadline.person, "") == ""),
                 Deadline.community))


def microseconds(session, later, earlier):
    """`later − earlier` in whole microseconds, exactly (SQLite keeps 'YYYY-MM-DD HH:MM:SS[.ffffff]' text: a
    whole second without its fraction, whose substr is '' and counts 0)."""
    if dialect(session) == "sqlite":
        return ((func.strftime("%s", later) - func.strftime("%s", earlier)) * 1_000_000
                + (cast(func.substr(later, 21, 6), Integer) - cast(func.substr(earlier, 21, 6), Integer)))
    return cast(func.extract("epoch", later - earlier) * 1_000_000, BigInteger)


def constant(value: str):
    """A code constant written into the SQL itself, so a partial index whose condition names it can be used."""
    assert "'" not in value
    return literal_column(f"'{value}'")


def json_false(session, key: str, table=Audit.__table__):
    """`audit.data[key] is False` (a JSON false, nothing else)."""
    data = table.c.data
    if dialect(session) == "sqlite":
        return func.json_type(data, constant(f"$.{key}")) == constant("false")
    return and_(func.json_typeof(data.op("->")(constant(key))) == constant("boolean"),
                data.op("->>")(constant(key)) == constant("false"))


def completed(table=Audit.__table__):
    """An audit row of a completed task, written as the partial index `ix_audit_completed_by` (migration 0022)
    is, so the monthly report's days with work done per person read just those rows."""
    return is_completion(table.c.action)


def failed_check(session, table=Audit.__table__):
    """An audit row of a 核查 that failed (§8.5 重办): written as the partial index `ix_audit_failed_check`
    (migration 0020) is, so the circular and the first-time count read just those rows."""
    return and_(is_completion(table.c.action),
                json_false(session, contracts.CHECK_PASSED, table))


def json_text(session, key: str, table=Audit.__table__):
    """`audit.data[key]` when it is a non-empty string (a rating is one, processes/forms/check.json), else NULL."""
    data = table.c.data
    if dialect(session) == "sqlite":
        return case((and_(func.json_type(data, f"$.{key}") == "text",
                          func.json_extract(data, f"$.{key}") != ""), func.json_extract(data, f"$.{key}")))
    return case((and_(func.json_typeof(data.op("->")(key)) == "string", data.op("->>")(key) != ""),
                 data.op("->>")(key)))


def closed_query(session, level: str, start, end, by_day: bool = False):
    """(party, 办结数, 一次性办结数, 评价数, 评价满意数) of the events closed in [start, end); with `by_day`, the
    closing day first and one row per day and party. A community's first time ignores the returns the city
    ruled unreasonable (not its misroute); a unit's and a person's count every return."""
    returned = Audit.action == actions.WHISTLE_RETURNED
    if level == "community":    # a return the city ruled unreasonable is not the community's (issue #19)
        returned = and_(returned, ~select(ReturnRuling.id).where(ReturnRuling.audit_id == Audit.id,
                                                                ReturnRuling.verdict == UNREASONABLE).exists())
    rework = (select(Audit.id).where(Audit.event_id == Event.id, or_(
        returned, Audit.action == contracts.REOPENED, failed_check(session))))
    rating = json_text(session, contracts.CHECK_RATING)
    last_rating = (select(rating).where(Audit.event_id == Event.id, Audit.action == contracts.TASK_COMPLETED,
                                        rating.is_not(None))
                   .order_by(Audit.id.desc()).limit(1).scalar_subquery())   # written order: the last is the last
    first = case((and_(func.coalesce(Event.reopen_count, 0) == 0, ~rework.exists()), 1), else_=0)
    closed = [Event.status == "closed", Event.closed_at >= start, Event.closed_at < end]
    day = shanghai_day(session, Event.closed_at).label("day") if by_day else literal(None).label("day")
    if level == "person":       # the people with a handling obligation on the event
        people = (select(Deadline.event_id, func.coalesce(func.nullif(Deadline.person, ""),
                                                          func.nullif(Deadline.met_by, "")).label("party"))
                  .where(Deadline.kind.in_(HANDLING), Deadline.status != "superseded").distinct().subquery())
        rows = (select(day, people.c.party.label("party"), first.label("first"), literal(None).label("rating"))
                .join_from(Event, people, people.c.event_id == Event.id)
                .where(*closed, people.c.party.is_not(None)))
    else:
        column = Event.community if level == "community" else Event.lead_unit
        rows = (select(day, column.label("party"), first.label("first"),
                       case((func.coalesce(Event.lead_unit, "") != "", last_rating)).label("rating"))
                .where(*closed, func.coalesce(column, "") != ""))
    rows = rows.subquery()
    rated = case((rows.c.rating.is_not(None), 1), else_=0)
    keys = [rows.c.day, rows.c.party] if by_day else [rows.c.party]
    return (select(*keys, func.count(), func.sum(rows.c.first), func.sum(rated),
                   func.sum(case((rows.c.rating == "满意", 1), else_=0)))
            .group_by(*keys))


def revisit_query(session, level: str, start, end, by_day: bool = False):
    """(party, 回访接通数, 回访满意数) of the 回访 recorded in [start, end) that reached the reporter and have a
    rating (engine/casework/revisits.py), the second counting 满意 and 基本满意 (§8.6 群众满意率): a community's
    are those of its events, a unit's those of the events it led when they closed; a person has none (None).
    With `by_day`, the day recorded first."""
    if level == "person":
        return None
    column = Revisit.community if level == "community" else Revisit.lead_unit
    keys = ([shanghai_day(session, Revisit.recorded_at).label("day")] if by_day else []) + [column.label("party")]
    return (select(*keys, func.count(), func.sum(case((Revisit.rating.in_(contracts.SATISFIED), 1), else_=0)))
            .where(Revisit.status == "done", Revisit.reached.is_(True), Revisit.rating.is_not(None),
                   Revisit.recorded_at >= start, Revisit.recorded_at < end, func.coalesce(column, "") != "")
            .group_by(*keys))


def lead_unit(session, table=Audit.__table__):
    data = table.c.data
    if dialect(session) == "sqlite":
        return func.json_extract(data, "$.lead_unit")
    return data.op("->>")("lead_unit")


def dispatched_query(session, start, end, by_day: bool = False, level: str = "unit"):
    """(party, 派单数): whistle orders dispatched in [start, end), to a unit, or of a community's events
    (`level`); with `by_day`, the day first."""
    party = lead_unit(session) if level == "unit" else Event.community
    keys = ([shanghai_day(session, Audit.at)] if by_day else []) + [party]
    source = Audit.__table__ if level == "unit" else Audit.__table__.join(Event.__table__, Event.id == Audit.event_id)
    return (select(*keys, func.count()).select_from(source)
            .where(of_action(Audit.action, actions.WHISTLE_DISPATCHED), Audit.at >= start, Audit.at < end,
                   func.coalesce(party, "") != "")
            .group_by(*keys))


def returned_query(session, start, end, by_day: bool = False, level: str = "unit"):
    """(party, 退回数, 不合理退回数): returns in [start, end) of an order dispatched in the period — the return
    answers the latest order of that unit before it —, by the unit that returned, or by the community whose
    event it is (`level`); the second, those the city ruled unreasonable. With `by_day`: (day, party, early
    day, 退回数, 不合理退回数), the early day being the order's when it was dispatched on an earlier day than
    the return (a period counts the return only if it starts on or before the order's day)."""
    returned = Audit.__table__.alias("returned")
    unit = (func.json_extract(returned.c.data, "$.unit") if dialect(session) == "sqlite"
            else returned.c.data.op("->>")("unit"))
    party = unit if level == "unit" else Event.community
    order_at = (select(Audit.at).where(Audit.event_id == returned.c.event_id,
                                       Audit.action == actions.WHISTLE_DISPATCHED, Audit.id < returned.c.id,
                                       lead_unit(session) == unit)
                .order_by(Audit.id.desc()).limit(1).scalar_subquery())
    rulings = ReturnRuling.__table__
    unreasonable = case((rulings.c.verdict == UNREASONABLE, 1), else_=0)
    source = returned.outerjoin(rulings, rulings.c.audit_id == returned.c.id)
    if level != "unit":
        source = source.join(Event.__table__, Event.id == returned.c.event_id)
    found = [of_action(returned.c.action, actions.WHISTLE_RETURNED), returned.c.at >= start, returned.c.at < end,
             func.coalesce(party, "") != ""]
    if not by_day:
        return (select(party, func.count(), func.sum(unreasonable)).select_from(source)
                .where(*found, order_at >= start).group_by(party))
    rows = (select(shanghai_day(session, returned.c.at).label("day"), party.label("party"),
                   shanghai_day(session, order_at).label("order_day"), unreasonable.label("unreasonable"))
            .select_from(source).where(*found, order_at.is_not(None)).subquery())
    early = case((rows.c.order_day < rows.c.day, rows.c.order_day))
    return (select(rows.c.day, rows.c.party, early, func.count(), func.sum(rows.c.unreasonable))
            .group_by(rows.c.day, rows.c.party, early))
