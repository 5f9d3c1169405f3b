"""A hostile diagram (issue #7): the right to deploy a diagram is not the right to run code on the server.
Imports, file access, dunder tricks and a `while True` are refused at deploy, naming file and element;
code that only shows its cost when it runs (a sum over a billion numbers, a string doubled forty times)
is stopped at run time by the step and size budget: the step fails naming the element, and nothing is
saved. Code that could only exhaust the budget, whatever the data (a constant `10 ** 10 ** 10`), is refused
at deploy (issue #15). The real app on both databases (engine/runtime/sandbox.py)."""
from __future__ import annotations

import pytest

from tests.web.test_deploy import BPMN, bundle_zip, deploy, versions

ACCEPT = b'verdict == "accept"</bpmn:conditionExpression>'


def with_condition(code: str) -> bytes:
    changed = BPMN.replace(ACCEPT, f'{code}</bpmn:conditionExpression>'.encode().replace(b'"', b"&quot;"))
    assert changed != BPMN
    return bundle_zip(changed)


def with_script(script: str) -> bytes:
    """A script task's code: as a pre-script of 核实 (the modeler's spiffworkflow:preScript)."""
    anchor = b'<bpmn:userTask id="verify"'
    start = BPMN.index(anchor)
    end = BPMN.index(b">", start) + 1
    escaped = script.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").encode()
    extension = (b"<bpmn:extensionElements><spiffworkflow:preScript>" + escaped +
                 b"</spiffworkflow:preScript></bpmn:extensionElements>")
    if b"<bpmn:extensionElements>" in BPMN[end:BPMN.index(b"</bpmn:userTask>", end)]:
        head = BPMN.index(b"<bpmn:extensionElements>", end) + len(b"<bpmn:extensionElements>")
        return bundle_zip(BPMN[:head] + extension[len(b"<bpmn:extensionElements>"):-len(b"</bpmn:extensionElements>")]
                          + BPMN[head:])
    return bundle_zip(BPMN[:end] + extension + BPMN[end:])


@pytest.mark.parametrize("code, reason", [
    ('__import__("os").system("id") == 0', "underscore"),
    ('open("/etc/passwd").read() != ""', "open"),
    ('().__class__.__bases__[0].__subclasses__() != []', "__subclasses__"),
    ('"x".center(10**9) != ""', "center"),
    ('f"{verdict:>999999999}" != ""', "f-string"),
])
def test_a_hostile_condition_is_refused_at_deploy(api, code, reason):
    r = deploy(api, with_condition(code), "hostile.zip")
    assert r.status_code == 400, r.json
    assert r.json["file"] == "event_flow.bpmn" and r.json["element"] and reason in r.json["reason"]
    assert len(versions(api)) == 1                                            # nothing changed


@pytest.mark.parametrize("script, reason", [
    ("import os\nos.system('id')", "imports"),
    ("while True:\n    pass", "never ends"),
    ("x = open('/etc/passwd').read()", "open"),
])
def test_a_hostile_script_is_refused_at_deploy(api, script, reason):
    r = deploy(api, with_script(script), "hostile.zip")
    assert r.status_code == 400, r.json
    assert r.json["element"] == "verify" and reason in r.json["reason"], r.json
    assert len(versions(api)) == 1


def with_timer(code: str) -> bytes:
    """A timer's expression: 到场超时 (timer_arrive) armed only if `code` holds."""
    limit = 'deadline("arrive", "PT1H", dispatch["dispatched_at"])'        # §8.3: from dispatch (issue #19)
    anchor = f"{limit}</bpmn:timeDate>".encode()
    assert BPMN.count(anchor) == 1
    escaped = code.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return bundle_zip(BPMN.replace(anchor, f'{limit} if {escaped} else deadline("arrive", "PT2H")'
                                           f'</bpmn:timeDate>'.encode()))


#: issue #15: code that can only exhaust the sandbox, whatever the task data — each in every place code lives
HOSTILE = {"power": ("10 ** 10 ** 10 > 0", "4096 bits"),
           "string": ("len('a' * 10 ** 10) > 0", "10000000000 items"),
           "endless comprehension": ("len([0 for a in [[1]] for x in a if not a.append(1)]) > 0", "steps")}
PLACES = {"condition": (lambda code: with_condition(code), "flow_gw_verify__gw_join_analyse"),
          "script": (lambda code: with_script(f"checked = {code}"), "verify"),
          "timer": (with_timer, "timer_arrive")}


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("hostile", HOSTILE)
def test_code_that_can_only_exhaust_the_sandbox_is_refused_at_deploy(api, hostile, place):
    """Deploy evaluates every constant part of diagram code within the run-time budget (engine/runtime/sandbox.py
    `exhausting_constant`): what exhausts it could never run, so the bundle is refused naming the file, the
    element and why, and nothing changes."""
    code, why = HOSTILE[hostile]
    make, element = PLACES[place]
    r = deploy(api, make(code), "hostile.zip")
    assert r.status_code == 400, r.json
    assert r.json["error"] == "deploy_rejected" and r.json["file"] == "event_flow.bpmn", r.json
    assert r.json["element"] == element, r.json
    assert "超出运行预算" in r.json["reason"] and why in r.json["reason"], r.json
    assert len(versions(api)) == 1


def test_constant_code_within_the_budget_still_deploys(api):
    assert deploy(api, with_condition('verdict == "accept" and len("ab" * 100) == 200'), "fine.zip").status_code == 201
    assert deploy(api, with_timer("sum(range(1000)) > 0"), "fine2.zip").status_code == 201


@pytest.mark.parametrize("code", ['sum(range(len(verdict) * 10**9)) > 0 and verdict == "accept"',
                                  'len(verdict * 10**9) > 0 and verdict == "accept"',
                                  '2 ** (len(verdict) * 10**7) > 0 and verdict == "accept"'])
def test_code_that_runs_away_on_the_data_is_stopped_and_nothing_is_saved(app, api, code):
    """What only the data makes too costly passes deploy and is stopped at run time: 409 naming the
    gateway and the reason, the task stays ready, nothing of the step is saved (an incident opens:
    tests/web/test_incidents.py)."""
    assert deploy(api, with_condition(code), "costly.zip").status_code == 201
    event = api.report()
    task = api.task("staff1", event["id"], "verify")
    r = api.post(f"/api/tasks/{task['id']}/complete", "staff1", json={"verdict": "accept"})
    assert r.status_code == 409, r.json
    assert r.json["error"] == "step_failed" and r.json["element"] == "gw_verify", r.json
    assert "Exhausted" in r.json["reason"] and r.json["incident_id"], r.json
    assert api.task("staff1", event["id"], "verify")["id"] == task["id"]      # still to do
    assert [t["action"] for t in api.event(event["id"])["timeline"]].count("task_completed") == 0


def test_a_loop_that_never_ends_is_refused_at_deploy(api):
    r = deploy(api, with_script("n = 0\nwhile n >= 0:\n    n = n + 1"), "loop.zip")
    assert r.status_code == 400 and r.json["element"] == "verify" and "steps" in r.json["reason"], r.json


def test_a_loop_that_only_ends_too_late_is_stopped_at_run_time(app, api):
    script = "n = 0\nwhile n >= 0 and event_type:\n    n = n + 1"          # reads the data: not a constant
    assert deploy(api, with_script(script), "loop.zip").status_code == 201
    event = api.report()                                      # the pre-script runs when 核实 becomes ready
    assert event["status"] == "error" and "steps" in event["error"], event
    assert api.tasks("staff1", event["id"]) == []
