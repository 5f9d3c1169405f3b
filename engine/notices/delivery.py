"""Notices leave the app (issue #18): each notice (engine/notices/outbox.py) also goes to the channels its
recipient set up — e-mail, DingTalk and WeCom robots, JSON or form webhooks (an SMS gateway, a 浙政钉
bridge) — through apprise, never a hand-written client. A department must accept a whistle order within 30
minutes around the clock (§8.3): someone must hear of it without looking at the web page.

- **Channels** (`NoticeChannel`) belong to a unit, a person or a community: an apprise URL (a secret: shown
  only as `shown_url`, never logged), the categories of notice it takes (派单, 预警, 超期, 督办, 留言/催办,
  办结, 其他; none named: all) and quiet hours. A notice falling in a channel's quiet hours is held there
  and handed to whoever the duty roster (值班表) has on duty for the owner's unit that day.
- **Outbox.** `fan_out` writes one `NoticeDelivery` per notice and channel in the unit of work that made
  the notice — the step that caused it — unique per (notice, channel).
- **Sending.** The worker's job (`send_due`) claims due rows one at a time (PostgreSQL: SKIP LOCKED, so two
  nodes never take the same row), marks them `sending` and commits, sends outside any transaction, then
  records `sent`, or `failed` with the next attempt after 1, 5, 15 minutes, 1, 3, 6, 12 and 24 hours, or
  `gave_up` after the last. A sender that stops mid-send leaves `sending`; once its lease is over the row
  is `unknown` and is not sent again by itself: at most once per channel per notice. Webhooks carry the
  delivery's idempotency key in `X-Eventflow-Notice`. A channel that is down never blocks or fails the
  step: the step committed before anything was sent.
- **Sensitive events** (Table A.1 rows 1–3): a notice sent outside the app says only "您有一件涉密事件待办"
  and a link; no number, type or words of the event.
- An administrator sees failures on 通知渠道 (web/ui/admin.py) and sends one again (`resend`, audited); a
  person sets their own channels (我的通知方式) through engine/notices/channel_edits.py.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from sqlalchemy import bindparam, func, select, tuple_

from engine.core.clock import SHANGHAI, local
from engine.accounts import privacy
from engine.notices import targets
from engine.core.errors import Conflict, InvalidData, InvalidQuery, NotFound
from engine.store import paging, uow
from engine.store.models import Audit, Event, NoticeChannel, NoticeDelivery, Notification, User

log = logging.getLogger(__name__)

NO_CHANNEL = "没有这个通知渠道 (no such channel)"
#: what a channel can choose to take: category → (its name, the notice kinds in it)
CATEGORIES = {
    "dispatch": ("派单", ("whistle_dispatched", "part_dispatched", "transferred_in", "owner_needed", "new_report",
                          "dispatched", "new_work", "delegated")),
    "warning": ("预警", ("warning", "delegation_warning")),
    "overdue": ("超期", ("overdue", "escalated", "delegation_missed")),
    "supervise": ("督办", ("supervise", "supervision")),
    "message": ("留言/催办", ("comment", "urge", "urged")),
    "outcome": ("办结", ("outcome",)),
    "other": ("其他", ()),
}
_CATEGORY_OF = {kind: code for code, (_name, kinds) in CATEGORIES.items() for kind in kinds}
OWNER_KINDS = {"person": "个人", "unit": "单位", "community": "社区"}
#: the services a channel may use (apprise's schemes): mail, webhooks, China's work chats, ntfy
SCHEMES = ("mailto", "mailtos", "json", "jsons", "form", "forms", "xml", "xmls", "dingtalk", "wecombot", "ntfy",
           "ntfys", "feishu", "lark")
#: the robots apprise sends to their vendor's own host (the URL holds only a token where a host would be)
VENDOR_HOSTS = ("dingtalk", "wecombot", "feishu", "lark")
#: seconds after each failed attempt; after the last the delivery gives up
BACKOFF = (60, 300, 900, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 24 * 3600)
#: how long a sender holds a claimed delivery before it counts as stopped mid-send
LEASE = timedelta(minutes=2)
CONNECT_TIMEOUT_S, READ_TIMEOUT_S = 5, 10
IDEMPOTENCY_HEADER = "X-Eventflow-Notice"
SENSITIVE_WORDS = "您有一件涉密事件待办"
TITLE = "龙港社区事件"
#: 发送测试: the notice a channel's test sends (engine/notices/outbox.py `test_notice`), on that channel alone
TEST_KIND = "channel_test"


def category(kind: str) -> str:
    return _CATEGORY_OF.get(kind, "other")


# -- channels ---------------------------------------------------------------------------------------

def plugin(url: str):
    """apprise's notifier for `url`, or None if apprise does not understand it."""
    if not isinstance(url, str) or "://" not in url:
        return None
    import apprise      # its plugins load on first use: an app node that never sends a notice never loads them
    return apprise.Apprise.instantiate(url.strip(), suppress_exceptions=True)


def target_host(url: str) -> str | None:
    """The host `url` would have the worker connect to (an e-mail's SMTP server, a webhook's host); None for
    a vendor's robot (apprise sends it to the vendor's own host), "" when apprise names none."""
    if url.split("://", 1)[0].lower() in VENDOR_HOSTS:
        return None
    found = plugin(url)
    host = (getattr(found, "smtp_host", None) or getattr(found, "host", None) or "") if found is not None else ""
    return targets.normal(host)


def inner_host(url: str, allowed=frozenset()) -> str | None:
    """The host `url` would have the worker connect to, when that is not on the public internet (this machine, a
    private, link-local, shared or reserved network; a name that does not resolve or resolves to one), unless it
    is in `allowed`; None when it is public, or a vendor's robot. A person's own channel may not make the worker
    reach into the city's network (server-side request forgery); an administrator's may. Checked when the URL
    is set, and again at each sending (engine/notices/targets.py)."""
    host = target_host(url)
    if host is None or targets.allowed_host(host, allowed):
        return None
    return None if targets.judge(host).inner is None else (host or "?")


def shown_url(url: str) -> str:
    """What a page or log may show of a channel's URL: the service and where, the secrets starred, no
    query (custom headers and tokens ride there)."""
    found = plugin(url)
    if found is None:
        return url.split("://", 1)[0] + "://…"
    return found.url(privacy=True).split("?", 1)[0]


def _hhmm(value, field: str, errors: list) -> str | None:
    """"22:00" as typed, or None for nothing typed; anything else is named in `errors`."""
    if value in (None, ""):
        return None
    try:
        if isinstance(value, str) and len(value) == 5:
            return time.fromisoformat(value).strftime("%H:%M")
    except ValueError:
        pass
    errors.append({"field": field, "reason": "应为 24 小时制的 时:分，如 22:00 (HH:MM)"})
    return None


def check(session, catalogs, data: dict) -> dict:
    """A channel as an administrator typed it, checked: every problem named by field (InvalidData)."""
    errors = []
    data = data if isinstance(data, dict) else {}
    owner_kind, owner = data.get("owner_kind"), data.get("owner")
    if not isinstance(owner_kind, str) or owner_kind not in OWNER_KINDS:
        errors.append({"field": "owner_kind", "reason": "应为 person（个人）、unit（单位）或 community（社区）"})
    elif not isinstance(owner, str) or not owner.strip():
        errors.append({"field": "owner", "reason": "请填写所属的人员账号、单位或社区"})
    elif owner_kind == "unit" and catalogs.unit(owner.strip()) is None:
        errors.append({"field": "owner", "reason": f"没有代码为「{owner.strip()[:40]}」的单位 (unknown unit)"})
    elif owner_kind == "community" and catalogs.community(owner.strip()) is None:
        errors.append({"field": "owner", "reason": f"没有代码为「{owner.strip()[:40]}」的社区 (unknown community)"})
    elif owner_kind == "person" and session.scalar(select(User.id).where(User.username == owner.strip())) is None:
        errors.append({"field": "owner", "reason": f"没有账号「{owner.strip()[:40]}」 (unknown user)"})
    label = data.get("label")
    if not isinstance(label, str) or not label.strip() or len(label) > 100:
        errors.append({"field": "label", "reason": "请填写渠道名称（至多 100 字），如「执法局值班邮箱」"})
    url = data.get("url")
    if not isinstance(url, str) or len(url) > 2000 or url.split("://", 1)[0].lower() not in SCHEMES \
            or plugin(url) is None:
        errors.append({"field": "url", "reason": "无法识别的通知地址：应为 mailto://、json://、form://、dingtalk://、"
                                                 "wecombot:// 等（apprise 格式）"})
    categories = data.get("categories") or []
    if not isinstance(categories, list) or any(not isinstance(c, str) or c not in CATEGORIES for c in categories):
        errors.append({"field": "categories", "reason": "通知类别应从 " + "、".join(
            f"{c}（{n}）" for c, (n, _k) in CATEGORIES.items()) + " 中选择"})
    quiet_from = _hhmm(data.get("quiet_from"), "quiet_from", errors)
    quiet_until = _hhmm(data.get("quiet_until"), "quiet_until", errors)
    if (quiet_from is None) != (quiet_until is None) and not any(e["field"].startswith("quiet") for e in errors):
        errors.append({"field": "quiet_until" if quiet_from else "quiet_from",
                       "reason": "免打扰时段需同时填写开始和结束时间"})
    if errors:
        raise InvalidData(errors)
    return {"owner_kind": owner_kind, "owner": owner.strip(), "label": label.strip(), "url": url.strip(),
            "categories": sorted(set(categories), key=list(CATEGORIES).index), "quiet_from": quiet_from,
            "quiet_until": quiet_until}


def add_channel(session, catalogs, actor: str, data: dict, now, public_only: bool = False) -> NoticeChannel:
    """A new channel; `public_only` when its address was set by someone other than a system administrator."""
    row = NoticeChannel(**check(session, catalogs, data), enabled=True, public_only=public_only, created_at=now,
                        created_by=actor)
    session.add(row)
    session.flush()
    session.add(Audit(at=now, actor=actor, action="notice_channel_added",
                      data={"channel": row.id, "owner_kind": row.owner_kind, "owner": row.owner,
                            "url": shown_url(row.url), "categories": row.categories}))
    return row


def remove_channel(session, actor: str, channel_id: int, now) -> None:
    row = session.get(NoticeChannel, channel_id)
    if row is None or row.removed_at is not None:
        raise NotFound(NO_CHANNEL)
    row.removed_at, row.enabled = now, False
    session.add(Audit(at=now, actor=actor, action="notice_channel_removed",
                      data={"channel": row.id, "url": shown_url(row.url)}))


def describe_channel(row: NoticeChannel) -> dict:
    return {"id": row.id, "owner_kind": row.owner_kind, "owner": row.owner, "label": row.label,
            "url": shown_url(row.url), "categories": row.categories,
            "category_names": [CATEGORIES[c][0] for c in row.categories] or ["全部"],
            "quiet_from": row.quiet_from, "quiet_until": row.quiet_until, "enabled": row.enabled,
            "created_at": local(row.created_at), "created_by": row.created_by}


def channels(session, person: str | None = None) -> list[NoticeChannel]:
    """The channels in use (paused ones too), by owner; `person`: only that person's own."""
    query = select(NoticeChannel).where(NoticeChannel.removed_at.is_(None))
    if person is not None:
        query = query.where(NoticeChannel.owner_kind == "person", NoticeChannel.owner == person)
    return list(session.scalars(query.order_by(NoticeChannel.owner_kind, NoticeChannel.owner, NoticeChannel.id)))


# -- the outbox -------------------------------------------------------------------------------------

def quiet(row: NoticeChannel, at: datetime) -> bool:
    """Is `at` inside the channel's quiet hours (Asia/Shanghai; a window may pass midnight)?"""
    if not row.quiet_from or not row.quiet_until:
        return False
    now = at.astimezone(SHANGHAI).strftime("%H:%M")
    if row.quiet_from <= row.quiet_until:
        return row.quiet_from <= now < row.quiet_until
    return now >= row.quiet_from or now < row.quiet_until


def fan_out(session, notice: Notification, at: datetime) -> list[NoticeChannel]:
    """One delivery per channel of the notice's recipient that takes its category, in the caller's unit of
    work; the channels whose quiet hours hold it (the caller hands those to the duty officer)."""
    wanted = category(notice.kind)
    held = []
    for row in session.scalars(select(NoticeChannel).where(
            NoticeChannel.owner_kind == notice.recipient_kind, NoticeChannel.owner == notice.recipient,
            NoticeChannel.enabled.is_(True), NoticeChannel.removed_at.is_(None)).order_by(NoticeChannel.id)):
        if row.categories and wanted not in row.categories:
            continue
        hold = quiet(row, at)
        if hold:
            held.append(row)
        session.add(NoticeDelivery(notification=notice, channel_id=row.id, status="held" if hold else "pending",
                                   attempts=0, next_attempt_at=at, created_at=at))
    return held


def deliver(session, notice: Notification, row: NoticeChannel, at: datetime) -> NoticeDelivery:
    """One delivery of `notice` to this channel alone, due at once, whatever its categories and quiet hours
    (发送测试: engine/notices/outbox.py `test_notice`)."""
    found = NoticeDelivery(notification=notice, channel_id=row.id, status="pending", attempts=0, next_attempt_at=at,
                           created_at=at)
    session.add(found)
    return found


#: a channel in use of any of the owners given (built once: constructing it cost more than running it)
_ANY_CHANNEL = (select(NoticeChannel.id).where(
    tuple_(NoticeChannel.owner_kind, NoticeChannel.owner).in_(bindparam("owners", expanding=True)),
    NoticeChannel.enabled.is_(True), NoticeChannel.removed_at.is_(None)).limit(1))


def any_channel(session, owners: set[tuple[str, str]]) -> bool:
    """Has any of these (owner kind, owner) a channel in use? (one indexed read per step that notifies)"""
    owners = {(k, o) for k, o in owners if o}
    if not owners:
        return False
    return session.scalar(_ANY_CHANNEL, {"owners": sorted(owners)}) is not None


def unit_of(session, row: NoticeChannel) -> str | None:
    """The unit whose duty officer takes a channel's notices in its quiet hours."""
    if row.owner_kind == "unit":
        return row.owner
    if row.owner_kind == "person":
        return session.scalar(select(User.unit).where(User.username == row.owner))
    return None


# -- sending ----------------------------------------------------------------------------------------

@dataclass
class Sent:
    sent: list = field(default_factory=list)        # delivery ids
    retried: list = field(default_factory=list)
    gave_up: list = field(default_factory=list)

    @property
    def attempted(self) -> list[int]:
        return [*self.sent, *self.retried, *self.gave_up]


@dataclass(frozen=True)
class Message:
    url: str
    title: str
    body: str
    key: str
    #: the channel's address was set by someone other than a system administrator: public internet only
    public_only: bool = False


def render(catalogs, notice: Notification, event: Event | None, public_url: str) -> tuple[str, str]:
    """(title, body) of a notice sent outside the app; a sensitive event's says only that there is one."""
    link = f"{public_url.rstrip('/')}/events/{event.id}" if event is not None else f"{public_url.rstrip('/')}/messages"
    if event is not None and catalogs.is_sensitive(event.type_code):
        return f"【{TITLE}】{SENSITIVE_WORDS}", f"{SENSITIVE_WORDS}，请登录系统查看：{link}"
    name = "测试" if notice.kind == TEST_KIND else CATEGORIES[category(notice.kind)][0]
    number = f" {event.number}" if event is not None else ""
    return f"【{TITLE}·{name}】{number}".rstrip(), f"{notice.message}\n{link}\n（{local(notice.at)}）"


def _due(session, now, limit: int) -> list[int]:
    return list(session.scalars(select(NoticeDelivery.id).where(
        NoticeDelivery.status.in_(("pending", "failed")), NoticeDelivery.next_attempt_at <= now)
        .order_by(NoticeDelivery.next_attempt_at, NoticeDelivery.id).limit(limit)))


def _claim(session, catalogs, delivery_id: int, now, public_url: str) -> Message | None:
    row = session.scalar(select(NoticeDelivery).where(
        NoticeDelivery.id == delivery_id, NoticeDelivery.status.in_(("pending", "failed")),
        NoticeDelivery.next_attempt_at <= now).with_for_update(skip_locked=True))
    if row is None:
        return None
    channel = session.get(NoticeChannel, row.channel_id)
    if channel is None or channel.removed_at is not None or not channel.enabled:
        row.status, row.last_error = "gave_up", "渠道已暂停或删除 (the channel was paused or removed)"
        return None
    notice = session.get(Notification, row.notification_id)
    event = session.get(Event, notice.event_id) if notice.event_id is not None else None
    row.status, row.attempts, row.next_attempt_at = "sending", row.attempts + 1, now + LEASE
    title, body = render(catalogs, notice, event, public_url)
    return Message(channel.url, title, body, f"notice-{row.notification_id}-channel-{row.channel_id}",
                   bool(channel.public_only))


def send(message: Message, allowed=frozenset()) -> str | None:
    """Send one message through apprise; None, or why it failed (without the URL's secrets). A `public_only`
    channel's host is resolved and checked now, and connected to at the addresses checked (engine/notices/
    targets.py); one that now points inside the network (and is not in `allowed`) is not sent to."""
    notifier = plugin(message.url)
    if notifier is None:
        return "无法识别的通知地址"
    notifier.socket_connect_timeout, notifier.socket_read_timeout = CONNECT_TIMEOUT_S, READ_TIMEOUT_S
    if isinstance(getattr(notifier, "headers", None), dict):
        notifier.headers[IDEMPOTENCY_HEADER] = message.key
    host = target_host(message.url) if message.public_only else None
    if host is None or targets.allowed_host(host, allowed):
        return _send(notifier, message)
    verdict = targets.judge(host)
    if verdict.inner == "unresolved":
        return f"通知地址的主机名暂时无法解析（{host[:60]}），稍后重试 (the host does not resolve now)"
    if verdict.inner is not None:
        return (f"通知地址现指向本机或内部网络（{host[:60]}），未发送；本人设置的通知方式只能发往互联网 "
                "(the address now points inside the network: not sent)")
    with targets.pinned(host, verdict.addresses):
        return _send(notifier, message)


def _send(notifier, message: Message) -> str | None:
    import apprise
    with apprise.LogCapture(level=logging.WARNING) as captured:
        extra = ""
        try:
            ok = notifier.send(body=message.body, title=message.title)
        except Exception as err:  # noqa: BLE001 - a plugin's own bug must not stop the sender: recorded, retried
            ok, extra = False, type(err).__name__
        said = captured.getvalue().strip().splitlines()
    if ok:
        return None
    return ("; ".join(said[-2:]) or extra or "发送失败 (not sent)")[:500]


def _record(session, delivery_id: int, error: str | None, now) -> str:
    row = session.get(NoticeDelivery, delivery_id)
    if row.status != "sending":
        return row.status
    row.last_error = error
    if error is None:
        row.status, row.sent_at = "sent", now
    elif row.attempts > len(BACKOFF):
        row.status = "gave_up"
    else:
        row.status, row.next_attempt_at = "failed", now + timedelta(seconds=BACKOFF[row.attempts - 1])
    return row.status


def _stopped_mid_send(session, now) -> int:
    """Deliveries whose sender stopped mid-send (lease over): `unknown`, never sent again by themselves."""
    rows = list(session.scalars(select(NoticeDelivery).where(NoticeDelivery.status == "sending",
                                                             NoticeDelivery.next_attempt_at <= now)
                                .with_for_update(skip_locked=True)))
    for row in rows:
        row.status = "unknown"
        row.last_error = "发送中断，未知是否送达；如需要请管理员重发 (the sender stopped mid-send)"
    return len(rows)


def send_due(session_factory, env, public_url: str, limit: int = 100) -> Sent:
    """Every due delivery, once each: claim (one unit of work), send (none open), record (one unit)."""
    clock, result = env.clock, Sent()
    uow.run(session_factory, lambda s: _stopped_mid_send(s, clock.now()))
    for delivery_id in uow.read(session_factory, lambda s: _due(s, clock.now(), limit)):
        message = uow.run(session_factory, lambda s, i=delivery_id: _claim(s, env.catalogs, i, clock.now(),
                                                                           public_url))
        if message is None:
            continue
        error = send(message, env.own_channel_hosts)
        if error:
            log.info("notice delivery %s: %s", delivery_id, error)
        outcome = uow.run(session_factory, lambda s, i=delivery_id: _record(s, i, error, clock.now()))
        {"sent": result.sent, "gave_up": result.gave_up}.get(outcome, result.retried).append(delivery_id)
    return result


def next_attempt(session):
    """When the next delivery falls due (the worker sweeps then)."""
    return session.scalar(select(func.min(NoticeDelivery.next_attempt_at))
                          .where(NoticeDelivery.status.in_(("pending", "failed", "sending"))))


# -- the administrator's view ----------------------------------------------------------------------

STATUS_NAMES = {"pending": "待发送", "sending": "发送中", "sent": "已送达", "failed": "失败待重试",
                "gave_up": "已放弃", "held": "免打扰（已转值班）", "unknown": "发送中断"}
#: the delivery log's order: newest first
ORDER = paging.Order("notice_deliveries", NoticeDelivery.id, descending=True)


def list_channels(cmd) -> list[dict]:
    """Every channel in use (通知渠道, the administrators' page and API)."""
    return [describe_channel(row) for row in channels(cmd.session)]


def create_channel(cmd, data) -> dict:
    return describe_channel(add_channel(cmd.session, cmd.catalogs, cmd.actor, data, cmd.now()))


def check_status(value) -> str | None:
    """A `?status=` of the delivery log: one of STATUS_NAMES, or None for all."""
    if value in (None, "", "all"):
        return None
    if value not in STATUS_NAMES:
        raise InvalidQuery([{"field": "status", "reason": "应为 " + "、".join(
            f"{code}（{name}）" for code, name in STATUS_NAMES.items()) + " 或 all"}])
    return value


def delivery_log(cmd, status: str | None, page: paging.PageRequest,
                 person: str | None = None) -> tuple[dict, paging.Page]:
    """The delivery log newest first, a page at a time (`status` one of STATUS_NAMES or None: all), and
    how many deliveries there are in each status; `person`: only the deliveries to that person's own
    channels (我的通知方式), counted alike. A sensitive event's notice shows as such to those who may not
    see the event (engine/accounts/privacy.py)."""
    query = (select(NoticeDelivery, NoticeChannel, Notification, Event.type_code, Event.reporter)
             .join(NoticeChannel, NoticeChannel.id == NoticeDelivery.channel_id)
             .join(Notification, Notification.id == NoticeDelivery.notification_id)
             .outerjoin(Event, Event.id == Notification.event_id))
    counting = select(NoticeDelivery.status, func.count()).group_by(NoticeDelivery.status)
    if person is not None:
        owned = (NoticeChannel.owner_kind == "person", NoticeChannel.owner == person)
        query = query.where(*owned)
        counting = counting.join(NoticeChannel, NoticeChannel.id == NoticeDelivery.channel_id).where(*owned)
    if status is not None:
        query = query.where(NoticeDelivery.status == status)
    found = paging.fetch(cmd.session, query, ORDER, page)
    hidden = privacy.hidden_ids(cmd.user, cmd.catalogs,
                                [(notice.event_id, code, reporter) for _d, _c, notice, code, reporter in found.items])
    counts = dict(cmd.session.execute(counting).all())
    return ({code: counts.get(code, 0) for code in STATUS_NAMES},
            found.map(lambda rows: [describe(d, c, n, n.event_id in hidden) for d, c, n, _t, _r in rows]))


def resend_one(cmd, delivery_id: int) -> dict:
    row = resend(cmd.session, cmd.actor, delivery_id, cmd.now())
    return {"id": row.id, "status": row.status, "status_name": STATUS_NAMES[row.status]}


def describe(row: NoticeDelivery, channel: NoticeChannel, notice: Notification, hidden: bool) -> dict:
    return {"id": row.id, "status": row.status, "status_name": STATUS_NAMES.get(row.status, row.status),
            "attempts": row.attempts, "next_attempt_at": local(row.next_attempt_at) if row.status == "failed" else None,
            "last_error": row.last_error, "created_at": local(row.created_at),
            "sent_at": local(row.sent_at) if row.sent_at else None,
            "channel": {"id": channel.id, "label": channel.label, "url": shown_url(channel.url),
                        "owner_kind": channel.owner_kind, "owner": channel.owner},
            "notice": {"id": notice.id, "kind": notice.kind,
                       "category": "测试" if notice.kind == TEST_KIND else CATEGORIES[category(notice.kind)][0],
                       "message": privacy.REDACTED if hidden else notice.message,
                       "event_id": None if hidden else notice.event_id}}


def resend(session, actor: str, delivery_id: int, now) -> NoticeDelivery:
    """An administrator sends a delivery again (after `gave_up`, `unknown` or `held`): due now, attempts
    from nought; audited."""
    row = session.get(NoticeDelivery, delivery_id)
    if row is None:
        raise NotFound("没有这条发送记录 (no such delivery)")
    if row.status in ("pending", "sending"):
        raise Conflict("这条通知正在发送，无需重发 (the delivery is already on its way)")
    before = row.status
    row.status, row.attempts, row.next_attempt_at, row.last_error = "pending", 0, now, None
    session.add(Audit(at=now, actor=actor, action="notice_resent",
                      data={"delivery": row.id, "channel": row.channel_id, "notification": row.notification_id,
                            "was": before}))
    return row
