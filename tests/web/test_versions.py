"""Process versions for their owners (issue #7, engine/runtime/versions.py) over HTTP and the CLI: what a
version changed against the one before, instances per version, activating an earlier version (rollback)
and back, each audited; both databases."""
from __future__ import annotations

from sqlalchemy import select

from engine.store.models import Audit
from tests.web.test_cli import run
from tests.web.test_deploy import BPMN, bundle_zip, deploy, versions


def v2_bundle() -> bytes:
    changed = BPMN.replace('name="核查"'.encode(), 'name="核查验收"'.encode()) \
                  .replace('deadline("accept", "PT30M"'.encode(), 'deadline("accept", "PT20M"'.encode())
    assert changed.count("核查验收".encode()) >= 1 and b'"PT20M"' in changed
    return bundle_zip(changed)


def test_a_version_says_what_it_changed_against_the_one_before(api):
    r = deploy(api, v2_bundle(), "v2.zip")
    assert r.status_code == 201, r.json
    detail = api.get(f"/api/process-versions/{r.json['id']}", "owner1").json
    assert detail["previous_version"] == 1 and detail["deployed_by"] == "owner1" and len(detail["content_hash"]) == 64
    changed = {c["id"]: c for c in detail["changes"]["changed"]}
    assert changed["check"] == {"id": "check", "type": "userTask", "name": "核查验收"}
    assert changed["timer_accept"]["type"] == "boundaryEvent"          # the timer's expression, on its event
    assert detail["changes"]["added"] == [] and detail["changes"]["removed"] == []
    assert detail["changes"]["forms"] == {"added": [], "removed": [], "changed": []}
    assert set(changed) == {"check", "timer_accept", "timer_accept_assigned"} and detail["changes"]["layout_changed"] is False
    first = api.get(f"/api/process-versions/{detail['id'] - 1}", "owner1").json
    assert first["changes"]["first"] is True


def test_rolling_back_to_an_earlier_version_and_forward_again(app, api):
    on_v1 = api.report()
    assert deploy(api, v2_bundle(), "v2.zip").status_code == 201
    on_v2 = api.report()
    assert api.event(on_v2["id"])["process"]["version"] == 2
    v1_id = [v for v in versions(api) if v["version"] == 1][0]["id"]
    r = api.post(f"/api/process-versions/{v1_id}/activate", "owner1")
    assert r.status_code == 200 and r.json["active"] is True, r.json
    after = api.report()
    assert api.event(after["id"])["process"]["version"] == 1                  # new events: v1 again
    assert api.event(on_v2["id"])["process"]["version"] == 2                  # running ones stay on theirs
    listed = {v["version"]: v for v in versions(api)}
    assert listed[1]["active"] and not listed[2]["active"]
    assert listed[1]["instances"] == 2 and listed[1]["instances_by_status"] == {"running": 2}
    assert listed[2]["instances"] == 1
    assert api.post(f"/api/process-versions/{v1_id}/activate", "owner1").status_code == 409   # already
    again = deploy(api, v2_bundle(), "v2-again.zip")                          # the same content: v2 active again
    assert again.status_code == 200 and again.json["version"] == 2 and again.json["active"] is True
    assert {v["version"]: v["active"] for v in versions(api)} == {1: False, 2: True}
    svc = app.extensions["eventflow"]
    audited = svc.read(lambda s: [a.data for a in s.scalars(select(Audit).where(Audit.action == "version_activated"))])
    assert audited == [{"process": "community_event", "version": 1, "was": 2}]
    assert api.post(f"/api/process-versions/{v1_id}/activate", "staff1").status_code == 403
    assert api.post("/api/process-versions/99999/activate", "owner1").status_code == 404
    assert on_v1


def test_versions_and_activate_from_the_cli(settings):
    from tests.conftest import PROCESSES
    assert run(settings, "init-db").exit_code == 0
    assert run(settings, "deploy", str(PROCESSES)).exit_code == 0
    listed = run(settings, "versions", "--changes")
    assert listed.exit_code == 0 and "* community_event v1" in listed.output and "first version" in listed.output
    out = run(settings, "activate", "community_event", "1")
    assert out.exit_code != 0 and "already" in out.output                      # v1 is the active one
    out = run(settings, "activate", "community_event", "7")
    assert out.exit_code != 0 and "no version 7" in out.output
