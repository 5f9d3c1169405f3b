"""Migrating running instances between process versions (issue #7, engine/runtime/instance_migration.py) over HTTP and the
CLI: a dry run per instance (can it move, why not, which armed timers keep their due times), a bulk move
of those that can, one that cannot (its task is gone in the target) and a suspended one left as they
were; moved ones finish on the target with their timers and claims kept, audited. Both databases."""
from __future__ import annotations

from datetime import timedelta

from tests.web.test_cli import run
from tests.web.test_deadlines import advance_to, deadline, now
from tests.web.test_deploy import BPMN, bundle_zip, deploy, versions

#: v2: only 核查 renamed (every instance can move); v3: 签收受理 gone under another id
V2 = BPMN.replace('name="核查"'.encode(), 'name="核查验收"'.encode())
V3 = BPMN.replace(b"accept_whistle", b"sign_and_accept")


def plan(api, version_id):
    r = api.get(f"/api/process-versions/{version_id}/migration", "owner1")
    assert r.status_code == 200, r.json
    return {i["event_number"]: i for i in r.json["items"]}


def version_id(api, number):
    return [v["id"] for v in versions(api) if v["version"] == number][0]


def test_dry_run_then_bulk_move_of_those_that_can(app, api):
    at_verify = api.report()
    whistled = api.report()
    api.whistle_to(whistled["id"])
    task = api.task("zhifa1", whistled["id"], "accept_whistle")
    assert api.post(f"/api/tasks/{task['id']}/claim", "zhifa1").status_code == 200
    due = deadline(api, whistled["id"], "accept")["due_at"]
    suspended = api.report()
    assert api.post(f"/api/events/{suspended['id']}/suspend", "owner1", json={"reason": "等待协调"}).status_code == 200
    assert deploy(api, bundle_zip(V2), "v2.zip").status_code == 201
    assert deploy(api, bundle_zip(V3), "v3.zip").status_code == 201
    v2, v3 = version_id(api, 2), version_id(api, 3)

    to_v3 = plan(api, v3)                       # v3 lacks 签收受理: the whistled one cannot go there
    assert to_v3[at_verify["number"]]["can_move"] is True
    assert to_v3[whistled["number"]]["can_move"] is False
    assert "accept_whistle" in to_v3[whistled["number"]]["reasons"][0]
    assert to_v3[suspended["number"]]["can_move"] is False and "恢复" in to_v3[suspended["number"]]["reasons"][0]
    to_v2 = plan(api, v2)
    assert to_v2[whistled["number"]]["can_move"] is True
    kept = {t["timer"]: t["due_at"] for t in to_v2[whistled["number"]]["timers_kept"]}
    assert kept["timer_accept"] == due                                       # said before the move

    r = api.post(f"/api/process-versions/{v3}/migration", "owner1", json={"instances": [
        api.event(whistled["id"])["process"]["instance_id"]]})
    assert r.status_code == 200 and r.json["items"][0]["moved"] is False and r.json["items"][0]["reasons"]
    assert api.event(whistled["id"])["process"]["version"] == 1              # refused: nothing changed

    r = api.post(f"/api/process-versions/{v2}/migration", "owner1", json={})
    assert r.status_code == 200, r.json
    moved = {i["event_number"] for i in r.json["items"] if i["moved"]}
    assert moved == {at_verify["number"], whistled["number"]}
    assert api.event(suspended["id"])["process"]["version"] == 1             # not offered: suspended
    for event in (at_verify, whistled):
        detail = api.event(event["id"])
        assert detail["process"]["version"] == 2
        [entry] = [t for t in detail["timeline"] if t["action"] == "instance_migrated"]
        assert entry["actor"] == "owner1" and entry["data"]["from"] == 1 and entry["data"]["to"] == 2
    assert deadline(api, whistled["id"], "accept")["due_at"] == due            # the limit did not restart
    moved_task = api.task("zhifa1", whistled["id"], "accept_whistle")
    assert moved_task["claimed_by"] == "zhifa1"                              # the claim stays

    # the moved instance runs on v2: its timer fires at the old due time, and 核查 has v2's name
    start = now(api)
    advance_to(api, start + timedelta(minutes=29))
    assert deadline(api, whistled["id"], "accept")["status"] == "pending"
    advance_to(api, start + timedelta(minutes=31))
    assert deadline(api, whistled["id"], "accept")["status"] == "missed"
    api.complete("zhifa1", whistled["id"], "accept_whistle", {"decision": "accept"})
    api.complete("zhifa1", whistled["id"], "dispose_feedback", {"result_summary": "已处置"})
    api.receive_closure(whistled["id"])
    assert api.task("staff1", whistled["id"], "check")["title"] == "核查验收"
    api.complete("staff1", whistled["id"], "check", {"passed": True, "rating": "满意"})
    assert api.event(whistled["id"])["status"] == "closed"
    api.whistle_to(at_verify["id"])
    assert api.event(at_verify["id"])["process"]["version"] == 2


def test_who_may_migrate_and_unknown_targets(api):
    assert api.get("/api/process-versions/1/migration", "staff1").status_code == 403
    assert api.post("/api/process-versions/1/migration", "staff1", json={}).status_code == 403
    assert api.get("/api/process-versions/999/migration", "owner1").status_code == 404
    assert api.post("/api/process-versions/999/migration", "owner1", json={"instances": [1]}).status_code == 404
    r = api.post("/api/process-versions/1/migration", "owner1", json={"instances": "all"})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "instances"


def test_migrate_from_the_cli(settings, tmp_path):
    from engine.store import uow
    from engine.accounts.users import Principal
    from engine.casework import lifecycle
    from engine.pool import registration
    from tests.conftest import PROCESSES
    from tests.web.client import REPORT
    from web.services import Services
    assert run(settings, "init-db").exit_code == 0
    assert run(settings, "deploy", str(PROCESSES)).exit_code == 0
    svc = Services.build(settings)
    grid = Principal(1, "grid1", "grid1", frozenset({"grid_worker"}), "lg-xincheng", None)
    try:
        event, _ = uow.run(svc.session_factory, lambda s: registration.report(svc.command(s, grid), REPORT))
        uow.run(svc.session_factory, lambda s: lifecycle.start(svc.command(s, grid), event.id))
    finally:
        svc.db.dispose()
    bundle = tmp_path / "v2.zip"
    bundle.write_bytes(bundle_zip(V2))
    assert run(settings, "deploy", str(bundle)).exit_code == 0
    out = run(settings, "migrate", "community_event", "2", "--dry-run")
    assert out.exit_code == 0 and "1 of 1 can move" in out.output and "moved" not in out.output, out.output
    out = run(settings, "migrate", "community_event", "2")
    assert out.exit_code == 0 and "1 instances moved to community_event v2" in out.output, out.output
    out = run(settings, "migrate", "community_event", "2", "--dry-run")
    assert "0 of 0 can move" in out.output                                   # none left on v1
    out = run(settings, "migrate", "community_event", "9")
    assert out.exit_code != 0 and "no version 9" in out.output


def test_a_timer_already_due_is_fired_after_the_move_with_its_branch_not_by_it(app, api):
    """Re-predicting the branch a due timer waits on must not fire it half (no 记录超期 run, the timer
    gone): the move leaves it waiting, and the sweep fires it on the target (issue #15: a timer held by
    its incident is migrated in exactly this state)."""
    event = api.report()
    api.whistle_to(event["id"])
    svc = app.extensions["eventflow"]
    svc.clock.set(svc.clock.now() + timedelta(minutes=31))      # the 签收受理 limit is due, not yet swept
    assert deploy(api, bundle_zip(V2), "v2.zip").status_code == 201
    r = api.post(f"/api/process-versions/{version_id(api, 2)}/migration", "owner1", json={})
    assert r.status_code == 200 and r.json["items"][0]["moved"] is True, r.json
    assert deadline(api, event["id"], "accept")["status"] == "pending"
    assert not any(t["action"] in ("overdue", "timer_fired") for t in api.event(event["id"])["timeline"])
    assert api.advance("PT1S")["fired"]
    assert deadline(api, event["id"], "accept")["status"] == "missed"
    assert any(t["action"] == "overdue" for t in api.event(event["id"])["timeline"])


def _forget(value, key: str):
    """`value` (a serialized state) without `key` in any task's data or data delta (its updates and
    deletions), as a state of an older day had it."""
    if isinstance(value, dict):
        return {k: _forget(v, key) for k, v in value.items() if k != key}
    if isinstance(value, list):
        return [_forget(v, key) for v in value if v != key]
    return value


def test_a_moved_instance_gets_the_start_data_it_was_started_without(app, api):
    """An instance waiting at 分拨定位 since before 即知即改 existed has no `handled_on_spot`; the target's
    gateway after 分拨定位 reads it. Moving it gives it the start data the target's instances start with, so
    placing it goes on to 核实 instead of failing (an incident, NameError)."""
    import json

    from sqlalchemy import select, update

    from engine.store import uow
    from engine.store.models import Instance
    from tests.web.test_placement import ADDRESS_ONLY, XINCHENG, place

    event = api.post("/api/events", "grid1", json=ADDRESS_ONLY).json
    instance_id = api.event(event["id"])["process"]["instance_id"]
    svc = app.extensions["eventflow"]

    def older(session):
        state = json.loads(session.scalar(select(Instance.state).where(Instance.id == instance_id)))
        assert "handled_on_spot" in json.dumps(state)
        state = _forget(state, "handled_on_spot")
        assert "handled_on_spot" not in json.dumps(state)
        session.execute(update(Instance).where(Instance.id == instance_id).values(
            state=json.dumps(state), row_version=Instance.row_version + 1))
    uow.run(svc.session_factory, older)

    assert deploy(api, bundle_zip(V2), "v2.zip").status_code == 201
    r = api.post(f"/api/process-versions/{version_id(api, 2)}/migration", "owner1", json={"instances": [instance_id]})
    assert r.status_code == 200 and r.json["items"][0]["moved"] is True, r.json
    place(api, "staff1", event["id"], "place_in_community", *XINCHENG)
    placed = api.event(event["id"])
    assert placed["stage"] == "核实" and not placed.get("incidents")
    assert api.task("staff1", event["id"], "verify")
