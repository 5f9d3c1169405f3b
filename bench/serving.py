"""The production server for the benchmarks that measure it (bench/throughput.py, bench/timers.py): a fresh
PostgreSQL database of the benchmark's own, set up as `make run` sets one up (schema, processes/ deployed,
the demo users), and `eventflow serve` (gunicorn, with `eventflow worker` beside it) started on it as a
deployment starts it, as processes of their own; ready when gunicorn has booted its workers and the worker
process says it sweeps (what the processes print, as tests/web/test_serve.py waits)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from engine.accounts import demo
from engine.casework import process_versions
from engine.core.config import Settings
from engine.runtime import bundle
from engine.store.db import init_db, make_engine
from web.services import Services

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("EVENTFLOW_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PASSWORD = "bench-password-1"
SCRYPT_N = 1024


@contextmanager
def pg_database(name: str, server_url: str = PG_URL, keep: bool = False):
    """A new, empty database `name` on the PostgreSQL server of `server_url` (dropped first if left over);
    its URL. Dropped at the end unless `keep`."""
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def prepare(url: str):
    """Schema, processes/ deployed (version 1) and the demo users with PASSWORD: the deployed version."""
    db = make_engine(url)
    init_db(db)
    db.dispose()
    services = Services.build(Settings.from_env(env={}, database_url=url, scrypt_n=SCRYPT_N))
    try:
        version, _ = services.run(lambda s: process_versions.deploy(services.command(s),
                                                                    bundle.from_directory(ROOT / "processes"), "bench"))
        for entry in demo.DEMO_USERS:
            services.run(lambda s, e=entry: demo.create(services.command(s), e, PASSWORD, SCRYPT_N))
    finally:
        services.db.dispose()
    return version


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def children(pid: int) -> dict[int, str]:
    """The processes whose parent is `pid`, with their command lines (Linux /proc)."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found[int(stat.parent.name)] = cmdline
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc/PID/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


class Served:
    """`eventflow serve --workers N --threads T` on 127.0.0.1 and a free port, in a session of its own;
    with `eventflow worker` beside it unless `worker` is False. Its output is kept (`lines`)."""

    def __init__(self, database_url: str, workers: int, threads: int = 4, worker: bool = True, env: dict | None = None,
                 boot_seconds: float = 120):
        self.workers, self.port = workers, free_port()
        self.lines, self.seen = [], threading.Condition()
        environ = {**{k: v for k, v in os.environ.items() if not k.startswith("EVENTFLOW_")},
                   "PYTHONPATH": str(ROOT), "EVENTFLOW_DATABASE_URL": database_url,
                   "EVENTFLOW_SCRYPT_N": str(SCRYPT_N), "EVENTFLOW_SECRET_KEY": "bench-" + "0" * 58,
                   "EVENTFLOW_KEEPALIVE_S": "300", **(env or {})}
        command = [sys.executable, "-m", "web", "serve", "--host", "127.0.0.1", "--port", str(self.port),
                   "--workers", str(workers), "--threads", str(threads), *([] if worker else ["--no-worker"])]
        self.process = subprocess.Popen(command, cwd=ROOT, env=environ, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, start_new_session=True, text=True,
                                        errors="replace")
        threading.Thread(target=self._read, daemon=True).start()
        try:
            self.wait_until(lambda lines: sum("Booting worker with pid" in line for line in lines) >= workers
                          and (not worker or any(line.startswith("eventflow worker ") and "sweep every" in line
                                                 for line in lines)), boot_seconds)
        except BaseException:
            self.stop()
            raise

    def _read(self) -> None:
        for line in self.process.stdout:
            with self.seen:
                self.lines.append(line)
                self.seen.notify_all()
        with self.seen:
            self.lines.append(None)
            self.seen.notify_all()

    def output(self, tail: int = 4000) -> str:
        return "".join(line for line in self.lines if line)[-tail:]

    def wait_until(self, found, seconds: float):
        """Wait until `found(lines printed so far)` is true; RuntimeError if the server stops first or
        `seconds` pass."""
        def answer():
            if self.lines and self.lines[-1] is None:
                return "stopped"
            return found([line for line in self.lines if line])
        with self.seen:
            result = self.seen.wait_for(answer, timeout=seconds)
        if not result or result == "stopped":
            raise RuntimeError(f"eventflow serve: {'stopped' if result else f'not ready in {seconds}s'}:\n"
                               f"{self.output()}")
        return result

    def processes(self) -> tuple[list[int], list[int]]:
        """(the gunicorn workers, the `eventflow worker` process)."""
        found = children(self.process.pid)
        return ([p for p, cmd in found.items() if not cmd.rstrip().endswith("web worker")],
                [p for p, cmd in found.items() if cmd.rstrip().endswith("web worker")])

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far of the gunicorn workers (together) and of the worker process."""
        web, worker = self.processes()
        return {"web": sum(cpu_seconds(p) for p in web), "worker": sum(cpu_seconds(p) for p in worker)}

    def stop(self) -> None:
        """SIGTERM to `serve` (gunicorn stops its workers and the worker process); whatever is left of its
        session is killed."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(10)


def postgres_cpu(database: str) -> float:
    """CPU seconds so far of the PostgreSQL backends serving `database` (their process titles name it; they
    share the box's cores with the benchmark). Backends of other databases and the server's own background
    processes are left out."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text_ = stat.read_text()
            title = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if title.startswith("postgres: ") and f" {database} " in title:
            fields = text_.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def box_busy() -> float:
    """CPU seconds the whole machine has been busy so far, every core and process (Linux /proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)           # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")

