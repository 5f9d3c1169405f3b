"""What a diagram's expressions and scripts may do: the right to deploy a diagram is not the right to run
code on the server (issue #7).

SpiffWorkflow evaluates conditions, timer expressions, service parameters and scripts with plain
eval/exec (SPIFF.md). Three fences:
1. at deploy, `check_code` refuses imports, global/nonlocal, names and attributes with a leading
   underscore (no dunder tricks), str.format and the methods that pad or grow a value (center, translate,
   extend …), replace/join taken as values, calls of the builtins that open doors (open, eval, getattr …),
   a `while True` with no `break`, `finally` and catch-all `except`, and f-string widths of four digits;
   and `exhausting_constant` evaluates every constant part of the code within the budget (below) and
   refuses what exhausts it: such code could only fail at run time (issue #15);
2. at run time the code sees only `SAFE_BUILTINS` (no `__import__`, `open`, `exec`: no file, network
   or module), and is compiled again through `compiled()`, which checks it once more (a version
   deployed before a rule was added is held to it too);
3. `BoundedEnvironment` runs it within a step and size budget: at most `MAX_STEPS` lines executed
   (a loop that never ends is stopped), no string, list or tuple longer than `MAX_ITEMS` built in one
   operation (nested items counted), no integer larger than `MAX_BITS` bits, at most `MAX_TOTAL` items
   built in all by one evaluation, and no more than that left in the task data. What exceeds it raises
   `Exhausted` — a BaseException diagram code cannot catch: the step fails with the element named and
   nothing is saved (engine/runtime/instances.py).
"""
from __future__ import annotations

import ast
import builtins
import copy
import functools
import keyword
import re
import sys
import textwrap
import threading
from functools import lru_cache

from SpiffWorkflow.bpmn.script_engine import TaskDataEnvironment

#: lines one evaluation of diagram code may execute (about a few tenths of a second)
MAX_STEPS = 200_000
#: the longest string, list or tuple one operation may build
MAX_ITEMS = 100_000
#: the most items (characters, elements) one evaluation may build in all through guarded operations
MAX_TOTAL = 2_000_000
#: the largest integer ** or << may build
MAX_BITS = 4096
#: the file name diagram code is compiled under: only its frames are traced
FILENAME = "<diagram>"


class Exhausted(BaseException):
    """Diagram code ran too long or built too much: it is stopped, the step fails, nothing is saved. A
    BaseException, so no `except Exception` in diagram code can swallow it (and `except:`, `except
    BaseException` and `finally` are refused at deploy)."""


class UnsafeCode(ValueError):
    """Diagram code that `check_code` refuses, met at run time."""


_budget = threading.local()


def _spend(value):
    """Count what a guarded operation built against the evaluation's budget; the value, if within it."""
    size = len(value) if isinstance(value, (str, bytes, list, tuple, dict, set, frozenset, range)) else 0
    if size > MAX_ITEMS:
        raise Exhausted(f"diagram code built {size} items in one operation (at most {MAX_ITEMS})")
    spent = getattr(_budget, "spent", None)
    if spent is not None:
        _budget.spent = spent + size
        if _budget.spent > MAX_TOTAL:
            raise Exhausted(f"diagram code built more than {MAX_TOTAL} items in one evaluation")
    return value


def _deep(value, limit: int) -> int:
    """How many items a value holds, nested ones counted as often as they appear (as JSON would write
    them out); stops counting past `limit`."""
    total, stack = 0, [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, (str, bytes)):
            total += len(item)
        elif isinstance(item, dict):
            total += len(item)
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += len(item)
            stack.extend(item)
        else:
            total += 1
    return total


def check_data(value, what: str = "diagram code") -> None:
    """The data diagram code leaves (a script's task data, an expression's value) must stay within the
    budget as it would be stored."""
    if _deep(value, MAX_TOTAL) > MAX_TOTAL:
        raise Exhausted(f"{what} left more than {MAX_TOTAL} items of data")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


#: a %-format conversion: (mapping key) flags width .precision — the width and precision are checked
_WIDTH = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d*)(?:\.(\*|\d*))?")


def _op_guard_(op: str, left, right):
    """`*`, `**`, `<<`, `%` and `+` of diagram code, checked before (or, for `+`, right after) they build."""
    if op == "Mult":
        for seq, n in ((left, right), (right, left)):
            if isinstance(seq, (str, bytes, list, tuple)) and _is_int(n):
                if len(seq) * max(n, 0) > MAX_ITEMS:
                    raise Exhausted(f"diagram code would build {len(seq) * n} items (at most {MAX_ITEMS})")
                if isinstance(seq, (list, tuple)) and _deep(seq, MAX_TOTAL) * max(n, 0) > MAX_TOTAL:
                    raise Exhausted(f"diagram code would build more than {MAX_TOTAL} items, counting nested ones")
        if _is_int(left) and _is_int(right) and abs(left).bit_length() + abs(right).bit_length() > MAX_BITS:
            raise Exhausted(f"diagram code would build an integer of more than {MAX_BITS} bits")
        return _spend(left * right)
    if op == "Pow":
        if _is_int(left) and _is_int(right) and abs(left) > 1 and right * abs(left).bit_length() > MAX_BITS:
            raise Exhausted(f"diagram code would build an integer of more than {MAX_BITS} bits")
        return left ** right
    if op == "LShift":
        if _is_int(right) and right > MAX_BITS:
            raise Exhausted(f"diagram code would build an integer of more than {MAX_BITS} bits")
        return left << right
    if op == "Mod":
        if isinstance(left, (str, bytes)):
            text = left.decode("latin-1") if isinstance(left, bytes) else left
            for width, precision in _WIDTH.findall(text):
                for number in (width, precision):
                    if number == "*" or (number and int(number) > 1000):
                        raise Exhausted("a % format width or precision in diagram code is limited to 1000")
        return _spend(left % right)
    return _spend(left + right)   # Add: at most twice what was already within bounds


def _method_guard_(obj, name: str, *args, **kwargs):
    """`.replace()` and `.join()` of diagram code, whose results can outgrow their inputs."""
    if isinstance(obj, type):             # str.join(sep, parts): call it on the string itself
        raise Exhausted(f"call .{name}() on a value, not on the type {obj.__name__}")
    method = getattr(obj, name)
    if name == "replace" and isinstance(obj, str) and len(args) >= 2 and isinstance(args[0], str) \
            and isinstance(args[1], str):
        growth = max(len(args[1]) - len(args[0]), 0) * (obj.count(args[0]) if args[0] else len(obj) + 1)
        if len(obj) + growth > MAX_ITEMS:
            raise Exhausted(f"diagram code would build a string of {len(obj) + growth} characters")
    if name == "join" and isinstance(obj, str) and len(args) == 1:
        parts = list(args[0])
        _spend(parts)
        if sum(len(p) if isinstance(p, str) else 0 for p in parts) + len(obj) * len(parts) > MAX_ITEMS:
            raise Exhausted("diagram code would join a string too long")
        return _spend(method(parts, **kwargs))
    return _spend(method(*args, **kwargs))



SAFE_BUILTINS = {name: getattr(builtins, name) for name in (
    "abs", "all", "any", "bool", "dict", "divmod", "enumerate", "filter", "float", "int", "isinstance",
    "len", "list", "map", "max", "min", "range", "reversed", "round", "set", "sorted", "str", "sum",
    "tuple", "zip", "True", "False", "None", "ValueError", "KeyError", "Exception",
)}
#: the builtins that build a collection: a call of one goes through `_build_` (counted against the budget;
#: a range longer than MAX_ITEMS refused); the names stay the real types, so isinstance(x, list) works
BUILDERS = ("dict", "list", "range", "set", "sorted", "tuple", "sum")


def _build_(name: str, *args, **kwargs):
    if name == "sum" and (len(args) > 1 or "start" in kwargs):
        start = args[1] if len(args) > 1 else kwargs["start"]
        if not isinstance(start, (int, float)):
            raise Exhausted("sum() adds numbers only in diagram code")
    return _spend(getattr(builtins, name)(*args, **kwargs))

_FORBIDDEN_CALLS = {"eval", "exec", "compile", "open", "getattr", "setattr", "delattr", "globals",
                    "locals", "vars", "input", "breakpoint", "memoryview", "type", "object", "super",
                    "help", "exit", "quit", "classmethod", "staticmethod", "property"}
_FORBIDDEN_ATTRS = {"format", "format_map", "mro", "gi_frame", "gi_code", "cr_frame", "ag_frame", "tb_frame",
                    "f_globals", "f_locals", "f_back", "f_builtins", "f_code",
                    # they pad or grow a value to any size asked for
                    "center", "ljust", "rjust", "zfill", "expandtabs", "translate", "maketrans", "extend",
                    "insert", "__iadd__", "__imul__"}
#: methods guarded only when called where they are written (`s.replace(…)`), so never taken as a value
_GUARDED_METHODS = {"replace", "join"}

#: Names a form field or task-data key may not take: they would shadow the script environment.
RESERVED_NAMES = frozenset(set(SAFE_BUILTINS) | set(dir(builtins)) | set(keyword.kwlist)
                           | {"now", "deadline", "add_working_days", "working_days", "event", "typename", "task"})


def check_code(source: str, mode: str = "eval") -> str | None:
    """Return why `source` may not run, or None when it is acceptable."""
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as err:
        return f"代码有语法错误，请改正 (syntax error in {source!r}: {err.msg})"
    except (RecursionError, MemoryError, ValueError):
        return "代码嵌套太深或太长，无法检查：请简化 (the code is nested too deeply or too long to check)"
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in _GUARDED_METHODS and id(node) not in called:
            return f"{node.attr} 只能在写出的地方直接调用 (attribute {node.attr!r} may only be called where it is written)"
        if isinstance(node, ast.Try) and node.finalbody:
            return "流程图代码中不能用 finally：请删去 (finally is not allowed in diagram code)"
        if isinstance(node, ast.ExceptHandler) and (node.type is None or any(
                isinstance(n, ast.Name) and n.id in ("BaseException", "Exhausted") for n in ast.walk(node.type))):
            return "请只捕获具名的异常，如 except ValueError: (catch a named exception (except ValueError: …), not everything)"
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            return "流程图代码中不能 import：请删去 (imports are not allowed in diagram code)"
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            return "流程图代码中不能用 global/nonlocal：请删去 (global/nonlocal are not allowed in diagram code)"
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            return f"不能使用以下划线开头的名称 {node.id} (name {node.id!r} is not allowed (leading underscore))"
        if isinstance(node, ast.Attribute) and (node.attr.startswith("_") or node.attr in _FORBIDDEN_ATTRS):
            return f"不能使用属性 {node.attr} (attribute {node.attr!r} is not allowed)"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FORBIDDEN_CALLS:
            return f"不能调用 {node.func.id}() (calling {node.func.id}() is not allowed)"
        if isinstance(node, ast.While) and _never_ends(node):
            return "不能写永不结束的循环（while True 且没有 break）(a loop that never ends (while True without break) is not allowed)"
        if isinstance(node, ast.FormattedValue) and node.format_spec is not None and not _small_spec(node.format_spec):
            return "f-string 的宽度至多三位数字，且不能是计算出来的 (an f-string width is limited to three digits, and may not be computed)"
    return None


def _never_ends(loop: ast.While) -> bool:
    if not (isinstance(loop.test, ast.Constant) and loop.test.value):
        return False
    def breaks(nodes) -> bool:
        for node in nodes:
            if isinstance(node, ast.Break) or isinstance(node, ast.Return):
                return True
            if isinstance(node, (ast.For, ast.While, ast.AsyncFor, ast.FunctionDef, ast.Lambda)):
                continue        # a break in there leaves that loop, not this one
            if breaks(ast.iter_child_nodes(node)):
                return True
        return False
    return not breaks(loop.body)


def _small_spec(spec) -> bool:
    parts = spec.values if isinstance(spec, ast.JoinedStr) else [spec]
    return all(isinstance(p, ast.Constant) and not re.search(r"\d{4}", str(p.value)) for p in parts)


class _Guard(ast.NodeTransformer):
    """Routes the operations that can build without bound through the guards above."""

    OPS = (ast.Mult, ast.Pow, ast.LShift, ast.Mod, ast.Add)

    def _call(self, name, args, node, keywords=()):
        return ast.copy_location(ast.Call(func=ast.Name(name, ast.Load()), args=args, keywords=list(keywords)), node)

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, self.OPS):
            return self._call("_op_guard_", [ast.Constant(type(node.op).__name__), node.left, node.right], node)
        return node

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        if not isinstance(node.op, self.OPS):
            return node
        read = copy.deepcopy(node.target)
        read.ctx = ast.Load()
        value = self._call("_op_guard_", [ast.Constant(type(node.op).__name__), read, node.value], node)
        return ast.copy_location(ast.Assign(targets=[node.target], value=value), node)

    def visit_Call(self, node):
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id in BUILDERS:
            return self._call("_build_", [ast.Constant(node.func.id), *node.args], node, node.keywords)
        if isinstance(node.func, ast.Attribute) and node.func.attr in _GUARDED_METHODS:
            return self._call("_method_guard_", [node.func.value, ast.Constant(node.func.attr), *node.args],
                              node, node.keywords)
        return node

    def visit_JoinedStr(self, node):
        self.generic_visit(node)
        return self._call("_spend_", [node], node)


@lru_cache(maxsize=4096)
def compiled(source: str, mode: str):
    """Diagram code checked again and compiled with its guards (once per text)."""
    source = source.strip() if mode == "eval" else textwrap.dedent(source).strip()
    problem = check_code(source, mode)
    if problem:
        raise UnsafeCode(problem)
    tree = ast.fix_missing_locations(_Guard().visit(ast.parse(source, mode=mode)))
    return compile(tree, FILENAME, mode)


#: what the guarded code calls; their leading underscore keeps diagram code from naming them
GUARDS = {"_op_guard_": _op_guard_, "_method_guard_": _method_guard_, "_spend_": _spend, "_build_": _build_}


def untraced(helper):
    """An engine helper given to diagram code (`deadline`, `add_working_days`) runs without the step
    counter's tracer: its lines are not the diagram's steps, and under the tracer every call it makes — a
    deadline's database read among them — paid for a trace call (issue #17, bench/throughput.py). The
    diagram's own frame goes on counting when it returns."""
    @functools.wraps(helper)
    def run(*args, **kwargs):
        tracer = sys.gettrace()
        if tracer is None:
            return helper(*args, **kwargs)
        sys.settrace(None)
        try:
            return helper(*args, **kwargs)
        finally:
            sys.settrace(tracer)
    return run


def run_bounded(action, steps: int = MAX_STEPS):
    """Run `action` (which evaluates diagram code) within the step and size budget."""
    count = 0

    def line(frame, event, _arg):
        nonlocal count
        if event == "line":
            count += 1
            if count > steps:
                raise Exhausted(f"diagram code ran more than {steps} steps (a loop that does not end?)")
        return line

    def call(frame, _event, _arg):
        return line if frame.f_code.co_filename == FILENAME else None   # only the diagram's own frames

    previous_trace, previous_spent = sys.gettrace(), getattr(_budget, "spent", None)
    _budget.spent = 0
    sys.settrace(call)
    try:
        return action()
    finally:
        sys.settrace(previous_trace)
        _budget.spent = previous_spent


def _free_names(tree) -> set[str]:
    """The names a piece of code reads that it does not bind itself (flow-insensitively: a name assigned
    anywhere inside counts as bound)."""
    read, bound = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return read - bound


def _closed(tree) -> bool:
    """Code that reads nothing but the builtins and what it binds itself: a constant, whatever the task data."""
    return _free_names(tree) <= set(SAFE_BUILTINS)


#: expressions that are not worth evaluating alone, or cannot be: descend into them instead
_NOT_ALONE = (ast.Constant, ast.Name, ast.Lambda, ast.Starred, ast.Slice)


def _constant_parts(tree):
    """The largest constant sub-expressions of `tree`, outermost first."""
    todo = [tree]
    while todo:
        node = todo.pop(0)
        if isinstance(node, ast.expr) and not isinstance(node, _NOT_ALONE) and _closed(node):
            yield node
            continue
        todo.extend(ast.iter_child_nodes(node))


def exhausting_constant(source: str, mode: str = "eval") -> str | None:
    """Deploy's run of every constant part of diagram code (issue #15): each sub-expression that reads no
    task data — and a script that reads none at all, as a whole — is evaluated once within the budget. One
    that exhausts it can never succeed at run time (`10 ** 10 ** 10 > 0`, `len("a" * 10 ** 10)`, an endless
    comprehension), so it is refused; any other error may depend on the path taken and is left to run
    time. Returns why, or None. Call it on code `check_code` accepted."""
    source = source.strip() if mode == "eval" else textwrap.dedent(source).strip()
    try:
        tree = ast.parse(source, mode=mode)
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return None                           # check_code says why
    env = BoundedEnvironment({"__builtins__": SAFE_BUILTINS})
    parts = [(source, "exec")] if mode == "exec" and _closed(tree) else []
    parts += [(ast.unparse(node), "eval") for node in _constant_parts(tree)]
    for part, part_mode in parts:
        try:
            env.evaluate(part, {}) if part_mode == "eval" else env.execute(part, {})
        except Exhausted as err:
            shown = part if len(part) <= 80 else part[:77] + "…"
            return f"常量表达式 {shown!r} 超出运行预算，运行时必然失败 (it exhausts the sandbox: {err})"
        except Exception:  # noqa: BLE001 - only exhaustion is certain; other errors are for run time
            continue
    return None


class BoundedEnvironment(TaskDataEnvironment):
    """SpiffWorkflow's task-data environment, running diagram code compiled with its guards and within
    the budget (the interface and the data handling are SpiffWorkflow's own)."""

    def __init__(self, environment_globals=None, steps: int = MAX_STEPS):
        super().__init__({**(environment_globals or {}), **GUARDS})
        self.steps = steps

    def evaluate(self, expression, context, external_context=None):
        code = compiled(expression, "eval")
        my_globals = copy.copy(self.globals)
        self._prepare_context(context)
        my_globals.update(external_context or {})
        my_globals.update(context)
        value = run_bounded(lambda: eval(code, my_globals), self.steps)
        check_data(value, "an expression")
        return value

    def execute(self, script, context, external_context=None):
        code = compiled(script, "exec")
        self.check_for_overwrite(context, external_context or {})
        my_globals = copy.copy(self.globals)
        self._prepare_context(context)
        my_globals.update(external_context or {})
        context.update(my_globals)
        try:
            run_bounded(lambda: exec(code, context), self.steps)
        finally:
            self._remove_globals_and_functions_from_context(context, external_context)
        check_data(context, "a script")
        return True
