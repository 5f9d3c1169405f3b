"""The one seam between BPMN and Python (STYLE.md §2–3): every service operation named in processes/
has a handler, every handler has a test (tests/handlers/test_builtin_handlers.py), and an unknown one
names itself. A failing handler through the API and the sweep: tests/web/test_handler_failures.py."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from handlers.errors import UnknownOperation
from handlers.registry import Registry, default_registry
from tests.conftest import PROCESSES

NS = {"spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
TESTS = Path(__file__).resolve().parent


def operations_in_processes() -> set[str]:
    names = set()
    for path in PROCESSES.rglob("*.bpmn"):
        names |= {op.get("id") for op in etree.parse(str(path)).iterfind(".//spiffworkflow:serviceTaskOperator", NS)}
    return names


def test_every_operation_in_processes_has_a_handler():
    assert operations_in_processes() and operations_in_processes() <= default_registry().names()


def test_every_handler_has_a_test():
    text = "\n".join(p.read_text(encoding="utf-8") for p in TESTS.glob("test_*.py") if p.name != Path(__file__).name)
    untested = {name for name in default_registry().names() if not re.search(rf"def test_{name}_", text)}
    assert not untested, f"handlers without a test in tests/handlers: {untested}"


def test_unknown_operation_names_itself():
    with pytest.raises(UnknownOperation) as err:
        Registry().get("send_fax")
    assert err.value.operation == "send_fax"
