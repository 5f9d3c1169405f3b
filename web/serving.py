"""`eventflow serve`: the app under gunicorn (workers × threads, keep-alive, from engine/core/config.py),
with `eventflow worker` — the timer sweep and the jobs (web/scheduler.py) — in a process of its own beside
it, unless the node serves only the app (`--no-worker`: other nodes, or a worker run on its own).

Each gunicorn worker builds its own app (no preloading: no database connection crosses a fork). The worker
process is a child of `serve`: it is stopped when gunicorn stops, and told by the kernel (Linux
PR_SET_PDEATHSIG) if `serve` dies without stopping it."""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import subprocess
import sys

from gunicorn.app.base import BaseApplication

from engine.core.config import Settings

log = logging.getLogger(__name__)


class Server(BaseApplication):
    """gunicorn, configured in code (no gunicorn.conf.py, no command-line parsing of its own)."""

    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from web import create_app
        return create_app(Settings.from_env())


def options(settings: Settings, bind: str, workers: int, threads: int) -> dict:
    """gunicorn's settings from eventflow's: gthread workers when a worker has more than one thread."""
    return {"bind": [bind], "workers": workers, "threads": threads,
            "worker_class": "gthread" if threads > 1 else "sync",
            "keepalive": settings.keepalive_seconds, "timeout": settings.web_timeout_seconds,
            "graceful_timeout": settings.web_timeout_seconds, "proc_name": "eventflow",
            "preload_app": False, "control_socket_disable": True}


def _die_with_parent():   # runs in the child between fork and exec
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG


def start_worker() -> subprocess.Popen:
    """`eventflow worker` as a child process, with this process's environment (so its settings)."""
    return subprocess.Popen([sys.executable, "-m", "web", "worker"],
                            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)


def stop_worker(child: subprocess.Popen, timeout: float) -> None:
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("eventflow worker %s did not stop in %ss: killed", child.pid, timeout)
            child.kill()
            child.wait()


def serve(settings: Settings, bind: str, workers: int, threads: int, worker: bool) -> None:
    """Run gunicorn until it is stopped (SIGTERM, SIGINT), with the worker process unless `worker` is False."""
    arbiter = os.getpid()
    child = start_worker() if worker else None
    try:
        Server(options(settings, bind, workers, threads)).run()
    finally:
        # gunicorn's own workers are forks of this process: their exit passes here too, and must not stop it
        if child is not None and os.getpid() == arbiter:
            stop_worker(child, settings.web_timeout_seconds)
