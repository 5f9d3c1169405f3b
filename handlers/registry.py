"""The one seam between BPMN service tasks and Python.

A handler is `fn(ctx, task, **params) -> dict`: `ctx` is engine.casework.run_context.RunContext, `task` the
SpiffWorkflow task, params the evaluated `spiffworkflow:parameter`s. It returns a JSON-able dict that
lands in the service task's result variable. Tests swap the registry, not the engine.
"""
from __future__ import annotations

from typing import Callable

from handlers.errors import UnknownOperation


class Registry:
    def __init__(self):
        self._handlers: dict[str, Callable] = {}

    def operation(self, name: str):
        def register(fn):
            if name in self._handlers:
                raise ValueError(f"service operation {name!r} registered twice")
            self._handlers[name] = fn
            return fn
        return register

    def get(self, name: str) -> Callable:
        try:
            return self._handlers[name]
        except KeyError:
            raise UnknownOperation(name) from None

    def names(self) -> set[str]:
        return set(self._handlers)

    def __contains__(self, name: str) -> bool:
        return name in self._handlers


REGISTRY = Registry()


def default_registry() -> Registry:
    """The registry with every built-in handler module loaded."""
    from handlers import checks, dispatch, notify, on_site, overdue, parts, place, revisit, transfer  # noqa: F401 - importing registers them
    return REGISTRY
