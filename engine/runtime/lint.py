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

#: bpmnlint's recommended rules (its error ones) in the words a process owner reads, with what to do (issue #20);
#: bpmnlint's own English message follows in the refusal
RULE_WORDS = {
    "ad-hoc-sub-process": "临时子流程中不能有开始或结束事件：请删去",
    "conditional-flows": "条件分支的连线缺少条件：请为该连线填写条件表达式，或设为默认连线",
    "end-event-required": "流程缺少结束事件：请添加结束事件",
    "event-based-gateway": "事件网关至少要有两条出线，且出线不能带条件：请改正",
    "event-sub-process-typed-start-event": "事件子流程的开始事件须有事件类型（如消息、定时）：请设置",
    "label-required": "元素缺少名称：请在属性面板中填写名称",
    "link-event": "链接事件缺少名称，或找不到与之对应的链接事件：请改正",
    "no-bpmndi": "元素没有图形：请在建模器中重新放置该元素",
    "no-complex-gateway": "不支持复杂网关：请改用排他网关或并行网关",
    "no-disconnected": "元素没有连线：请把它连入流程，或删去",
    "no-duplicate-sequence-flows": "两条连线重复：请删去其中一条",
    "no-gateway-join-fork": "同一网关既汇合又分支：请拆成两个网关",
    "no-implicit-split": "任务直接分出多条连线：请在其后加一个网关",
    "no-implicit-end": "元素没有出线却不是结束事件：请连到结束事件",
    "no-implicit-start": "元素没有入线却不是开始事件：请从开始事件连过来",
    "single-blank-start-event": "有多个空白开始事件：请只保留一个",
    "single-event-definition": "一个事件只能有一个事件定义：请删去多余的",
    "start-event-required": "流程缺少开始事件：请添加开始事件",
    "sub-process-blank-start-event": "子流程的开始事件须为空白开始事件：请去掉其事件定义",
}

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
