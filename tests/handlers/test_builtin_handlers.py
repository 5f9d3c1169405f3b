"""Each built-in handler alone, against a run context on the seeded database (no app, no process around
it): what it records, whom it tells, what it refuses naming the parameter. Where Figure 1 calls them,
through the API: tests/web/test_handlers_in_figure1.py."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.core.clock import parse_instant
from engine.pool.events import NEW_REPORT
from engine.store.models import Audit, Event, Notification
from handlers.errors import InvalidParameter
from tests.engine.steps import report


@pytest.fixture
def event_id(run):
    """A grid worker's report in lg-xincheng (tests/samples.py REPORT), its process not started."""
    return run(report, user="grid1")


def notified(read) -> list[tuple]:
    """Whom the handlers told (not the community told of the report itself: engine/pool/events.py `announce`)."""
    return read(lambda cmd: [(n.recipient_kind, n.recipient, n.kind) for n in cmd.session.scalars(
        select(Notification).where(Notification.kind != NEW_REPORT).order_by(Notification.id))])


def recorded(read, action) -> list[dict]:
    return read(lambda cmd: list(cmd.session.scalars(select(Audit.data).where(Audit.action == action)
                                                     .order_by(Audit.id))))


def event(read, event_id) -> Event:
    return read(lambda cmd: cmd.session.get(Event, event_id))


def test_dispatch_whistle_sets_the_lead_unit_and_records_the_order(call, read, event_id):
    """The department is told by the escalation ladder's dispatch rung when its limit to accept starts
    (tests/engine/test_escalation.py), not by the handler: one notice per dispatch, with its due time."""
    result, _ = call("dispatch_whistle", event_id, department="shijian.xincheng_scjgs", event_type="A05")
    assert result["lead_unit"] == "shijian.xincheng_scjgs" and result["lead_unit_name"]
    assert event(read, event_id).lead_unit == "shijian.xincheng_scjgs"
    assert notified(read) == []
    assert recorded(read, "whistle_dispatched")[0]["lead_unit"] == "shijian.xincheng_scjgs"
    with pytest.raises(InvalidParameter) as refused:                 # 主办 cannot also be 协办
        call("dispatch_whistle", event_id, department="zhifa", co_departments=["zhifa"])
    assert refused.value.param == "department"
    with pytest.raises(ValueError, match="not a city department"):
        call("dispatch_whistle", event_id, department="lg-xincheng")


def test_dispatch_part_involves_the_co_department_and_keeps_the_lead(call, read, event_id):
    call("dispatch_whistle", event_id, department="zhifa")
    result, _ = call("dispatch_part", event_id, department="shijian")
    assert result["unit"] == "shijian" and result["unit_name"] == "市监局"
    assert recorded(read, "part_dispatched")[0]["unit"] == "shijian"
    assert event(read, event_id).lead_unit == "zhifa"                  # 主办 unchanged by 协办派单
    assert "accept_limit" not in result and "close_limit" not in result  # §8.3's, as the diagram says
    # a "one thing" matter's co-department: its own limits from Table B.1 (B07: 公安局 15 min / 2 h, others 30 min / 12 h)
    police, _ = call("dispatch_part", event_id, department="gongan", matter="B07")
    assert (police["accept_limit"], police["close_limit"]) == ("PT15M", "PT2H")
    other, _ = call("dispatch_part", event_id, department="zhifa", matter="B07")
    assert (other["accept_limit"], other["close_limit"]) == ("PT30M", "PT12H")


def test_record_return_counts_returns_and_calls_the_city_authority_on_the_second(call, read, event_id):
    first, _ = call("record_return", event_id, department="shijian", reason="非本部门")
    assert first["count"] == 1 and notified(read) == [("community", "lg-xincheng", "whistle_returned")]
    second, _ = call("record_return", event_id, data={"returns": first}, department="gongan", reason="非本部门")
    assert second["count"] == 2 and notified(read)[-1] == ("unit", second["authority"], "owner_needed")
    assert [a["count"] for a in recorded(read, "whistle_returned")] == [1, 2]


def test_record_return_takes_a_coded_reason_and_words_where_the_catalog_asks_for_them(call, read, event_id):
    """退回原因 (issue #19): a code of the return_reasons catalog; 其他 (needs_text) only with words."""
    call("record_return", event_id, department="shijian", code="not_ours", reason="")
    assert recorded(read, "whistle_returned")[-1] == {"unit": "shijian", "code": "not_ours", "reason": None, "count": 1}
    with pytest.raises(InvalidParameter) as refused:
        call("record_return", event_id, department="shijian", code="other", reason="  ")
    assert refused.value.param == "reason"
    with pytest.raises(InvalidParameter) as refused:
        call("record_return", event_id, department="shijian", code="nope", reason="非本部门")
    assert refused.value.param == "code"
    call("record_return", event_id, department="shijian", code="other", reason="属上级交办事项")
    assert recorded(read, "whistle_returned")[-1]["reason"] == "属上级交办事项"


def test_record_overdue_records_the_limit_once_per_stage_and_unit(call, read, event_id):
    result, _ = call("record_overdue", event_id, stage="accept", limit="PT30M", unit="zhifa")
    assert result["stage"] == "accept" and "already_recorded" not in result
    again, _ = call("record_overdue", event_id, stage="accept", limit="PT30M", unit="zhifa")
    assert again["already_recorded"] is True                          # §8.2's deadline watched by two timers
    call("record_overdue", event_id, stage="accept", limit="PT30M", unit="shijian")
    assert recorded(read, "overdue") == [
        {"stage": "accept", "name": "签收受理", "limit": "PT30M", "unit": "zhifa"},
        {"stage": "accept", "name": "签收受理", "limit": "PT30M", "unit": "shijian"}]


def test_notify_source_tells_the_reporter_the_outcome_and_keeps_the_reason(call, read, event_id):
    result, _ = call("notify_source", event_id, outcome="invalid", reason="现场无占道")
    assert result == {"notified": "grid1", "outcome": "invalid"}
    assert notified(read) == [("person", "grid1", "outcome")]
    assert event(read, event_id).status_reason == "现场无占道"
    assert "经核实不予受理：现场无占道" in read(lambda cmd: cmd.session.scalar(
        select(Notification.message).where(Notification.kind == "outcome")))


def test_record_part_keeps_each_departments_summary_and_photos(call, read, event_id):
    part, _ = call("record_part", event_id, data={"part_summary": "已查处", "part_photos": ["abc"]}, unit="shijian")
    assert (part["unit"], part["unit_name"], part["summary"], part["photos"]) == ("shijian", "市监局", "已查处", ["abc"])
    assert recorded(read, "part_reported")[0]["summary"] == "已查处"


def test_transfer_event_registers_a_linked_event_in_the_other_pool(call, read, event_id):
    result, pending = call("transfer_event", event_id, community="lg-longgang", reason="属龙港社区")
    linked = event(read, result["event_id"])
    assert pending == [linked.id]                                      # its process starts after the step
    assert (linked.community, linked.transferred_from_id, linked.number) == ("lg-longgang", event_id, result["number"])
    assert notified(read) == [("community", "lg-longgang", "transferred_in"), ("person", "grid1", "outcome")]
    assert recorded(read, "transferred")[0]["to_community"] == "lg-longgang"
    with pytest.raises(InvalidParameter) as refused:
        call("transfer_event", event_id, community="lg-xincheng", reason="同一社区")
    assert refused.value.param == "community"


def test_plan_one_thing_reads_the_matters_catalog_row(call):
    plan, _ = call("plan_one_thing", matter="B04")
    assert plan == {"code": "B04", "name": "违章建筑处置", "co_departments": ["zigui", "nongye", "zhifa"],
                    "lead_limit": "P7D", "planned_at": plan["planned_at"]}    # the lead's limit, from now
    assert parse_instant(plan["planned_at"])
    assert {"gongdian", "shuiwu"} <= set(call("plan_one_thing", matter="B02")[0]["co_departments"])   # Table B.1
    with pytest.raises(ValueError, match="not an Appendix B matter"):
        call("plan_one_thing", matter="A05")


def test_check_assignee_accepts_a_unit_with_staff_stationed_in_the_community(call):
    ok, _ = call("check_assignee", role="stationed_staff", unit="gongan.xincheng_pcs", community="lg-xincheng")
    assert ok["unit"] == "gongan.xincheng_pcs"
    with pytest.raises(InvalidParameter) as refused:
        call("check_assignee", role="stationed_staff", unit="gongan.xincheng_pcs", community="lg-longgang")
    assert refused.value.param == "unit"


def test_check_assignments_names_the_item_that_cannot_be_done(call):
    done, _ = call("check_assignments", assignments=[{"unit": "zhifa"}, {"person": "staff1"}], community="lg-xincheng")
    assert done == {"count": 2}
    with pytest.raises(InvalidParameter) as refused:
        call("check_assignments", assignments=[{"unit": "zhifa"}, {"person": "grid1"}], community="lg-xincheng")
    assert refused.value.param == "assignments" and "第2项" in refused.value.reason
    with pytest.raises(InvalidParameter, match="第1项"):
        call("check_assignments", assignments=[{"unit": "zhifa", "person": "staff1"}])


def test_place_event_puts_an_address_only_report_on_the_map_and_in_the_pool_that_holds_it(call, run, read):
    event_id = run(report, user="grid1", location={"address": "新城大道与世纪大道交叉口"})
    assert event(read, event_id).lat is None
    community, _ = call("place_event", event_id, lat=27.58, lng=120.60)
    placed = event(read, event_id)
    assert (community, placed.community, placed.lat, placed.address) == \
        ("lg-longgang", "lg-longgang", 27.58, "新城大道与世纪大道交叉口")
    assert recorded(read, "placed")[0]["community"] == "lg-longgang"
    with pytest.raises(InvalidParameter) as refused:                  # in no community
        call("place_event", event_id, lat=30.0, lng=120.0)
    assert refused.value.param == "lat"


# -- 回访 after closure (issue #18, engine/casework/revisits.py) ---------------------------------------------
def revisit_rows(read, event_id) -> list[tuple]:
    from engine.store.models import Revisit
    return read(lambda cmd: [(r.status, r.rating, r.reopened) for r in cmd.session.scalars(
        select(Revisit).where(Revisit.event_id == event_id).order_by(Revisit.id))])


def test_plan_revisit_opens_one_only_after_a_closure_with_someone_to_ask(call, read, run, event_id):
    assert call("plan_revisit", event_id)[0] == {"needed": False, "reason": "事件未办结 (not closed)"}
    assert call("plan_revisit", event_id, reached="invalid")[0]["needed"] is False    # 不予受理: nobody is asked
    assert revisit_rows(read, event_id) == [] and event(read, event_id).revisit is None
    result, _ = call("plan_revisit", event_id, reached="closed")                      # grid1 reported it
    assert result == {"needed": True, "how": "account", "how_name": "当面或电话回访（本系统用户）", "round": 0,
                      "reopens_left": 1}
    assert revisit_rows(read, event_id) == [("open", None, False)] and event(read, event_id).revisit == "open"
    assert recorded(read, "revisit_opened") == []          # the row is the record (bytes per closed event)
    run(lambda cmd: setattr(cmd.session.get(Event, event_id), "source", "iot_alert"))   # a device asks nobody
    assert call("plan_revisit", event_id, reached="closed")[0]["needed"] is False


def test_record_revisit_keeps_the_answers_and_reopens_a_first_unsatisfied(call, read, event_id):
    call("plan_revisit", event_id, reached="closed")
    unsatisfied = {"revisit_reached": True, "revisit_rating": "不满意", "revisit_words": "又脏了",
                   "revisit_cause": "垃圾没有清运"}
    result, _ = call("record_revisit", event_id, data=unsatisfied, actor="staff1")
    assert result == {"reached": True, "contact_result": "已接通", "rating": "不满意", "cause": "垃圾没有清运",
                      "reopen": True, "reopens_left": 0}
    assert revisit_rows(read, event_id) == [("done", "不满意", True)] and event(read, event_id).revisit == "done"
    call("plan_revisit", event_id, reached="closed")              # closed again after the reopening
    again, _ = call("record_revisit", event_id, data=unsatisfied, actor="staff1")
    assert again["reopen"] is False                                # the one reopening is used
    assert ("community", "lg-xincheng", "revisit") in notified(read)
    call("plan_revisit", event_id, reached="closed")
    fine, _ = call("record_revisit", event_id, data={"revisit_reached": False, "revisit_contact": "号码错误",
                                                     "revisit_rating": "满意"})
    assert (fine["reached"], fine["rating"], fine["contact_result"], fine["reopen"]) == (False, None, "号码错误", False)


def test_reopen_event_opens_the_event_again_for_a_new_instance(call, read, run, event_id):
    def closed(cmd):
        e = cmd.session.get(Event, event_id)
        e.status, e.closed_at, e.lead_unit, e.revisit = "closed", cmd.now(), "zhifa", "done"
    run(closed)
    result, starts = call("reopen_event", event_id, reason="垃圾没有清运")
    assert result == {"count": 1, "reason": "垃圾没有清运"} and starts == [("restart", event_id)]
    again = event(read, event_id)
    assert (again.status, again.closed_at, again.lead_unit, again.revisit, again.reopen_count) == \
        ("open", None, None, None, 1)
    assert recorded(read, "reopened") == [{"reason": "垃圾没有清运", "count": 1, "by": "revisit"}]
    assert ("community", "lg-xincheng", "reopened") in notified(read)


def test_check_whistle_list_passes_a_listed_type_and_marks_an_unlisted_one_with_its_reason(call, read, event_id):
    """§7.3.2: lg-xincheng lists A05 (catalogs/data/communities.geojson) but not A07."""
    listed, _ = call("check_whistle_list", event_id, event_type="A05", community="lg-xincheng", reason="")
    assert listed == {"listed": True, "reason": None} and recorded(read, "whistle_unlisted") == []
    for reason in ("", " 无 ", None):
        with pytest.raises(InvalidParameter) as refused:
            call("check_whistle_list", event_id, event_type="A07", community="lg-xincheng", reason=reason)
        assert refused.value.param == "reason" and "不在本社区吹哨事项清单内" in refused.value.reason
    assert recorded(read, "whistle_unlisted") == []
    marked, _ = call("check_whistle_list", event_id, event_type="A07", community="lg-xincheng",
                     reason="  小广告反复出现，需执法局集中整治  ")
    assert marked == {"listed": False, "reason": "小广告反复出现，需执法局集中整治"}
    assert recorded(read, "whistle_unlisted") == [
        {"event_type": "A07", "community": "lg-xincheng", "reason": "小广告反复出现，需执法局集中整治"}]
