"""A completion answers the next task the same person may do on the event (issue #17: as spiff-arena's does,
so a client goes on without reading the event again): the task as GET /api/tasks lists it, with its form,
or null — when the next step is someone else's (another role, another unit), claimed by someone else (认领),
or the process ended."""
from __future__ import annotations

WHISTLE = {"lead_department": "zhifa", "on_site": False, "whistle_reason": "社区无法自行处置"}


def complete(api, user, task_id, data):
    r = api.post(f"/api/tasks/{task_id}/complete", user, json=data)
    assert r.status_code == 200, r.json
    return r.json


def test_the_main_path_goes_on_from_each_answer(api):
    event = api.report("grid1")
    verify = next(t for t in event["open_tasks"] if t["name"] == "verify")

    done = complete(api, "staff1", verify["id"], {"verdict": "accept"})
    analyse = done["next_task"]                       # 研判 is staff1's too: answered with its form
    assert analyse == api.task("staff1", event["id"], "analyse")
    assert analyse["event_id"] == event["id"] and analyse["title"] == "研判"
    assert "disposal" in analyse["form"]["properties"]

    done = complete(api, "staff1", analyse["id"], {"disposal": "whistle"})
    assert done["next_task"] is None                  # 吹哨 is the whistle officer's
    assert [t["name"] for t in api.event(event["id"])["open_tasks"]] == ["issue_whistle"]

    whistle = api.task("whistle1", event["id"], "issue_whistle")
    assert complete(api, "whistle1", whistle["id"], WHISTLE)["next_task"] is None   # 签收受理: 执法局's

    accept = api.task("zhifa1", event["id"], "accept_whistle")
    feedback = complete(api, "zhifa1", accept["id"], {"decision": "accept"})["next_task"]
    assert feedback == api.task("zhifa1", event["id"], "dispose_feedback")

    done = complete(api, "zhifa1", feedback["id"], {"result_summary": "已处置"})
    assert done["next_task"] is None and done["stage"] == "结案接收"      # the whistle officer's (§7.3.3)
    receipt = api.task("whistle1", event["id"], "receive_closure")
    done = complete(api, "whistle1", receipt["id"], {"passed": True})
    assert done["next_task"] is None and done["stage"] == "核查"          # 核查 is the community cadres'
    check = api.task("staff1", event["id"], "check")
    done = complete(api, "staff1", check["id"], {"passed": True, "rating": "满意"})
    revisit = done["next_task"]                       # closed; 回访 is the community's too (issue #18)
    assert done["event_status"] == "closed" and revisit == api.task("staff1", event["id"], "revisit")
    done = complete(api, "staff1", revisit["id"], {"revisit_reached": True, "revisit_rating": "满意"})
    assert done["event_status"] == "closed" and done["next_task"] is None


def test_a_task_the_user_sees_but_may_not_do_is_not_answered(api):
    event = api.report("grid1")
    api.complete("staff1", event["id"], "verify", {"verdict": "accept"})
    done = api.complete("staff1", event["id"], "analyse",
                        {"disposal": "stationed", "stationed_unit": "gongan.xincheng_pcs"})
    # the stationed police's task is in staff1's community and listed on the event, but it is not theirs
    assert [t["name"] for t in api.event(event["id"], "staff1")["open_tasks"]] == ["handle_stationed"]
    assert done["next_task"] is None
    done = api.complete("stationed1", event["id"], "handle_stationed", {"resolved": True, "stationed_summary": "已劝离"})
    assert done["next_task"] is None                  # 核查 again the community's, not the stationed staff's


def test_a_transfer_answers_no_task_of_the_new_event(api):
    event = api.report("grid1")
    done = api.complete("staff1", event["id"], "verify",
                        {"verdict": "transfer", "target_community": "lg-longgang", "verify_note": "属龙港社区"})
    assert done["next_task"] is None                  # the new event's 核实 is lg-longgang's (and another event)
    assert api.tasks("staff2")


def _both_tasks_of_police1(api) -> tuple[int, dict, dict]:
    """A whistle to 新城派出所 with 龙港派出所 as co-department, accepted by police1 (公安局, above both): the
    event, the lead's 处置反馈 and the co-department's 协办签收受理, both police1's to do."""
    event = api.report("grid1")
    api.whistle_to(event["id"], department="gongan.xincheng_pcs", co_departments=["gongan.longgang_pcs"])
    api.complete("police1", event["id"], "accept_whistle", {"decision": "accept"})
    return event["id"], api.task("police1", event["id"], "dispose_feedback"), api.task("police1", event["id"], "co_accept")


def test_a_task_claimed_by_someone_else_is_passed_over(api):
    event_id, feedback, co_accept = _both_tasks_of_police1(api)
    done = complete(api, "police1", feedback["id"], {"result_summary": "已调解"})
    assert done["next_task"] == api.task("police1", event_id, "co_accept")   # the other one left to police1

    event_id, feedback, co_accept = _both_tasks_of_police1(api)
    assert api.post(f"/api/tasks/{co_accept['id']}/claim", "pcs1").status_code == 200
    done = complete(api, "police1", feedback["id"], {"result_summary": "已调解"})
    assert done["next_task"] is None                  # 龙港派出所 took it on: not police1's to go on with
    assert api.task("police1", event_id, "co_accept")["claimed_by"] == "pcs1"

    assert api.post(f"/api/tasks/{co_accept['id']}/complete", "pcs1", json={}).json["next_task"] \
        == api.task("pcs1", event_id, "co_report")    # the claimer goes on with its own next step
