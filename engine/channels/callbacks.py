"""Every source hears back (issue #5, §4.3 closed loop, §7.1 反馈来源): a signed callback for channels that
cannot poll — a device's platform (§5.4), a hotline's work-order system (§5.3) — kept in an outbox and
retried until it is delivered or gives up.

- **Endpoints.** An administrator gives a channel (a channels-catalog code or a registered device id)
  a callback URL: `eventflow callback set CHANNEL URL [--stages|--outcome-only]` prints the signing
  secret, once. Only http(s); URLs come from administrators, never from a report. An endpoint hears the
  outcome only (the default, as before issue #18) or every stage.
- **Outbox.** When the process tells an event's source its outcome (`notify_source`: 办结, 不予受理,
  退回, 转办, 撤单, 合并) and the event's channel has an endpoint, a callback row is written in the same
  unit of work as the outcome. Reports merged into the event get theirs too. An endpoint that asked for
  `stages` also gets one for each stage before it (受理, 吹哨派单, 签收受理, 延期, 退回, 改派, 处置反馈 …:
  engine/channels/stages.py), written in the unit of work that wrote the stage's audit row.
- **Delivery.** A job (web/scheduler.py; `deliver_due` here) claims due rows one at a time with a lease
  (PostgreSQL: SKIP LOCKED, so several app nodes never send one twice at once), POSTs outside any
  transaction, and records the answer. 2xx is delivered; anything else is retried after 1 min, 5 min,
  15 min, 1 h, 3 h, 6 h, 12 h and 24 h (business clock), then marked failed for an administrator.
- **Signature.** `X-Eventflow-Signature: sha256=<hex HMAC-SHA256(secret, "<X-Eventflow-Timestamp>." + body)>`,
  the timestamp in Unix seconds of the wall clock; `X-Eventflow-Delivery` is the callback's id, the
  same on every retry (the receiver's idempotency key).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from sqlalchemy import bindparam, func, select

from engine.channels import stages
from engine.store import uow
from engine.core import contracts
from engine.core.clock import local
from engine.core.errors import InvalidData, NotFound
from engine.store.models import AlertReceipt, Audit, Callback, CallbackEndpoint, Device, Event

log = logging.getLogger(__name__)

#: seconds to wait after each failed attempt; after the last one the callback is failed
BACKOFF = (60, 300, 900, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 24 * 3600)
#: how long a claimed delivery is held against other senders (longer than the HTTP timeout)
LEASE = timedelta(seconds=60)
TIMEOUT_SECONDS = 10
SIGNATURE_HEADER, TIMESTAMP_HEADER, DELIVERY_HEADER = ("X-Eventflow-Signature", "X-Eventflow-Timestamp",
                                                       "X-Eventflow-Delivery")


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


# -- endpoints (the CLI) --------------------------------------------------------------------------
#: what an endpoint hears: the outcome only (the default), or every stage and the outcome
MODES = ("outcome", "stages")


def set_endpoint(session, catalogs, channel: str, url: str, now, mode: str | None = None) -> str:
    """Give a channel its callback URL and a new secret (returned once). Replaces an earlier one; `mode`
    (outcome, stages) is what it hears: by default a new endpoint hears the outcome only and one set again
    keeps what it had."""
    if mode is not None and mode not in MODES:
        raise InvalidData([{"field": "mode", "reason": f"应为 {' / '.join(MODES)} (outcome only, or every stage)"}])
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 500:
        raise InvalidData([{"field": "url", "reason": "须为 http(s) 地址，至多500字符 (an http(s) URL of at most 500 characters)"}])
    known = catalogs.channel(channel) is not None or session.get(Device, channel) is not None
    if not known:
        raise InvalidData([{"field": "channel", "reason": f"未知渠道 {channel!r}：应为渠道目录代码或已登记设备 "
                                                         "(not a channel of the catalog nor a registered device)"}])
    secret = secrets.token_urlsafe(32)
    row = session.get(CallbackEndpoint, channel)
    if row is None:
        session.add(CallbackEndpoint(channel=channel, url=url, secret=secret, created_at=now, stages=mode == "stages"))
    else:
        row.url, row.secret, row.created_at, row.removed_at = url, secret, now, None
        if mode is not None:
            row.stages = mode == "stages"
    return secret


def remove_endpoint(session, channel: str, now) -> None:
    row = session.get(CallbackEndpoint, channel)
    if row is None or row.removed_at is not None:
        raise NotFound(f"channel {channel!r} has no callback", field="channel")
    row.removed_at = now


# -- the outbox -----------------------------------------------------------------------------------
def _source_refs(session, event: Event) -> list[str]:
    """The source's own references for the event: a device's alert ids, else the submission's key."""
    if event.source == "iot_alert":
        return list(session.scalars(select(AlertReceipt.alert_id).where(AlertReceipt.event_id == event.id)
                                    .order_by(AlertReceipt.id)).unique())
    if event.intake_key:
        return [event.intake_key.split(":", 2)[-1]]
    return []


def _origin(session, event: Event) -> Event:
    """The event a chain of transfers (转办, §7.1) started from: the one the source itself submitted."""
    seen = {event.id}
    while event.transferred_from_id and event.transferred_from_id not in seen:
        event = session.get(Event, event.transferred_from_id)
        seen.add(event.id)
    return event


def _endpoint(session, event: Event) -> CallbackEndpoint | None:
    if not event.channel:
        return None
    endpoint = session.get(CallbackEndpoint, event.channel)
    return endpoint if endpoint is not None and endpoint.removed_at is None else None


def _body(session, event: Event, kind: str, stage: stages.Stage, catalogs, now) -> dict:
    """What every callback carries: the event and the source's own references, the stage (a sensitive
    event's without its description: issue #18, Table A.1 rows 1–3) and when."""
    origin = _origin(session, event)
    sensitive = bool((catalogs.event_type(event.type_code) or {}).get("sensitive")) if catalogs is not None else False
    return {"kind": kind, "event": event.number, "source": event.source, "channel": event.channel,
            "source_refs": _source_refs(session, origin), **stage.as_dict(),
            **({"description": None} if sensitive else {}), "at": local(now),
            "transferred_from": origin.number if origin is not event else None}


def _last_result(session, event_id: int) -> str | None:
    """The event's last written 处置结果 (§8.5), which its 办结 tells."""
    for data in session.scalars(select(Audit.data).where(Audit.event_id == event_id,
                                                         Audit.action == contracts.TASK_COMPLETED)
                                .order_by(Audit.id.desc())):
        if isinstance(data, dict) and isinstance(data.get(contracts.RESULT_SUMMARY), str) and data[contracts.RESULT_SUMMARY]:
            return data[contracts.RESULT_SUMMARY]
    return None


def enqueue(session, event: Event, outcome: str, words: str, reason, now, merged_into: Event | None = None,
            catalogs=None, result_of: Event | None = None) -> bool:
    """Write the callback of an outcome if the event's channel has an endpoint. True if written. The body
    keeps the fields it always had (outcome, outcome_name, reason, merged_into) and carries the outcome as
    the last stage too (`kind` outcome)."""
    endpoint = _endpoint(session, event)
    if endpoint is None:
        return False
    result = _last_result(session, (result_of or event).id) if outcome == "closed" and not reason else None
    body = {**_body(session, event, "outcome", stages.outcome_stage(outcome, reason, result), catalogs, now),
            "outcome": outcome, "outcome_name": words, "reason": reason,
            "merged_into": merged_into.number if merged_into is not None else None}
    session.add(Callback(event_id=event.id, channel=event.channel, url=endpoint.url, body=body, status="pending",
                         attempts=0, next_attempt_at=now, created_at=now))
    return True


def enqueue_stage(session, catalogs, event: Event, action: str, data, task_name, now) -> bool:
    """Write the callback of a stage (an audit row just written: engine/channels/stages.py) if the event's
    channel has an endpoint that asked for every stage. Outcomes are told by `enqueue`, the report by the
    answer to its own submission. True if written."""
    if action in ("reported", "transferred_in", "source_notified", "transferred", "citizen_update"):
        return False
    endpoint = _endpoint(session, event)
    if endpoint is None or not endpoint.stages:
        return False
    stage = stages.of(action, data, task_name, event, catalogs)
    if stage is None:
        return False
    session.add(Callback(event_id=event.id, channel=event.channel, url=endpoint.url,
                         body={**_body(session, event, "stage", stage, catalogs, now), "merged_into": None},
                         status="pending", attempts=0, next_attempt_at=now, created_at=now))
    return True


def describe(row: Callback) -> dict:
    body = row.body or {}
    return {"id": row.id, "channel": row.channel, "kind": body.get("kind", "outcome"), "stage": body.get("stage"),
            "outcome": body.get("outcome"), "status": row.status,
            "attempts": row.attempts, "next_attempt_at": local(row.next_attempt_at) if row.status == "pending" else None,
            "last_status": row.last_status, "last_error": row.last_error, "delivered_at": local(row.delivered_at)}


_OF_EVENT = select(Callback).where(Callback.event_id == bindparam("event_id")).order_by(Callback.id)


def of_event(session, event_id: int) -> list[dict]:
    return [describe(r) for r in session.scalars(_OF_EVENT, {"event_id": event_id})]


def next_attempt(session):
    return session.scalar(select(func.min(Callback.next_attempt_at)).where(Callback.status == "pending"))


# -- delivery -------------------------------------------------------------------------------------
def sign(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body,
                                hashlib.sha256).hexdigest()


def post(url: str, body: bytes, headers: dict, timeout: float = TIMEOUT_SECONDS) -> tuple[int | None, str | None]:
    """(HTTP status, error) of one POST; redirects are not followed (a callback URL is exact)."""
    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8", **headers})
    try:
        with urllib.request.build_opener(_NoRedirect).open(request, timeout=timeout) as answer:
            return answer.status, None
    except urllib.error.HTTPError as err:
        return err.code, f"HTTP {err.code}"
    except (urllib.error.URLError, OSError, ValueError) as err:
        return None, f"{type(err).__name__}: {getattr(err, 'reason', err)}"[:500]


@dataclass
class Delivery:
    delivered: list = field(default_factory=list)   # callback ids
    retried: list = field(default_factory=list)
    failed: list = field(default_factory=list)

    @property
    def attempted(self) -> int:
        return len(self.delivered) + len(self.retried) + len(self.failed)


def _due(session, now, limit: int) -> list[int]:
    return list(session.scalars(select(Callback.id).where(Callback.status == "pending", Callback.next_attempt_at <= now)
                                .order_by(Callback.next_attempt_at, Callback.id).limit(limit)))


def _claim(session, callback_id: int, now):
    """Take one due callback for sending (its row locked; the lease keeps other senders off while the
    POST runs outside the transaction). Returns (url, body bytes, secret, attempt) or None."""
    row = session.scalar(select(Callback).where(Callback.id == callback_id, Callback.status == "pending",
                                                Callback.next_attempt_at <= now)
                         .with_for_update(skip_locked=True))
    if row is None:
        return None
    endpoint = session.get(CallbackEndpoint, row.channel)
    if endpoint is None or endpoint.removed_at is not None:
        row.status, row.last_error = "failed", "回调已取消 (the channel's callback was removed)"
        return None
    row.attempts += 1
    row.next_attempt_at = now + LEASE
    body = json.dumps(row.body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return endpoint.url, body, endpoint.secret, row.attempts


def _record(session, callback_id: int, status, error, now) -> str:
    row = session.get(Callback, callback_id)
    row.last_status, row.last_error = status, error
    if status is not None and 200 <= status < 300:
        row.status, row.delivered_at, row.last_error = "delivered", now, None
    elif row.attempts > len(BACKOFF):
        row.status = "failed"
    else:
        row.next_attempt_at = now + timedelta(seconds=BACKOFF[row.attempts - 1])
    return row.status


def deliver_due(session_factory, clock, wall_clock, limit: int = 100, timeout: float = TIMEOUT_SECONDS) -> Delivery:
    """Send every due callback once: claim (one unit), POST (no transaction open), record (one unit)."""
    result = Delivery()
    for callback_id in uow.read(session_factory, lambda s: _due(s, clock.now(), limit)):
        claimed = uow.run(session_factory, lambda s, i=callback_id: _claim(s, i, clock.now()))
        if claimed is None:
            continue
        url, body, secret, attempt = claimed
        timestamp = str(int(wall_clock.now().timestamp()))
        status, error = post(url, body, {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(secret, timestamp, body),
                                         DELIVERY_HEADER: str(callback_id)}, timeout)
        if error:
            log.info("callback %s attempt %d to %s: %s", callback_id, attempt, url, error)
        outcome = uow.run(session_factory, lambda s, i=callback_id: _record(s, i, status, error, clock.now()))
        {"delivered": result.delivered, "failed": result.failed}.get(outcome, result.retried).append(callback_id)
    return result
