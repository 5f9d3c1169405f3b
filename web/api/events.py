"""The event pool over HTTP (§5 sources, §7.1 registration, the moves of an event's process)."""
from flask import Blueprint, request

from engine.accounts import permissions
from engine.casework import administration, lifecycle, on_spot
from engine.core.clock import parse_instant
from engine.core.errors import InvalidData, InvalidQuery
from engine.pool import comments, event_map, events, reading, registration
from engine.store.paging import PageRequest
from web.api.photos import checked, uploads
from web.auth import json_body, services, signed_in
from web.inputs import parse_json, prefers_minimal
from web.units import page_asked, read, run, start, store

bp = Blueprint("events", __name__, url_prefix="/api/events")


@bp.post("")
@signed_in(permissions.REPORT)
def create():
    """A report as JSON, or as multipart/form-data: a `report` part (the same JSON) and `photos` files
    (实时照片, §7.1), decoded and checked before anything is stored. A report made as handled on the spot
    (即知即改, `handled_on_spot`) carries its `after_photos` (at least one) and `before_photos` files too."""
    found, fixed = [], {}
    if request.mimetype == "multipart/form-data":
        files = {name: uploads(name) for name in ("photos", *on_spot.PHOTO_FIELDS)}
        payload = _report_part()
        found = checked(files["photos"], "photos")   # a bad one: 422, and no event
        fixed = {name: checked(files[name], name) for name in on_spot.PHOTO_FIELDS}
    else:
        payload = json_body()
    # the event and its photos, committed before anything else happens; a retry gets the event it created
    event, created = store(registration.report, payload, request.headers.get("Idempotency-Key"), found, fixed)
    headers, brief = {"Location": f"/api/events/{event.id}"}, prefers_minimal()
    if brief:                 # the event's number and open tasks only (a phone app that reports and goes on)
        headers["Preference-Applied"] = "return=minimal"
    # then started (a retry starts it too, if the first attempt stopped before that)
    if brief:   # the short answer read in the start's unit (a retry's, or a failed start's, in a unit of its own)
        body = start(event.id, answer=reading.event_brief) or read(reading.event_brief, event.id)
    else:       # the whole event, a read several times longer, in a unit of its own: no write lock held for it
        start(event.id)
        body = read(reading.event_detail, event.id)
    return body, 201 if created else 200, headers


def _report_part() -> dict:
    """The `report` part of a multipart registration: the JSON a plain registration sends."""
    part = request.files.get("report")
    raw = part.read() if part is not None else request.form.get("report")
    try:
        payload = parse_json(raw, "report") if raw else None
    except (ValueError, UnicodeDecodeError):
        payload = None
    if not isinstance(payload, dict):
        raise InvalidData([{"field": "report", "reason": "multipart 的 report 部分应为 JSON 对象 "
                                                         "(the `report` part must be a JSON object)"}])
    return payload


@bp.get("/<int:event_id>")
@signed_in()
def show(event_id):
    return read(reading.event_detail, event_id)   # a sensitive event's view is audited


@bp.get("/<int:event_id>/map")
@signed_in()
def event_map_data(event_id):
    """The event's map as GeoJSON: its community boundary, its point, the 到场 check-ins with their distance, and
    the open events nearby that the caller may see (neighbours, by type; EVENTFLOW_MAP_NEIGHBOURS_M)."""
    return read(event_map.map_data, event_id, services().settings.map_neighbours_m)


def answer(op, event_id: int, *args) -> dict:
    """`op(cmd, event_id, *args)` in a write unit, then the event as the caller now sees it."""
    run(op, event_id, *args)
    return read(reading.event_detail, event_id)


@bp.post("/<int:event_id>/start")
@signed_in(permissions.ADMINISTER)
def restart(event_id):
    """重新启动: start the process of an event whose start was refused (status `error`)."""
    return answer(lifecycle.restart, event_id)


#: the moves that take `{reason}` and answer with the event: POST /api/events/{id}/<name> → (its rule, the
#: operation, whose docstring says what it does)
MOVES = {"withdraw": (permissions.SPEAK_FOR_SOURCE, lifecycle.withdraw),         # 撤单 (§7.1), before closure
         "reopen": (permissions.SPEAK_FOR_SOURCE, lifecycle.reopen),             # 重启, within the reopen window
         "suspend": (permissions.ADMINISTER, administration.suspend),            # 挂起
         "resume": (permissions.ADMINISTER, administration.resume),              # 恢复
         "terminate": (permissions.ADMINISTER, administration.terminate)}        # 终止


def _move(name: str, op):
    def view(event_id):
        return answer(op, event_id, json_body().get("reason"))
    view.__name__, view.__doc__ = name, op.__doc__
    return view


for _name, (_rule, _op) in MOVES.items():
    bp.add_url_rule(f"/<int:event_id>/{_name}", _name, signed_in(_rule)(_move(_name, _op)), methods=["POST"])


def _int_arg(name, default, low, high):
    raw = request.args.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise InvalidData([{"field": name, "reason": f"a whole number from {low} to {high}"}])
    return int(raw)


def _instant_arg(name):
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return parse_instant(raw)
    except ValueError as err:
        raise InvalidData([{"field": name, "reason": str(err)}]) from None


def paged(default: int, maximum: int) -> tuple[int, PageRequest]:
    """(page number, the page asked for): `?cursor=` and `?limit=` (engine/store/paging.py), or the old
    `?page=` and `?per_page=` (an offset from the first page; `per_page` is `limit` by its old name), kept for
    the clients that send them. A cursor goes on from where its page ended: not with a page number."""
    page, per_page = _int_arg("page", 1, 1, 10**6), _int_arg("per_page", default, 1, maximum)
    asked = page_asked(per_page, maximum)
    if asked.cursor and page > 1:
        raise InvalidQuery([{"field": "page", "reason": "不能与 cursor 同时使用 (not with a cursor: it goes on "
                                                        "from where its page ended)"}])
    return page, PageRequest(asked.limit, asked.cursor, 0 if asked.cursor else (page - 1) * asked.limit)


@bp.get("")
@signed_in()
def index():
    """The events the caller may see, newest first, a page at a time: follow `next_cursor` (null on the
    last page); `total` counts every match."""
    number, asked = paged(20, 100)
    filters = {name: request.args.get(name) for name in events.LIST_FILTERS}
    filters["created_from"], filters["created_to"] = _instant_arg("created_from"), _instant_arg("created_to")
    flagged = request.args.get("suspected_duplicate")
    if flagged not in (None, "true", "false"):
        raise InvalidData([{"field": "suspected_duplicate", "reason": "true 或 false (true or false)"}])
    filters["suspected_duplicate"] = flagged == "true"
    total, found = read(reading.search_events, filters, asked)
    return {"total": total, "page": number, "per_page": asked.limit, "limit": asked.limit, **found.body()}


@bp.post("/<int:event_id>/comments")
@signed_in()
def comment(event_id):
    """留言: `{text}`; recorded in the timeline and told to whoever has the event's open tasks."""
    return run(comments.comment, event_id, json_body()), 201


@bp.post("/<int:event_id>/urge")
@signed_in(permissions.URGE)
def urge(event_id):
    """催办 (§9.1): `{text}`; the community's cadres or the city press whoever has the open tasks."""
    return run(comments.urge, event_id, json_body()), 201
