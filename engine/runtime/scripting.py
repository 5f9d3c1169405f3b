"""The script engine each instance runs with: diagram code checked, guarded and bounded
(engine/runtime/sandbox.py), the injected clock, and service tasks routed to the one registry in handlers/
(STYLE.md §2).
"""
from __future__ import annotations

import json

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine

from engine.core.clock import SHANGHAI, parse_instant
from engine.core.errors import EventflowError, HandlerError, InvalidData
from handlers.errors import InvalidParameter, UnknownOperation
from engine.runtime.sandbox import SAFE_BUILTINS, BoundedEnvironment, Exhausted, UnsafeCode, untraced


class EventflowScriptEngine(PythonScriptEngine):
    def __init__(self, context, registry, deadlines=None):
        # context: the run context the domain supplies (engine/runtime/hooks.py); deadlines: its limits
        self.context = context
        self.clock = context.clock
        self.registry = registry
        self.deadlines = deadlines
        self.current_task = None  # the task whose expression is being evaluated (deadline() needs it)
        self.failed_at = None     # the BPMN id of the task whose code failed in this step (issue #15)
        self.hold_timers = False  # while a migration re-predicts: no timer fires (engine/runtime/timers.py)
        super().__init__(environment=BoundedEnvironment({
            "__builtins__": SAFE_BUILTINS,
            "now": lambda: self.clock.now().astimezone(SHANGHAI).isoformat(),
            "deadline": untraced(self._deadline),
            "add_working_days": untraced(self._add_working_days),
        }))

    def evaluate(self, task, expression, external_context=None):
        previous, self.current_task = self.current_task, task
        try:
            return super().evaluate(task, expression, external_context)
        except BaseException:     # the sandbox's stop (Exhausted) is no Exception: noted all the same
            self._failed(task)
            raise
        finally:
            self.current_task = previous

    def execute(self, task, script, external_context=None):
        try:
            return super().execute(task, script, external_context)
        except BaseException:
            self._failed(task)
            raise

    def _failed(self, task) -> None:
        if self.failed_at is None and task is not None:
            self.failed_at = task.task_spec.bpmn_id or task.task_spec.name

    def _deadline(self, kind, limit=None, start=None, at=None):
        """`deadline(kind, limit, start)` in a timer: the due time of this §8 limit (engine/limits/deadlines.py)."""
        if self.deadlines is None or self.current_task is None:
            raise RuntimeError("deadline() can only be used in a timer expression")
        return self.deadlines.arm(self.context, self.current_task, kind, limit, start, at)

    def _add_working_days(self, start, days):
        """`add_working_days(start, 5)`: close of office hours on the 5th working day after `start`."""
        if self.deadlines is None:
            raise RuntimeError("no working calendar")
        begin = parse_instant(start) if isinstance(start, str) else start
        return self.deadlines.calendar.add_working_days(begin, int(days)).isoformat()

    def call_service(self, task, operation_name, operation_params, **_):
        """Look the operation up in handlers/ and call it with plain parameter values.

        Errors are wrapped with the handler's name: SpiffWorkflow's own path would turn them into
        "NameError: name 'script' is not defined" (SPIFF.md).
        """
        params = {name: spec["value"] for name, spec in operation_params.items()}
        try:
            handler = self.registry.get(operation_name)
            result = handler(self.context, task, **params)
            return json.dumps(result if result is not None else {})
        except HandlerError:
            raise
        except UnknownOperation:
            raise HandlerError(operation_name, "no handler is registered for this operation",
                               element=task.task_spec.bpmn_id) from None
        except InvalidParameter as err:
            raise InvalidData([{"field": _field_of(task, err.param), "reason": err.reason}]) from err
        except Exception as err:  # noqa: BLE001 - every handler failure gets its name attached
            raise HandlerError(operation_name, f"{type(err).__name__}: {err}",
                               element=task.task_spec.bpmn_id) from err


def _field_of(task, param: str) -> str:
    """The form field a service parameter was taken from, when its expression is a bare name."""
    spec = getattr(task.task_spec, "operation_params", None) or {}
    expression = str((spec.get(param) or {}).get("value", "")).strip()
    return expression if expression.isidentifier() else param


def failed_element(err: BaseException, engine=None) -> str | None:
    """The BPMN element a step failed at: the task whose code failed (noted by the engine), else the task
    SpiffWorkflow names in its exception, if any."""
    if engine is not None and getattr(engine, "failed_at", None):
        return engine.failed_at
    current, visited = err, set()
    while current is not None and id(current) not in visited:
        spec = getattr(current, "task_spec", None)
        if spec is not None:
            return getattr(spec, "bpmn_id", None) or spec.name
        visited.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def root_cause(err: BaseException) -> BaseException:
    """The innermost exception behind one SpiffWorkflow raised (it wraps what diagram code raised)."""
    seen = set()
    while id(err) not in seen:
        seen.add(id(err))
        inner = err.__cause__ or err.__context__
        if inner is None:
            break
        err = inner
    return err


def unwrap_handler_error(err: Exception) -> Exception:
    """SpiffWorkflow wraps exceptions raised in a task; find our own error inside if there is one (a
    handler's, or the sandbox stopping diagram code)."""
    current, visited = err, set()
    while current is not None and id(current) not in visited:
        if isinstance(current, (EventflowError, Exhausted, UnsafeCode)):
            return current
        visited.add(id(current))
        current = getattr(current, "exception", None) or current.__cause__ or current.__context__
    return err
