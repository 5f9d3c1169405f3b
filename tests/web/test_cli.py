"""The eventflow command: init-db, load-catalogs, deploy, create-user, demo-data (real database)."""
from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from tests.conftest import PROCESSES
from web.cli import main


def run(settings, *args):
    env = {"EVENTFLOW_DATABASE_URL": settings.database_url, "EVENTFLOW_SCRYPT_N": "1024",
           "EVENTFLOW_CLOCK": "simulated", "EVENTFLOW_SIM_START": "2026-10-08T09:00:00+08:00"}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_set_up_deploy_and_users(settings):
    assert run(settings, "init-db").exit_code == 0
    out = run(settings, "load-catalogs")
    assert out.exit_code == 0 and "event_types: 30" in out.output and "one_thing_matters: 10" in out.output
    first = run(settings, "deploy", str(PROCESSES))
    assert first.exit_code == 0 and "v1 deployed" in first.output
    again = run(settings, "deploy", str(PROCESSES))
    assert again.exit_code == 0 and "unchanged" in again.output

    ok = run(settings, "create-user", "clerk", "--role", "department_staff", "--department", "zhifa",
             "--password", "s3cret-pass")
    assert ok.exit_code == 0, ok.output
    bad = run(settings, "create-user", "x", "--role", "wizard", "--password", "short")
    assert bad.exit_code != 0 and "role" in bad.output and "password" in bad.output
    short = run(settings, "demo-data", "--password", "short")
    assert short.exit_code != 0 and "password" in short.output and "Traceback" not in short.output
    demo = run(settings, "demo-data", "--password", "demo-pass-123")
    assert demo.exit_code == 0 and "grid1" in demo.output and "demo-pass-123" in demo.output


def test_deploy_of_a_broken_file_fails_clearly(settings, tmp_path):
    run(settings, "init-db")
    broken = tmp_path / "broken.bpmn"
    broken.write_text("<definitions>", encoding="utf-8")
    out = run(settings, "deploy", str(broken))
    assert out.exit_code != 0 and "broken.bpmn" in out.output and "malformed XML" in out.output


def test_a_refused_command_in_a_subgroup_says_why_once(settings):
    """The one error handler of the command group (web/cli.py Commands): a refusal anywhere, also in a
    subgroup, is its message and exit status 1, never a traceback."""
    run(settings, "init-db")
    out = run(settings, "device", "revoke", "no-such-device")
    assert out.exit_code == 1 and "no device 'no-such-device'" in out.output and "Traceback" not in out.output


def test_simulate_replays_a_history_once_into_an_empty_database(settings, seeded):
    """`eventflow simulate` (engine/simulation.py, issue #17) with its progress bar; `--if-empty` (make run)
    adds nothing to a database that has events, and the simulated clock goes on from the history's end."""
    def simulate(*args):
        env = {"EVENTFLOW_DATABASE_URL": settings.database_url, "EVENTFLOW_SCRYPT_N": "1024",
               "EVENTFLOW_MEDIA_DIR": settings.media_dir, "EVENTFLOW_CLOCK": "simulated",
               "EVENTFLOW_SIM_START": "2026-10-08T09:00:00+08:00"}
        return CliRunner().invoke(main, ["simulate", *args], env=env, catch_exceptions=False)
    out = simulate("--events", "20", "--from", "2026-10-12", "--to", "2026-10-14", "--seed", "5", "--if-empty")
    assert out.exit_code == 0, out.output
    assert "simulating 20 reports" in out.output and "reports registered" in out.output and "whistle" in out.output
    again = simulate("--events", "20", "--if-empty")
    assert again.exit_code == 0 and "nothing simulated" in again.output
    backwards = simulate("--events", "5", "--from", "2026-10-14", "--to", "2026-10-12")
    assert backwards.exit_code != 0 and "--to must be after --from" in backwards.output
    from web.services import Services
    assert Services.build(settings).clock.now().isoformat().startswith("2026-10-13T16:00")   # 10-14 00:00 +08:00

    # the §8.6 counts kept per day (engine/oversight/rollups.py): the history's days are counted once
    rollups = CliRunner().invoke(main, ["rollups", "refresh"], env={"EVENTFLOW_DATABASE_URL": settings.database_url},
                                 catch_exceptions=False)
    assert rollups.exit_code == 0 and int(rollups.output.split()[0]) >= 2, rollups.output
    again = CliRunner().invoke(main, ["rollups", "refresh"], env={"EVENTFLOW_DATABASE_URL": settings.database_url})
    assert again.output.startswith("0 days counted")
    rebuilt = CliRunner().invoke(main, ["rollups", "rebuild"], env={"EVENTFLOW_DATABASE_URL": settings.database_url})
    assert rebuilt.exit_code == 0 and "days counted in" in rebuilt.output, rebuilt.output


#: what an app node loads only where it is used: Alembic (and Mako, Pygments) where the schema is migrated,
#: apprise where a notice is sent, openpyxl where a spreadsheet is read or written
LOADED_WHERE_USED = ("alembic", "mako", "pygments", "apprise", "openpyxl")
LEAN = """
import sys
from web.cli import main
from web import create_app
from web.services import Services
from engine.core.config import Settings
app = create_app(services=Services.build(Settings.from_env(env={}, database_url=sys.argv[1], scrypt_n=1024,
                                                           media_dir=sys.argv[2])))
client = app.test_client()
assert client.get("/api/health").status_code == 200 and client.get("/login").status_code == 200
print(" ".join(sorted(m for m in %r if m in sys.modules)) or "none")
""" % (LOADED_WHERE_USED,)


def test_an_app_node_loads_the_libraries_of_migrations_notices_and_spreadsheets_only_where_they_are_used(
        settings, tmp_path):
    """A process that serves pages and the API (a gunicorn worker, the command itself) does not import what
    only migrating the schema, sending a notice or a spreadsheet needs (a smaller worker, a faster command);
    the code that uses them imports them."""
    assert run(settings, "init-db").exit_code == 0
    done = subprocess.run([sys.executable, "-c", LEAN, settings.database_url, str(tmp_path / "media")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "none", done.stdout
