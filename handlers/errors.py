"""What a handler raises (handlers own their errors; the engine, which calls them, catches these)."""
from __future__ import annotations


class InvalidParameter(Exception):
    """Raised by a handler when a parameter's value is wrong in a way only it can tell (e.g. 转办 to
    the event's own community). The engine answers 422 naming the form field the parameter came from,
    and nothing changes."""

    def __init__(self, param: str, reason: str):
        super().__init__(f"{param}: {reason}")
        self.param = param
        self.reason = reason


class UnknownOperation(LookupError):
    """No handler is registered under this operation name (the engine names it in a HandlerError)."""

    def __init__(self, operation: str):
        super().__init__(f"no handler is registered for the operation {operation!r}")
        self.operation = operation
