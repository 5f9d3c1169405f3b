"""The one seam between BPMN and Python (STYLE.md §2–3): every service operation named in processes/
has a handler, every handler has a test, and a handler's failure surfaces with its name."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from engine.errors import HandlerError
from handlers.registry import Registry, default_registry
from tests.conftest import PROCESSES
from tests.web.conftest import build_app, seed
from tests.web.client import Api

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
    with pytest.raises(HandlerError) as err:
        Registry().get("send_fax")
    assert err.value.handler == "send_fax"


def test_a_failing_handler_surfaces_with_its_name_and_changes_nothing(settings):
    registry = Registry()
    for name in default_registry().names():
        registry.operation(name)(default_registry().get(name))
    registry._handlers["dispatch_whistle"] = _broken
    app = build_app(settings, registry=registry)
    seed(app)
    api = Api(app)
    event = api.report()
    api.complete("staff1", event["id"], "verify", {"in_jurisdiction": True, "is_valid": True})
    api.complete("staff1", event["id"], "analyse", {"can_self_handle": False})
    task = api.task("whistle1", event["id"], "issue_whistle")
    r = api.post(f"/api/tasks/{task['id']}/complete", "whistle1",
                 json={"lead_department": "zhifa", "on_site": False})
    assert r.status_code == 500
    assert r.json["handler"] == "dispatch_whistle" and "城管系统无响应" in r.json["message"]
    assert r.json["element"] == "dispatch_order"
    assert api.task("whistle1", event["id"], "issue_whistle")["id"] == task["id"]   # still ready
    assert api.event(event["id"])["lead_unit"] is None


def _broken(ctx, task, **params):
    raise ConnectionError("城管系统无响应")
