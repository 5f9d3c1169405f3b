"""即知即改 (handled on the spot): a grid worker (§5.1) or a stationed officer (§7.2) who found a problem and fixed it
there and then reports it as already handled, with photos after the fix (and, if taken, before it), so the
community only has to verify it.

- **Reporting** (`problems`, `require`, `prepare`): a report (POST /api/events, the 上报 page) with
  `handled_on_spot: true` must carry at least one after photo (multipart part `after_photos`; `before_photos`
  optional) — without one it is refused with 422 naming `after_photos`, nothing stored. Only a grid worker or a
  stationed officer may report so (`permissions.may_report_on_spot`, else 403 naming `handled_on_spot`).
  The event's `on_spot` keeps who fixed it (and their unit, for a stationed officer), what they wrote and the
  photos' keys; the photos are the event's like any other (engine/pool/photos.py).
- **Verifying** (processes/community_event.bpmn): such an event (`handled_on_spot` in its start data) goes
  to 核实（即知即改） `verify_on_spot` instead of Figure 1. Its 记录核实结果 (`record_on_spot`, `verify`) either
  - **confirms** it: the event closes (办结) at once, and the fix is the reporter's handling obligation met as it
    began — a `community_handle` limit (§8.1) started and met when it was reported, by the reporter (of their
    unit, for a stationed officer; else of the community): due, handled and on time in §8.6's disposal and
    on-time rates, closed first time (一次性办结: no return, no failed check, no reopening); or
  - **rejects** it (not fixed, or not as said): the event goes the normal way — Figure 1 from 核实 — and its
    reporter is told why. The report itself counts nothing then; the normal handling counts as it always does.
  No 回访 follows a confirmed one: its reporter is the one who fixed it.
"""
from __future__ import annotations

from sqlalchemy import select

from engine.accounts import permissions
from engine.core.clock import local
from engine.core.errors import Forbidden
from engine.pool import events
from engine.store.models import Deadline, User

#: the report's fields (engine/pool/events.py EVENT_SCHEMA) and its photo parts
FLAG, SUMMARY = "handled_on_spot", "on_spot_summary"
BEFORE, AFTER = "before_photos", "after_photos"
PHOTO_FIELDS = (BEFORE, AFTER)
#: event.on_spot["state"] in words
STATES = events.ON_SPOT_WORDS
#: audit actions
REPORTED, CONFIRMED, REJECTED = "on_spot_reported", "on_spot_confirmed", "on_spot_rejected"
#: the deadline kind the fix meets (§8.1 the community's own handling), its limit as the diagram's default, and
#: the name it is kept under in place of a task
KIND, LIMIT, SPEC = "community_handle", "PT2H", "on_spot"


def asked(payload) -> bool:
    return isinstance(payload, dict) and payload.get(FLAG) is True


def problems(payload, attached: dict[str, int] | None) -> list[dict]:
    """{field, reason} of what a report's 即知即改 lacks or should not carry: `attached` counts the photos sent
    in each of its photo parts. Checked with the rest of the report, so one answer names every field."""
    attached = attached or {}
    if asked(payload):
        if not attached.get(AFTER):
            return [{"field": AFTER, "reason": "即知即改须附处置后照片，至少1张 (handled on the spot: attach at least "
                                               "one photo taken after the fix, as the multipart part after_photos)"}]
        return []
    return [{"field": name, "reason": "仅“即知即改”上报可附处置前后照片 (before/after photos go with a report "
                                      "made as handled on the spot: set handled_on_spot)"}
            for name in PHOTO_FIELDS if attached.get(name)] + \
        ([{"field": SUMMARY, "reason": "仅“即知即改”上报可填写现场处置情况 (only with handled_on_spot)"}]
         if isinstance(payload, dict) and SUMMARY in payload else [])


def require(user, payload) -> None:
    """403 naming `handled_on_spot` unless the reporter is one who fixes things on the spot."""
    if asked(payload) and not permissions.may_report_on_spot(user):
        raise Forbidden("只有网格员或下沉部门人员可以“即知即改”上报 (only a grid worker or a stationed officer "
                        "reports a problem as handled on the spot)", field=FLAG)


def prepare(payload: dict, user, photo_keys: dict[str, list[str]]) -> dict | None:
    """event.on_spot for a checked report (None: not handled on the spot); `photo_keys` the keys of its
    before and after photos, as stored with it."""
    if not asked(payload):
        return None
    return {"state": "reported", "by": user.username, "unit": user.unit if "stationed_staff" in user.roles else None,
            "summary": payload.get(SUMMARY), BEFORE: photo_keys.get(BEFORE, []), AFTER: photo_keys.get(AFTER, [])}


# -- the diagram's step (through the run context: engine/casework/run_context.py) --------------------------
def verify(ctx, task, confirmed, note=None) -> bool:
    """记录核实结果 after 核实（即知即改）: confirmed, the fix is recorded as the reporter's handling met at once
    (see the module); rejected, the event goes on the normal way and its reporter hears why. The value the
    diagram keeps in `handled_on_spot`: True when confirmed."""
    event, now = ctx.event, ctx.now()
    found = dict(event.on_spot or {})
    found.update(state="confirmed" if confirmed else "rejected", verified_by=ctx.actor, verified_at=local(now),
                 note=(str(note).strip()[:2000] or None) if note else None)
    event.on_spot = found
    reporter = found.get("by") or event.reporter
    if not confirmed:
        ctx.record(REJECTED, {"note": found["note"]}, task=task)
        ctx.notify("person", reporter, "outcome", f"【即知即改未通过核实】{event.number}：{found['note'] or ''}"
                   f"，转入常规流转（§7.1 核实）".replace("：，", "，"), clause="§7.1")
        return False
    started = event.created_at
    due, basis, rule, warning = ctx.limits.compute(KIND, LIMIT, started, event.community, event.type_code)
    unit = found.get("unit")
    ctx.session.add(Deadline(event_id=event.id, instance_id=ctx.instance_id, kind=KIND, task_spec=SPEC,
                             unit=unit, person=None, community=event.community, basis=basis, rule=rule,
                             started_at=started, original_due_at=due, due_at=due,
                             warn_at=ctx.limits.warn_at(KIND, started, due), status="met", extended=False,
                             extensions=0, met_at=started, met_by=reporter, calendar_warning=warning))
    ctx.record(CONFIRMED, {"by": reporter, "unit": unit, "handled_at": local(started), "due_at": local(due)},
               task=task)
    return True


def describe(session, catalogs, event) -> dict | None:
    """event.on_spot as the event's detail shows it: its state in words, who fixed it and who verified it (display
    names, the unit's name), and the photos' keys."""
    found = event.on_spot
    if not found:
        return None
    names = {u.username: u.display_name for u in session.scalars(select(User).where(
        User.username.in_({n for n in (found.get("by"), found.get("verified_by")) if n})))}
    unit = found.get("unit")
    return {**found, "state_name": STATES.get(found.get("state"), found.get("state")),
            "by_name": names.get(found.get("by"), found.get("by")),
            "unit_name": (catalogs.unit(unit) or {}).get("name", unit) if unit else None,
            "verified_by_name": names.get(found.get("verified_by"), found.get("verified_by"))}
