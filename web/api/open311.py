"""Open311 GeoReport v2 for citizens (群众接报, §5.3; docs/open311.md): /open311/v2/…{.json,.xml}.

The format is the path's suffix. Errors are GeoReport's own shape, not the JSON API's:
`[{"code": 400, "description": "lat: …"}]` or `<errors><error><code>…</code><description>…</description>
</error></errors>`, each description naming the field. POST requests needs a citizen channel's API key
(eventflow api-key create CHANNEL); the reads are public and carry no personal data.
"""
from __future__ import annotations

import re
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, jsonify, request, url_for
from lxml import etree
from werkzeug.exceptions import HTTPException

from engine.accounts import apikeys
from engine.channels import open311, open311_updates
from engine.core.errors import EventflowError, Forbidden, InvalidData, NotFound
from web.auth import public, services
from web.errors import exception_headers
from web.units import run, start, store

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")

FORMATS = ("json", "xml")
#: XML: the element of each item of a list, by the list's element
ITEM_TAGS = {"services": "service", "service_requests": "request", "attributes": "attribute", "values": "value",
             "errors": "error", "service_request_updates": "request_update"}
ANY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE"]
#: characters XML 1.0 cannot hold (control characters, lone surrogates, U+FFFE/U+FFFF): an error that names
#: a field as it was sent shows each as U+FFFD
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


# -- rendering --------------------------------------------------------------------------------------

def _add(parent, tag: str, value) -> None:
    element = etree.SubElement(parent, tag)
    if isinstance(value, dict):
        for name, item in value.items():
            _add(element, name, item)
    elif isinstance(value, list):
        for item in value:
            _add(element, ITEM_TAGS.get(tag, "item"), item)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = NOT_XML.sub("\ufffd", str(value))


def _render(fmt: str, root: str, body, status: int = 200) -> Response:
    """`body` as JSON, or as XML under `root` (a list: one item element each; a dict: its fields)."""
    if fmt != "xml":
        response = jsonify(body)
        response.status_code = status
        return response
    element = etree.Element(root)
    for name, value in (body.items() if isinstance(body, dict) else ((ITEM_TAGS[root], item) for item in body)):
        _add(element, name, value)
    text = etree.tostring(element, xml_declaration=True, encoding="utf-8", pretty_print=True)
    return Response(text, status=status, content_type="text/xml; charset=utf-8")


def _format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise NotFound(f"format: unsupported format {'.' + fmt!r} (use .json or .xml)", field="format")
    return fmt


def _error_format() -> str:
    fmt = (request.view_args or {}).get("fmt")
    if fmt in FORMATS:
        return fmt
    return "xml" if request.path.endswith(".xml") else "json"


def _errors(status: int, descriptions: list[str], headers=()) -> Response:
    body = [{"code": status, "description": text} for text in descriptions]
    response = _render(_error_format(), "errors", body, status)
    response.headers.extend(headers)
    return response


@bp.errorhandler(EventflowError)
def _domain_error(err: EventflowError):
    if isinstance(err, InvalidData):  # GeoReport answers a bad request with 400, naming each field
        return _errors(400, [f"{e['field']}: {e['reason']}" for e in err.details["errors"]])
    return _errors(err.status, [err.message])


@bp.errorhandler(HTTPException)
def _http_error(err: HTTPException):
    return _errors(err.code or 500, [f"{err.name}: {err.description}"], exception_headers(err))


# -- services ---------------------------------------------------------------------------------------

@bp.get("/services.<fmt>")
@public
def service_list(fmt):
    """The services: the event types of Appendix A Table A.1."""
    return _render(_format(fmt), "services", open311.services(services().catalogs))


@bp.get("/services/<code>.<fmt>")
@public
def service_definition(code, fmt):
    """A service's attributes (发生时间, 是否紧急)."""
    fmt = _format(fmt)
    return _render(fmt, "service_definition", open311.service_definition(services().catalogs, code))


# -- requests ---------------------------------------------------------------------------------------

#: the header that may carry a channel's key instead of the form field
KEY_HEADER = "X-Api-Key"


def _channel(svc) -> str:
    """The citizen channel of the request's API key (the form field `api_key` or the X-Api-Key header);
    403 for a missing, unknown or revoked key. A key in the query string is refused (400) before it is
    looked at: URLs land in access logs and proxies' histories, so a key sent there is as good as leaked."""
    if "api_key" in request.args:
        raise InvalidData([{"field": "api_key", "reason": f"密钥不得放在查询串中（会写入访问日志），请放在表单或 {KEY_HEADER} "
                                                          f"头中 (not in the query string, which lands in access logs: "
                                                          f"send it in the form body or the {KEY_HEADER} header)"}])
    key = request.form.get("api_key") or request.headers.get(KEY_HEADER)
    if not key:
        raise Forbidden("api_key: 必填，每个群众渠道有自己的密钥 (required: each citizen channel has its own key)",
                        field="api_key")
    channel = svc.read(lambda s: apikeys.channel_for(s, key))
    if channel is None:
        raise Forbidden("api_key: 密钥无效或已停用 (unknown or revoked key)", field="api_key")
    return channel


@bp.post("/requests.<fmt>")
@public
def create_request(fmt):
    """A citizen's report (form-encoded). 201 with its number and token; 200 for a retry with the same
    `source_ref` / Idempotency-Key. The report is stored (and committed) before its process starts."""
    fmt = _format(fmt)
    svc = services()
    channel = _channel(svc)
    form = {name: request.form.get(name) for name in request.form}
    event, created = store(open311.submit, form, channel, request.headers.get("Idempotency-Key"))  # committed
    start(event.id, f"open311:{channel}")   # then started; a retry starts it if the first attempt could not
    body = [open311.receipt(event, svc.catalogs, form.get("account_id"))]
    return _render(fmt, "service_requests", body, 201 if created else 200)


def _paged(fmt: str, root: str, found, args: dict) -> Response:
    """A page of a list in GeoReport's shape; the pages next to it in the `Link` header (rel="next",
    rel="prev": RFC 8288), each a URL with its `cursor`, the other query arguments written as its query string
    (as url_for's keywords, one named like its own, `endpoint` or `_external`, broke or redirected the link)."""
    response = _render(fmt, root, found.items)
    here = url_for(request.endpoint, **request.view_args)
    links = [f'<{here}?{urlencode({**args, "cursor": cursor})}>; rel="{rel}"'
             for rel, cursor in (("next", found.next_cursor), ("prev", found.prev_cursor)) if cursor]
    if links:
        response.headers["Link"] = ", ".join(links)
    return response


@bp.get("/requests.<fmt>")
@public
def request_list(fmt):
    """Public list: filters service_request_id, service_code, start_date, end_date, status; `limit` and
    `cursor` page it. The list keeps GeoReport's shape; the pages next to it are in the `Link` header
    (rel="next", rel="prev": RFC 8288), each a URL with its `cursor`."""
    fmt = _format(fmt)
    svc = services()
    args = request.args.to_dict()
    now = svc.clock.now()
    found = svc.read(lambda s: open311.find_requests(s, svc.catalogs, args, now))
    return _paged(fmt, "service_requests", found, args)


@bp.get("/servicerequestupdates.<fmt>")
@public
def update_list(fmt):
    """mySociety's extension: the updates of public requests in a window (start_date, end_date; by default
    the last 90 days), oldest first, each a stage of Figure 1 (engine/channels/stages.py) or a citizen's
    update; `service_request_id`, `limit` and `cursor` as for requests."""
    fmt = _format(fmt)
    svc = services()
    args = request.args.to_dict()
    now = svc.clock.now()
    found = svc.read(lambda s: open311_updates.find_updates(s, svc.catalogs, args, now))
    return _paged(fmt, "service_request_updates", found, args)


@bp.post("/servicerequestupdates.<fmt>")
@public
def create_update(fmt):
    """A citizen's update on a public request (form-encoded; the channel's key as for POST requests):
    201 `[{update_id}]`; 200 for a retry with the same `update_id` (or Idempotency-Key)."""
    fmt = _format(fmt)
    channel = _channel(services())
    form = {name: request.form.get(name) for name in request.form}
    media = request.form.getlist("media_url") + request.form.getlist("media_url[]")
    update_id, created = run(open311_updates.submit, form, media, channel, request.headers.get("Idempotency-Key"))
    body = [{"update_id": str(update_id), **({"account_id": form["account_id"]} if form.get("account_id") else {})}]
    return _render(fmt, "service_request_updates", body, 201 if created else 200)


@bp.get("/requests/<request_id>.<fmt>")
@public
def request_detail(request_id, fmt):
    fmt = _format(fmt)
    svc = services()
    return _render(fmt, "service_requests", svc.read(lambda s: open311.find_request(s, svc.catalogs, request_id)))


@bp.get("/tokens/<token>.<fmt>")
@public
def token_detail(token, fmt):
    fmt = _format(fmt)
    svc = services()
    return _render(fmt, "service_requests", svc.read(lambda s: open311.find_token(s, token)))


def _allowed(path: str) -> list[str]:
    """The methods GeoReport's own routes take at `path` (the catch-all below not counted)."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in ("GET", "POST"):
        try:
            endpoint, _ = adapter.match(path, method=method)
        except HTTPException:  # no route for that method (or a redirect)
            continue
        if endpoint != "open311.unknown":
            allowed += ["GET", "HEAD"] if method == "GET" else [method]
    return allowed + ["OPTIONS"] if allowed else []


@bp.before_request
def _options():
    """OPTIONS names the methods of the resource itself (Flask's own answer would add the catch-all's)."""
    if request.method == "OPTIONS":
        allowed = _allowed(request.path)
        if not allowed:
            return _errors(404, [f"path: no such resource {request.path!r} (see /open311/v2/services.json)"])
        return Response(status=200, headers={"Allow": ", ".join(allowed)})
    return None


@bp.route("/", methods=ANY_METHOD)
@bp.route("/<path:rest>", methods=ANY_METHOD)
@public
def unknown(rest=""):
    """Anything else under /open311/v2/ answers in GeoReport's error shape: 405 (with `Allow`) for a known
    path with another method, else 404."""
    allowed = _allowed(request.path)
    if allowed:
        return _errors(405, [f"method: {request.method} is not allowed here (use {allowed[0]})"],
                       [("Allow", ", ".join(allowed))])
    return _errors(404, [f"path: no such resource {request.path!r} (see /open311/v2/services.json)"])
