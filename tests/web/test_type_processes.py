"""An event type naming its own process (issue #17), over HTTP and from the command line: Table A.1's
`process` (catalogs/README.md) sends A05's reports to the six-task process of tests/data, deployed by a
process administrator as any bundle is; its tasks are done through the ordinary task API by whoever the
diagram names (here the reporter), and a key that no active version provides is named, with its row, by
the report's refused start, by the deploy answer and by `eventflow load-catalogs`."""
from __future__ import annotations

import io
import shutil
import zipfile
from dataclasses import replace

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.event import listen, remove

from catalogs.loader import DATA_DIR
from engine.store.models import EventParty
from tests.conftest import PROCESSES
from tests.samples import SIX_TASKS, event_types_naming, six_task_files
from tests.web.client import Api
from tests.web.conftest import build_app
from web.cli import main

ROW = "event_types.json A05.process"


def catalogs_naming(where, process=SIX_TASKS):
    """A copy of the shipped catalogs whose A05 row names `process` (what an operator deploys as data files)."""
    shutil.copytree(DATA_DIR, where)
    (where / "event_types.json").write_bytes(event_types_naming(process))
    return where


def zipped(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return out.getvalue()


@pytest.fixture
def app(settings, seeded, tmp_path):
    app = build_app(replace(settings, catalog_dir=str(catalogs_naming(tmp_path / "catalogs"))))
    yield app
    app.extensions["eventflow"].db.dispose()


@pytest.fixture
def api(app):
    return Api(app)


def deploy(api, user, files, name="bundle.zip"):
    return api.post("/api/process-versions", user, data={"file": (io.BytesIO(zipped(files)), name)},
                    content_type="multipart/form-data")


def test_a_report_of_a_type_naming_a_process_starts_it_once_deployed(api):
    refused = api.report()                                      # A05: its process is not deployed yet
    assert refused["status"] == "error" and ROW in refused["error"] and "没有已启用的版本" in refused["error"]
    r = api.post(f"/api/events/{refused['id']}/start", "admin1")
    assert r.status_code == 404 and r.json["field"] == ROW, r.json

    figure1 = {p.relative_to(PROCESSES).as_posix(): p.read_bytes() for p in PROCESSES.rglob("*")
               if p.suffix in (".bpmn", ".json")}
    r = deploy(api, "owner1", figure1)                          # unchanged: A05's process is still missing
    assert r.status_code == 200 and [w["field"] for w in r.json["warnings"]] == [ROW], r.json
    assert deploy(api, "grid1", six_task_files()).status_code == 403
    r = deploy(api, "owner1", six_task_files())
    assert r.status_code == 201 and r.json["process_key"] == SIX_TASKS and r.json["warnings"] == [], r.json
    assert r.json["user_tasks"] == [f"step{n}" for n in range(1, 7)]

    r = api.post(f"/api/events/{refused['id']}/start", "admin1")      # 重新启动
    assert r.status_code == 200 and [t["name"] for t in r.json["open_tasks"]] == ["step1"], r.json
    assert r.json["process"]["process_key"] == SIX_TASKS
    other = api.report(type_code="A07")                          # every other type: Figure 1
    assert other["process"]["process_key"] == "community_event"
    assert [t["name"] for t in other["open_tasks"]] == ["verify"]


def test_its_six_tasks_are_the_reporters_through_the_task_api(api):
    assert deploy(api, "owner1", six_task_files()).status_code == 201
    event = api.report()
    assert event["status"] == "open" and event["process"]["process_key"] == SIX_TASKS
    task = event["open_tasks"][0]                               # the report's answer names the first task
    assert (task["name"], task["person"], task["role"]) == ("step1", "grid1", "grid_worker")
    assert [t["id"] for t in api.tasks("grid1", event["id"])] == [task["id"]]
    r = api.post(f"/api/tasks/{task['id']}/complete", "staff1", json={})
    assert r.status_code == 403 and r.json["field"] == "role"  # the community's cadre: not a grid worker's task
    assert api.post(f"/api/tasks/{task['id']}/complete", "staff2", json={}).status_code == 404
    assert api.post(f"/api/tasks/{task['id']}/complete", "whistle1", json={}).status_code == 403
    for step in range(1, 7):
        r = api.post(f"/api/tasks/{task['id']}/complete", "grid1", json={"note": f"第{step}步"})
        assert r.status_code == 200, r.json
        if step < 6:
            assert r.json["next_task"]["name"] == f"step{step + 1}"
            task = r.json["next_task"]
        else:
            assert r.json["next_task"] is None and r.json["event_status"] == "closed"
    timeline = api.event(event["id"], "grid1")["timeline"]
    assert [a["task_name"] for a in timeline if a["action"] == "task_completed"] == [f"第{n}步" for n in range(1, 7)]
    r = api.post(f"/api/tasks/{task['id']}/complete", "grid1", json={})
    assert r.status_code == 409                                 # done: no longer ready


def test_a_task_that_stays_with_its_assignee_writes_no_party_again(app, api):
    """Who keeps seeing an event (its parties) is written when a task goes to a unit or person; a completion
    whose next task stays with the same assignee — the six tasks are all the reporter's — writes none again
    (engine/casework/tasks.py `assignee_party`): the event keeps its one party."""
    assert deploy(api, "owner1", six_task_files()).status_code == 201
    svc = app.extensions["eventflow"]
    written = []

    def party_written(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("INSERT INTO event_party"):
            written.append(statement)
    event = api.report()
    task = event["open_tasks"][0]
    listen(svc.db, "before_cursor_execute", party_written)
    try:
        for step in range(1, 6):
            r = api.post(f"/api/tasks/{task['id']}/complete", "grid1", json={"note": f"第{step}步"})
            assert r.status_code == 200 and r.json["next_task"]["assignee"]["person"] == "grid1", r.json
            task = r.json["next_task"]
    finally:
        remove(svc.db, "before_cursor_execute", party_written)
    assert written == []
    parties = svc.read(lambda s: s.execute(select(EventParty.kind, EventParty.value)
                                           .where(EventParty.event_id == event["id"])).all())
    assert [tuple(p) for p in parties] == [("person", "grid1")]



def test_a_completion_looks_up_no_sub_assignment_and_flushes_nothing_when_there_is_none(app, api):
    """A completion reads whether a 下派 of its task stands with the task itself (engine/casework/delegation.py
    `stands_for`) and looks one up only then; the event's stage is one UPDATE of its own, written once, with no
    ORM flush around it (engine/runtime/instances.py `_sync_event`). The statements of five completions."""
    assert deploy(api, "owner1", six_task_files()).status_code == 201
    svc = app.extensions["eventflow"]
    sent, flushes = [], []

    def statement_sent(conn, cursor, statement, parameters, context, executemany):
        sent.append(" ".join(statement.split()[:4]))
    event = api.report()
    task = event["open_tasks"][0]
    listen(svc.db, "before_cursor_execute", statement_sent)
    listen(svc.session_factory, "before_flush", lambda *_: flushes.append(1))
    try:
        for step in range(1, 6):
            r = api.post(f"/api/tasks/{task['id']}/complete", "grid1", json={"note": f"第{step}步"})
            assert r.status_code == 200, r.json
            task = r.json["next_task"]
    finally:
        remove(svc.db, "before_cursor_execute", statement_sent)
    assert not [s for s in sent if s.startswith("SELECT delegation")]
    assert sum(s.startswith("UPDATE event SET") for s in sent) == 5
    assert flushes == []

def cli(settings, catalog_dir, *args):
    env = {"EVENTFLOW_DATABASE_URL": settings.database_url, "EVENTFLOW_SCRYPT_N": "1024",
           "EVENTFLOW_CLOCK": "simulated", "EVENTFLOW_SIM_START": "2026-10-08T09:00:00+08:00",
           "EVENTFLOW_CATALOG_DIR": str(catalog_dir)}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_load_catalogs_refuses_a_type_naming_a_process_no_version_provides(settings, tmp_path):
    catalogs = catalogs_naming(tmp_path / "catalogs")
    assert cli(settings, catalogs, "init-db").exit_code == 0
    out = cli(settings, catalogs, "load-catalogs")
    assert out.exit_code == 1 and f"{ROW}: 没有已启用的版本提供流程「{SIX_TASKS}」" in out.output, out.output
    out = cli(settings, catalogs, "deploy", str(PROCESSES))
    assert out.exit_code == 0 and f"warning: {ROW}" in out.output, out.output
    bundle = tmp_path / "six.zip"
    bundle.write_bytes(zipped(six_task_files()))
    out = cli(settings, catalogs, "deploy", str(bundle))
    assert out.exit_code == 0 and f"{SIX_TASKS} v1 deployed" in out.output and "warning" not in out.output
    out = cli(settings, catalogs, "load-catalogs")
    assert out.exit_code == 0 and "catalogs valid" in out.output, out.output
