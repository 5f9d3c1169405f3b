"""One unit of work per request (STYLE.md §6), for the signed-in user: a view calls a domain operation
with `run(op, *args)` (a write, committed once) or `read(op, *args)` (nothing committed), and returns
what it answers. The operation gets a `Command` (engine/core/command.py): the unit's session, the engine's
parts and `g.user`. Flask turns a returned dict or list into JSON."""
from __future__ import annotations

from flask import current_app, g, request

from engine.core.clock import parse_instant
from engine.core.errors import EventflowError, InvalidData
from engine.store import paging


def services():
    return current_app.extensions["eventflow"]


def _command(session):
    return services().env.command(session, g.get("user"))


def run(op, *args, **kwargs):
    """`op(cmd, *args)` in one write unit of work (retried on a concurrent save), for the signed-in user."""
    return services().run(lambda session: op(_command(session), *args, **kwargs))


def read(op, *args, **kwargs):
    """`op(cmd, *args)` in one read-only unit of work, for the signed-in user."""
    return services().read(lambda session: op(_command(session), *args, **kwargs))


def run_unique(op, *args, **kwargs):
    """`run` for an operation that stores a row under a unique key: when two racing requests meet at its index,
    the loser's unit runs again and finds the winner's row."""
    return services().run_unique(lambda session: op(_command(session), *args, **kwargs))


def run_step(op, *args, **kwargs):
    """`run` for an operation that takes a process step: a failed step opens its incident (web/services.py)."""
    return services().run_step(lambda session: op(_command(session), *args, **kwargs))


def run_each(op, items, refused):
    """`op(cmd, item)` for each of `items`, in order, each in a write unit of its own that takes a process step
    (`run_step`: a failed step opens its incident): one refused with a domain error does not stop the others.
    (answers, refusals): a refused item's is `refused(cmd, item, err)`, read in a unit of its own."""
    answers, refusals = [], []
    for item in items:
        try:
            answers.append(run_step(op, item))
        except EventflowError as err:
            refusals.append(read(refused, item, err))
    return answers, refusals


def items(rows) -> dict:
    """A list answer: `{"items": rows}`."""
    return {"items": rows}


#: rows per page of the web app's lists (上一页 / 下一页 for the others)
UI_PAGE = 50


def page_asked(default: int = UI_PAGE, maximum: int = UI_PAGE, offset: int = 0) -> paging.PageRequest:
    """The page a list request asks for: `?cursor=` (the `next_cursor` or `prev_cursor` of the page before;
    none: the first page) and `?limit=` (1 … `maximum`, `default` unless said); engine/store/paging.py."""
    return paging.page_request(request.args.get("cursor"), request.args.get("limit"), default, maximum, offset)


def store(op, *args, **kwargs):
    """A submission of any source (§5): `op(cmd, *args)` in a write unit of its own, committed before its
    process starts (`start`); two racing retries with one idempotency key meet at its unique index."""
    return services().store_submission(lambda session: op(_command(session), *args, **kwargs))


def start(event_id: int, actor: str | None = None, answer=None):
    """Start a stored submission's process in a second unit (web/services.py `start_process`), recorded
    for `actor` (a channel, a device), by default the signed-in user. With `answer`, an operation
    `answer(cmd, event_id)`: what it reads in that unit once the process started there (None otherwise:
    then read it in a unit of its own)."""
    then = None if answer is None else (lambda session: answer(_command(session), event_id))
    return services().start_process(event_id, actor or g.user.username, then)


def instant_asked(name):
    raw = request.args.get(name)
    if not raw:
        raise InvalidData([{"field": name, "reason": "必填：带时区的时间，如 2026-10-01T00:00:00+08:00"}])
    try:
        return parse_instant(raw)
    except ValueError as err:
        raise InvalidData([{"field": name, "reason": str(err)}]) from None


def period_asked():
    """`?from=…&to=…`, the period [from, to) of a report (§8.6, §9), checked (`indicators.check_period`)."""
    from engine.oversight import indicators
    start, end = instant_asked("from"), instant_asked("to")
    indicators.check_period(start, end)
    return start, end
