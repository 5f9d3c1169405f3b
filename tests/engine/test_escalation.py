"""逐级通知 (issue #18): the escalation ladder of catalogs/data/escalation.json walked on the simulated clock
through engine functions (no app), on SQLite and on PostgreSQL. A whistle to 执法局 at 01:40 on Sunday
2026-10-11 (out of hours by the working calendar; zhifa1 is on zhifa's duty roster that day):

- dispatch (派单, §4.1): the unit, and the duty officer's copy;
- the yellow light at 02:00 (two thirds of the 30 minutes, §8.3): the unit and the duty officer;
- the miss at 02:10: the red light to the unit, and its 分管领导 (§9.1) — the unit marked 【分管领导】, or the
  leader's own account where units.json names one;
- 4 hours after a miss that still stands (06:10): the city's 社会治理中心 (shezhi).

Each once, with TWO app nodes (engine environments on connections of their own, in threads) sweeping the
same database at once at each stage; each rung also recorded, citing its clause, in the audit row of its moment
(deadline_set, deadline_warning, deadline_missed; an `escalated` row for the rung that fires later). A miss
that stops standing (done late, 撤单) cancels the waiting rung; a suspension holds and moves it.
Also: every notice goes through engine/notices/outbox.py `notify` (the source is checked), and a new report
tells its community (§4.1 自动通知派单)."""
from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from catalogs import load_catalogs
from catalogs.loader import DATA_DIR
from engine.accounts.users import create_user
from engine.casework import administration, lifecycle
from engine.limits import escalation
from engine.runtime import sweep
from engine.store.models import Audit, Escalation, Notification
from tests.conftest import SIM_START
from tests.engine.conftest import load_user
from tests.engine.steps import complete, reported_and_started, swept_by_two_nodes, whistled

ROOT = Path(__file__).resolve().parents[2]
SUNDAY_NIGHT = datetime.fromisoformat("2026-10-11T01:40:00+08:00")
#: every notice of one whistle's ladder, as (kind, recipient kind, recipient), each exactly once
LADDER = {("dispatched", "unit", "zhifa"), ("dispatched", "person", "zhifa1"),
          ("warning", "unit", "zhifa"), ("warning", "person", "zhifa1"),
          ("overdue", "unit", "zhifa"), ("overdue", "person", "zhifa1"),
          ("supervise", "unit", "zhifa"), ("supervise", "person", "zhifa1"),
          ("escalated", "unit", "shezhi")}


def notices(read, event_id, *kinds) -> list[Notification]:
    query = select(Notification).where(Notification.event_id == event_id).order_by(Notification.id)
    if kinds:
        query = query.where(Notification.kind.in_(kinds))
    return read(lambda cmd: list(cmd.session.scalars(query)))


def told(read, event_id) -> Counter:
    """(kind, recipient kind, recipient) → how many notices, of the ladder's kinds."""
    return Counter((n.kind, n.recipient_kind, n.recipient) for n in notices(read, event_id)
                   if n.rung is not None)


#: the audit rows a rung is recorded in: the row of its moment, or a row of its own when it fires later
MOMENTS = ("deadline_set", "deadline_warning", "deadline_missed", "escalated")


def rungs_audited(read, event_id) -> Counter:
    """(audit action, rung, clause) → how many times the event's trail records the rung fired."""
    rows = read(lambda cmd: list(cmd.session.execute(select(Audit.action, Audit.data).where(
        Audit.event_id == event_id, Audit.action.in_(MOMENTS)))))
    return Counter((action, entry["rung"], entry["clause"]) for action, data in rows
                   for entry in (data.get("rungs") or ([data] if action == "escalated" else [])))




def test_each_rung_of_the_ladder_fires_once_with_two_nodes_sweeping(database_url, run, read, clock):
    clock.set(SUNDAY_NIGHT)
    events = [whistled(run, department="zhifa") for _ in range(3)]           # accept by 02:10 (§8.3)
    for event_id in events:                                                  # 派单: the unit, and who is on duty
        assert told(read, event_id) == Counter({("dispatched", "unit", "zhifa"): 1,
                                                ("dispatched", "person", "zhifa1"): 1})
        [to_unit, on_duty] = notices(read, event_id, "dispatched")
        assert "请执法局于 2026-10-11 02:10 前签收受理（§8.3）" in to_unit.message
        assert on_duty.message == "【值班】" + to_unit.message and to_unit.clause == "§4.1"

    swept_by_two_nodes(database_url, SUNDAY_NIGHT + timedelta(minutes=20))   # 02:00: the yellow light
    for event_id in events:
        yellow = notices(read, event_id, "warning")
        assert [(n.recipient, n.message.split("事件")[0]) for n in yellow] == [("zhifa", "【黄灯预警】"),
                                                                              ("zhifa1", "【值班】【黄灯预警】")]
    swept_by_two_nodes(database_url, SUNDAY_NIGHT + timedelta(minutes=30, seconds=1))   # 02:10: the miss
    swept_by_two_nodes(database_url, SUNDAY_NIGHT + timedelta(minutes=30, seconds=2))   # nothing new
    for event_id in events:
        [leader, leader_on_duty] = notices(read, event_id, "supervise")
        assert leader.message.startswith("【分管领导】请副局长李明华督办：事件 ") and leader.recipient == "zhifa"
        assert leader_on_duty.message.startswith("【值班】【分管领导】") and leader_on_duty.recipient == "zhifa1"
        assert notices(read, event_id, "escalated") == []
    waiting = read(lambda cmd: list(cmd.session.scalars(select(Escalation))))
    assert sorted((w.event_id, w.rung, w.status) for w in waiting) == [(e, "city", "pending") for e in events]
    assert {w.due_at for w in waiting} == {SUNDAY_NIGHT + timedelta(minutes=30, hours=4)}

    swept_by_two_nodes(database_url, SUNDAY_NIGHT + timedelta(hours=4, minutes=29))    # not yet
    assert all(notices(read, e, "escalated") == [] for e in events)
    swept_by_two_nodes(database_url, SUNDAY_NIGHT + timedelta(hours=4, minutes=30))    # 06:10: the city
    swept_by_two_nodes(database_url, SUNDAY_NIGHT + timedelta(hours=9))                # and never again
    for event_id in events:
        assert told(read, event_id) == Counter(dict.fromkeys(LADDER, 1))              # each exactly once
        [city] = notices(read, event_id, "escalated")
        assert city.clause == "§9.1" and city.rung == "city" and "超期已逾4小时仍未办结" in city.message
        assert rungs_audited(read, event_id) == Counter({
            ("deadline_set", "dispatch", "§4.1"): 1, ("deadline_warning", "yellow", "§9.1"): 1,
            ("deadline_missed", "red", "§9.1"): 1, ("deadline_missed", "leader", "§9.1"): 1,
            ("escalated", "city", "§9.1"): 1})
    assert read(lambda cmd: sorted(cmd.session.scalars(select(Escalation.status)))) == ["fired"] * len(events)


def test_in_office_hours_the_duty_officer_is_not_copied(run, read, clock):
    event_id = whistled(run, department="zhifa")                      # Thursday 09:00, a working day
    assert told(read, event_id) == Counter({("dispatched", "unit", "zhifa"): 1})


def leader_catalogs(username: str):
    """The shipped catalogs with zhifa's 分管领导 given an account (units.json `supervisor.username`)."""
    units = json.loads((DATA_DIR / "units.json").read_text(encoding="utf-8"))
    for unit in units:
        if unit["code"] == "zhifa":
            unit["supervisor"]["username"] = username
    return load_catalogs(overrides={"units": json.dumps(units, ensure_ascii=False).encode()})


def test_a_leader_with_an_account_is_told_in_person(database_url, sessions, env, run, read, clock):
    env.catalogs.replace_with(leader_catalogs("lmh"))
    run(lambda cmd: create_user(cmd.session, cmd.catalogs, cmd.env.clock, "lmh", "leader-pass-1",
                                ["department_staff"], unit="zhifa", display_name="李明华"))
    event_id = whistled(run, department="zhifa")
    sweep.advance(sessions, env, clock.now() + timedelta(minutes=31))
    [leader] = notices(read, event_id, "supervise")
    assert (leader.recipient_kind, leader.recipient) == ("person", "lmh")
    assert leader.message.startswith("请副局长李明华督办") and "【分管领导】" not in leader.message


def test_a_leaders_account_no_longer_active_falls_back_to_the_unit(database_url, sessions, env, run, read, clock):
    env.catalogs.replace_with(leader_catalogs("nobody-here"))
    event_id = whistled(run, department="zhifa")
    sweep.advance(sessions, env, clock.now() + timedelta(minutes=31))
    [leader] = notices(read, event_id, "supervise")
    assert (leader.recipient_kind, leader.recipient) == ("unit", "zhifa") and leader.message.startswith("【分管领导】")


def after_start(**delta) -> datetime:
    """The simulated clock's start (Thursday 2026-10-08 09:00, office hours) and `delta`."""
    return datetime.fromisoformat(SIM_START) + timedelta(**delta)


def waiting_rungs(read, event_id) -> list[tuple[str, str]]:
    return read(lambda cmd: [(w.rung, w.status) for w in cmd.session.scalars(
        select(Escalation).where(Escalation.event_id == event_id).order_by(Escalation.id))])


def test_a_miss_that_no_longer_stands_does_not_reach_the_city(sessions, env, run, read, clock):
    late, gone, ended = (whistled(run, department="zhifa") for _ in range(3))
    sweep.advance(sessions, env, clock.now() + timedelta(minutes=31))          # all missed
    assert [waiting_rungs(read, e) for e in (late, gone, ended)] == [[("city", "pending")]] * 3
    run(complete, late, "accept_whistle", {"decision": "accept"}, user="zhifa1")   # done late (§9.1 closes)
    run(lifecycle.withdraw, gone, "群众撤回", user="grid1")                        # 撤单: the process ends
    run(administration.terminate, ended, "重复立案", user="admin1")                 # 终止
    assert [waiting_rungs(read, e) for e in (late, gone, ended)] == [[("city", "cancelled")]] * 3
    sweep.advance(sessions, env, clock.now() + timedelta(hours=6))
    assert [notices(read, e, "escalated") for e in (late, gone, ended)] == [[]] * 3


def test_a_suspended_process_holds_the_rung_and_moves_it_by_the_suspension(sessions, env, run, read, clock):
    event_id = whistled(run, department="zhifa")
    sweep.advance(sessions, env, clock.now() + timedelta(minutes=31))          # missed at +30 min
    run(administration.suspend, event_id, "等待上级批复", user="admin1")
    sweep.advance(sessions, env, clock.now() + timedelta(hours=5))             # past +4 h 30: held
    assert notices(read, event_id, "escalated") == []
    run(administration.resume, event_id, "已批复", user="admin1")               # suspended 5 hours
    [row] = read(lambda cmd: list(cmd.session.scalars(select(Escalation))))
    assert row.due_at == after_start(hours=4, minutes=30) + timedelta(hours=5)
    sweep.advance(sessions, env, row.due_at - timedelta(seconds=1))
    assert notices(read, event_id, "escalated") == []
    sweep.advance(sessions, env, row.due_at)
    assert len(notices(read, event_id, "escalated")) == 1


def edited_ladder(ladder):
    """An operation: the ladder saved in the app by admin1 (engine/accounts/catalog_edits.py), used at once, and
    its waiting rungs brought in line (`escalation.resync`, as web/services.py does after an edit)."""
    from engine.accounts import catalog_edits

    def edit(cmd):
        _row, new = catalog_edits.save(cmd.session, "escalation", ladder, load_user(cmd.session, "admin1"), cmd.now())
        cmd.env.catalogs.replace_with(new)
        return escalation.resync(cmd)
    return edit


def test_an_edited_ladder_moves_cancels_and_adds_the_waiting_rungs(sessions, env, run, read, clock):
    event_id = whistled(run, department="zhifa")
    sweep.advance(sessions, env, clock.now() + timedelta(minutes=31))
    ladder = env.catalogs.get("escalation")
    city = next(r for r in ladder if r["code"] == "city")
    city["after"] = "PT2H"
    ladder.append({**city, "code": "city_again", "after": "PT8H", "name": "再次报市社会治理中心"})
    assert run(edited_ladder(ladder)) == 2                                      # one moved, one made
    rows = read(lambda cmd: {w.rung: w.due_at for w in cmd.session.scalars(select(Escalation))})
    assert rows == {"city": after_start(hours=2, minutes=30), "city_again": after_start(hours=8, minutes=30)}
    assert run(edited_ladder([r for r in ladder if r["code"] != "city_again"])) == 1
    assert waiting_rungs(read, event_id) == [("city", "pending"), ("city_again", "cancelled")]
    sweep.advance(sessions, env, clock.now() + timedelta(hours=9))
    assert [n.rung for n in notices(read, event_id, "escalated")] == ["city"]


def test_the_citys_rung_reaches_the_citys_own_channel(sessions, env, run, read, clock):
    """A rung's notice is a notice like any other (engine/notices/outbox.py `store`): it reaches the channels
    outside the app its recipient set up for its category (the city's rung: 超期, engine/notices/delivery.py)."""
    from engine.notices import delivery
    from engine.store.models import NoticeDelivery
    run(lambda cmd: delivery.add_channel(cmd.session, cmd.catalogs, "admin1", {
        "label": "市社会治理中心值班邮箱", "owner_kind": "unit", "owner": "shezhi", "categories": ["overdue"],
        "url": "mailto://smtp.intra:25?from=eventflow@lg.gov.cn&to=duty@lg.gov.cn&mode=insecure"}, cmd.now()))
    event_id = whistled(run, department="zhifa")
    sweep.advance(sessions, env, clock.now() + timedelta(hours=5))
    [city] = notices(read, event_id, "escalated")
    assert read(lambda cmd: [d.status for d in cmd.session.scalars(
        select(NoticeDelivery).where(NoticeDelivery.notification_id == city.id))]) == ["pending"]


# -- §4.1 自动通知派单: a new report ---------------------------------------------------------------------------
def test_a_new_report_is_a_notice_to_its_community(run, read):
    event_id = reported_and_started(run)
    [notice] = notices(read, event_id, "new_report")
    assert (notice.recipient_kind, notice.recipient, notice.clause) == ("community", "lg-xincheng", "§4.1")
    assert "人行道秩序整治" in notice.message and "专职网格员上报" in notice.message


def test_a_sensitive_reports_notice_names_no_type(run, read):
    event_id = reported_and_started(run, type_code="A03", description="邻里纠纷")   # Table A.1 row 3: 警情
    [notice] = notices(read, event_id, "new_report")
    assert "警情" not in notice.message and "矛盾纠纷" not in notice.message


# -- one place -------------------------------------------------------------------------------------------------
def test_every_notice_is_written_by_the_outboxs_notify():
    """The channels that carry notices out of the app are added in one function (engine/notices/outbox.py
    `notify`): no other module of the app makes a Notification row or inserts into its table."""
    writes = re.compile(r"(?<!class )Notification\s*\(|Notification\.__table__|insert\(\s*Notification")
    found = [str(path.relative_to(ROOT)) for package in ("engine", "handlers", "web")
             for path in (ROOT / package).rglob("*.py")
             if "migrations" not in path.parts and writes.search(path.read_text(encoding="utf-8"))]
    assert found == ["engine/notices/outbox.py"]
