"""回访: after closure the community asks the reporter whether it was fixed (§4.3 闭环处置、效果反馈; §8.6 评价;
every 12345 rule asks it). The diagram (processes/community_event.bpmn) runs it after whichever called process
closed the event: 安排回访 (`plan_revisit`) → 回访 (a user task of the community, with its limit `deadline("revisit")`:
the catalog's 3 working days) → 记录回访结果 (`record_revisit`) → 重新办理 (`reopen_event`) when a 不满意 reopens it.

Who can be asked (`reachable`) — "reachable" means a person who reported it and whom the community can ask:
- a citizen (§5.3 群众接报) who left a phone number or an e-mail address (reporter_contact), asked by phone or mail;
- a grid worker (§5.1) or a member of the committee's patrol (§5.2) — a person with an account, asked directly.
Not asked: a citizen who left no contact; a device (§5.4 智慧社区预警); a "one thing" matter (§5.5: the committee
leads and closes it itself); a superior assignment (§5.6, §8.2: the superior is sent the result, 报送上级, and
judges it itself). Sensitive events (Table A.1 rows 1–3) are asked too: the 回访 task is theirs who may see the
event (its designated cadres), and its answers are part of the event's content (engine/accounts/privacy.py).

While the 回访 is open the event's status stays `closed` — the indicators count it closed on the day it closed —
and `event.revisit` is `open` (回访中); then `done`. A 回访 not done within its limit is missed like any limit of
§8 (a red light, 督办, the circular's 反馈不及时). 满意/基本满意/不满意 with the reporter's own words is kept in
`revisit` (one row per closure asked about). A 不满意 with its cause reopens the event — 重新办理: a new instance
with `reopened`, straight to 研判 (§7.2), counted against the first-time rate (§8.6) — as many times as the
setting allows (`EVENTFLOW_REVISIT_REOPENS`, default once); after that a 不满意 is recorded without reopening.

A channel that hears the citizen's answer itself (a 12345 callback, an Open311 update) completes the open 回访
with `record_revisit(cmd, event_id, answers, channel)`.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from engine.accounts import permissions, privacy
from engine.casework import record as steps_record
from engine.casework.task_forms import check_data
from engine.core import contracts
from engine.core.clock import local, utc
from engine.core.errors import Conflict, NotFound
from engine.pool import events
from engine.pool.events import N_
from engine.runtime.instances import outcome_reached
from engine.store.models import Event, Instance, Revisit, WorkItem

#: the 回访 user task's id in the diagram: what a channel completes (docs/process-conventions.md)
TASK = "revisit"
UNSATISFIED = "不满意"
#: the sources whose reporter is a person with an account, asked directly
ACCOUNT_SOURCES = ("grid_worker", "committee_patrol")
#: how a reporter is asked, in words
HOW = {"phone": N_("电话回访"), "email": N_("邮件回访"), "account": N_("当面或电话回访（本系统用户）")}
#: event.revisit in words (回访中 beside the status 办结)
WORDS = events.REVISIT_WORDS


def reachable(session, event: Event) -> str | None:
    """How the event's reporter can be asked — `phone`, `email` or `account` — or None (see the module)."""
    if event.source in ACCOUNT_SOURCES:
        return "account"
    if event.source != "citizen":
        return None
    contact = _contact(session, event)
    if contact.get("phone"):
        return "phone"
    if contact.get("email"):
        return "email"
    return None


def _contact(session, event: Event) -> dict:
    """The reporter's contact: a transferred event (转办, §7.1) is asked with the contact of the report it came from."""
    seen = set()
    while event is not None and event.id not in seen:
        if event.reporter_contact:
            return event.reporter_contact
        seen.add(event.id)
        event = session.get(Event, event.transferred_from_id) if event.transferred_from_id else None
    return {}


def reopens(session, event_id: int) -> int:
    """How many times a 不满意 回访 has reopened the event."""
    return session.scalar(select(func.count(Revisit.id)).where(Revisit.event_id == event_id,
                                                               Revisit.reopened.is_(True))) or 0


# -- the diagram's steps (through the run context: engine/casework/run_context.py) -------------------------
def plan(ctx, task) -> dict:
    """安排回访, after the called process ended: a 回访 opens when it closed the event (the outcome the instance
    reached, which the event's status takes at the end of this step) and the reporter can be asked."""
    event, session = ctx.event, ctx.session
    if outcome_reached(task.workflow.top_workflow, ctx.task_meta or {}) != "closed":
        return {"needed": False, "reason": "事件未办结 (not closed)"}
    how = reachable(session, event)
    if how is None:
        return {"needed": False, "reason": "无可回访的上报人 (no reporter to ask)"}
    done = reopens(session, event.id)
    row = Revisit(event_id=event.id, instance_id=ctx.instance_id, round=event.reopen_count or 0,
                  community=event.community, lead_unit=event.lead_unit, closed_at=ctx.now(), opened_at=ctx.now(),
                  status="open", reopened=False)
    session.add(row)
    event.revisit = "open"
    left = max(ctx.revisit_reopens - done, 0)
    return {"needed": True, "how": how, "how_name": HOW[how], "round": row.round, "reopens_left": left}


def record(ctx, task) -> dict:
    """记录回访结果: the 回访's answers (its form, processes/forms/revisit.json) kept on the event's open 回访;
    `reopen` when it is a 不满意 with its cause and the event may still be reopened (the setting)."""
    event, session, data = ctx.event, ctx.session, task.data
    row = session.scalar(select(Revisit).where(Revisit.event_id == event.id, Revisit.status == "open")
                         .order_by(Revisit.id.desc()))
    if row is None:      # opened by 安排回访 in this instance; a row lost by hand is opened now
        row = Revisit(event_id=event.id, instance_id=ctx.instance_id, round=event.reopen_count or 0,
                      community=event.community, lead_unit=event.lead_unit, closed_at=event.closed_at,
                      opened_at=ctx.now(), status="open", reopened=False)
        session.add(row)
    reached = bool(data.get(contracts.REVISIT_REACHED))
    rating = data.get(contracts.REVISIT_RATING) if reached else None
    cause = (data.get(contracts.REVISIT_CAUSE) or "").strip() or None if rating == UNSATISFIED else None
    done = reopens(session, event.id)
    reopen = rating == UNSATISFIED and cause is not None and done < ctx.revisit_reopens
    row.status, row.recorded_at, row.recorded_by, row.via = "done", ctx.now(), ctx.actor, row.via or "task"
    row.reached, row.rating, row.cause, row.reopened = reached, rating, cause, reopen
    row.contact_result = "已接通" if reached else data.get(contracts.REVISIT_CONTACT)
    row.words = (data.get(contracts.REVISIT_WORDS) or "").strip() or None
    event.revisit = "done"
    result = {"reached": reached, "contact_result": row.contact_result, "rating": rating, "cause": cause,
              "reopen": reopen, "reopens_left": max(ctx.revisit_reopens - done - int(reopen), 0)}
    if rating == UNSATISFIED and not reopen:
        ctx.notify("community", event.community, "revisit",
                   f"事件 {event.number} 回访不满意（已达重新办理次数上限，不再重新办理）：{cause or ''}")
    return result


def reopen(ctx, task, reason) -> dict:
    """重新办理: the event opens again (no closure, no lead department, no 回访), counted against the first-time
    rate (§8.6: the audit's `reopened`, the event's reopen count); this instance ends, and a new one starts
    with `reopened` true, straight to 研判 (§7.2), once this step is stored (`ctx.restart`)."""
    event = ctx.event
    reason = str(reason or "").strip()[:2000] or "回访不满意"
    count = events.reopen(event)
    ctx.record(contracts.REOPENED, {"reason": reason, "count": count, "by": "revisit"}, task=task)
    ctx.notify("community", event.community, "reopened",
               f"事件 {event.number} 回访不满意，重新办理（第{count}次），请重新研判：{reason}")
    ctx.restart = events.initial_data(event, reopened=True)
    return {"count": count, "reason": reason}


# -- a channel's citizen update ---------------------------------------------------------------------------
def record_revisit(cmd, event_id: int, answers: dict, channel: str) -> dict:
    """The citizen answered the 回访 themselves, through the channel their report came by (a 12345 callback, an
    Open311 service request update): `answers` are the 回访 form's (processes/forms/revisit.json:
    revisit_reached, revisit_rating, revisit_words, revisit_cause), checked as the community's would be. The
    event's open 回访 task is completed for the channel (actor `channel:<code>`), so a 不满意 reopens the event
    just as the community's 回访 would. 404 if the event is not the channel's, 409 if no 回访 is open, 422
    naming the field of a wrong answer."""
    session = cmd.session
    event = session.get(Event, event_id)
    if event is None or event.channel != channel:
        raise NotFound(f"event {event_id} does not exist or did not come from channel {channel!r}")
    item = session.scalar(select(WorkItem).where(WorkItem.event_id == event.id, WorkItem.spec_name == TASK))
    if item is None:
        raise Conflict(f"事件 {event.number} 没有待办的回访 (the event has no open 回访)", event_status=event.status,
                       revisit=event.revisit)
    row = session.get(Instance, item.instance_id)
    compiled = cmd.env.specs.get(session, row.version_id)
    clean = check_data(item, compiled, cmd.catalogs, answers, event=event, session=session)
    if cmd.env.instances.complete_task(session, row, event, item.id, clean, f"channel:{channel}") is None:
        raise Conflict("该回访已办理 (the 回访 is no longer open)", task_id=item.id)
    found = session.scalar(select(Revisit).where(Revisit.event_id == event.id, Revisit.status == "done")
                           .order_by(Revisit.recorded_at.desc(), Revisit.id.desc()))
    found.via = f"channel:{channel}"
    return describe(found)


# -- reading ----------------------------------------------------------------------------------------------
def asking(session, catalogs, user, event: Event, plan: dict | None, reopens_allowed: int) -> dict:
    """What the 回访 page shows above its form: whom to ask and how — the grid worker or patrol member by name,
    or the citizen's name, phone and e-mail (masked for whoever may not see them in full, as the event's contact
    is) — and what a 不满意 does now: reopen the event (重新办理, how many more times) or only be recorded."""
    how = (plan or {}).get("how") or reachable(session, event)
    found = {"how": how, "how_name": HOW.get(how, ""), "reopens_left": max(reopens_allowed - reopens(session,
                                                                                                    event.id), 0)}
    if how == "account":
        found["reporter"] = steps_record.named(session, catalogs, [event.reporter]).get(event.reporter)
        return found
    contact = _contact(session, event)
    if not permissions.may_see_contact(user, event):
        contact = privacy.masked(contact)
    found.update(reporter=contact.get("name"), phone=contact.get("phone"), email=contact.get("email"))
    return found


def describe(row: Revisit) -> dict:
    return {"id": row.id, "round": row.round, "status": row.status, "status_name": WORDS.get(row.status, row.status),
            "opened_at": local(row.opened_at), "closed_at": local(row.closed_at),
            "recorded_at": local(row.recorded_at), "recorded_by": row.recorded_by, "via": row.via,
            "reached": row.reached, "contact_result": row.contact_result, "rating": row.rating,
            "words": row.words, "cause": row.cause, "reopened": row.reopened}


def timeline(rows, trail) -> list[tuple[datetime, str, str, dict, int | None]]:
    """安排回访 and 回访 for an event's timeline, from its revisit rows (`rows`, oldest first): (at, actor, action,
    what it said, the instance) for each opening and each answer recorded. The row keeps all of it, so the
    trail keeps no row of its own for them (bytes per closed event, bench/storage.py); `trail` (the event's
    audit rows) may still hold the rows written before that, and an instance's round they name is not said
    twice."""
    said = {(entry.action, entry.instance_id, entry.data.get("round")) for entry in trail
            if entry.action in (contracts.REVISIT_OPENED, contracts.REVISIT_RECORDED) and isinstance(entry.data, dict)}
    found = []
    for row in rows:
        if (contracts.REVISIT_OPENED, row.instance_id, row.round) not in said:
            found.append((utc(row.opened_at), "system", contracts.REVISIT_OPENED, {"round": row.round},
                          row.instance_id))
        if row.recorded_at is not None and (contracts.REVISIT_RECORDED, row.instance_id, row.round) not in said:
            answers = {"reached": row.reached, "contact_result": row.contact_result, "rating": row.rating,
                       "cause": row.cause, "reopen": row.reopened, "words": row.words, "round": row.round,
                       "via": row.via}
            found.append((utc(row.recorded_at), row.recorded_by or "system", contracts.REVISIT_RECORDED, answers,
                          row.instance_id))
    return found


def check_reopen(session, event: Event) -> None:
    """重启 by hand waits while a 回访 is open: the 回访 records a 不满意 and reopens the event itself."""
    if event.revisit == "open" and event.status == "closed":
        raise Conflict(f"事件 {event.number} 正在回访，请在回访中记录不满意 (a 回访 is open: record the 不满意 there)",
                       event_status=event.status, revisit=event.revisit)
