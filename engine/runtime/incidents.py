"""流程异常 — incidents, the runtime's record of a step that failed (issue #15; Camunda keeps incidents in its
runtime too). A step that fails at run time — diagram code stopped by the sandbox or raising, a service
handler failing, an assignee with no value — saves nothing of itself (engine/runtime/instances.py); what
failed is opened here as an incident, in a unit of work of its own, or counted on the open one of the same
task (or the same instance's timers):
- a task's completion that failed (`task_failure`): the task stays ready, the incident holds the submitted
  form data and who sent it, for the retry;
- an instance's due timers that failed to fire (`timer_failure`, the sweep: engine/runtime/sweep.py): the
  incident holds them (`held_instances`), so the sweep stops trying them until an administrator retries.
It is resolved when its task is completed (`resolve_task`) or its timers fire after all (`resolve_timers`).

The reason of a sensitive event's step (Table A.1 rows 1–3) is stored with only the kind of failure, unless
its words are the engine's own (the sandbox's stop, a name not defined). Listing, reading and retrying them,
for process and system administrators, is the domain's: engine/casework/incidents.py.
"""
from __future__ import annotations

from sqlalchemy import exists, select, update

from engine.core.errors import HandlerError, StepFailed
from engine.runtime.instances import ProcessError
from engine.runtime.sandbox import Exhausted, UnsafeCode
from engine.runtime.scripting import root_cause
from engine.store.models import Audit, Event, Incident, Instance, WorkItem

#: the failures a step can have that open an incident (others, e.g. the database going away, are retried)
STEP_FAILURES = (ProcessError, HandlerError)
#: failures whose words are the engine's own, never the task data's: shown even for a sensitive event
_OWN_WORDS = (Exhausted, UnsafeCode, NameError, SyntaxError)
WITHHELD = "涉密事件，详情不予显示 (details withheld: sensitive event)"


# -- a failed step ----------------------------------------------------------------------------------
def _stored_reason(err, sensitive: bool) -> str:
    """The reason kept and shown: in full, but for a sensitive event only the kind of failure when its
    words might quote the event's data (an error message can carry a value it choked on)."""
    cause = err.cause if isinstance(err, ProcessError) else err.__cause__
    root = root_cause(cause) if cause is not None else None
    if not sensitive or root is None or isinstance(root, _OWN_WORDS) or isinstance(cause, _OWN_WORDS):
        return err.message[:2000]
    if isinstance(err, HandlerError):
        return f"service operation {err.handler!r} failed: {type(root).__name__} ({WITHHELD})"
    return f"{type(root).__name__} ({WITHHELD})"


def task_failure(err, item: WorkItem, row: Instance, event: Event, data: dict, actor: str, catalogs,
                 retried: bool = False) -> StepFailed:
    """A task's completion failed: the answer (409) and the incident to open. The answer gives the reason
    in full to whoever completed the task (they see the event); a retry's, to an administrator, gives
    the reason as the incident keeps it."""
    element = err.details.get("element") or item.spec_name
    stored = _stored_reason(err, catalogs.is_sensitive(event.type_code))
    incident = dict(kind="task", event_id=event.id, instance_id=row.id, version_id=row.version_id,
                    element=element, activity=item.spec_name, task_id=item.id, payload=data, actor=actor,
                    reason=stored)
    reason = stored if retried else err.message
    return StepFailed(f"「{item.title}」未能办理：流程在 {element} 出错，已记录流程异常，任务仍待办 "
                      f"(the step failed at {element}: {reason}; an incident is open and the task stays ready)",
                      incident, element=element, task_id=item.id, reason=reason, handler=err.details.get("handler"))


def timer_failure(err, row: Instance, event: Event, timers: list[str], catalogs) -> StepFailed:
    """An instance's due timers failed to fire (the sweep, or an administrator's retry: the reason as the
    incident keeps it)."""
    activity = ",".join(sorted(set(timers)))[:200] or "(timer)"
    element = err.details.get("element") or activity
    stored = _stored_reason(err, catalogs.is_sensitive(event.type_code))
    incident = dict(kind="timer", event_id=event.id, instance_id=row.id, version_id=row.version_id,
                    element=element, activity=activity, task_id=None, payload=None, actor="system", reason=stored)
    return StepFailed(f"计时器 {activity} 未能触发：流程在 {element} 出错，已记录流程异常 "
                      f"(the timer failed at {element}: {stored}; an incident is open)",
                      incident, element=element, reason=stored, handler=err.details.get("handler"))


def record(session, failure: StepFailed, now) -> Incident:
    """Open the failure's incident, or count it on the open one of the same task (or the same instance's
    timers); a failed retry also writes its `incident_retried` row. In a unit of its own: the step's
    unit was rolled back."""
    spec = failure.incident
    incident = _open_one(session, spec)
    if incident is None:
        incident = Incident(status="open", failures=1, opened_at=now, last_failed_at=now,
                            **{k: spec[k] for k in ("kind", "event_id", "instance_id", "version_id", "element",
                                                    "activity", "task_id", "payload", "actor", "reason")})
        session.add(incident)
        session.flush()
        audit(session, now, spec["actor"], "incident_opened", incident)
    else:
        incident.failures += 1
        incident.last_failed_at = now
        for name in ("version_id", "element", "activity", "reason", "payload", "actor"):
            setattr(incident, name, spec[name])
    if spec.get("retried_by"):
        audit(session, now, spec["retried_by"], "incident_retried", incident, outcome="failed")
    return incident


def _open_one(session, spec: dict) -> Incident | None:
    if spec.get("incident_id"):
        found = session.get(Incident, spec["incident_id"], with_for_update=True)
        return found if found is not None and found.status == "open" else None
    query = select(Incident).where(Incident.instance_id == spec["instance_id"], Incident.kind == spec["kind"],
                                   Incident.status == "open")
    if spec["kind"] == "task":
        query = query.where(Incident.task_id == spec["task_id"])
    return session.scalars(query.order_by(Incident.id).limit(1).with_for_update()).first()


def audit(session, now, actor: str, action: str, incident: Incident, **more) -> None:
    session.add(Audit(at=now, actor=actor, action=action, event_id=incident.event_id,
                      instance_id=incident.instance_id, task_id=incident.task_id,
                      data={"incident": incident.id, "element": incident.element, "activity": incident.activity,
                            "reason": incident.reason, **more}))


def resolve(incident: Incident, how: str, by: str, now) -> None:
    """Resolved: `how` (retried, gone, completed, fired) and by whom."""
    incident.status, incident.resolution, incident.resolved_by, incident.resolved_at = "resolved", how, by, now


def open_for_task(task_id):
    """SQL: whether the task (`task_id`, a column or value) has an open incident (indexed by task id)."""
    return exists().where(Incident.task_id == task_id, Incident.status == "open")


def resolve_task(session, task_id: str, by: str, now) -> None:
    """The task was completed by its owner: its open incident, if any, is resolved (one indexed UPDATE)."""
    session.execute(update(Incident).where(Incident.task_id == task_id, Incident.status == "open")
                    .values(status="resolved", resolution="completed", resolved_by=by, resolved_at=now)
                    .execution_options(synchronize_session=False))


def resolve_timers(session, instance_id: int, now) -> None:
    """The instance's failed timers fired after all (e.g. with another timer, after a migration)."""
    session.execute(update(Incident).where(Incident.instance_id == instance_id, Incident.kind == "timer",
                                           Incident.status == "open")
                    .values(status="resolved", resolution="fired", resolved_by="system", resolved_at=now)
                    .execution_options(synchronize_session=False))


def held_instances():
    """SQL: instances with an open timer incident (the sweep leaves their failed timers to the retry)."""
    return select(Incident.instance_id).where(Incident.kind == "timer", Incident.status == "open")
