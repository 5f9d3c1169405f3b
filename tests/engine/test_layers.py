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


def _copy_for_lint(target: Path) -> None:
    """The packages' Python files and pyproject.toml, enough for import-linter to read the imports."""
    import shutil
    only_python = shutil.ignore_patterns("node_modules", "__pycache__", "*.json", "*.bpmn", "*.html", "*.js",
                                         "*.css", "*.geojson", "*.po", "*.mo", "*.png", "*.jpg", "static", "data")
    for package in ("engine", "web", "handlers", "catalogs", "tests"):
        shutil.copytree(ROOT / package, target / package, ignore=only_python)
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")


def _lint_imports(where: Path):
    linter = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(linter), "--no-cache"], cwd=where, capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(where), "PATH": "/usr/bin:/bin"})


def test_the_runtime_importing_the_domain_breaks_a_contract(tmp_path):
    """`make lint` (run by `make test`) fails when the process runtime imports a domain package."""
    _copy_for_lint(tmp_path)
    assert _lint_imports(tmp_path).returncode == 0
    timers = tmp_path / "engine" / "runtime" / "timers.py"
    timers.write_text(timers.read_text() + "\nfrom engine.limits import deadlines  # noqa: E402,F401\n")
    broken = _lint_imports(tmp_path)
    assert broken.returncode != 0
    assert "engine.runtime.timers -> engine.limits.deadlines" in broken.stdout
