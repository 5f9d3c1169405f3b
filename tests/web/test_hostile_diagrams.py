"""A hostile diagram (issue #7): the right to deploy a diagram is not the right to run code on the server.
Imports, file access, dunder tricks and a `while True` are refused at deploy, naming file and element;
code that only shows its cost when it runs (a sum over a billion numbers, a string doubled forty times)
is stopped at run time by the step and size budget: the step fails naming the element, and nothing is
saved. The real app on both databases (engine/sandbox.py)."""
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


@pytest.mark.parametrize("code", ['sum(range(10**9)) > 0 and verdict == "accept"',
                                  'len("ab" * 10**9) > 0 and verdict == "accept"',
                                  '2 ** 10**7 > 0 and verdict == "accept"'])
def test_code_that_would_run_away_is_stopped_and_nothing_is_saved(app, api, code):
    assert deploy(api, with_condition(code), "costly.zip").status_code == 201
    event = api.report()
    task = api.task("staff1", event["id"], "verify")
    r = api.post(f"/api/tasks/{task['id']}/complete", "staff1", json={"verdict": "accept"})
    assert r.status_code == 500, r.json
    assert r.json["error"] == "process_error" and "Exhausted" in r.json["message"], r.json
    assert api.task("staff1", event["id"], "verify")["id"] == task["id"]      # still to do
    assert [t["action"] for t in api.event(event["id"])["timeline"]].count("task_completed") == 0


def test_a_loop_that_only_ends_too_late_is_stopped_at_run_time(app, api):
    script = "n = 0\nwhile n >= 0:\n    n = n + 1"
    assert deploy(api, with_script(script), "loop.zip").status_code == 201
    event = api.report()                                      # the pre-script runs when 核实 becomes ready
    assert event["status"] == "error" and "steps" in event["error"], event
    assert api.tasks("staff1", event["id"]) == []
