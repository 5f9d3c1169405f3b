"""The standard's periodic work, registered as jobs beside the timer sweep (engine/runtime/sweep.py runs
them, and knows nothing of what they do). In the order each sweep runs them:

- 黄灯预警 (§8): a warning for every pending deadline past its warning share; a simulated clock's advance
  stops at each warning's time (engine/limits/deadlines.py);
- the escalation ladder's rungs that fire a while after a miss that still stands (the city's 社会治理中心
  N hours on, §9.1), each at its due time (engine/limits/escalation.py);
- 下派's sub-deadlines: the yellow light and the miss of a task passed down to a sub-unit or person, each at
  its due time (engine/casework/delegation.py, issue #19);
- the start of stored submissions whose process never started (issue #5: the app stopped between storing
  one and starting it), once they waited past the grace period (engine/casework/lifecycle.py);
- the §9.2 hazard-point reminders and flags, once per day of the business clock
  (engine/oversight/hazards.py);
- and, each on an interval of its own, not in the sweep: the signed callbacks to the sources
  (engine/channels/callbacks.py) and the notices to channels outside the app (engine/notices/delivery.py),
  so a slow receiver never holds up a timer; the refresh of the §8.6 counts kept per day
  (engine/oversight/rollups.py); the pruning of the live inbox's feed (engine/notices/live.py); the
  导出任务 (issue #17): whole-period circulars and monthly reports built as files outside the web request,
  one claimed at a time, and the files past their days deleted (engine/exports/jobs.py); on SQLite, the copy of
  the write-ahead log into the database file, so that no request's COMMIT makes it (engine/store/db.py).

Each environment (engine/wiring.py) builds its own list: a once-a-day job keeps the day it last ran.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, select

from engine.casework import delegation, lifecycle
from engine.channels import callbacks
from engine.exports import jobs as exports
from engine.limits import deadlines, escalation
from engine.notices import delivery, live
from engine.oversight import hazards, rollups
from engine.runtime import incidents
from engine.runtime.sweep import Job, OncePerDay, one_unit
from engine.store import db
from engine.store.models import Callback, Instance, NoticeDelivery, PendingStart, Timer

#: the jobs' names: what each did is `SweepResult.of(name)`
WARNINGS, ESCALATIONS, PENDING_STARTS, HAZARD_REMINDERS, CALLBACKS, NOTICES, ROLLUPS = (
    "warnings", "escalations", "pending_starts", "hazard_reminders", "callbacks", "notices", "rollups")
LIVE_FEED = "live_feed"
EXPORTS = "exports"
CHECKPOINT = "checkpoint"
DELEGATIONS = "delegations"


def periodic() -> list[Job]:
    return [Job(WARNINGS, one_unit(deadlines.send_warnings), next_due=deadlines.next_warning_at),
            Job(ESCALATIONS, one_unit(escalation.send_due), next_due=escalation.next_due_at),
            Job(DELEGATIONS, one_unit(delegation.send_due), next_due=delegation.next_due_at),
            Job(PENDING_STARTS, lifecycle.start_waiting),
            Job(HAZARD_REMINDERS, OncePerDay(one_unit(remind_hazards))),
            Job(CALLBACKS, deliver_callbacks, interval="callback_interval_seconds"),
            Job(NOTICES, send_notices, interval="notice_interval_seconds"),
            Job(ROLLUPS, one_unit(lambda cmd: rollups.refresh(cmd.session, rollups.DAYS_PER_REFRESH)),
                interval="rollup_interval_seconds"),
            Job(LIVE_FEED, one_unit(live.prune), interval="live_prune_interval_seconds"),
            Job(EXPORTS, exports.run_due, interval="export_interval_seconds"),
            Job(CHECKPOINT, lambda session_factory, _env: db.checkpoint(session_factory),
                interval="checkpoint_interval_seconds")]


def remind_hazards(cmd) -> list[tuple[str, str]]:
    """§9.2: remind (the month's last working days) and flag (the month closed) each community without a
    hazard point for the month; ("reminded" | "flagged", community) of each."""
    done = hazards.remind_and_flag(cmd.session, cmd.catalogs, cmd.env.limits.calendar, cmd.now())
    return [(what, community) for what in ("reminded", "flagged") for community in done[what]]


def deliver_callbacks(session_factory, env) -> list[int]:
    """Every due callback, once (engine/channels/callbacks.py); the ids of those attempted."""
    delivery = callbacks.deliver_due(session_factory, env.clock, env.wall_clock)
    return [*delivery.delivered, *delivery.retried, *delivery.failed]



def send_notices(session_factory, env) -> list[int]:
    """Every due notice delivery, once (engine/notices/delivery.py); the ids of those attempted."""
    return delivery.send_due(session_factory, env, env.public_url).attempted


def late_work(session, now: datetime, after: timedelta, start_grace: timedelta) -> dict:
    """What `eventflow worker` should have done more than `after` before `now` and has not (GET
    /api/health/worker): {kind: {"late": how many, "oldest_s": by how many seconds the oldest is late}} for
    - timers: a running instance's timer, as the sweep fires them (engine/runtime/sweep.py `due_instance_ids`):
      one whose firing failed counts too (the sweep retries it at every pass, and a worker failing them all is
      as stuck as a stopped one), unless an open timer incident holds it for an administrator's retry — a time
      limit's response or closure (§8.3) that nobody marks missed;
    - starts: a stored submission whose process has not started past the grace period;
    - notices: a notice due to a channel outside the app (e-mail, a phone's robot) not yet sent;
    - callbacks: a signed callback due to a source.
    Each is read through the index its job reads: the overdue rows only (besides those that stay overdue on
    purpose: a suspended instance's timers, an incident's). Notices and callbacks are sent one at a time, so a
    receiver that does not answer makes the others wait its timeouts: a long queue behind one shows late too."""
    cutoff = now - after
    asked = {
        "timers": select(func.count(), func.min(Timer.due_at)).select_from(Timer)
        .join(Instance, Instance.id == Timer.instance_id)
        .where(Timer.due_at < cutoff, Instance.status == "running",
               or_(Timer.last_error.is_(None), Timer.instance_id.not_in(incidents.held_instances()))),
        "starts": select(func.count(), func.min(PendingStart.stored_at))
        .where(PendingStart.stored_at < cutoff - start_grace),
        "notices": select(func.count(), func.min(NoticeDelivery.next_attempt_at))
        .where(NoticeDelivery.status.in_(("pending", "failed")), NoticeDelivery.next_attempt_at < cutoff),
        "callbacks": select(func.count(), func.min(Callback.next_attempt_at))
        .where(Callback.status == "pending", Callback.next_attempt_at < cutoff),
    }
    found = {}
    for kind, query in asked.items():
        count, oldest = session.execute(query).one()
        due = None if oldest is None else oldest + start_grace if kind == "starts" else oldest
        found[kind] = {"late": count, "oldest_s": None if due is None else int((now - due).total_seconds())}
    return found
