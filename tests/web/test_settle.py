"""web/serving.py `settle`: a process that serves (each gunicorn worker, once its app is built) or sweeps
(`eventflow worker`) sets what it keeps for its life aside from the cyclic garbage collector, after one
collection, so a full collection later walks only what came after and garbage made at start-up is not
kept for ever. Each case runs in a process of its own, as gunicorn's worker builds its app (`Server.load`):
freezing is for the whole process and this one runs the other tests."""
from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.ops.stack import ROOT, app_env


def _in_a_process(code: str, tmp_path) -> list[str]:
    env = app_env(f"sqlite:///{tmp_path / 'settle.sqlite3'}", tmp_path / "media")
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_a_gunicorn_worker_freezes_its_app_once_built_and_its_start_up_garbage_is_gone(tmp_path):
    frozen, collected, name = _in_a_process("""
        import gc, weakref
        from web.serving import Server

        class Cycle:
            pass
        cycle = Cycle()
        cycle.me = cycle                    # garbage only the cyclic collector frees
        gone = weakref.ref(cycle)
        del cycle
        gc.disable()                        # nothing collects it before the worker settles
        app = Server({"bind": ["127.0.0.1:0"]}).load()
        print(gc.get_freeze_count(), gone() is None, app.name)
    """, tmp_path)
    assert int(frozen) > 50_000             # the app, its catalogs, the modules loaded: ~175,000 objects
    assert (collected, name) == ("True", "web")


def test_what_a_worker_makes_later_is_still_collected_as_it_goes(tmp_path):
    [collected] = _in_a_process("""
        import weakref
        from web.serving import settle

        settle()
        class Cycle:
            pass
        cycle = Cycle()
        cycle.me = cycle
        gone = weakref.ref(cycle)
        del cycle
        kept = [[] for _ in range(100_000)]  # the work that follows: the collector runs by itself, not asked
        print(gone() is None)
    """, tmp_path)
    assert collected == "True"
