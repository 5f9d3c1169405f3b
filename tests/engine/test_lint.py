"""bpmnlint's recommended rules at deploy (engine/runtime/lint.py): the real bpmnlint from npm, run on the files."""
from __future__ import annotations

from engine.runtime import lint
from tests.conftest import PROCESSES


def test_the_shipped_processes_pass_and_a_disconnected_task_is_named():
    files = {p.name: p.read_bytes() for p in PROCESSES.glob("*.bpmn")}
    assert lint.problems(files) == []
    broken = files["superior_part.bpmn"].replace(b"</bpmn:laneSet>",
                                                 '</bpmn:laneSet>\n    <bpmn:task id="lonely" name="孤立任务" />'.encode(), 1)
    found = lint.problems({"superior_part.bpmn": broken})
    assert {p["rule"] for p in found} >= {"no-disconnected", "no-bpmndi"}
    assert all(p["element"] == "lonely" and p["file"] == "superior_part.bpmn" for p in found)
