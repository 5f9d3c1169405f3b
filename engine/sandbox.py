"""What a diagram's expressions and scripts may do (scripts inside diagrams cannot reach the server).

SpiffWorkflow evaluates conditions, timer expressions, service parameters and scripts with plain
eval/exec (SPIFF.md). Two fences keep a deployed diagram from reaching the server:
1. at deploy, `check_code` refuses imports, dunder/underscore names and attributes, str.format, and
   calls to builtins that open doors (open, eval, getattr …);
2. at run time, expressions see only `SAFE_BUILTINS`, so `__import__` and friends do not exist.
"""
from __future__ import annotations

import ast
import builtins
import keyword

SAFE_BUILTINS = {name: getattr(builtins, name) for name in (
    "abs", "all", "any", "bool", "dict", "divmod", "enumerate", "filter", "float", "int", "isinstance",
    "len", "list", "map", "max", "min", "range", "reversed", "round", "set", "sorted", "str", "sum",
    "tuple", "zip", "True", "False", "None", "ValueError", "KeyError", "Exception",
)}

_FORBIDDEN_CALLS = {"eval", "exec", "compile", "open", "getattr", "setattr", "delattr", "globals",
                    "locals", "vars", "input", "breakpoint", "memoryview", "type", "object", "super",
                    "help", "exit", "quit", "classmethod", "staticmethod", "property"}
_FORBIDDEN_ATTRS = {"format", "format_map", "mro", "gi_frame", "f_globals", "f_locals", "f_back"}

#: Names a form field or task-data key may not take: they would shadow the script environment.
RESERVED_NAMES = frozenset(set(SAFE_BUILTINS) | set(dir(builtins)) | set(keyword.kwlist)
                           | {"now", "deadline", "working_days", "event", "typename", "task"})


def check_code(source: str, mode: str = "eval") -> str | None:
    """Return why `source` may not run, or None when it is acceptable."""
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as err:
        return f"syntax error in {source!r}: {err.msg}"
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            return "imports are not allowed in diagram code"
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            return "global/nonlocal are not allowed in diagram code"
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            return f"name {node.id!r} is not allowed (leading underscore)"
        if isinstance(node, ast.Attribute) and (node.attr.startswith("_") or node.attr in _FORBIDDEN_ATTRS):
            return f"attribute {node.attr!r} is not allowed"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FORBIDDEN_CALLS:
            return f"calling {node.func.id}() is not allowed"
    return None
