"""Domain errors, in one module (STYLE.md §8). web/ turns each into one JSON shape and status."""
from __future__ import annotations


class EventflowError(Exception):
    """A refusal the caller can act on: `status` (HTTP) and `code` name its kind, set per subclass
    (`class NotFound(EventflowError, status=404, code="not_found")`); `details` name the field or element."""

    status = 400
    code = "error"

    def __init_subclass__(cls, status: int | None = None, code: str | None = None, **kwargs):
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status = status
        if code is not None:
            cls.code = code

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict:
        body = {"error": self.code, "message": self.message}
        body.update({k: v for k, v in self.details.items() if v is not None})
        return body


class DeployError(EventflowError, code="deploy_rejected"):
    """A bundle was refused. Names the file, the BPMN element (or line) and the reason."""

    def __init__(self, reason: str, file: str | None = None, element: str | None = None, line: int | None = None):
        where = " ".join(p for p in (file, f"element {element}" if element else None,
                                     f"line {line}" if line else None) if p)
        super().__init__(f"{where}: {reason}" if where else reason,
                         file=file, element=element, line=line, reason=reason)


class InvalidData(EventflowError, status=422, code="invalid"):
    """Submitted data failed validation. `errors` is a list of {field, reason}."""

    def __init__(self, errors: list[dict], message: str | None = None):
        message = message or "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
        super().__init__(message, errors=errors)


class InvalidQuery(InvalidData, status=400):
    """A query parameter a list cannot use (its `cursor`, its `limit`): 400, in InvalidData's shape."""


class NotFound(EventflowError, status=404, code="not_found"):
    """What was asked for does not exist (or the user may not know that it does)."""


class Forbidden(EventflowError, status=403, code="forbidden"):
    """The user's roles or scope do not allow it."""


class Unauthorized(EventflowError, status=401, code="unauthorized"):
    """No valid sign-in."""


class TooManyAttempts(EventflowError, status=429, code="too_many_attempts"):
    """Too many refused sign-ins from one client (engine/accounts/sign_in.py); `retry_after`: seconds until
    it may try again."""


class Conflict(EventflowError, status=409, code="conflict"):
    """The task is no longer ready (completed by someone else, cancelled by a timer or withdrawal)."""


def must_exist(row, message: str, **details):
    """`row`, or NotFound with `message` if there is none (a row `session.get` did not find)."""
    if row is None:
        raise NotFound(message, **details)
    return row


class StepFailed(Conflict, code="step_failed"):
    """A step of a process failed at run time (issue #15): the element that failed and why. Nothing of the
    step was saved — the task stays ready, the timer waits — and an incident (流程异常) is opened for the
    process administrators in a unit of work of its own (engine/runtime/incidents.py). `incident` holds what
    that unit stores; it is never part of the answer."""

    def __init__(self, message: str, incident: dict, **details):
        super().__init__(message, **details)
        self.incident = incident


class HandlerError(EventflowError, status=500, code="handler_failed"):
    """A service task's handler failed; SpiffWorkflow would otherwise mask the cause (SPIFF.md)."""

    def __init__(self, handler: str, message: str, element: str | None = None):
        super().__init__(f"service operation {handler!r} failed: {message}", handler=handler, element=element)
        self.handler = handler


class StaleInstance(Exception):
    """Someone else saved the instance first; the unit of work is retried (never shown to a user)."""


class Unreadable(EventflowError, status=400, code="unreadable"):
    """The request cannot be read at all (a JSON body nested deeper than any document of ours): 400,
    naming the part."""
