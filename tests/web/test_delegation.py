"""下派 (issue #19, a department's own organisation) through the HTTP API on the simulated clock: the police
bureau's clerk (police1, 公安局) passes its 签收受理 of a whistle order (§8.3: 30 minutes from dispatch) to
龙港派出所 (a unit below it in catalogs/data/units.json) or to a person of it (pcs1) with a sub-deadline inside
the bureau's own limit. The sub-deadline has its yellow light and its miss, told to the bureau while its own
limit still runs; the bureau's limit is untouched and met by whoever does the work; 收回 takes it back; no one
outside the unit's own clerks passes anything down."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from engine.store.models import Audit, Notification

SIM_START = datetime.fromisoformat("2026-10-08T09:00:00+08:00")
PCS = "gongan.longgang_pcs"


def at(minutes: int) -> str:
    return (SIM_START + timedelta(minutes=minutes)).isoformat()


def advance_to(api, minutes: int) -> None:
    r = api.post("/api/sim/advance", "admin1", json={"to": at(minutes)})
    assert r.status_code == 200, r.json


def told(app, recipient, kind) -> list[str]:
    svc = app.extensions["eventflow"]
    return svc.read(lambda s: [n.message for n in s.scalars(select(Notification).where(
        Notification.recipient == recipient, Notification.kind == kind).order_by(Notification.id))])


def audited(app, event_id, action) -> list[dict]:
    svc = app.extensions["eventflow"]
    return svc.read(lambda s: [dict(a.data, actor=a.actor) for a in s.scalars(select(Audit).where(
        Audit.event_id == event_id, Audit.action == action).order_by(Audit.id))])


def whistled_to_police(api) -> tuple[int, str]:
    """A fresh event whistled to 公安局 at 09:00: its 签收受理 (30 minutes, until 09:30) is the bureau's."""
    event = api.report()
    api.whistle_to(event["id"], department="gongan")
    return event["id"], api.task("police1", event["id"], "accept_whistle")["id"]


def accept_limit(api, event_id) -> dict:
    [row] = [d for d in api.event(event_id, user="police1")["deadlines"] if d["kind"] == "accept"]
    return row


def ids(api, user, event_id) -> list[str]:
    return [t["id"] for t in api.tasks(user, event_id)]


def test_a_sub_deadline_missed_before_the_units_own_is_recorded_and_told_while_the_unit_still_runs(app, api):
    event_id, task_id = whistled_to_police(api)
    assert accept_limit(api, event_id)["due_at"] == at(30)
    offer = api.get(f"/api/tasks/{task_id}/delegation", "police1").json
    assert offer["may_delegate"] and offer["active"] is None and offer["unit_limit"]["due_at"] == at(30)
    assert {"code": PCS, "name": "龙港派出所"} in offer["options"]["units"]
    assert "pcs1" in [p["username"] for p in offer["options"]["people"]]
    assert task_id not in ids(api, "pcs1", event_id)                  # the bureau's order, not yet the station's

    r = api.post(f"/api/tasks/{task_id}/delegate", "police1",
                 json={"to_unit": PCS, "due_at": at(15), "note": "请派出所立即签收"})
    assert r.status_code == 200, r.json
    passed = r.json
    assert (passed["status"], passed["to_unit"], passed["to_name"], passed["due_at"]) == ("active", PCS, "龙港派出所", at(15))
    assert passed["passed_by"] == "police1" and passed["passed_by_name"] == "公安局 办事员" and passed["light"] == "green"
    [notice] = told(app, PCS, "delegated")
    assert "公安局下派给龙港派出所" in notice and "请于 2026-10-08 09:15 前办理：请派出所立即签收" in notice
    [entry] = audited(app, event_id, "task_delegated")
    assert (entry["actor"], entry["to_unit"], entry["due_at"], entry["unit_due_at"]) == ("police1", PCS, at(15), at(30))

    assert task_id in ids(api, "pcs1", event_id)                      # the station sees it in 待办 …
    assert task_id in ids(api, "police1", event_id)                   # … and the bureau still does
    assert task_id not in ids(api, "zhifa1", event_id)
    assert api.get(f"/api/events/{event_id}", "pcs1").status_code == 200   # and may read the event it works on

    advance_to(api, 10)                                               # two thirds of 15 minutes: the yellow light
    assert api.event(event_id, user="police1")["delegations"][0]["light"] == "yellow"
    assert len(told(app, PCS, "delegation_warning")) == 1
    advance_to(api, 14)
    assert audited(app, event_id, "delegation_missed") == []
    advance_to(api, 16)                                               # the sub-deadline passed; the bureau's has not
    [shown] = api.event(event_id, user="police1")["delegations"]
    assert shown["missed"] and shown["light"] == "red" and shown["status"] == "active"
    assert accept_limit(api, event_id)["status"] == "pending"         # the unit's own limit runs on, unchanged
    assert accept_limit(api, event_id)["due_at"] == at(30)
    [missed] = told(app, "gongan", "delegation_missed")               # the bureau hears it before its own miss
    assert "龙港派出所" in missed and "下派超期" in missed and "本单位时限至 2026-10-08 09:30" in missed
    [entry] = audited(app, event_id, "delegation_missed")
    assert (entry["actor"], entry["to_unit"], entry["unit_due_at"]) == ("system", PCS, at(30))
    assert api.get(f"/api/tasks/{task_id}/delegation", "pcs1").json["active"]["missed"] is True

    advance_to(api, 20)                                               # once: nothing fires twice
    assert len(told(app, "gongan", "delegation_missed")) == 1
    api.complete("pcs1", event_id, "accept_whistle", {"decision": "accept"})   # the station's person does it
    limit = accept_limit(api, event_id)
    assert (limit["status"], limit["unit"]) == ("met", "gongan")      # met in time: it counts for the bureau (§8.6)
    [done] = api.event(event_id, user="police1")["delegations"]
    assert (done["status"], done["missed"], done["ended_by"], done["light"]) == ("done", True, "pcs1", None)


def test_a_sub_deadline_beyond_the_units_limit_and_other_bad_input_are_refused_by_field(api):
    event_id, task_id = whistled_to_police(api)

    def refused(body, field, words):
        r = api.post(f"/api/tasks/{task_id}/delegate", "police1", json=body)
        assert r.status_code == 422, r.json
        reasons = {e["field"]: e["reason"] for e in r.json["errors"]}
        assert field in reasons and words in reasons[field], reasons
    refused({"to_unit": PCS, "due_at": at(31)}, "due_at", "不能晚于本单位的签收受理时限 2026-10-08 09:30")
    refused({"to_unit": PCS, "due_at": at(-1)}, "due_at", "应晚于当前时间")
    refused({"to_unit": PCS, "due_at": "tomorrow"}, "due_at", "带时区")
    refused({"to_unit": PCS}, "due_at", "请填写下派时限")
    refused({"due_at": at(15)}, "to_unit", "二者选一")
    refused({"to_unit": PCS, "to_person": "pcs1", "due_at": at(15)}, "to_unit", "二者选一")
    refused({"to_unit": "zhifa.zhongdui1", "due_at": at(15)}, "to_unit", "下级单位")      # another unit's tree
    refused({"to_unit": "gongan", "due_at": at(15)}, "to_unit", "下级单位")               # the unit itself
    refused({"to_person": "zhifa1", "due_at": at(15)}, "to_person", "可办理此任务的人员")   # outside the unit
    refused({"to_person": "stationed1", "due_at": at(15)}, "to_person", "可办理此任务的人员")  # without the role
    refused({"to_unit": PCS, "due_at": at(15), "note": "长" * 501}, "note", "最多500字")
    assert api.get(f"/api/tasks/{task_id}/delegation", "police1").json["active"] is None
    assert task_id not in ids(api, "pcs1", event_id)
    advance_to(api, 31)                                               # the bureau's limit missed: nothing fits in it
    r = api.post(f"/api/tasks/{task_id}/delegate", "police1", json={"to_unit": PCS, "due_at": at(40)})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "due_at"


def test_taking_back_ends_the_pass_and_its_sub_deadline(app, api):
    event_id, task_id = whistled_to_police(api)
    r = api.post(f"/api/tasks/{task_id}/delegate", "police1", json={"to_person": "pcs1", "due_at": at(20)})
    assert r.status_code == 200 and r.json["to_person_name"] == "龙港派出所 办事员"
    assert task_id in ids(api, "pcs1", event_id)
    again = api.post(f"/api/tasks/{task_id}/delegate", "police1", json={"to_unit": PCS, "due_at": at(20)})
    assert again.status_code == 409                                   # one pass at a time: take it back first
    assert api.post(f"/api/tasks/{task_id}/claim", "pcs1").status_code == 200

    r = api.post(f"/api/tasks/{task_id}/take-back", "police1", json={"reason": "本局直接签收"})
    assert r.status_code == 200 and r.json["status"] == "taken_back" and r.json["end_reason"] == "本局直接签收"
    assert task_id not in ids(api, "pcs1", event_id)                  # no longer the person's
    assert api.post(f"/api/tasks/{task_id}/complete", "pcs1", json={"decision": "accept"}).status_code == 404
    assert api.task("police1", event_id, "accept_whistle")["claimed_by"] is None   # the claim went with it
    [notice] = told(app, "pcs1", "delegation_taken_back")
    assert "收回" in notice and "本局直接签收" in notice
    [entry] = audited(app, event_id, "delegation_taken_back")
    assert (entry["actor"], entry["to_person"], entry["reason"]) == ("police1", "pcs1", "本局直接签收")
    assert api.post(f"/api/tasks/{task_id}/take-back", "police1", json={}).status_code == 409

    advance_to(api, 25)                                               # the sub-deadline no longer runs
    assert audited(app, event_id, "delegation_missed") == [] and told(app, "gongan", "delegation_missed") == []
    view = api.get(f"/api/tasks/{task_id}/delegation", "police1").json
    assert view["active"] is None and [h["status"] for h in view["history"]] == ["taken_back"]
    assert api.post(f"/api/tasks/{task_id}/delegate", "police1",
                    json={"to_unit": PCS, "due_at": at(28)}).status_code == 200   # passed again after
    api.complete("police1", event_id, "accept_whistle", {"decision": "accept"})  # the bureau may still do it itself
    assert [d["status"] for d in api.event(event_id, user="police1")["delegations"]] == ["taken_back", "done"]


def test_only_the_units_own_clerks_pass_down_and_take_back(api):
    event_id, task_id = whistled_to_police(api)
    body = {"to_unit": PCS, "due_at": at(15)}
    assert api.post(f"/api/tasks/{task_id}/delegate", "shijian1", json=body).status_code == 404   # another unit
    assert api.post(f"/api/tasks/{task_id}/delegate", "pcs1", json=body).status_code == 404       # not theirs yet
    r = api.post(f"/api/tasks/{task_id}/delegate", "staff1", json=body)
    assert r.status_code == 403 and r.json["field"] == "role"
    assert api.get(f"/api/tasks/{task_id}/delegation", "shijian1").status_code == 404
    assert api.post(f"/api/tasks/{task_id}/delegate", "police1", json=body).status_code == 200

    for path in ("delegate", "take-back"):                            # the station does the work, it does not pass it on
        r = api.post(f"/api/tasks/{task_id}/{path}", "pcs1", json={"to_person": "pcs1", "due_at": at(10)})
        assert r.status_code == 403 and r.json["field"] == "task", r.json
    view = api.get(f"/api/tasks/{task_id}/delegation", "pcs1").json
    assert view["active"]["to_unit"] == PCS and not view["may_delegate"] and view["options"] is None
    assert api.post(f"/api/tasks/{task_id}/take-back", "zhifa1", json={}).status_code == 404


def test_a_sub_units_person_completes_a_task_passed_to_them_by_name(api):
    event_id, task_id = whistled_to_police(api)
    api.complete("police1", event_id, "accept_whistle", {"decision": "accept"})
    feedback = api.task("police1", event_id, "dispose_feedback")
    r = api.post(f"/api/tasks/{feedback['id']}/delegate", "police1",
                 json={"to_person": "pcs1", "due_at": at(12 * 60)})
    assert r.status_code == 200, r.json
    assert api.task("pcs1", event_id, "dispose_feedback")["id"] == feedback["id"]
    done = api.complete("pcs1", event_id, "dispose_feedback", {"result_summary": "派出所已处置完毕"})
    assert done["stage"] == "核查"
    [row] = [d for d in api.event(event_id)["deadlines"] if d["kind"] == "close"]
    assert (row["status"], row["unit"]) == ("met", "gongan")
    [shown] = api.event(event_id, user="police1")["delegations"]
    assert (shown["status"], shown["missed"], shown["ended_by"]) == ("done", False, "pcs1")


def test_the_pages_pass_down_refuse_with_what_was_typed_and_take_back(app, api):
    from tests.web.test_sensitive import web_session
    from tests.web.test_ui_pages import csrf
    event_id, task_id = whistled_to_police(api)
    clerk = web_session(app, "police1")
    html = clerk.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert 'data-testid="delegate-link"' in html
    form = clerk.get(f"/tasks/{task_id}/delegation").get_data(as_text=True)
    assert "龙港派出所" in form and "龙港派出所 办事员" in form and "本单位签收受理时限至 2026-10-08 09:30" in form
    token = csrf(clerk, f"/tasks/{task_id}/delegation")
    r = clerk.post(f"/tasks/{task_id}/delegation", data={"csrf_token": token, "to_unit": PCS,
                                                         "due_at": "2026-10-08T09:45", "note": "请立即签收并回复"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "下派时限不能晚于本单位的签收受理时限 2026-10-08 09:30" in html
    assert "请立即签收并回复" in html and 'value="2026-10-08T09:45"' in html   # what was typed is kept
    assert f'value="{PCS}" selected' in html
    r = clerk.post(f"/tasks/{task_id}/delegation", data={"csrf_token": token, "to_unit": PCS,
                                                         "due_at": "2026-10-08T09:20", "note": "请立即签收并回复"})
    assert r.status_code == 302
    html = clerk.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "公安局已下派给 龙港派出所，下派时限至 2026-10-08 09:20" in html and 'data-testid="take-back"' in html
    station = web_session(app, "pcs1")
    html = station.get(f"/tasks/{task_id}").get_data(as_text=True)   # the station opens it from its 待办
    assert "已下派给 龙港派出所" in html and 'data-testid="take-back"' not in html
    assert f'data-task-id="{task_id}"' in station.get("/").get_data(as_text=True)
    advance_to(api, 21)
    html = clerk.get(f"/events/{event_id}").get_data(as_text=True)
    assert 'data-testid="delegations"' in html and "下派超期 2026-10-08 09:20" in html
    assert "下派超期" in clerk.get(f"/tasks/{task_id}").get_data(as_text=True)
    r = clerk.post(f"/tasks/{task_id}/take-back", data={"csrf_token": token, "reason": "本局自行签收"})
    assert r.status_code == 302
    assert f'data-task-id="{task_id}"' not in station.get("/").get_data(as_text=True)
    html = clerk.get(f"/events/{event_id}").get_data(as_text=True)
    assert "已收回" in html and "本局自行签收" in html and "收回下派" in html      # the timeline says it too
