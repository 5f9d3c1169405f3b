"""Process versions over HTTP: deploy, re-deploy, v1 instances stay on v1, rejected uploads change nothing."""
from __future__ import annotations

import io
import zipfile

import pytest

from tests.conftest import PROCESSES

#: Figure 1 proper (§7.1—§8.5); the other files of the bundle are the processes it and the top level call
BPMN = (PROCESSES / "event_flow.bpmn").read_bytes()


def bundle_zip(bpmn: bytes = BPMN, drop: str | None = None, extra: dict | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for path in sorted(PROCESSES.glob("*.bpmn")):
            content = bpmn if path.name == "event_flow.bpmn" else path.read_bytes()
            archive.writestr(f"processes/{path.name}", content)
        for form in sorted((PROCESSES / "forms").glob("*.json")):
            if form.name != drop:
                archive.writestr(f"processes/forms/{form.name}", form.read_bytes())
        for name, content in (extra or {}).items():
            archive.writestr(f"processes/{name}", content)
    return buf.getvalue()


def deploy(api, content: bytes, name: str, user="owner1"):
    return api.client.post("/api/process-versions", headers=api.headers(user),
                           data={"file": (io.BytesIO(content), name)}, content_type="multipart/form-data")


def versions(api):
    return api.get("/api/process-versions", "owner1").json["items"]


def test_identical_content_creates_no_version(api):
    r = deploy(api, bundle_zip(), "bundle.zip")
    assert r.status_code == 200 and r.json["created"] is False and r.json["version"] == 1
    assert len(versions(api)) == 1


def test_v1_instance_finishes_on_v1_while_new_ones_start_on_v2(api):
    old = api.report()
    api.whistle_to(old["id"])
    v2 = BPMN.replace('name="核查"'.encode(), 'name="核查验收"'.encode())
    assert v2 != BPMN
    r = deploy(api, bundle_zip(v2), "v2.zip")
    assert r.status_code == 201, r.json
    assert r.json["version"] == 2 and r.json["active"] is True and r.json["created"] is True

    new = api.report()
    assert api.event(new["id"])["process"]["version"] == 2
    api.complete("zhifa1", old["id"], "accept_whistle", {"decision": "accept"})
    api.complete("zhifa1", old["id"], "dispose_feedback", {"result_summary": "已处置"})
    api.receive_closure(old["id"])
    assert api.task("staff1", old["id"], "check")["title"] == "核查"          # v1's words
    api.complete("staff1", old["id"], "check", {"passed": True, "rating": "满意"})
    old_detail = api.event(old["id"])
    assert old_detail["status"] == "closed" and old_detail["process"]["version"] == 1

    listed = {v["version"]: v for v in versions(api)}
    assert listed[1]["active"] is False and listed[2]["active"] is True
    assert listed[1]["instances"] == 1 and listed[2]["instances"] == 1


@pytest.mark.parametrize("content, name, expect", [
    (b"<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL'><bpmn:process",
     "broken.bpmn", {"file": "broken.bpmn", "line": 1}),
    (BPMN.replace(b'"PT24H"', b"PT24H"), "unquoted.bpmn", {"file": "unquoted.bpmn"}),
    (BPMN.replace(b'name="\xe5\x90\xb9\xe5\x93\xa8\xe4\xba\xba\xe5\x91\x98"', b'name="Nobody"'),
     "lane.bpmn", {"file": "lane.bpmn"}),
])
def test_a_bad_bpmn_is_refused_naming_file_and_element(api, content, name, expect):
    r = deploy(api, content, name)
    assert r.status_code == 400, r.json
    assert r.json["error"] == "deploy_rejected"
    for key, value in expect.items():
        assert r.json[key] == value, r.json
    assert r.json["reason"]
    assert len(versions(api)) == 1


def test_a_bundle_with_a_missing_form_is_refused(api):
    r = deploy(api, bundle_zip(drop="feedback.json"), "bundle.zip")
    assert r.status_code == 400
    assert r.json["file"] == "event_flow.bpmn" and r.json["element"] in {"dispose_feedback", "dispose_rework",
                                                                           "consolidate"}
    assert "forms/feedback.json" in r.json["reason"]
    assert len(versions(api)) == 1
    event = api.report()  # still on v1, still works
    assert api.event(event["id"])["process"]["version"] == 1


def test_unknown_service_operation_and_unsafe_code_are_refused(api):
    r = deploy(api, BPMN.replace(b'serviceTaskOperator id="notify_source"', b'serviceTaskOperator id="send_sms"'),
               "op.bpmn")
    assert r.status_code == 400 and "send_sms" in r.json["reason"] and r.json["element"]
    unsafe = BPMN.replace(b"<bpmn:conditionExpression", b"<bpmn:conditionExpression", 1)
    unsafe = unsafe.replace(b">passed<", b">__import__('os').system('id') or passed<", 1)
    assert b">passed<" in BPMN
    assert unsafe != BPMN
    r = deploy(api, unsafe, "unsafe.bpmn")
    assert r.status_code == 400 and "__import__" in r.json["reason"]
    assert len(versions(api)) == 1


def test_a_form_field_that_shadows_a_script_name_is_refused(api):
    form = (PROCESSES / "forms" / "accept.json").read_text(encoding="utf-8")
    bad = form.replace('"accept_note"', '"now"')
    assert bad != form
    r = deploy(api, bundle_zip(extra={"forms/accept.json": bad}, drop="accept.json"), "b.zip")
    assert r.status_code == 400 and r.json["file"] == "forms/accept.json" and "'now'" in r.json["reason"]


def test_a_form_that_is_not_a_json_schema_is_refused_each_time_it_is_sent(api):
    """A form file that is JSON but not a JSON Schema (a `minLength` of "3") is refused naming the file and the
    keyword; the same file sent again is refused again (a process keeps only the forms that passed,
    engine/runtime/forms.py), and the valid form after it deploys."""
    form = (PROCESSES / "forms" / "accept.json").read_text(encoding="utf-8")
    bad = form.replace('"type": "string"', '"type": "string", "minLength": "3"', 1)
    assert bad != form
    for _ in range(2):
        r = deploy(api, bundle_zip(extra={"forms/accept.json": bad}, drop="accept.json"), "b.zip")
        assert r.status_code == 400 and r.json["file"] == "forms/accept.json", r.json
        assert "JSON Schema" in r.json["reason"] and "'3'" in r.json["reason"], r.json
    assert len(versions(api)) == 1
    fixed = form.replace('"type": "string"', '"type": "string", "minLength": 3', 1)
    assert deploy(api, bundle_zip(extra={"forms/accept.json": fixed}, drop="accept.json"), "b.zip").status_code == 201
    assert len(versions(api)) == 2


def test_only_process_admins_deploy(api):
    assert deploy(api, bundle_zip(), "bundle.zip", user="staff1").status_code == 403
    r = api.client.post("/api/process-versions")
    assert r.status_code == 401


def test_a_diagram_that_breaks_bpmnlints_rules_is_refused_naming_the_element(api):
    lonely = BPMN.replace(b"</bpmn:laneSet>", '</bpmn:laneSet>\n    <bpmn:task id="lonely_task" name="孤立任务" />'.encode(), 1)
    r = deploy(api, bundle_zip(lonely), "lint.zip")
    assert r.status_code == 400, r.json
    assert r.json["element"] == "lonely_task" and "bpmnlint" in r.json["reason"] and r.json["file"] == "event_flow.bpmn"
    assert len(versions(api)) == 1
