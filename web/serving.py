"""`eventflow serve`: the app under gunicorn (workers × threads, keep-alive, from engine/core/config.py),
with `eventflow worker` — the timer sweep and the jobs (web/scheduler.py) — in a process of its own beside
it, unless the node serves only the app (`--no-worker`: other nodes, or a worker run on its own).

Each gunicorn worker builds its own app (no preloading: no database connection crosses a fork). The worker
process is a child of `serve`, kept running as gunicorn keeps its own workers: one that dies is started
again (`Supervisor`); it is stopped when gunicorn stops, and told by the kernel (Linux PR_SET_PDEATHSIG) if
`serve` dies without stopping it."""
from __future__ import annotations

import ctypes
import gc
import ctypes.util
import logging
import os
import signal
import subprocess
import sys
import threading
import time

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter

from engine.core.config import Settings

log = logging.getLogger(__name__)


class Server(BaseApplication):
    """gunicorn, configured in code (no gunicorn.conf.py, no command-line parsing of its own)."""

    def __init__(self, options: dict, on_stop=None):
        self.options, self.on_stop = options, on_stop
        super().__init__()

    def run(self):
        """gunicorn's arbiter, telling `on_stop` as soon as it begins to stop (a signal to the whole process
        group reaches the worker process too: its death then is no crash to restart)."""
        on_stop = self.on_stop

        class Stopping(Arbiter):
            def stop(self, graceful=True):
                if on_stop is not None:
                    on_stop()
                super().stop(graceful)
        try:
            Stopping(self).run()
        except RuntimeError as err:
            print(f"\nError: {err}\n", file=sys.stderr, flush=True)
            sys.exit(1)

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from web import create_app
        app = create_app(Settings.from_env())
        settle()
        return app


def settle() -> None:
    """Once a process has built what it keeps for its life (the app, its catalogs, the loaded modules: about
    175,000 objects a worker), set it aside from the cyclic garbage collector (`gc.freeze`), after one
    collection so that no garbage is frozen with it. A full collection then walks only what came later: on
    the six-task bench it paused a gunicorn worker for 16-82 ms of CPU instead of 130-170 ms, and every
    request that worker held waited out the pause (the completions' p99)."""
    gc.collect()
    gc.freeze()


def threads_per_worker(settings: Settings, threads: int) -> int:
    """A worker's threads: `threads` for requests, and one for each live stream it may hold (issue #18: a
    stream holds its thread for its life, web/live.py), so streams never take the requests' threads."""
    return threads + max(settings.live_streams, 0)


def options(settings: Settings, bind: str, workers: int, threads: int) -> dict:
    """gunicorn's settings from eventflow's: gthread workers when a worker has more than one thread."""
    threads = threads_per_worker(settings, threads)
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


class _Exited:
    """Stands for a worker that could not be started: it has exited, as far as the watch can tell."""

    def __init__(self, pid: int):
        self.pid = pid

    returncode = 1

    def wait(self) -> int:
        return self.returncode

    def poll(self) -> int:
        return self.returncode


class Supervisor:
    """Keeps `eventflow worker` running beside gunicorn: a worker process that dies (a crash, the OOM killer,
    a kill by hand) is started again after a pause that doubles with each death in a row (1 s, 2 s … 60 s)
    and starts again at 1 s once one has lived a minute; each death is said on stderr."""

    MAX_PAUSE_S = 60
    #: how long a worker stopped by SIGTERM or SIGINT waits for gunicorn to say it is stopping as well
    GROUP_SIGNAL_S = 5

    def __init__(self):
        self._lock, self._stopping = threading.Lock(), threading.Event()
        self.child = start_worker()
        threading.Thread(target=self._watch, name="eventflow-worker-supervisor", daemon=True).start()

    def _watch(self) -> None:
        pause = 1
        while True:
            child, started = self.child, time.monotonic()
            code = child.wait()      # gunicorn's arbiter may reap it first: then the code reads 0
            if self._stopping.is_set():
                return
            if code in (-signal.SIGTERM, -signal.SIGINT) and self._stopping.wait(self.GROUP_SIGNAL_S):
                return               # the signal went to the whole process group: gunicorn is stopping too
            if time.monotonic() - started > self.MAX_PAUSE_S:
                pause = 1
            print(f"eventflow serve: eventflow worker {child.pid} exited ({code}); starting another in {pause}s",
                  file=sys.stderr, flush=True)
            if self._stopping.wait(pause):
                return
            with self._lock:
                if self._stopping.is_set():
                    return
                try:
                    self.child = start_worker()
                except OSError as err:      # no fork now (memory, process limit): try again after a longer pause
                    print(f"eventflow serve: could not start eventflow worker ({err}); trying again",
                          file=sys.stderr, flush=True)
                    self.child = _Exited(child.pid)
            pause = min(pause * 2, self.MAX_PAUSE_S)

    def stopping(self) -> None:
        """gunicorn is stopping: a worker that dies from now on is not started again."""
        self._stopping.set()

    def stop(self, timeout: float) -> None:
        with self._lock:
            self._stopping.set()
            child = self.child
        stop_worker(child, timeout)


def serve(settings: Settings, bind: str, workers: int, threads: int, worker: bool) -> None:
    """Run gunicorn until it is stopped (SIGTERM, SIGINT), with the worker process unless `worker` is False."""
    arbiter = os.getpid()
    supervisor = Supervisor() if worker else None
    try:
        Server(options(settings, bind, workers, threads),
               on_stop=supervisor.stopping if supervisor is not None else None).run()
    finally:
        # gunicorn's own workers are forks of this process: their exit passes here too, and must not stop it
        if supervisor is not None and os.getpid() == arbiter:
            supervisor.stop(settings.web_timeout_seconds)
