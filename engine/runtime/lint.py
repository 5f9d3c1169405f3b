"""bpmnlint's recommended rules, checked at deploy before anything changes (issue #7).

The rules are bpmnlint's own (npm, `tools/lint-bpmn`, installed by `make install`): this module runs it on
the bundle's .bpmn files and reads its report. A file's result is remembered by its content hash, so the
same diagram is linted once per process.
"""
from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_DIR = ROOT / "tools" / "lint-bpmn"
BPMNLINT = LINT_DIR / "node_modules" / "bpmnlint" / "bin" / "bpmnlint.js"
#: "  elementId  error  message  rule-name" in bpmnlint's report
_LINE = re.compile(r"^\s+(?P<element>\S+)\s{2,}(?P<level>error|warning)\s{2,}(?P<message>.+?)\s{2,}(?P<rule>\S+)\s*$")

_known: dict[str, list[dict]] = {}
_lock = threading.Lock()


class LintUnavailable(RuntimeError):
    """bpmnlint is not installed here."""


def problems(files: dict[str, bytes]) -> list[dict]:
    """bpmnlint's errors for the .bpmn files of a bundle: [{file, element, message, rule}], in file order."""
    digests = {path: hashlib.sha256(content).hexdigest() for path, content in files.items() if path.endswith(".bpmn")}
    with _lock:
        missing = {path: files[path] for path, digest in digests.items() if digest not in _known}
    if missing:
        found = _run(missing)
        with _lock:
            for path, _content in missing.items():
                _known[digests[path]] = found.get(path, [])
    with _lock:
        return [{"file": path, **p} for path in sorted(digests) for p in _known[digests[path]]]


def _run(files: dict[str, bytes]) -> dict[str, list[dict]]:
    node = shutil.which("node")
    if node is None or not BPMNLINT.exists():
        raise LintUnavailable("bpmnlint is not installed: run `make install` (npm ci in tools/lint-bpmn)")
    with tempfile.TemporaryDirectory() as tmp:
        names = {}
        for index, (path, content) in enumerate(sorted(files.items())):
            target = Path(tmp) / f"{index}.bpmn"
            target.write_bytes(content)
            names[str(target)] = path
        done = subprocess.run([node, str(BPMNLINT), *names], cwd=LINT_DIR, capture_output=True, text=True,
                              timeout=120)
    found: dict[str, list[dict]] = {}
    current = None
    for line in done.stdout.splitlines():
        if line.strip() in names:
            current = names[line.strip()]
            continue
        match = _LINE.match(line)
        if match and current is not None and match["level"] == "error":
            found.setdefault(current, []).append({"element": match["element"], "message": match["message"],
                                                  "rule": match["rule"]})
    if done.returncode not in (0, 1) or (done.returncode == 1 and not found):
        raise LintUnavailable(f"bpmnlint failed: {(done.stderr or done.stdout).strip()[:500]}")
    return found
