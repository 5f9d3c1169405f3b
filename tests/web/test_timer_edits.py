"""Editing a time limit in the diagram and redeploying over HTTP, with no restart (issue #7): the timer of
签收受理 typed as the modeler saves it (a bare PT2H, then PT1H, in the timer's duration field), and a
deadline() limit changed in its expression. New instances get the new limit; open ones keep theirs.
The real app and the simulated clock; both databases."""
from __future__ import annotations

from datetime import timedelta

from tests.web.test_deploy import BPMN, bundle_zip, deploy
from tests.web.test_deadlines import advance_to, deadline, now

ACCEPT_TIMER = b'<bpmn:timeDate xsi:type="bpmn:tFormalExpression">deadline("accept", "PT30M", dispatch["dispatched_at"])</bpmn:timeDate>'


def accept_timer_as_typed(duration: str) -> bytes:
    """The 签收受理 timer as a modeler's timer field saves a typed duration: bare text, no quotes."""
    assert ACCEPT_TIMER in BPMN
    return bundle_zip(BPMN.replace(ACCEPT_TIMER, f'<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">{duration}'
                                                 f'</bpmn:timeDuration>'.encode()))


def fired(api, event_id) -> bool:
    return any(t["action"] == "timer_fired" and "timer_accept" in t["data"]["timers"]
               for t in api.event(event_id)["timeline"])


def test_a_timer_edited_from_two_hours_to_one_applies_to_new_instances_only(app, api):
    assert deploy(api, accept_timer_as_typed("PT2H"), "v2.zip").status_code == 201
    old = api.report()
    api.whistle_to(old["id"])
    r = deploy(api, accept_timer_as_typed("PT1H"), "v3.zip")                   # no restart
    assert r.status_code == 201 and r.json["version"] == 3, r.json
    new = api.report()
    api.whistle_to(new["id"])
    assert api.event(old["id"])["process"]["version"] == 2 and api.event(new["id"])["process"]["version"] == 3
    start = now(api)
    advance_to(api, start + timedelta(minutes=59))
    assert not fired(api, new["id"]) and not fired(api, old["id"])
    advance_to(api, start + timedelta(minutes=61))
    assert fired(api, new["id"]) and not fired(api, old["id"])                  # the new one: 1 hour
    advance_to(api, start + timedelta(minutes=119))
    assert not fired(api, old["id"])
    advance_to(api, start + timedelta(minutes=121))
    assert fired(api, old["id"])                                                # the open one kept 2 hours


def test_a_deadline_limit_changed_in_its_expression_applies_to_new_instances_only(app, api):
    old = api.report()
    api.whistle_to(old["id"])
    edited = BPMN.replace(b'deadline("close", "PT24H"', b'deadline("close", "PT12H"')
    assert edited != BPMN
    assert deploy(api, bundle_zip(edited), "v2.zip").status_code == 201
    new = api.report()
    api.whistle_to(new["id"])
    for event, hours in ((old, 24), (new, 12)):
        api.complete("zhifa1", event["id"], "accept_whistle", {"decision": "accept"})   # 处置 and its limit
        row = deadline(api, event["id"], "close")
        assert row["rule"] == f"PT{hours}H", row


def test_a_bad_limit_or_kind_in_a_timer_is_refused_at_deploy_naming_the_element(api):
    for bad, reason in ((b'deadline("close", "PT24H"', b'deadline("closing", "PT24H"'),
                        (b'deadline("close", "PT24H"', b'deadline("close", "PT0H"'),
                        (b'deadline("close_difficult", "P5D")', b'deadline("close_difficult", "P1DT2H")')):
        r = deploy(api, bundle_zip(BPMN.replace(bad, reason)), "bad.zip")
        assert r.status_code == 400, r.json
        assert r.json["element"] and r.json["file"] == "event_flow.bpmn", r.json
    r = deploy(api, accept_timer_as_typed("PT1X"), "bad.zip")
    assert r.status_code == 400 and r.json["element"] == "timer_accept", r.json
