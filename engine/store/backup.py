"""A consistent copy of the database taken while the app runs (docs/deploy.md, Backups): SQLite's online
backup API (readers and the one writer go on; the copy is one snapshot), PostgreSQL's pg_dump (one
transaction snapshot, custom format for pg_restore). The photos under EVENTFLOW_MEDIA_DIR are files
written before the row that names them commits, so copying them after the database copy finds every one
the copy names (deploy/backup.sh)."""
from __future__ import annotations

import os
import sqlite3
import subprocess
from contextlib import closing
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url


def backup(database_url: str, dest_dir: Path, now: datetime) -> Path:
    """Write the database at `database_url` into `dest_dir` as eventflow-<UTC time>.sqlite3 (a database
    file) or .pgdump (pg_restore's custom format); the path written. Fails (OSError, CalledProcessError)
    rather than leave a partial copy under the final name."""
    url = make_url(database_url)
    dest_dir.mkdir(parents=True, exist_ok=True)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise ValueError(f"no SQLite file to back up in {database_url!r}")
        return _sqlite(Path(url.database), dest_dir / f"eventflow-{stamp}.sqlite3")
    if url.get_backend_name() == "postgresql":
        return _postgresql(url, dest_dir / f"eventflow-{stamp}.pgdump")
    raise ValueError(f"cannot back up a {url.get_backend_name()} database")


def _sqlite(source: Path, target: Path) -> Path:
    if not source.exists():
        raise FileNotFoundError(f"no database file at {source}")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)) as src, \
            closing(sqlite3.connect(partial)) as dst:
        src.backup(dst)                                  # all pages in one step: one snapshot
        dst.execute("PRAGMA journal_mode=DELETE")        # a single self-contained file, no -wal beside it
    partial.rename(target)
    return target


def libpq_url(database_url: str) -> tuple[str, dict]:
    """The URL pg_dump/pg_restore/psql take (no SQLAlchemy driver suffix, no password on the command
    line), and the environment carrying the password (PGPASSWORD) if the URL has one."""
    url = make_url(database_url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _postgresql(url, target: Path) -> Path:
    partial = target.with_name(target.name + ".partial")
    dsn, env = libpq_url(url.render_as_string(hide_password=False))
    subprocess.run(["pg_dump", "--format=custom", "--no-owner", f"--file={partial}", f"--dbname={dsn}"],
                   env=env, check=True)
    partial.rename(target)
    return target
