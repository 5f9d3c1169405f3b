"""批量签收 (issue #19): a department clerk accepts several whistle orders (签收受理, §8.3) at once. Each is its own
completion — its own unit of work, audited and timed — and each is accepted or refused on its own: one refused
(claimed by a colleague, not theirs, done already, not an acceptance) does not stop the others, and the answer
says which and why, naming people by display name. On the simulated clock, both databases."""
from __future__ import annotations

from datetime import timedelta

from tests.conftest import PASSWORD
from tests.web.test_deadlines import advance_to, now

#: a second clerk of 执法局 (the demo has one)
CLERK2 = {"username": "zhifa2", "password": PASSWORD, "roles": ["department_staff"], "unit": "zhifa",
          "display_name": "执法局 办事员二"}


def orders(api, count: int, department: str = "zhifa") -> list[dict]:
    """`count` events whistled to `department` (§7.3), each with its 签收受理 waiting."""
    found = []
    for n in range(count):
        event = api.report(description=f"批量签收样本 {n + 1}")
        api.whistle_to(event["id"], department=department)
        found.append(event)
    return found


def accept_task(api, user: str, event_id: int) -> dict:
    task = api.task(user, event_id, "accept_whistle")
    assert task["batch_accept"] is True
    return task


def batch(api, user: str, ids, expect: int = 200) -> dict:
    r = api.post("/api/tasks/batch/accept", user, json={"task_ids": ids})
    assert r.status_code == expect, r.json
    return r.json


def completions(api, event_id: int) -> list[dict]:
    return [a for a in api.event(event_id)["timeline"] if a["action"] == "task_completed" and a["task_name"] == "签收受理"]


def deadline(api, event_id: int, kind: str = "accept") -> dict:
    return next(d for d in api.event(event_id)["deadlines"] if d["kind"] == kind)


def test_three_orders_at_once_one_claimed_by_a_colleague_is_refused_the_others_accepted(app, api):
    assert api.post("/api/users", "admin1", json=CLERK2).status_code == 201
    t0 = now(api)
    e1, e2, e3 = orders(api, 3)
    tasks = [accept_task(api, "zhifa1", e["id"]) for e in (e1, e2, e3)]
    claimed = api.post(f"/api/tasks/{tasks[2]['id']}/claim", "zhifa2")      # 认领 by the colleague
    assert claimed.status_code == 200
    advance_to(api, t0 + timedelta(minutes=10))

    answer = batch(api, "zhifa1", [t["id"] for t in tasks])
    assert [(a["task_id"], a["event_number"], a["title"]) for a in answer["accepted"]] == [
        (tasks[0]["id"], e1["number"], "签收受理"), (tasks[1]["id"], e2["number"], "签收受理")]
    assert all(a["event_status"] == "open" and a["stage"] == "处置反馈" for a in answer["accepted"])
    [refused] = answer["refused"]
    assert refused["task_id"] == tasks[2]["id"] and refused["event_number"] == e3["number"]
    assert refused["error"] == "conflict"
    assert "执法局 办事员二" in refused["reason"] and "认领" in refused["reason"]
    assert "zhifa2" not in refused["reason"]                          # a display name, never the login

    # each accepted order is its own audited completion, at its own time; the acceptance limit met on time (§8.3)
    for event in (e1, e2):
        [done] = completions(api, event["id"])
        assert done["actor"] == "zhifa1" and done["data"]["decision"] == "accept"
        assert done["at"] == (t0 + timedelta(minutes=10)).isoformat()
        assert deadline(api, event["id"])["status"] == "met"
        assert [t["name"] for t in api.tasks("zhifa1", event["id"])] == ["dispose_feedback"]
    # the refused one is untouched: still the colleague's to accept, its limit running on
    assert completions(api, e3["id"]) == [] and deadline(api, e3["id"])["status"] == "pending"
    advance_to(api, t0 + timedelta(minutes=31))
    assert deadline(api, e3["id"])["status"] == "missed"
    answer = batch(api, "zhifa2", [tasks[2]["id"]])
    assert [a["event_number"] for a in answer["accepted"]] == [e3["number"]] and answer["refused"] == []
    late = deadline(api, e3["id"])
    assert late["status"] == "missed" and late["met_at"] == (t0 + timedelta(minutes=31)).isoformat()   # late, done


def test_each_refusal_says_why_and_the_rest_go_on(app, api):
    t0 = now(api)
    mine, done_already, theirs = orders(api, 1)[0], orders(api, 1)[0], orders(api, 1, department="shijian")[0]
    other = api.report(description="执法局的处置反馈，不是签收受理")
    api.whistle_to(other["id"], department="zhifa")
    api.complete("zhifa1", other["id"], "accept_whistle", {"decision": "accept"})
    feedback = api.task("zhifa1", other["id"], "dispose_feedback")
    assert feedback["batch_accept"] is False
    done_task = accept_task(api, "zhifa1", done_already["id"])
    advance_to(api, t0 + timedelta(minutes=5))
    api.complete("zhifa1", done_already["id"], "accept_whistle", {"decision": "accept"})
    theirs_task = api.task("shijian1", theirs["id"], "accept_whistle")
    mine_task = accept_task(api, "zhifa1", mine["id"])

    ids = [theirs_task["id"], done_task["id"], feedback["id"], mine_task["id"], mine_task["id"]]
    answer = batch(api, "zhifa1", ids)
    assert [a["event_number"] for a in answer["accepted"]] == [mine["number"]]   # given twice, done once
    refused = {r["task_id"]: r for r in answer["refused"]}
    assert list(refused) == [theirs_task["id"], done_task["id"], feedback["id"]]   # in the order given
    assert refused[theirs_task["id"]]["error"] == "not_found"
    assert refused[theirs_task["id"]]["event_number"] is None          # another unit's order is not named
    assert "不是您的待办" in refused[theirs_task["id"]]["reason"]
    assert refused[done_task["id"]]["event_number"] == done_already["number"]
    assert refused[done_task["id"]]["reason"] == "已由您于 09:05 办理"
    assert refused[feedback["id"]]["event_number"] == other["number"] and "不是签收受理" in refused[feedback["id"]]["reason"]
    assert [t["name"] for t in api.tasks("shijian1", theirs["id"])] == ["accept_whistle"]   # untouched
    assert [t["name"] for t in api.tasks("zhifa1", other["id"])] == ["dispose_feedback"]
    assert api.tasks("staff1", mine["id"]) == []


def test_a_batch_without_task_ids_is_refused_naming_the_field(app, api):
    for body, field in (({}, "task_ids"), ({"task_ids": []}, "task_ids"), ({"task_ids": "abc"}, "task_ids"),
                        ({"task_ids": ["ok-id", 7]}, "task_ids.1"), ({"task_ids": ["a b"]}, "task_ids.0"),
                        ({"task_ids": [f"t{i}" for i in range(51)]}, "task_ids")):
        r = api.post("/api/tasks/batch/accept", "zhifa1", json=body)
        assert r.status_code == 422 and r.json["errors"][0]["field"] == field, (body, r.json)
    assert api.post("/api/tasks/batch/accept", "zhifa1", data="[]", content_type="application/json").status_code == 422
    assert api.client.post("/api/tasks/batch/accept", json={"task_ids": ["x"]}).status_code == 401
