"""Every path of Figure 1 and §7—§8 through the HTTP API, each step by the role's own token (issue #3).

The process is the deployed BPMN in processes/ run by SpiffWorkflow; nothing here drives the flow but
the users' own task completions, messages (撤单) and the simulated clock.
"""
from __future__ import annotations

from sqlalchemy import func, select

from engine.store.models import Notification, Timer
from tests.web.client import REPORT


def timers_of(app, event_id):
    from engine.store.models import Instance
    svc = app.extensions["eventflow"]
    return svc.read(lambda s: s.scalar(select(func.count(Timer.id)).join(Instance, Instance.id == Timer.instance_id)
                                       .where(Instance.event_id == event_id)))


def told(app, recipient, kind):
    svc = app.extensions["eventflow"]
    return svc.read(lambda s: [n.message for n in s.scalars(select(Notification).where(
        Notification.recipient == recipient, Notification.kind == kind))])


def actions(detail):
    return [a["action"] for a in detail["timeline"]]


#: a community's cadre, who asks the reporter after closure (回访)
CADRES = {"lg-xincheng": "staff1", "lg-longgang": "staff2"}


def assert_finished(app, api, event_id, status):
    """An end state is explicit on the event, and nothing is left open behind it (no task, no timer) — but a
    closed event's 回访 (§4.3, issue #18): the one task left after closure, done here."""
    detail = api.event(event_id)
    assert detail["status"] == status
    if status == "closed" and detail["revisit"] == "open":      # 回访中: still 办结 meanwhile
        assert [t["name"] for t in detail["open_tasks"]] == ["revisit"] and detail["stage"] == ""
        api.complete(CADRES[detail["community"]], event_id, "revisit", {"revisit_reached": True, "revisit_rating": "满意"})
        detail = api.event(event_id)
        assert detail["status"] == status and detail["revisit"] == "done"
    assert detail["open_tasks"] == [] and detail["stage"] == ""
    assert detail["process"]["status"] == "completed"
    assert timers_of(app, event_id) == 0
    return detail


# -- 1. register and verify (§7.1) -----------------------------------------------------------------
def test_verify_transfers_to_the_community_that_holds_it(app, api):
    event = api.report("grid1")
    api.complete("staff1", event["id"], "verify",
                 {"verdict": "transfer", "target_community": "lg-longgang", "verify_note": "事发地属龙港社区"})
    old = assert_finished(app, api, event["id"], "transferred")
    assert "龙港社区" in old["status_reason"]
    new_id = old["transferred_to_id"]
    new = api.event(new_id, user="staff2")          # the other community's staff see and verify it
    assert new["community"] == "lg-longgang" and new["transferred_from_id"] == event["id"]
    assert new["description"] == event["description"] and new["status"] == "open"
    assert api.task("staff2", new_id, "verify")
    assert api.tasks("staff1", new_id) == []         # no longer the first community's work
    assert any("已转办至龙港社区" in m for m in told(app, "grid1", "outcome"))     # §7.1 the source hears
    api.complete("staff2", new_id, "verify", {"verdict": "invalid", "verify_note": "现场核实无此情况"})
    assert api.event(new_id, user="staff2")["status"] == "invalid"


def test_verify_cannot_transfer_to_its_own_community(api):
    event = api.report("grid1")
    task = api.task("staff1", event["id"], "verify")
    r = api.post(f"/api/tasks/{task['id']}/complete", "staff1",
                 json={"verdict": "transfer", "target_community": "lg-xincheng", "verify_note": "转办"})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "target_community"
    assert "本社区" in r.json["errors"][0]["reason"]
    assert api.event(event["id"])["status"] == "open" and api.task("staff1", event["id"], "verify")


def test_verify_returns_to_the_source_with_a_reason(app, api):
    event = api.report("grid1")
    api.complete("staff1", event["id"], "verify", {"verdict": "return", "verify_note": "不属于社区事务，请向12345反映"})
    detail = assert_finished(app, api, event["id"], "returned")
    assert detail["status_reason"] == "不属于社区事务，请向12345反映"
    assert any("已退回" in m and "12345" in m for m in told(app, "grid1", "outcome"))


def test_verify_closes_an_untrue_report_as_invalid_with_its_reason(app, api):
    event = api.report("grid1")
    api.complete("staff1", event["id"], "verify", {"verdict": "invalid", "verify_note": "现场无此情况"})
    detail = assert_finished(app, api, event["id"], "invalid")
    assert detail["status_reason"] == "现场无此情况" and detail["status_name"] == "不属实/无效"


def test_a_reason_is_required_unless_the_report_is_accepted(api):
    event = api.report("grid1")
    task = api.task("staff1", event["id"], "verify")
    for data, field in [({"verdict": "invalid"}, "verify_note"),
                        ({"verdict": "transfer", "verify_note": "非本社区"}, "target_community")]:
        r = api.post(f"/api/tasks/{task['id']}/complete", "staff1", json=data)
        assert r.status_code == 422 and field in {e["field"] for e in r.json["errors"]}


def test_the_source_withdraws_before_verification(app, api):
    event = api.report("grid1")
    detail = api.withdraw("grid1", event["id"], reason="摊主已自行离开")
    assert detail["status"] == "withdrawn" and detail["status_reason"] == "摊主已自行离开"
    assert_finished(app, api, event["id"], "withdrawn")
    assert "message_received" in actions(detail)


def test_withdrawal_cancels_open_work_and_timers_anywhere_in_the_flow(app, api):
    event = api.report("grid1")
    api.whistle_to(event["id"], department="zhifa", on_site=True, co_departments=["shijian"])
    api.complete("zhifa1", event["id"], "accept_whistle", {"decision": "accept"})
    assert api.tasks("shijian1", event["id"]) and api.tasks("zhifa1", event["id"])
    assert timers_of(app, event["id"]) == 2                    # 到场 (lead) and 协办受理 (co-department)
    api.withdraw("grid1", event["id"])
    assert_finished(app, api, event["id"], "withdrawn")
    assert api.tasks("zhifa1", event["id"]) == [] and api.tasks("shijian1", event["id"]) == []
    assert told(app, "zhifa", "withdrawn") and told(app, "shijian", "withdrawn")   # their work is gone
    api.advance("P2D")                                  # nothing fires after a withdrawal
    assert "overdue" not in actions(api.event(event["id"]))


def test_withdrawal_needs_the_source_a_reason_and_an_open_event(app, api):
    event = api.report("grid1")
    assert api.withdraw("zhifa1", event["id"], expect=404)["error"] == "not_found"    # not theirs to see
    assert api.withdraw("whistle1", event["id"], expect=403)["error"] == "forbidden"
    r = api.withdraw("grid1", event["id"], reason="", expect=422)
    assert r["errors"][0]["field"] == "reason"
    api.complete("staff1", event["id"], "verify", {"verdict": "invalid", "verify_note": "不属实"})
    assert api.withdraw("grid1", event["id"], expect=409)["event_status"] == "invalid"


def test_community_staff_may_withdraw_on_the_callers_behalf(app, api):
    event = api.report("grid1")
    api.complete("staff1", event["id"], "verify", {"verdict": "accept"})
    api.withdraw("staff1", event["id"], reason="来电人撤回诉求")
    assert_finished(app, api, event["id"], "withdrawn")


def test_a_superior_assignment_can_be_withdrawn_too(app, api):
    event = api.report("committee1", **SUPERIOR)
    api.complete("committee1", event["id"], "consult", {
        "consult_note": "会商", "assignments": [{"unit": "zhifa", "task_description": "整治"}]})
    api.withdraw("committee1", event["id"], reason="上级已撤回交办")
    assert_finished(app, api, event["id"], "withdrawn")


# -- 2. analyse (§7.2, §8.1) ----------------------------------------------------------------------
def test_assign_to_stationed_staff_who_resolve_it(app, api):
    event = api.report("grid1")
    api.complete("staff1", event["id"], "verify", {"verdict": "accept"})
    api.complete("staff1", event["id"], "analyse", {"disposal": "stationed", "stationed_unit": "gongan.xincheng_pcs"})
    task = api.task("stationed1", event["id"], "handle_stationed")
    assert task["assignee"] == {"kind": "unit", "community": None, "unit": "gongan.xincheng_pcs", "person": None}
    api.complete("stationed1", event["id"], "handle_stationed",
                 {"resolved": True, "stationed_summary": "已劝离",
                  "stationed_after_photos": [api.photo("stationed1", event["id"])]})
    api.complete("staff1", event["id"], "check", {"passed": True, "rating": "满意"})
    assert_finished(app, api, event["id"], "closed")


def test_stationed_rework_goes_back_to_the_stationed_unit(app, api):
    event = api.report("grid1")
    api.complete("staff1", event["id"], "verify", {"verdict": "accept"})
    api.complete("staff1", event["id"], "analyse", {"disposal": "stationed", "stationed_unit": "gongan.xincheng_pcs"})
    api.complete("stationed1", event["id"], "handle_stationed", {"resolved": True, "stationed_summary": "已调解"})
    api.complete("staff1", event["id"], "check", {"passed": False, "check_note": "双方仍有争执", "rating": "不满意"})
    api.complete("stationed1", event["id"], "handle_stationed", {"resolved": True, "stationed_summary": "已达成协议"})
    api.complete("staff1", event["id"], "check", {"passed": True, "rating": "满意"})
    assert_finished(app, api, event["id"], "closed")


def test_a_unit_without_stationed_staff_here_cannot_be_assigned(app, api):
    """§7.2: 交办 goes to stationed staff of this community; a city department with no one stationed here
    is refused at 研判 (422 naming the field), instead of leaving a task nobody sees."""
    event = api.report("grid1")
    api.complete("staff1", event["id"], "verify", {"verdict": "accept"})
    task = api.task("staff1", event["id"], "analyse")
    for unit in ("zhifa", "gongan.longgang_pcs"):
        r = api.post(f"/api/tasks/{task['id']}/complete", "staff1",
                     json={"disposal": "stationed", "stationed_unit": unit})
        assert r.status_code == 422 and r.json["errors"][0]["field"] == "stationed_unit", r.json
    assert api.task("staff1", event["id"], "analyse")["id"] == task["id"]          # nothing changed


def test_assign_to_community_cadres_with_rework(app, api):
    event = api.report("grid1")
    api.complete("staff1", event["id"], "verify", {"verdict": "accept"})
    api.complete("staff1", event["id"], "analyse", {"disposal": "cadre", "analysis_note": "社工上门劝导"})
    assert api.tasks("stationed1", event["id"]) == []
    api.complete("staff1", event["id"], "handle_by_cadre", {"result_summary": "已上门劝导"})
    api.complete("staff1", event["id"], "check", {"passed": False, "check_note": "仍未整改", "rating": "不满意"})
    api.complete("staff1", event["id"], "handle_by_cadre", {"result_summary": "已整改到位"})   # 重办 to the cadres
    api.complete("staff1", event["id"], "check", {"passed": True, "rating": "满意"})
    assert_finished(app, api, event["id"], "closed")


def test_the_community_limit_of_two_hours_is_recorded_when_missed(app, api):
    event = api.report("grid1")
    api.complete("staff1", event["id"], "verify", {"verdict": "accept"})
    api.complete("staff1", event["id"], "analyse", {"disposal": "stationed", "stationed_unit": "gongan.xincheng_pcs"})
    api.advance("PT2H1M")
    overdue = [a["data"] for a in api.event(event["id"])["timeline"] if a["action"] == "overdue"]
    assert overdue == [{"stage": "community_handle", "name": "社区处置", "limit": "PT2H", "unit": "gongan.xincheng_pcs"}]
    assert api.task("stationed1", event["id"], "handle_stationed")      # the work goes on (non-interrupting)


def test_stationed_staff_who_cannot_resolve_it_escalate_to_a_whistle(app, api):
    event = api.report("grid1")
    api.complete("staff1", event["id"], "verify", {"verdict": "accept"})
    api.complete("staff1", event["id"], "analyse", {"disposal": "stationed", "stationed_unit": "gongan.xincheng_pcs"})
    task = api.task("stationed1", event["id"], "handle_stationed")
    r = api.post(f"/api/tasks/{task['id']}/complete", "stationed1", json={"resolved": False})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "escalate_reason"
    api.complete("stationed1", event["id"], "handle_stationed",
                 {"resolved": False, "escalate_reason": "涉及违章建筑，须执法局处置"})
    api.complete("whistle1", event["id"], "issue_whistle", {"lead_department": "zhifa", "on_site": False})
    api.complete("zhifa1", event["id"], "accept_whistle", {"decision": "accept"})
    api.complete("zhifa1", event["id"], "dispose_feedback", {"result_summary": "已拆除"})
    api.receive_closure(event["id"])
    api.complete("staff1", event["id"], "check", {"passed": False, "check_note": "未拆除干净", "rating": "基本满意"})
    assert api.tasks("stationed1", event["id"]) == []              # rework goes to the department now
    api.complete("zhifa1", event["id"], "dispose_rework", {"result_summary": "已全部拆除"})
    api.receive_closure(event["id"])
    api.complete("staff1", event["id"], "check", {"passed": True, "rating": "满意"})
    assert_finished(app, api, event["id"], "closed")


# -- 3. whistle: return as misrouted, re-dispatch, the city authority decides (§7.3) -----------------
def test_returned_orders_are_redispatched_then_the_city_authority_decides(app, api):
    event = api.report("grid1")
    api.whistle_to(event["id"], department="shijian")
    task = api.task("shijian1", event["id"], "accept_whistle")
    r = api.post(f"/api/tasks/{task['id']}/complete", "shijian1", json={"decision": "return"})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "return_code"
    api.complete("shijian1", event["id"], "accept_whistle", {"decision": "return",
                                                             "return_code": "not_ours", "return_reason": "属占道经营，非市监职责"})
    assert any("退回" in m for m in told(app, "lg-xincheng", "whistle_returned"))
    api.complete("whistle1", event["id"], "redispatch", {"lead_department": "gongan", "redispatch_note": "改派公安"})
    assert api.event(event["id"])["lead_unit"] == "gongan"
    api.complete("police1", event["id"], "accept_whistle", {"decision": "return", "return_code": "not_ours", "return_reason": "非治安案件"})
    # two returns: the city authority decides who owns it (兜底)
    assert api.tasks("whistle1", event["id"]) == []
    api.complete("city1", event["id"], "authority_assign", {"owner_department": "zhifa", "decision_note": "占道经营属执法局"})
    final = api.task("zhifa1", event["id"], "accept_assigned")
    assert "decision" not in final["form"]["properties"]                    # cannot be returned again
    r = api.post(f"/api/tasks/{final['id']}/complete", "zhifa1", json={"decision": "return"})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "decision"
    api.complete("zhifa1", event["id"], "accept_assigned", {"accept_note": "已受理"})
    api.complete("zhifa1", event["id"], "dispose_feedback", {"result_summary": "已清理"})
    api.receive_closure(event["id"])
    api.complete("staff1", event["id"], "check", {"passed": True, "rating": "满意"})
    detail = assert_finished(app, api, event["id"], "closed")
    returns = [a["data"] for a in detail["timeline"] if a["action"] == "whistle_returned"]
    assert [(r["unit"], r["count"]) for r in returns] == [("shijian", 1), ("gongan", 2)]


def test_the_accept_limit_is_recorded_and_the_work_goes_on(app, api):
    event = api.report("grid1")
    api.whistle_to(event["id"], department="zhifa")
    api.advance("PT31M")
    overdue = [a["data"] for a in api.event(event["id"])["timeline"] if a["action"] == "overdue"]
    assert [o["stage"] for o in overdue] == ["accept"]
    assert api.close_whistle(event["id"])["event_status"] == "closed"


def test_the_lead_department_cannot_also_be_co_operating(app, api):
    event = api.report("grid1")
    api.complete("staff1", event["id"], "verify", {"verdict": "accept"})
    api.complete("staff1", event["id"], "analyse", {"disposal": "whistle"})
    task = api.task("whistle1", event["id"], "issue_whistle")
    r = api.post(f"/api/tasks/{task['id']}/complete", "whistle1",
                 json={"lead_department": "zhifa", "co_departments": ["zhifa"], "on_site": False})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "lead_department"


def test_a_single_return_is_redispatched_by_the_whistle_officer(app, api):
    event = api.report("grid1")
    api.whistle_to(event["id"], department="shijian")
    api.complete("shijian1", event["id"], "accept_whistle", {"decision": "return",
                                                             "return_code": "not_ours", "return_reason": "非本部门职责"})
    assert api.tasks("city1", event["id"]) == []
    api.complete("whistle1", event["id"], "redispatch", {"lead_department": "zhifa"})
    assert api.close_whistle(event["id"])["event_status"] == "closed"


# -- 4. co-operating departments (§7.3.1) ---------------------------------------------------------
def test_each_co_department_accepts_and_reports_its_own_part(app, api):
    event = api.report("grid1")
    api.whistle_to(event["id"], department="zhifa", co_departments=["shijian", "gongan"])
    # dispatched together with the lead (§7.3.1): the co-departments' orders wait for no 受理
    assert {t["name"] for t in api.tasks("shijian1", event["id"])} == {"co_accept"}
    assert {t["name"] for t in api.tasks("police1", event["id"])} == {"co_accept"}
    api.complete("zhifa1", event["id"], "accept_whistle", {"decision": "accept"})
    # the lead disposes of its own part meanwhile (its 24 hours run from dispatch, §8.3)
    api.complete("zhifa1", event["id"], "dispose_feedback", {"result_summary": "主办部分已处置"})
    api.complete("shijian1", event["id"], "co_accept", {})
    api.complete("police1", event["id"], "co_accept", {"accept_note": "派出所已受理"})
    api.complete("police1", event["id"], "co_report", {"part_summary": "已维持现场秩序"})
    assert api.tasks("zhifa1", event["id"]) == []                # consolidation waits for every part
    api.complete("shijian1", event["id"], "co_report", {"part_summary": "已查处无照经营",
                                                        "part_photos": [api.photo("shijian1", event["id"])]})
    lead = api.task("zhifa1", event["id"], "consolidate")
    detail = api.get(f"/api/tasks/{lead['id']}", "zhifa1").json
    parts = {p["unit"]: p["summary"] for p in detail["data"]["co_parts"]}
    assert parts == {"shijian": "已查处无照经营", "gongan": "已维持现场秩序"}   # neither overwrote the other
    assert detail["data"]["result_summary"] == "主办部分已处置"
    api.complete("zhifa1", event["id"], "consolidate", {"result_summary": "联合处置完毕"})
    api.receive_closure(event["id"])
    api.complete("staff1", event["id"], "check", {"passed": True, "rating": "满意"})
    assert_finished(app, api, event["id"], "closed")
    assert api.event(event["id"], user="shijian1")["status"] == "closed"   # a co-department keeps seeing it


def test_co_departments_have_their_own_deadlines(app, api):
    event = api.report("grid1")
    api.whistle_to(event["id"], department="zhifa", co_departments=["shijian", "gongan"])
    api.complete("zhifa1", event["id"], "accept_whistle", {"decision": "accept"})
    api.complete("police1", event["id"], "co_accept", {})
    api.advance("PT31M")
    overdue = [a["data"] for a in api.event(event["id"])["timeline"] if a["action"] == "overdue"]
    assert overdue == [{"stage": "accept", "name": "签收受理", "limit": "PT30M", "unit": "shijian"}]
    assert any("签收受理超期" in m for m in told(app, "shijian", "overdue"))


# -- 5. dispose on site (§8.3) --------------------------------------------------------------------
def test_on_site_arrival_then_solved_on_the_spot(app, api):
    event = api.report("grid1")
    api.whistle_to(event["id"], department="zhifa", on_site=True)
    api.complete("zhifa1", event["id"], "accept_whistle", {"decision": "accept"})
    task = api.task("zhifa1", event["id"], "arrive")
    r = api.post(f"/api/tasks/{task['id']}/complete", "zhifa1", json={"on_spot": "solved"})
    assert r.status_code == 422 and {"arrival_location", "arrival_photo"} <= {e["field"] for e in r.json["errors"]}
    api.complete("zhifa1", event["id"], "arrive", {"arrival_location": {"lat": 27.52, "lng": 120.6},
                                                   "arrival_photo": api.photo("zhifa1", event["id"]),
                                                   "on_spot": "solved"})
    api.complete("zhifa1", event["id"], "dispose_feedback", {"result_summary": "现场已清理"})
    api.receive_closure(event["id"])
    api.complete("staff1", event["id"], "check", {"passed": True, "rating": "满意"})
    assert_finished(app, api, event["id"], "closed")


def test_a_difficult_case_gets_the_longer_limit(app, api):
    event = api.report("grid1")
    api.whistle_to(event["id"], department="zhifa", on_site=True)
    api.complete("zhifa1", event["id"], "accept_whistle", {"decision": "accept"})
    api.complete("zhifa1", event["id"], "arrive", {"arrival_location": {"lat": 27.52, "lng": 120.6},
                                                   "arrival_photo": api.photo("zhifa1", event["id"]),
                                                   "on_spot": "difficult",
                                                   "difficult_reason": "需协调产权单位"})
    api.advance("P2D")                                 # past 24 hours, inside the difficult-case limit
    stages = [a["data"]["stage"] for a in api.event(event["id"])["timeline"] if a["action"] == "overdue"]
    assert "close" not in stages and "close_difficult" not in stages
    api.advance("P5D")                                 # Wed 10-14 17:30: 5 working days (§8.3) later
    stages = [a["data"]["stage"] for a in api.event(event["id"])["timeline"] if a["action"] == "overdue"]
    assert stages == ["close_difficult"]


def test_arrival_late_is_recorded(app, api):
    event = api.report("grid1")
    api.whistle_to(event["id"], department="zhifa", on_site=True)
    api.complete("zhifa1", event["id"], "accept_whistle", {"decision": "accept"})
    api.advance("PT61M")
    stages = [a["data"]["stage"] for a in api.event(event["id"])["timeline"] if a["action"] == "overdue"]
    assert stages == ["arrive"]


# -- 6. feed back and check (§8.5) ----------------------------------------------------------------
def test_a_text_only_result_is_valid_and_the_check_rates_the_department(app, api):
    event = api.report("grid1")
    api.whistle_to(event["id"], department="zhifa")
    api.complete("zhifa1", event["id"], "accept_whistle", {"decision": "accept"})
    api.complete("zhifa1", event["id"], "dispose_feedback", {"result_summary": "已处置"})
    api.receive_closure(event["id"])
    task = api.task("staff1", event["id"], "check")
    r = api.post(f"/api/tasks/{task['id']}/complete", "staff1", json={"passed": True})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "rating"
    api.complete("staff1", event["id"], "check", {"passed": True, "rating": "基本满意"})
    detail = assert_finished(app, api, event["id"], "closed")
    checks = [a["data"] for a in detail["timeline"] if a["task_name"] == "核查"]
    assert checks[-1]["rating"] == "基本满意"
    assert any("已办结" in m for m in told(app, "grid1", "outcome"))


def test_a_result_is_a_written_summary_or_before_and_after_photos(app, api):
    """§8.5: 文字总结 or 图片比对 — either is a complete result; neither is refused, naming the field."""
    event = api.report("grid1")
    api.whistle_to(event["id"], department="zhifa")
    api.complete("zhifa1", event["id"], "accept_whistle", {"decision": "accept"})
    task = api.task("zhifa1", event["id"], "dispose_feedback")
    before, after = api.photo("zhifa1", event["id"]), api.photo("zhifa1", event["id"])
    for data in ({}, {"before_photos": [before]}, {"before_photos": [], "after_photos": []}):
        r = api.post(f"/api/tasks/{task['id']}/complete", "zhifa1", json=data)
        assert r.status_code == 422, data
        [error] = r.json["errors"]
        assert error["field"] == "result_summary" and "处置前照片" in error["reason"], error
    api.complete("zhifa1", event["id"], "dispose_feedback",
                 {"before_photos": [before], "after_photos": [after]})   # photos only
    api.receive_closure(event["id"])
    api.complete("staff1", event["id"], "check", {"passed": True, "rating": "满意"})
    assert_finished(app, api, event["id"], "closed")


# -- 7. reopen ------------------------------------------------------------------------------------
def test_a_closed_event_reopens_into_analysis_within_the_window(app, api):
    event = api.report("grid1")
    api.whistle_to(event["id"], department="zhifa")
    api.close_whistle(event["id"])
    # 重启 waits for the 回访 (issue #18): a 不满意 there reopens the event itself
    assert api.reopen("grid1", event["id"], expect=409)["revisit"] == "open"
    api.complete("staff1", event["id"], "revisit", {"revisit_reached": True, "revisit_rating": "满意"})
    api.advance("P3D")
    detail = api.reopen("grid1", event["id"], reason="摊点又回来了")
    assert detail["status"] == "open" and detail["reopen_count"] == 1 and detail["closed_at"] is None
    assert detail["lead_unit"] is None                  # whoever handles it now is decided anew
    assert [t["name"] for t in detail["open_tasks"]] == ["analyse"]        # straight back to 研判
    api.complete("staff1", event["id"], "analyse", {"disposal": "cadre"})
    api.complete("staff1", event["id"], "handle_by_cadre", {"result_summary": "已再次清理"})
    api.complete("staff1", event["id"], "check", {"passed": True, "rating": "满意"})
    assert_finished(app, api, event["id"], "closed")
    assert "reopened" in actions(api.event(event["id"]))


def test_reopening_needs_a_closed_event_inside_the_window(app, api):
    event = api.report("grid1")
    assert api.reopen("grid1", event["id"], expect=409)["event_status"] == "open"
    api.whistle_to(event["id"], department="zhifa")
    api.close_whistle(event["id"])
    assert api.reopen("zhifa1", event["id"], expect=403)["error"] == "forbidden"
    api.advance("P8D")
    assert "期限" in api.reopen("grid1", event["id"], expect=409)["message"]


# -- 8. superior assignment (§5.6, §8.2) ----------------------------------------------------------
SUPERIOR = {"source": "superior", "type_code": "A09", "description": "开展背街小巷环境卫生专项整治",
            "superior_body": "龙港市社会治理中心", "superior_deadline": "2026-10-10T17:00:00+08:00"}


def test_a_superior_assignment_is_split_by_the_committee_and_reported_by_the_deadline(app, api):
    event = api.report("committee1", **SUPERIOR)
    assert event["superior_body"] == "龙港市社会治理中心"
    api.complete("committee1", event["id"], "consult", {
        "consult_note": "会商：执法中队负责整治，社工负责入户宣传",
        "assignments": [{"unit": "zhifa", "task_description": "清理背街小巷乱堆放"},
                        {"person": "staff1", "task_description": "入户宣传"}]})
    unit_task = api.task("zhifa1", event["id"], "part_unit")
    person_task = api.task("staff1", event["id"], "part_person")
    assert person_task["assignee"]["person"] == "staff1" and api.tasks("staff2") == []
    assert api.get(f"/api/tasks/{unit_task['id']}", "zhifa1").json["data"]["assignment"]["task_description"] == "清理背街小巷乱堆放"
    api.complete("zhifa1", event["id"], "part_unit", {"part_summary": "清理12处"})
    api.complete("staff1", event["id"], "part_person", {"part_summary": "入户宣传80户"})
    api.complete("committee1", event["id"], "committee_report", {"result_summary": "专项整治完成"})
    assert_finished(app, api, event["id"], "closed")


def test_each_assignment_names_one_unit_or_one_cadre_of_this_community(app, api):
    event = api.report("committee1", **SUPERIOR)
    task = api.task("committee1", event["id"], "consult")
    for item in ({"person": "grid1", "task_description": "巡查"},          # not a cadre
                 {"person": "staff2", "task_description": "宣传"},         # another community's cadre
                 {"person": "nobody", "task_description": "宣传"},
                 {"unit": "zhifa", "person": "staff1", "task_description": "两者都填"}):
        r = api.post(f"/api/tasks/{task['id']}/complete", "committee1",
                     json={"consult_note": "会商", "assignments": [item]})
        assert r.status_code == 422 and r.json["errors"][0]["field"].startswith("assignments"), (item, r.json)
    both = r.json["errors"][0]
    assert both["field"] == "assignments.0.person" and "只能填写其一" in both["reason"]
    assert api.task("committee1", event["id"], "consult")["id"] == task["id"]


def test_the_superior_deadline_is_watched_while_assignments_are_open(app, api):
    event = api.report("committee1", **SUPERIOR)
    api.complete("committee1", event["id"], "consult", {
        "consult_note": "会商", "assignments": [{"unit": "zhifa", "task_description": "整治"}]})
    api.advance("P3D")                                  # the 分工 is still open past 10-10 17:00
    overdue = [a["data"] for a in api.event(event["id"])["timeline"] if a["action"] == "overdue"]
    assert [o["stage"] for o in overdue] == ["superior"]
    api.complete("zhifa1", event["id"], "part_unit", {"part_summary": "完成"})
    assert api.task("committee1", event["id"], "committee_report")   # its own timer is already past due …
    assert actions(api.event(event["id"])).count("timer_fired") == 1  # (fired as it armed)
    overdue = [a["data"] for a in api.event(event["id"])["timeline"] if a["action"] == "overdue"]
    assert [o["stage"] for o in overdue] == ["superior"]              # one deadline, recorded once


def test_a_superior_assignment_past_its_deadline_is_recorded(app, api):
    event = api.report("committee1", **SUPERIOR)
    api.complete("committee1", event["id"], "consult", {
        "consult_note": "会商", "assignments": [{"unit": "zhifa", "task_description": "整治"}]})
    api.complete("zhifa1", event["id"], "part_unit", {"part_summary": "完成"})
    api.advance("P3D")                                  # 10-08 09:00 → 10-11 09:00, past 10-10 17:00
    overdue = [a["data"] for a in api.event(event["id"])["timeline"] if a["action"] == "overdue"]
    assert [o["stage"] for o in overdue] == ["superior"]
    assert api.task("committee1", event["id"], "committee_report")


def test_a_superior_assignment_needs_its_body_and_deadline(api):
    r = api.post("/api/events", "committee1", json={**REPORT, "source": "superior"})
    assert r.status_code == 422
    assert {e["field"] for e in r.json["errors"]} == {"superior_body", "superior_deadline"}


# -- 9. "one thing" matters (Appendix B) ----------------------------------------------------------
def test_a_one_thing_matter_is_led_by_the_committee_with_its_catalog_departments(app, api):
    event = api.report("committee1", source="one_thing", type_code="B03", description="城乡环境综合整治")
    task = api.task("committee1", event["id"], "lead_matter")
    plan = api.get(f"/api/tasks/{task['id']}", "committee1").json["data"]["plan"]
    assert plan["co_departments"] == ["gongan", "zigui", "nongye", "zhifa"]   # Table B.1 row 3
    api.complete("committee1", event["id"], "lead_matter", {"co_departments": ["gongan", "zhifa"],
                                                            "lead_note": "公安、执法协同"})
    for user in ("police1", "zhifa1"):
        api.complete(user, event["id"], "co_accept", {})
        api.complete(user, event["id"], "co_report", {"part_summary": f"{user} 已完成"})
    api.complete("committee1", event["id"], "matter_summary", {"result_summary": "整治完成"})
    assert_finished(app, api, event["id"], "closed")


def test_a_one_thing_report_needs_an_appendix_b_code(api):
    r = api.post("/api/events", "committee1", json={**REPORT, "source": "one_thing"})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "type_code"


# -- every source hears back (issue #5) ------------------------------------------------------------
def test_the_reporter_hears_of_an_invalid_report_and_of_a_withdrawal(app, api):
    untrue = api.report("grid1")
    api.complete("staff1", untrue["id"], "verify", {"verdict": "invalid", "verify_note": "现场无此情况"})
    gone = api.report("grid1")
    api.withdraw("staff1", gone["id"], reason="摊主已自行离开")
    heard = told(app, "grid1", "outcome")
    assert f"您上报的事件 {untrue['number']} 经核实不予受理：现场无此情况" in heard
    assert f"您上报的事件 {gone['number']} 已撤单：摊主已自行离开" in heard


def test_superior_and_one_thing_submissions_are_idempotent_too(app, api):
    for body in ({**REPORT, **SUPERIOR, "source_ref": "ZXZZ-2026-17"},
                 {**REPORT, "source": "one_thing", "type_code": "B03", "description": "城乡环境综合整治",
                  "source_ref": "YJS-2026-03"}):
        first = api.post("/api/events", "committee1", json=body)
        again = api.post("/api/events", "committee1", json=body)
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json["id"] == first.json["id"] and again.json["number"] == first.json["number"]
        assert len(again.json["open_tasks"]) == 1                        # one process, started once


def test_a_superior_deadline_must_be_a_date_time_with_offset(api):
    for deadline in ("next Friday", "2026-10-10T17:00:00"):
        r = api.post("/api/events", "committee1", json={**REPORT, **SUPERIOR, "superior_deadline": deadline})
        assert r.status_code == 422 and [e["field"] for e in r.json["errors"]] == ["superior_deadline"]
