"""The safe-by-default headers on every answer of the app, pages and API alike (an answer that sets its own
keeps it: a photo's sandbox, web/api/photos.py), and the pages' Content-Security-Policy.

- No page of the app is shown inside another site's frame: a clerk tricked into clicking 受理 or 办结 under a
  page that hides it (clickjacking).
- No answer's type is guessed by the browser; no path (an event's id) is sent on to another site, only the
  origin (map tiles still see which site asks, as their terms want); the device's position and camera serve
  the app's own pages only (Permissions-Policy), and no other site's window keeps a handle on the app's.
- The API's and Open311's answers, and the data the pages fetch (a map's GeoJSON, a diagram's BPMN), are never
  a page: their policy lets nothing load or run (`DATA_POLICY`).
- Scripts run only from the app's own files: no inline script, no `onclick=`, no `javascript:` link, no
  eval. Text a person typed (an event's description, a reason, a name) that slipped through the templates'
  escaping could then still not run as a script in a clerk's or an administrator's browser, and no page can
  send what it shows to another site (connect-src, form-action, base-uri). The pages' small behaviours are
  wired from data attributes by web/static/ui.js.
- Styles: the app's own files, and style attributes, which bpmn-js, Leaflet and ECharts write into the
  elements they draw (a style cannot run a script).
- Images: the app's own (photos, icons), `data:` and `blob:` (a photo's preview before it is sent), and the
  tile servers the settings name (EVENTFLOW_MAP_TILES, EVENTFLOW_MAP_LABELS; docs/maps.md).
- Workers: the service worker (/sw.js) and the photo shrinker's worker, which browser-image-compression makes
  from a `blob:` and which loads the library from the app's own copy.
- Reports: what a browser refused is sent to POST /api/csp-reports (web/api/meta.py) and said once in the app's
  log (`Refusals`): a page the policy breaks, or markup someone slipped into one, shows there."""
from __future__ import annotations

import logging
import re
import threading
from urllib.parse import urlsplit

from flask import request

SAFE = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        # the phone's position and camera for the app's own pages (上报, 巡查, 到场); nothing else of the device
        "Permissions-Policy": "geolocation=(self), camera=(self), microphone=(), payment=(), usb=(), serial=(), hid=()",
        # a window another site opened (or that opened the app) gets no handle on the app's window
        "Cross-Origin-Opener-Policy": "same-origin"}
#: the policy's directives but img-src's tile servers (`policy`)
DIRECTIVES = (("default-src", "'self'"), ("script-src", "'self'"), ("style-src", "'self' 'unsafe-inline'"),
              ("img-src", "'self' data: blob:"), ("font-src", "'self' data:"), ("connect-src", "'self'"),
              ("worker-src", "'self' blob:"), ("manifest-src", "'self'"), ("object-src", "'none'"),
              ("base-uri", "'none'"), ("form-action", "'self'"), ("frame-ancestors", "'none'"))
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
#: where browsers send what the policy refused (`report-uri`: every browser the app supports sends it)
REPORTS = "/api/csp-reports"
log = logging.getLogger(__name__)


def tile_source(template: str) -> str | None:
    """The CSP source that allows a Leaflet tile URL template's tiles: its origin, a first label holding a
    placeholder (`t{s}.tianditu.gov.cn`) made the wildcard CSP allows (`*.tianditu.gov.cn`); the scheme alone
    (`https:`) when a placeholder (or anything a host may not hold) is elsewhere in it; None for a template on
    the app's own origin (a path) or none."""
    template = (template or "").strip()      # as the browser's URL parser reads it
    if template.startswith("//"):            # the page's own scheme: a source without one means as much
        scheme, rest = "", template[2:]
    elif "://" in template:
        scheme, rest = template.split("://", 1)
        if scheme.lower() not in ("http", "https"):
            return None
    else:
        return None
    labels = re.split(r"[/?#]", rest, maxsplit=1)[0].lower().split(".")
    if _PLACEHOLDER.search(labels[0]):
        labels[0] = "*"
    source, scheme = ".".join(labels), scheme.lower()
    if re.fullmatch(r"(\*\.)?[a-z0-9.:\[\]-]+", source):
        return f"{scheme}://{source}" if scheme else source
    return f"{scheme}:" if scheme else "https:"


def policy(settings) -> str:
    """The pages' Content-Security-Policy for these settings (their tile servers)."""
    tiles = [tile_source(t) for t in (settings.map_tiles, settings.map_labels)]
    directives = dict(DIRECTIVES)
    directives["img-src"] = " ".join([directives["img-src"], *dict.fromkeys(t for t in tiles if t)])
    return "; ".join([*(f"{name} {value}" for name, value in directives.items()), f"report-uri {REPORTS}"])


#: the policy of the API's and Open311's answers (JSON, XML, files): no page, so nothing may load or run at all
DATA_POLICY = "default-src 'none'; frame-ancestors 'none'"
#: the paths whose answers are data, never a page (web/ui/error_pages.py answers JSON there too)
DATA_PATHS = ("/api/", "/open311/")
#: data the pages fetch from paths of their own (a map's GeoJSON, a diagram's BPMN): the data policy too
DATA_TYPES = frozenset({"application/json", "application/geo+json", "application/xml", "text/xml"})


def install(app, settings) -> None:
    """Every answer of `app` carries SAFE and a policy — the pages' (`policy`), or DATA_POLICY under DATA_PATHS
    and for data (DATA_TYPES) anywhere; an answer's own policy is kept, never framed either."""
    pages = {**SAFE, "Content-Security-Policy": policy(settings)}
    data = {**SAFE, "Content-Security-Policy": DATA_POLICY}
    app.extensions["eventflow_refusals"] = Refusals()

    @app.after_request
    def safe_by_default(response):
        is_data = request.path.startswith(DATA_PATHS) or response.mimetype in DATA_TYPES
        for name, value in (data if is_data else pages).items():
            response.headers.setdefault(name, value)
        own = response.headers["Content-Security-Policy"]
        if "frame-ancestors" not in own:
            response.headers["Content-Security-Policy"] = f"{own}; frame-ancestors 'none'"
        return response


class Refusals:
    """What browsers reported the policy refused, said once per process in the log for each (directive, what
    was refused, page path): a browser sends one report per refusal, and a page opened a thousand times would
    otherwise say the same a thousand times. Anyone may send a report, so what one may cost is bounded: the
    first PER_REPORT refusals of a report are read, at most `keep` kinds are said, and then one line says that
    no more are."""

    PER_REPORT = 20

    def __init__(self, keep: int = 1000):
        self.keep, self._said, self._lock, self._full = keep, set(), threading.Lock(), False

    def take(self, payload) -> int:
        """Log the refusals a report holds (`report-uri`'s {"csp-report": {...}}, or the Reporting API's list of
        {"type": "csp-violation", "body": {...}}); how many it held. ValueError if it holds none."""
        bodies = ([payload.get("csp-report")] if isinstance(payload, dict) else
                  [item.get("body") for item in payload[:self.PER_REPORT]
                   if isinstance(item, dict) and item.get("type") == "csp-violation"]
                  if isinstance(payload, list) else [])
        found = [_refusal(body) for body in bodies if isinstance(body, dict)]
        if not found:
            raise ValueError("not a Content-Security-Policy report")
        for refusal in found:
            with self._lock:
                new = refusal not in self._said and not self._full
                if new and len(self._said) >= self.keep:
                    self._full, new = True, False
                    log.warning("the Content-Security-Policy refused %s kinds of things: no more are said until the "
                                "app restarts", self.keep)
                elif new:
                    self._said.add(refusal)
            if new:
                log.warning("the Content-Security-Policy refused %s (%s) on %s", refusal[1], refusal[0], refusal[2])
        return len(found)


def _printable(value: str) -> str:
    """`value` as printable ASCII (anything else escaped: no line break, bidi control or lone surrogate reaches
    the log), at most 200 characters."""
    escaped = value.encode("ascii", "backslashreplace").decode("ascii")
    return re.sub(r"[^\x20-\x7e]", lambda m: f"\\x{ord(m.group()):02x}", escaped)[:200]


def _refusal(body: dict) -> tuple[str, str, str]:
    """(directive, what was refused, the page's path) of one report body, each short, printable text: the query of
    a URL is left out (it may name a person), as are the path of another site's and any name or password in it."""
    def field(*names):
        return next((body[name] for name in names if isinstance(body.get(name), str)), "")

    def split(url):
        try:
            parts = urlsplit(url)
            return parts, parts.port
        except ValueError:          # an IPv6 host not closed, a port not a number
            return urlsplit(""), None

    directive = field("effective-directive", "effectiveDirective", "violated-directive", "violatedDirective").split(" ")[0]
    blocked = field("blocked-uri", "blockedURL")
    if "://" in blocked:
        parts, port = split(blocked)
        host = f"[{parts.hostname}]" if parts.hostname and ":" in parts.hostname else parts.hostname or ""
        blocked = f"{parts.scheme}://{host}{f':{port}' if port else ''}"
    page = split(field("document-uri", "documentURL"))[0].path
    return _printable(directive) or "?", _printable(blocked) or "?", _printable(page) or "?"
