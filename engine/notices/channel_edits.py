"""A notice channel changed by whoever may manage it (issue #18), and 我的通知方式: every signed-in person sets
the channels outside the app they hear their own notices on — an e-mail (mailto://, mailtos://) or a webhook,
the schemes and checks of the administrators' 通知渠道 (engine/notices/delivery.py `check`) — chooses their
categories and quiet hours (免打扰), pauses, edits and deletes them, sends a test notice to themselves and reads
their own delivery log. A unit's and a community's channels stay the administrators'.

Who may act on a channel is one rule (engine/accounts/permissions.py `may_manage_channel`: an administrator
any, anyone else a person's channel that is their own). A channel someone may not manage is answered as one
that does not exist (404): nothing says that it exists, whose it is or where it sends. A URL is a secret: it
is never answered, only its privacy form (`shown_url`); an edit that leaves the URL empty keeps it."""
from __future__ import annotations

from sqlalchemy import select

from engine.accounts import permissions
from engine.core.errors import Conflict, Forbidden, InvalidData, NotFound
from engine.notices import delivery, outbox
from engine.store import paging
from engine.store.models import Audit, NoticeChannel, NoticeDelivery, Notification

#: what an edit may change (the owner is fixed: a channel for someone else is a new channel)
EDITABLE = ("label", "url", "categories", "quiet_from", "quiet_until", "enabled")


def _checked(cmd, typed: dict) -> dict:
    """`delivery.check`, and for someone who is not a system administrator the URL's target on the public
    internet only (`delivery.inner_host`; EVENTFLOW_OWN_CHANNEL_HOSTS names inner hosts allowed, e.g. an SMS
    gateway): every problem named at once."""
    errors, checked = [], None
    try:
        checked = delivery.check(cmd.session, cmd.catalogs, typed)
    except InvalidData as err:
        errors = list(err.details.get("errors", []))
    url = typed.get("url")
    if _public_only(cmd) and all(e["field"] != "url" for e in errors) \
            and isinstance(url, str):
        host = delivery.inner_host(url.strip(), cmd.env.own_channel_hosts)
        if host is not None:
            errors.append({"field": "url", "reason": f"通知地址指向本机或内部网络（{host[:60]}），本人设置的通知方式只能"
                                                     "发往互联网上的邮箱、网址或钉钉/企业微信/飞书机器人；内部网关请由系统管理员"
                                                     "设置 (your own channel may only send to the public internet)"})
    if errors:
        raise InvalidData(errors)
    return checked


def _public_only(cmd) -> bool:
    """Is an address this user sets kept to the public internet at each sending too (engine/notices/targets.py)?
    Yes but for a system administrator's."""
    return not permissions.NOTICE_CHANNELS.allows(cmd.user)


def managed(cmd, channel_id) -> NoticeChannel:
    """The channel in use, if this user may manage it; else 404 as for one that does not exist."""
    row = cmd.session.get(NoticeChannel, channel_id) if isinstance(channel_id, int) else None
    if row is None or row.removed_at is not None or not permissions.may_manage_channel(cmd.user, row):
        raise NotFound(delivery.NO_CHANNEL)
    return row


# -- 我的通知方式 -----------------------------------------------------------------------------------------------
def mine(cmd) -> list[dict]:
    """The user's own channels (paused ones too)."""
    return [delivery.describe_channel(row) for row in delivery.channels(cmd.session, person=cmd.user.username)]


def add_mine(cmd, data) -> dict:
    """A channel of the user's own: the owner is the user; naming anyone or anything else is refused (403)."""
    data = dict(data) if isinstance(data, dict) else {}
    kind, owner = data.pop("owner_kind", None), data.pop("owner", None)
    if kind not in (None, "", "person") or owner not in (None, "", cmd.user.username):
        raise Forbidden("只能设置本人的通知方式；单位、社区的通知渠道由系统管理员设置 "
                        "(only your own channels: a unit's or a community's are set by a system administrator)",
                        field="owner")
    typed = {**data, "owner_kind": "person", "owner": cmd.user.username}
    _checked(cmd, typed)
    row = delivery.add_channel(cmd.session, cmd.catalogs, cmd.actor, typed, cmd.now(), _public_only(cmd))
    return delivery.describe_channel(row)


def my_log(cmd, status: str | None, page: paging.PageRequest):
    """The deliveries to the user's own channels, newest first, and how many in each status."""
    return delivery.delivery_log(cmd, status, page, person=cmd.user.username)


def resend_mine(cmd, delivery_id) -> dict:
    """重发 of a delivery to one of the user's own channels (after it failed, gave up or was held): as an
    administrator's resend, audited; a delivery on a channel they may not manage is answered as none (404), and
    one on a paused or removed channel is refused (409: it would not be sent)."""
    row = cmd.session.get(NoticeDelivery, delivery_id) if isinstance(delivery_id, int) else None
    channel = cmd.session.get(NoticeChannel, row.channel_id) if row is not None else None
    if channel is None or not permissions.may_manage_channel(cmd.user, channel):
        raise NotFound("没有这条发送记录 (no such delivery)")
    if channel.removed_at is not None or not channel.enabled:
        raise Conflict("该通知方式已暂停或删除，恢复后才能重发 (the channel is paused or removed)")
    return delivery.resend_one(cmd, row.id)


# -- any channel, by whoever may manage it ----------------------------------------------------------------------
def edit(cmd, channel_id, data) -> dict:
    """Change a channel's name, URL (empty or absent: kept), categories, quiet hours or whether it is in use
    (`enabled`: false pauses it — nothing is sent to it and what was still due is given up — true resumes it),
    checked as a new channel is; audited with what changed (the URL only starred)."""
    row = managed(cmd, channel_id)
    data = data if isinstance(data, dict) else {}
    errors = [{"field": key, "reason": "不能修改此项：所属不可更改，可删除后重新添加 (this cannot be changed)"}
              for key in data if key not in EDITABLE]
    enabled = data.get("enabled", row.enabled)
    if not isinstance(enabled, bool):
        errors.append({"field": "enabled", "reason": "应为 true（启用）或 false（暂停） (true or false)"})
    if errors:
        raise InvalidData(errors)
    url = data.get("url")
    typed = {"owner_kind": row.owner_kind, "owner": row.owner, "label": data.get("label", row.label),
             "url": row.url if url is None or (isinstance(url, str) and not url.strip()) else url,
             "categories": data.get("categories", row.categories),
             "quiet_from": data.get("quiet_from", row.quiet_from), "quiet_until": data.get("quiet_until", row.quiet_until)}
    checked = _checked(cmd, typed) if typed["url"] != row.url else delivery.check(cmd.session, cmd.catalogs, typed)
    changed = {key: checked[key] for key in ("label", "url", "categories", "quiet_from", "quiet_until")
               if checked[key] != getattr(row, key)}
    if enabled != row.enabled:
        changed["enabled"] = enabled
    for key, value in changed.items():
        setattr(row, key, value)
    if "url" in changed:    # whoever set the address now says where it may send
        row.public_only = _public_only(cmd)
    if changed:
        shown = {k: v for k, v in changed.items() if k != "url"}
        if "url" in changed:
            shown["url"] = delivery.shown_url(row.url)
        cmd.session.add(Audit(at=cmd.now(), actor=cmd.actor, action="notice_channel_changed",
                              data={"channel": row.id, "owner_kind": row.owner_kind, "owner": row.owner, **shown}))
    return delivery.describe_channel(row)


def remove(cmd, channel_id) -> dict:
    """Stop using a channel: what is still due to it is given up, not sent (audited)."""
    row = managed(cmd, channel_id)
    delivery.remove_channel(cmd.session, cmd.actor, row.id, cmd.now())
    return {"removed": row.id}


def send_test(cmd, channel_id) -> dict:
    """发送测试: a test notice to the channel's owner on this channel alone, due at once (the worker sends it; its
    outcome is in the delivery log). Refused (409) for a paused channel, and while its last test is on its way."""
    row = managed(cmd, channel_id)
    if not row.enabled:
        raise Conflict("该渠道已暂停，请先恢复再发送测试 (the channel is paused: resume it first)")
    waiting = cmd.session.scalar(select(NoticeDelivery.id).join(Notification).where(
        NoticeDelivery.channel_id == row.id, Notification.kind == delivery.TEST_KIND,
        NoticeDelivery.status.in_(("pending", "sending"))).limit(1))
    if waiting is not None:
        raise Conflict("上一条测试通知还在发送中，请稍后在发送记录中查看结果 (the last test is still on its way)",
                       delivery=waiting)
    notice = outbox.test_notice(cmd.session, cmd.now(), row)
    cmd.session.flush()
    cmd.session.add(Audit(at=cmd.now(), actor=cmd.actor, action="notice_channel_tested",
                          data={"channel": row.id, "url": delivery.shown_url(row.url), "notification": notice.id}))
    found = cmd.session.scalar(select(NoticeDelivery).where(NoticeDelivery.notification_id == notice.id))
    return {"delivery": found.id, "channel": row.id, "status": found.status,
            "status_name": delivery.STATUS_NAMES[found.status]}
