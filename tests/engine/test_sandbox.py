"""Scripts inside diagrams cannot reach the server: refused at deploy, powerless at run time."""
from __future__ import annotations

import pytest
from SpiffWorkflow.bpmn.script_engine import TaskDataEnvironment

from engine.sandbox import RESERVED_NAMES, SAFE_BUILTINS, check_code


@pytest.mark.parametrize("source", [
    "__import__('os').system('id')",
    "().__class__.__bases__[0].__subclasses__()",
    "open('/etc/passwd').read()",
    "getattr(passed, 'x')",
    "'{0.__class__}'.format(passed)",
    "eval('1')",
])
def test_dangerous_expressions_are_refused(source):
    assert check_code(source) is not None


def test_imports_in_scripts_are_refused():
    assert "imports" in check_code("import os\nos.system('id')", "exec")


@pytest.mark.parametrize("source", ["passed", "not passed and can_self_handle", '"PT1H" if on_site else "PT30M"',
                                    "len(before_photos) > 0", "now()"])
def test_ordinary_expressions_pass(source):
    assert check_code(source) is None


def test_runtime_builtins_have_no_door_to_the_server():
    env = TaskDataEnvironment({"__builtins__": SAFE_BUILTINS})
    assert env.evaluate("len([1, 2])", {}) == 2
    for source in ("__import__('os')", "open('/etc/passwd')", "exec('x=1')"):
        with pytest.raises(NameError):
            env.evaluate(source, {})


def test_reserved_names_cover_script_globals_and_builtins():
    assert {"now", "len", "deadline", "typename", "class"} <= RESERVED_NAMES
