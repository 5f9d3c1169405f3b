"""办理记录 (issue #19): whoever does the next step reads what the earlier ones said — the department's 处置结果
beside its before/after photos on the 核查 page (§8.5), the 吹哨理由 and 研判意见 on the 签收受理 page (§7.2, §7.3),
the 核查意见 on a 重办 — by whom (display name and unit, never the login name) and when, on the task's page, the
event page and in the API (`record`). A sensitive event's record (Table A.1 rows 1–3) reaches no one who may not
see the event. Real app on both databases."""
from __future__ import annotations

import json

from lxml import html
from sqlalchemy import select

from engine.store.models import Audit
from tests.web.test_sensitive import staff3, web_session

RESULT = "已清理占道摊点，恢复人行道通行"
LOGINS = ("zhifa1", "staff1", "whistle1", "police1", "grid1")


def walk_to_feedback(api, event_id, department="zhifa", clerk="zhifa1", photos=True):
    """核实 → 研判 → 吹哨 → 签收受理 → 处置反馈, each step saying something."""
    api.complete("staff1", event_id, "verify", {"verdict": "accept", "verify_note": "现场核实属实"})
    api.complete("staff1", event_id, "analyse", {"disposal": "whistle", "analysis_note": "需执法权，社区无法处置"})
    api.complete("whistle1", event_id, "issue_whistle", {"lead_department": department, "on_site": False,
                                                         "whistle_reason": "社区无执法权，请部门处置"})
    api.complete(clerk, event_id, "accept_whistle", {"decision": "accept", "accept_note": "已签收，安排第一中队"})
    keys = [api.photo(clerk, event_id), api.photo(clerk, event_id)] if photos else []
    data = {"result_summary": RESULT, **({"before_photos": keys[:1], "after_photos": keys[1:]} if photos else {})}
    api.complete(clerk, event_id, "dispose_feedback", data)
    return keys


def section(page_html: str):
    """The page's 办理记录 section (web/templates/ui/_record.html), or None."""
    found = html.fromstring(page_html).xpath('//*[@data-testid="record"]')
    return found[0] if found else None


def steps(node) -> list[str]:
    return [li.get("data-task") for li in node.xpath('.//*[@data-testid="record-step"]')]


def answer(node, task, field) -> str:
    step = node.xpath(f'.//*[@data-testid="record-step"][@data-task="{task}"]')[0]
    return step.xpath(f'.//dd[@data-field="{field}"]')[0].text_content().strip()


def test_the_check_task_shows_the_departments_result_by_display_name_and_unit(app, api):
    event = api.report(description="新城大道人行道被占道经营")
    before, after = walk_to_feedback(api, event["id"])
    task = api.task("staff1", event["id"], "check")

    body = api.get(f"/api/tasks/{task['id']}", "staff1").json          # the API: newest first
    latest = body["record"][0]
    assert latest["task"] == "处置反馈" and latest["at"].endswith("+08:00")
    assert latest["by"] == {"name": "执法局 办事员", "unit": "执法局"}
    answers = {f["name"]: f for f in latest["fields"]}
    assert answers["result_summary"]["label"] == "处置结果" and answers["result_summary"]["text"] == RESULT
    assert answers["before_photos"]["value"] == [before] and answers["after_photos"]["value"] == [after]
    assert [s["task"] for s in body["record"]] == ["处置反馈", "签收受理", "吹哨", "研判", "核实"]
    whistled = {f["label"]: f["text"] for f in body["record"][2]["fields"]}
    assert whistled == {"主办部门": "执法局", "是否现场处置": "否", "吹哨理由": "社区无执法权，请部门处置"}
    assert body["record"][2]["by"] == {"name": "吹哨人员 张伟", "unit": "新城社区"}
    assert not any(login in json.dumps(body["record"], ensure_ascii=False) for login in LOGINS)

    page = web_session(app, "staff1").get(f"/tasks/{task['id']}")      # the 核查 page
    assert page.status_code == 200
    shown = section(page.get_data(as_text=True))
    assert shown is not None and steps(shown)[0] == "处置反馈"
    assert answer(shown, "处置反馈", "result_summary") == RESULT
    head = shown.xpath('.//*[@data-task="处置反馈"]//*[@data-testid="record-by"]')[0].text_content()
    assert head == "执法局 办事员（执法局）"
    photos = shown.xpath('.//*[@data-task="处置反馈"]//dd//img/@src')   # §8.5: beside the text
    assert photos == [f"/events/{event['id']}/photos/{before}", f"/events/{event['id']}/photos/{after}"]
    assert answer(shown, "签收受理", "accept_note") == "已签收，安排第一中队"
    assert answer(shown, "研判", "disposal") == "吹哨"
    text = shown.text_content()
    assert not any(login in text for login in LOGINS), text


def test_the_event_page_shows_every_step_oldest_first(app, api):
    event = api.report()
    walk_to_feedback(api, event["id"], photos=False)
    api.complete("staff1", event["id"], "check", {"passed": True, "rating": "基本满意"})

    detail = api.event(event["id"], user="zhifa1")                      # the API: oldest first
    assert [s["task"] for s in detail["record"]] == ["核实", "研判", "吹哨", "签收受理", "处置反馈", "核查"]
    checked = {f["label"]: f["text"] for f in detail["record"][-1]["fields"]}
    assert checked == {"核查是否通过": "是", "评价": "基本满意"}
    assert detail["record"][-1]["by"] == {"name": "社区干部 陈芳", "unit": "新城社区"}

    for user in ("grid1", "zhifa1"):         # the reporter and the department see what was done, and by whom
        page = web_session(app, user).get(f"/events/{event['id']}")
        shown = section(page.get_data(as_text=True))
        assert steps(shown) == ["核实", "研判", "吹哨", "签收受理", "处置反馈", "核查"]
        assert answer(shown, "处置反馈", "result_summary") == RESULT
        assert answer(shown, "核查", "passed") == "是"
        assert "执法局 办事员（执法局）" in shown.text_content()
        assert not any(login in shown.text_content() for login in LOGINS)
        # and the 办理经过 beside it names people the same way (never a login name)
        trail = html.fromstring(page.get_data(as_text=True)).xpath('//ol[@class="timeline"]')[0].text_content()
        assert "执法局 办事员（执法局）" in trail and "社区干部 陈芳（新城社区）" in trail
        assert not any(login in trail for login in LOGINS)
    by = {(e["action"], e["task_name"]): e["by"] for e in detail["timeline"]}
    assert by[("task_completed", "处置反馈")] == {"name": "执法局 办事员", "unit": "执法局"}


def test_the_accept_page_shows_the_whistle_reason_and_the_analysis(app, api):
    event = api.report()
    api.whistle_to(event["id"])
    task = api.task("zhifa1", event["id"], "accept_whistle")
    shown = section(web_session(app, "zhifa1").get(f"/tasks/{task['id']}").get_data(as_text=True))
    assert steps(shown) == ["吹哨", "研判", "核实"]
    assert answer(shown, "吹哨", "whistle_reason") == "社区无法自行处置"
    assert answer(shown, "研判", "disposal") == "吹哨"


def test_a_rework_shows_why_the_check_failed(app, api):
    event = api.report()
    walk_to_feedback(api, event["id"], photos=False)
    api.complete("staff1", event["id"], "check", {"passed": False, "check_note": "摊点仍在，请重新清理",
                                                  "rating": "不满意"})
    rework = next(t for t in api.tasks("zhifa1", event["id"]))
    body = api.get(f"/api/tasks/{rework['id']}", "zhifa1").json
    assert body["record"][0]["task"] == "核查"
    assert {f["label"]: f["text"] for f in body["record"][0]["fields"]} == {
        "核查是否通过": "否", "核查意见": "摊点仍在，请重新清理", "评价": "不满意"}
    shown = section(web_session(app, "zhifa1").get(f"/tasks/{rework['id']}").get_data(as_text=True))
    assert answer(shown, "核查", "check_note") == "摊点仍在，请重新清理"


def test_a_sensitive_events_record_reaches_only_those_who_may_see_it(app, api):
    """A police matter (A03) handed to the station's stationed officer: the designated cadre reads the officer's
    result on the 核查 page; an undesignated cadre of the same community, the whistle officer, a department and
    the city get 404 for the event and its task, and the result's text is in none of their pages or answers."""
    staff3(app)
    secret = "已上门调解邻里纠纷，双方达成和解"
    event = api.report(type_code="A03", description="邻里纠纷警情，需社区协调")
    api.complete("staff1", event["id"], "verify", {"verdict": "accept"})
    api.complete("staff1", event["id"], "analyse", {"disposal": "stationed", "stationed_unit": "gongan.xincheng_pcs",
                                                    "analysis_note": "需民警上门"})
    api.complete("stationed1", event["id"], "handle_stationed", {"resolved": True, "stationed_summary": secret})
    task = api.task("staff1", event["id"], "check")

    shown = section(web_session(app, "staff1").get(f"/tasks/{task['id']}").get_data(as_text=True))
    assert answer(shown, "下沉部门处置", "stationed_summary") == secret
    assert answer(shown, "下沉部门处置", "resolved") == "是"
    assert "下沉民警 王强（公安局 / 新城派出所）" in shown.text_content()
    assert secret in json.dumps(api.event(event["id"], user="staff1")["record"], ensure_ascii=False)
    svc = app.extensions["eventflow"]
    viewed = svc.read(lambda s: {(a.actor, a.data["view"]) for a in s.scalars(
        select(Audit).where(Audit.event_id == event["id"], Audit.action == "sensitive_viewed"))})
    assert {("staff1", "task_form"), ("staff1", "api")} <= viewed       # each read recorded (privacy.disclose)

    for other in ("staff3", "whistle1", "zhifa1", "city1"):
        assert api.get(f"/api/events/{event['id']}", other).status_code == 404, other
        assert api.get(f"/api/tasks/{task['id']}", other).status_code == 404, other
        page = web_session(app, other)
        for path in (f"/events/{event['id']}", f"/tasks/{task['id']}"):
            response = page.get(path)
            assert response.status_code == 404 and secret not in response.get_data(as_text=True), (other, path)
        for path in ("/", "/events", "/messages", "/done"):
            assert secret not in page.get(path).get_data(as_text=True), (other, path)
        for path in ("/api/events", "/api/tasks", "/api/notifications"):
            assert secret not in api.get(path, other).get_data(as_text=True), (other, path)
