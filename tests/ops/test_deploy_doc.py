"""docs/deploy.md followed from a clean clone (issue #17): the checkout's files copied to a temporary
/opt/eventflow, and every shell block the document marks `<!-- check -->` run in order in one shell, with
/opt/eventflow, /etc/eventflow, /var/lib/eventflow and /var/backups/eventflow under a temporary directory,
once on SQLite (one box) and once on a PostgreSQL database of the test's own (several app nodes). The
blocks marked `<!-- not checked: … -->` need root, a network or systemd; every block has one of the two
marks. The units of deploy/systemd are checked by `systemd-analyze verify`."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import _pg_problem, fresh_pg_database
from tests.ops.stack import ROOT

DOC = ROOT / "docs" / "deploy.md"
DOC_PG_URL = "postgresql+psycopg://eventflow:PASSWORD@db.internal/eventflow"
BLOCK = re.compile(r"^(?:<!-- (?P<mark>[^>]*?) -->\n)?```(?P<lang>\w*)\n(?P<body>.*?)^```$", re.M | re.S)
#: the test's own step between the backup and the restore: a user made after the backup, gone after it
AFTER_BACKUP = ".venv/bin/eventflow create-user made_after_backup --role system_admin --password not-restored-1\n"


def blocks():
    """(mark, body, line) of every shell block of the document, in order."""
    text_ = DOC.read_text(encoding="utf-8")
    return [(m["mark"] or "", m["body"], text_[:m.start()].count("\n") + 1)
            for m in BLOCK.finditer(text_) if m["lang"] == "sh"]


def script(database: str) -> str:
    """The checked blocks for `database` ("sqlite" or "postgresql"), each announced by its line."""
    parts, restoring = [], False
    for mark, body, line in blocks():
        if mark in ("check", f"check: {database}"):
            if not restoring and ("pg_restore" in body or "eventflow.sqlite3-wal" in body):
                parts.append("cd /opt/eventflow\n" + AFTER_BACKUP)
                restoring = True
            parts.append(f"echo '### docs/deploy.md line {line}'\n{body}")
    return "".join(parts)


def test_every_shell_block_is_checked_or_says_why_not():
    found = blocks()
    assert len(found) > 8
    for mark, _body, line in found:
        assert mark in ("check", "check: sqlite", "check: postgresql") or mark.startswith("not checked: "), \
            f"docs/deploy.md line {line}: a shell block needs <!-- check --> or <!-- not checked: why -->"


def clean_clone(where: Path) -> Path:
    """The checkout's tracked files (what a clone of this tree holds: no instance/, no .venv, no build
    outputs) at `where`, and what the install step (pip, `make install`) would add taken from the checkout:
the test's own virtualenv as its .venv, bpmnlint's node_modules (installing them takes minutes)."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (where / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, where / name)
    (where / ".venv").symlink_to(Path(sys.prefix))
    # what `make install` adds that the commands use: bpmnlint, which `eventflow deploy` runs on each diagram
    lint = ROOT / "tools" / "lint-bpmn" / "node_modules"
    (where / "tools" / "lint-bpmn" / "node_modules").symlink_to(lint.resolve())
    return where


def localise(text_: str, tmp: Path, database_url: str) -> str:
    """The document's paths under `tmp`, and its example PostgreSQL URL as the test's database."""
    for path in ("/opt/eventflow", "/etc/eventflow", "/var/lib/eventflow", "/var/backups/eventflow"):
        text_ = text_.replace(path, f"{tmp}{path}")
    return text_.replace(DOC_PG_URL, database_url)


@pytest.fixture
def pg_database():
    problem = _pg_problem()
    if problem:
        pytest.skip(problem)
    with fresh_pg_database(f"eventflow_doc_{os.getpid()}") as url:
        yield url


def follow(tmp: Path, database: str, database_url: str) -> tuple[str, str]:
    """Run the document's checked blocks for `database`; (their output, the database URL they ended on)."""
    app = clean_clone(tmp / "opt" / "eventflow")
    example = app / "deploy" / "eventflow.env.example"
    example.write_text(localise(example.read_text(), tmp, database_url))
    (tmp / "var" / "lib" / "eventflow" / "media").mkdir(parents=True)   # the not-checked `install -d` block's
    # a box's environment as an operator has it: no settings of ours, and Python writing its bytecode cache (the
    # commands after the first read it), which the environment the tests run in may turn off
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTFLOW_") and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPATH=str(app), HOME=str(tmp))
    where = subprocess.run([str(app / ".venv" / "bin" / "python"), "-c", "import engine; print(engine.__file__)"],
                           env=env, cwd=tmp, capture_output=True, text=True, check=True).stdout.strip()
    assert where == str(app / "engine" / "__init__.py")   # the clone's code, not the checkout's
    done = subprocess.run(["bash", "-e", "-c", localise(script(database), tmp, database_url)], env=env, cwd=tmp,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, f"docs/deploy.md failed:\n{done.stdout}\n{done.stderr}"
    settings = (tmp / "etc" / "eventflow" / "eventflow.env").read_text()
    return done.stdout, re.search(r"^EVENTFLOW_DATABASE_URL=(.*)$", settings, re.M).group(1)


def check_outcome(out: str, url: str, suffix: str):
    assert "community_event v1 deployed" in out
    assert "user admin created" in out
    assert re.search(rf"database copied to \S+/var/backups/eventflow/database/eventflow-\d{{8}}T\d{{6}}Z\.{suffix}", out)
    assert "community_event v1 unchanged, already" in out                 # the upgrade's deploy
    assert "* community_event v1 " in out                                        # after the upgrade
    engine = create_engine(url)
    with engine.connect() as conn:                                              # the restore went back to the backup
        users = set(conn.scalars(text("SELECT username FROM app_user")))
    engine.dispose()
    assert "admin" in users and "made_after_backup" not in users


def test_one_box_on_sqlite(tmp_path):
    out, url = follow(tmp_path, "sqlite", "")
    assert url == f"sqlite:///{tmp_path}/var/lib/eventflow/eventflow.sqlite3"
    check_outcome(out, url, "sqlite3")


def test_several_nodes_on_postgresql(tmp_path, pg_database):
    out, url = follow(tmp_path, "postgresql", pg_database)
    assert url == pg_database
    check_outcome(out, url, "pgdump")


def test_the_units_verify(tmp_path):
    """systemd's own check of deploy/systemd (directives, the programs they start: the clone's)."""
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        pytest.skip("systemd-analyze is not installed (package systemd)")
    app = clean_clone(tmp_path / "opt" / "eventflow")
    units = []
    for unit in sorted((app / "deploy" / "systemd").iterdir()):
        units.append(tmp_path / unit.name)
        units[-1].write_text(localise(unit.read_text(), tmp_path, ""))
    done = subprocess.run([analyze, "verify", *map(str, units)], capture_output=True, text=True)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
