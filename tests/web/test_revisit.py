"""回访 after closure (issue #18, §4.3 效果反馈, §8.6; engine/casework/revisits.py), through the HTTP API on the
simulated clock, both databases: who is asked, 满意 / 不满意 (重新办理 back to 研判, once; a second 不满意 is
only recorded), a 回访 not done in its 3 working days (a missed limit, 督办), and the two satisfactions and
the first-time rate counted by hand.

The history (T0 = 2026-10-08 09:00, a Thursday; 10-10 is a working Saturday, 调休), every event A05 in 新城社区:
- R1 (grid1's report): 社区干部处置, 核查 满意, closed at T0+1h; 回访 at T0+2h: reached, 满意;
- R2 (a citizen's, by the 12345 hotline, with a phone): closed at T0+1h; 回访 at T0+2h: reached, 不满意 with its
  cause → reopened (重新办理), back to 研判; handled again, closed at T0+4h; 回访 at T0+5h: 不满意 again → only
  recorded (the setting allows one reopening);
- R3 (grid1's): closed at T0+1h; nobody asks: the 回访 limit (3 working days: 10-12 17:30) passes and is
  missed; done late at 10-13 09:00: not reached (未接通);
- R4 (a citizen's without phone or e-mail): closed at T0+1h; nobody to ask, no 回访;
- R5 (grid1's): whistled to 执法局, 核查 基本满意, closed at T0+2h; 回访 at T0+3h: reached, 基本满意.

By hand, for 新城社区 in [10-08, 10-14):
- 社区评价满意率 (核查's last rating, of the events a department led): R5 only → 0 of 1 满意 (基本满意);
- 群众满意率 (回访 reached and rated): R1 满意, R2 不满意, R2 不满意, R5 基本满意 → 2 of 4 (R3 not reached);
- 一次性处置率: closed R1 R2 R3 R4 R5 = 5, first time R1 R3 R4 R5 = 4 (R2 reopened);
for 执法局: 社区评价满意率 0 of 1, 群众满意率 1 of 1 (R5's 基本满意).
"""
from __future__ import annotations

from datetime import timedelta

from tests.web.test_deadlines import advance_to, now, supervised
from tests.web.test_open311 import new_key, reported

PERIOD = {"from": "2026-10-08T00:00:00+08:00", "to": "2026-10-14T00:00:00+08:00"}
#: the same days, not as whole days: counted from the tables, not from the counts kept per day
ODD_PERIOD = {"from": "2026-10-07T23:59:59+08:00", "to": "2026-10-14T00:00:00+08:00"}


def cadre_closes(api, event_id, rating="满意", reopened=False):
    if not reopened:
        api.complete("staff1", event_id, "verify", {"verdict": "accept"})
    api.complete("staff1", event_id, "analyse", {"disposal": "cadre"})
    api.complete("staff1", event_id, "handle_by_cadre", {"result_summary": "已处置"})
    return api.complete("staff1", event_id, "check", {"passed": True, "rating": rating})


def citizen(api, app, **changes):
    body = reported(api, new_key(app, "hotline_12345"), **changes)
    found = api.get("/api/events", "staff1", query_string={"number": body["service_request_id"]}).json["items"]
    return found[0]


def revisit(api, event_id, answers, user="staff1", expect=200):
    return api.complete(user, event_id, "revisit", answers, expect=expect)


def rows(api, level, period=PERIOD):
    r = api.get("/api/indicators", "city1", query_string={"level": level, **period})
    assert r.status_code == 200, r.json
    return {item["key"]: item["indicators"] for item in r.json["items"]}


def counts(indicator):
    return indicator["numerator"], indicator["denominator"]


def test_revisit_after_closure_reopens_once_misses_its_limit_and_counts(app, api):
    t0 = now(api)
    r1, r3, r5 = (api.report("grid1", description=f"回访样本 {n}")["id"] for n in ("R1", "R3", "R5"))
    r2 = citizen(api, app, description="回访样本 R2：占道经营")["id"]
    r4 = citizen(api, app, description="回访样本 R4：占道经营", phone=None, email=None)["id"]
    api.whistle_to(r5)

    advance_to(api, t0 + timedelta(hours=1))
    for event_id in (r1, r2, r3, r4):
        assert cadre_closes(api, event_id)["event_status"] == "closed"
    # closed, and 回访中 where the reporter can be asked: the community's task, its limit 3 working days
    detail = api.event(r1)
    assert detail["status"] == "closed" and detail["status_name"] == "办结" and detail["closed_at"]
    assert detail["revisit"] == "open" and detail["revisit_name"] == "回访中"
    assert [t["name"] for t in detail["open_tasks"]] == ["revisit"] and detail["process"]["status"] == "running"
    limit = next(d for d in detail["deadlines"] if d["kind"] == "revisit")
    assert limit["name"] == "回访" and limit["rule"] == "P3D" and limit["basis"] == "working"
    assert limit["due_at"] == "2026-10-12T17:30:00+08:00" and limit["status"] == "pending"
    assert detail["revisits"][0]["status"] == "open" and detail["revisits"][0]["round"] == 0
    assert api.event(r2)["revisit"] == "open"                  # the citizen left a phone number
    no_one = api.event(r4)                                     # no contact: nobody to ask
    assert no_one["revisit"] is None and no_one["open_tasks"] == [] and no_one["process"]["status"] == "completed"
    assert no_one["revisits"] == []
    # 重启 by hand waits while the 回访 is open: its 不满意 reopens the event
    assert api.reopen("grid1", r1, expect=409)["revisit"] == "open"

    advance_to(api, t0 + timedelta(hours=2))
    api.complete("zhifa1", r5, "accept_whistle", {"decision": "accept"})
    api.complete("zhifa1", r5, "dispose_feedback", {"result_summary": "已清理"})
    api.receive_closure(r5)
    api.complete("staff1", r5, "check", {"passed": True, "rating": "基本满意"})
    # a wrong answer names its field
    bad = revisit(api, r1, {"revisit_reached": False, "revisit_rating": "满意"}, expect=422)
    assert {e["field"] for e in bad["errors"]} == {"revisit_contact", "revisit_rating"}
    bad = revisit(api, r2, {"revisit_reached": True, "revisit_rating": "不满意"}, expect=422)
    assert [e["field"] for e in bad["errors"]] == ["revisit_cause"]
    # R1: 满意 — the 回访 is met, the process ends, the event stays closed
    done = revisit(api, r1, {"revisit_reached": True, "revisit_rating": "满意", "revisit_words": "处理得很及时"})
    assert done["event_status"] == "closed"
    detail = api.event(r1)
    assert detail["revisit"] == "done" and detail["open_tasks"] == [] and detail["process"]["status"] == "completed"
    assert next(d for d in detail["deadlines"] if d["kind"] == "revisit")["status"] == "met"
    assert detail["revisits"][0] | {"recorded_at": None} == {
        **detail["revisits"][0], "recorded_at": None, "status": "done", "reached": True, "contact_result": "已接通",
        "rating": "满意", "words": "处理得很及时", "cause": None, "reopened": False, "via": "task", "recorded_by": "staff1"}
    # R2: 不满意 with its cause — 重新办理: open again, straight to 研判, counted as reopened
    reopened = revisit(api, r2, {"revisit_reached": True, "revisit_rating": "不满意", "revisit_words": "摊点又回来了",
                                 "revisit_cause": "占道摊点晚上又出现"})
    assert reopened["event_status"] == "open"
    detail = api.event(r2)
    assert detail["status"] == "open" and detail["reopen_count"] == 1 and detail["closed_at"] is None
    assert detail["revisit"] is None and [t["name"] for t in detail["open_tasks"]] == ["analyse"]
    assert detail["revisits"][0]["reopened"] is True and detail["revisits"][0]["cause"] == "占道摊点晚上又出现"
    actions = [a["action"] for a in detail["timeline"]]
    assert actions.count("process_started") == 2 and "reopened" in actions
    assert next(a for a in detail["timeline"] if a["action"] == "reopened")["data"]["by"] == "revisit"

    advance_to(api, t0 + timedelta(hours=3))
    revisit(api, r5, {"revisit_reached": True, "revisit_rating": "基本满意"})
    advance_to(api, t0 + timedelta(hours=4))
    assert cadre_closes(api, r2, reopened=True)["event_status"] == "closed"
    assert api.event(r2)["revisit"] == "open"                  # a second closure, a second 回访
    advance_to(api, t0 + timedelta(hours=5))
    again = revisit(api, r2, {"revisit_reached": True, "revisit_rating": "不满意", "revisit_cause": "还是没解决"})
    assert again["event_status"] == "closed"                   # the reopening was used: only recorded
    detail = api.event(r2)
    assert detail["reopen_count"] == 1 and detail["process"]["status"] == "completed"
    assert [(v["round"], v["rating"], v["reopened"]) for v in detail["revisits"]] == [(0, "不满意", True),
                                                                                    (1, "不满意", False)]
    notes = api.get("/api/notifications", "staff1").json["items"]
    assert any("已达重新办理次数上限" in n["message"] for n in notes)

    # R3: nobody asks within 3 working days — missed like any limit (red light, 督办 of the community)
    advance_to(api, t0 + timedelta(days=4, hours=8, minutes=31))     # 10-12 17:31
    detail = api.event(r3)
    assert detail["status"] == "closed" and detail["revisit"] == "open"
    limit = next(d for d in detail["deadlines"] if d["kind"] == "revisit")
    assert limit["status"] == "missed" and limit["light"] == "red"
    assert [s["kind"] for s in supervised(api, r3)] == ["revisit"]
    assert any(a["action"] == "overdue" and a["data"]["stage"] == "revisit" for a in detail["timeline"])
    circular = api.get("/api/circular", "city1", query_string=PERIOD).json     # §9.1: 反馈不及时 of the community
    xincheng = next(c for c in circular["communities"] if c["key"] == "lg-xincheng")
    assert [e["event_id"] for e in xincheng["entries"]["late_feedback"]] == [r3]
    advance_to(api, t0 + timedelta(days=5))                          # 10-13 09:00: done late, not reached
    revisit(api, r3, {"revisit_reached": False, "revisit_contact": "无人接听"})
    assert api.event(r3)["revisits"][0]["reached"] is False

    for period in (PERIOD, ODD_PERIOD):       # the counts kept per day, and the tables themselves
        xincheng = rows(api, "community", period)["lg-xincheng"]
        assert counts(xincheng["citizen_satisfaction_rate"]) == (2, 4)   # R1 满意, R5 基本满意 of R1 R2 R2 R5
        assert xincheng["citizen_satisfaction_rate"]["name"] == "群众满意率（回访）"
        assert counts(xincheng["satisfaction_rate"]) == (0, 1)           # 核查: R5 基本满意 (a department's work)
        assert xincheng["satisfaction_rate"]["name"] == "社区评价满意率"
        assert counts(xincheng["first_time_rate"]) == (4, 5)             # R2 reopened
        zhifa = rows(api, "unit", period)["zhifa"]
        assert counts(zhifa["citizen_satisfaction_rate"]) == (1, 1) and counts(zhifa["satisfaction_rate"]) == (0, 1)


def test_who_is_asked_and_a_channel_answers_for_the_citizen(app, api):
    from engine.casework import revisits
    from engine.core.errors import Conflict, NotFound
    svc = app.extensions["eventflow"]
    staff_report = api.report("staff1", source="committee_patrol")["id"]       # §5.2: a patrol member
    by_mail = citizen(api, app, phone=None)["id"]                               # an e-mail address is enough
    for event_id in (staff_report, by_mail):
        cadre_closes(api, event_id)
    assert api.event(staff_report)["revisit"] == "open" and api.event(by_mail)["revisit"] == "open"
    # the channel the report came by hears the citizen's own answer (a 12345 callback, an Open311 update)
    answer = {"revisit_reached": True, "revisit_rating": "不满意", "revisit_cause": "问题依旧"}
    try:
        svc.run(lambda s: revisits.record_revisit(svc.command(s), by_mail, answer, "suishoupai"))
        raise AssertionError("another channel's event was answered")
    except NotFound:
        pass
    try:
        svc.run(lambda s: revisits.record_revisit(svc.command(s), by_mail, {"revisit_reached": True},
                                                  "hotline_12345"))
        raise AssertionError("an answer without its rating was taken")
    except Exception as err:   # noqa: BLE001 - InvalidData, naming the field
        assert err.details["errors"][0]["field"] == "revisit_rating"
    found = svc.run(lambda s: revisits.record_revisit(svc.command(s), by_mail, answer, "hotline_12345"))
    assert found["via"] == "channel:hotline_12345" and found["rating"] == "不满意" and found["reopened"] is True
    detail = api.event(by_mail)
    assert detail["status"] == "open" and [t["name"] for t in detail["open_tasks"]] == ["analyse"]
    try:
        svc.run(lambda s: revisits.record_revisit(svc.command(s), by_mail, answer, "hotline_12345"))
        raise AssertionError("a 回访 that is not open was answered")
    except Conflict:
        pass


def test_a_sensitive_events_revisit_is_for_its_designated_cadres_only(app, api):
    from tests.web.test_sensitive import staff3
    staff3(app)
    event = api.report(type_code="A03", description="邻里纠纷警情，需社区协调")
    cadre_closes(api, event["id"])
    assert api.tasks("staff3", event["id"]) == []               # another cadre of the community sees nothing
    assert api.task("staff1", event["id"], "revisit")
    revisit(api, event["id"], {"revisit_reached": True, "revisit_rating": "满意", "revisit_words": "调解满意"})
    assert api.get(f"/api/events/{event['id']}", "staff3").status_code == 404
    # its satisfaction is counted, without its content, for whoever reads the numbers
    xincheng = rows(api, "community")["lg-xincheng"]
    assert counts(xincheng["citizen_satisfaction_rate"]) == (1, 1)


def test_the_pages_show_the_revisit_and_take_its_form_in_chinese(app, api):
    from tests.web.test_sensitive import web_session
    from tests.web.test_ui_pages import csrf
    event_id = api.report(description="回访页面样本")["id"]
    cadre_closes(api, event_id)
    page = web_session(app, "staff1")
    html = page.get(f"/events/{event_id}").get_data(as_text=True)
    assert 'data-testid="revisit-flag"' in html and "回访中" in html and "办结" in html
    task = api.task("staff1", event_id, "revisit")
    form = page.get(f"/tasks/{task['id']}").get_data(as_text=True)
    for label in ("是否接通", "未接通情况", "满意度", "上报人原话", "不满意原因", "基本满意"):
        assert label in form, label
    token = csrf(page, f"/tasks/{task['id']}")
    r = page.post(f"/tasks/{task['id']}", data={"csrf_token": token, "revisit_reached": "true",
                                               "revisit_rating": "不满意"})
    assert r.status_code == 422 and 'data-field="revisit_cause"' in r.get_data(as_text=True)
    r = page.post(f"/tasks/{task['id']}", data={"csrf_token": token, "revisit_reached": "true",
                                               "revisit_rating": "基本满意", "revisit_words": "基本解决了"})
    assert r.status_code in (302, 303), r.get_data(as_text=True)[:300]
    html = page.get(f"/events/{event_id}").get_data(as_text=True)
    assert 'data-testid="revisits"' in html and "回访记录" in html and "基本解决了" in html and "已回访" in html
    assert "安排回访" in html                                  # the timeline in words
    listed = page.get("/events").get_data(as_text=True)
    assert "已回访" in listed


def test_the_revisit_page_says_whom_to_ask_how_and_what_a_dissatisfied_answer_does(app, api):
    """Above the 回访 form: the citizen's name, phone (a tel: link) and e-mail — an e-mail-only citizen is asked by
    mail, and the event's own contact line shows no e-mail — the way they are asked, and whether a 不满意 reopens
    the event now (重新办理, how many more times) or is only recorded."""
    from tests.web.test_sensitive import web_session
    from tests.web.test_ui_pages import csrf
    page = web_session(app, "staff1")
    by_phone = citizen(api, app, email=None)["id"]
    by_mail = citizen(api, app, phone=None)["id"]
    for event_id in (by_phone, by_mail):
        cadre_closes(api, event_id)
    task = api.task("staff1", by_phone, "revisit")
    assert task["form"]["x-context"] == "revisit"
    shown = api.get(f"/api/tasks/{task['id']}", "staff1").json["revisit"]
    assert shown == {"how": "phone", "how_name": "电话回访", "reopens_left": 1, "reporter": "王小明",
                     "phone": "13800001111", "email": None}
    html = page.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert 'href="tel:13800001111"' in html and "电话回访" in html and 'data-reopens="1"' in html
    html = page.get(f"/tasks/{api.task('staff1', by_mail, 'revisit')['id']}").get_data(as_text=True)
    assert 'data-testid="revisit-email">wang.xm@example.com<' in html and "邮件回访" in html
    # 不满意 reopens once; at the second 回访 the page says a 不满意 is only recorded
    revisit(api, by_phone, {"revisit_reached": True, "revisit_rating": "不满意", "revisit_cause": "问题依旧"})
    cadre_closes(api, by_phone, reopened=True)
    task = api.task("staff1", by_phone, "revisit")
    assert api.get(f"/api/tasks/{task['id']}", "staff1").json["revisit"]["reopens_left"] == 0
    html = page.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert 'data-reopens="0"' in html and "只作记录" in html
    page.post("/language", data={"lang": "en", "next": f"/tasks/{task['id']}",
                                 "csrf_token": csrf(page, f"/tasks/{task['id']}")})
    html = page.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert "Whom to ask" in html and "By phone" in html and "only recorded" in html
