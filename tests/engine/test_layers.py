"""Tests in layers (issue #16): the engine and its tests load no Flask and nothing of web/. import-linter
checks the imports written in the code (pyproject.toml); this checks what a process actually loads when it
imports every engine module and the engine and handler tests' fixtures."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

LOAD_EVERYTHING_BELOW_WEB = """
import importlib, pkgutil, sys
import engine, handlers, catalogs
for package in (engine, handlers, catalogs):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if ".migrations" not in module.name:            # Alembic's env.py runs only under Alembic
            importlib.import_module(module.name)
import tests.conftest, tests.engine.conftest, tests.handlers.conftest, tests.engine.steps
print(sorted(name for name in sys.modules if name.split(".")[0] in ("flask", "werkzeug", "web", "flask_babel")))
"""


def test_the_engine_and_its_tests_load_no_flask_and_no_web():
    done = subprocess.run([sys.executable, "-c", LOAD_EVERYTHING_BELOW_WEB], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
