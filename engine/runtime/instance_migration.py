"""迁移 — moving running instances to another version of their process (issue #7), with SpiffWorkflow's
own diff and migrate helpers (SpiffWorkflow.bpmn.util.diff).

A **dry run** says per instance whether it can move and why not:
- every task it is at — a ready user task, a waiting timer or message, a running call activity — must
  exist in the target version (matched by BPMN id), and every subprocess it is inside must too;
- a suspended instance is resumed first (挂起的实例先恢复);
- timers already armed keep their due times (the dry run lists them), and so do the deadline records
  behind them: a limit changed in the new version applies to timers armed after the move. A timer already
  due (e.g. one whose firing failed: an incident, engine/runtime/incidents.py) is not fired by the move itself:
  the sweep, or the incident's retry, fires it on the target, its branch run there.

A **move** is one unit of work per instance: the state is migrated (tasks re-aligned to the target's
specs, the branches it is at re-predicted from the target), the armed timers' due times put back, the
work items rebuilt from the target's tasks (titles, forms, roles; claims kept), the instance row
pointed at the target, and an `instance_migrated` entry written in its event's timeline. An instance
that cannot move is refused with its reasons and nothing changes.
"""
from __future__ import annotations

from datetime import datetime

from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, select, update
from sqlalchemy.orm.attributes import set_committed_value

from engine.runtime import spiff
from engine.core.clock import local
from engine.core.errors import Conflict, NotFound, must_exist
from engine.runtime.instances import Indexed
from engine.store.models import Event, Instance, ProcessVersion, WorkItem
from engine.runtime.timers import due_times

#: the states of a task the instance is at (a predicted one is rebuilt from the target's spec)
LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED


def _workflow(session, specs, row: Instance):
    compiled = specs.get(session, row.version_id)
    return spiff.load(session.scalar(select(Instance.state).where(Instance.id == row.id)),
                      compiled.spec, compiled.subprocess_specs)


def _diff(workflow, target):
    return diff_workflow(spiff.SERIALIZER.registry, workflow, target.spec, target.subprocess_specs)


def _name(task) -> str:
    spec = task.task_spec
    return f"「{spec.bpmn_name or spec.bpmn_id}」({spec.bpmn_id})" if spec.bpmn_name else spec.bpmn_id or spec.name


def blockers(workflow, target, status: str) -> list[str]:
    """Why this state cannot move to `target` (empty: it can)."""
    if status == "suspended":
        return ["流程已挂起：请先恢复 (the instance is suspended: resume it first)"]
    reasons = []
    top, subprocesses = _diff(workflow, target)
    for task in top.removed:
        if task.state & LIVE:
            reasons.append(f"当前环节 {_name(task)} 在目标版本中不存在 (the task it is at is not in the target)")
    for sp_id, diff in subprocesses.items():
        subprocess = workflow.subprocesses[sp_id]
        live = [t for t in subprocess.get_tasks(state=LIVE, skip_subprocesses=True)]
        if diff is None:
            if live:
                reasons.append(f"子流程 {subprocess.spec.name} 在目标版本中不存在 (its subprocess is not in the target)")
            continue
        for task in diff.removed:
            if task.state & LIVE:
                reasons.append(f"子流程 {subprocess.spec.name} 的当前环节 {_name(task)} 在目标版本中不存在 "
                               f"(the task it is at is not in the target)")
    return reasons


def _armed(workflow) -> list[dict]:
    return [{"timer": spec, "due_at": local_iso(due)} for _, spec, due in sorted(due_times(workflow), key=lambda t: t[2])]


def local_iso(value: str) -> str:
    return local(datetime.fromisoformat(value))


def target_of(session, target_id: int) -> ProcessVersion:
    return must_exist(session.get(ProcessVersion, target_id), f"process version {target_id} does not exist",
                      field="version_id")


def _candidates(session, target: ProcessVersion, instance_ids=None):
    query = (select(Instance, Event.number, ProcessVersion.version)
             .join(ProcessVersion, ProcessVersion.id == Instance.version_id)
             .join(Event, Event.id == Instance.event_id)
             .where(ProcessVersion.process_key == target.process_key, Instance.version_id != target.id,
                    Instance.status.in_(("running", "suspended"))).order_by(Instance.id))
    if instance_ids is not None:
        query = query.where(Instance.id.in_(instance_ids))
    return session.execute(query).all()


def dry_run(session, specs, target_id: int, instance_ids=None, redact=None) -> dict:
    """Per running or suspended instance of the process on another version: can it move, why not, and
    which armed timers keep their due times. `redact(items)` hides what the viewer may not see (a
    sensitive event's id and number: engine/accounts/privacy.py `redact_items`)."""
    target = target_of(session, target_id)
    compiled = specs.get(session, target.id)
    items = []
    for row, number, version in _candidates(session, target, instance_ids):
        workflow = _workflow(session, specs, row)
        reasons = blockers(workflow, compiled, row.status)
        items.append({"instance_id": row.id, "event_id": row.event_id, "event_number": number,
                      "from_version": version, "status": row.status, "can_move": not reasons, "reasons": reasons,
                      "at": sorted({t.task_spec.bpmn_name or t.task_spec.bpmn_id for t in
                                    workflow.get_tasks(state=TaskState.READY, manual=True)}),
                      "timers_kept": _armed(workflow)})
    if redact is not None:
        items = redact(items)
    return {"process_key": target.process_key, "target_version": target.version,
            "movable": sum(1 for i in items if i["can_move"]), "items": items,
            "note": "已启动的计时器保持原到期时间 (timers already armed keep their due times)"}


def migrate(session, instances, instance_id: int, target_id: int, actor: str, start_data=None) -> dict:
    """Move one instance (one unit of work) with the process runtime's `Instances`; Conflict with its
    reasons if it cannot move. `start_data(event)` is what an instance of the target would be started with:
    a key the instance was started without (its version, or the code of its day, did not give it) is added
    to the data of the tasks it is at, so a condition of the target that reads it finds it."""
    target = target_of(session, target_id)
    row = session.get(Instance, instance_id, with_for_update=True)
    if row is None:
        raise NotFound(f"process instance {instance_id} does not exist", field="instance_id")
    source = session.get(ProcessVersion, row.version_id)
    if source.process_key != target.process_key or row.status not in ("running", "suspended") \
            or row.version_id == target.id:
        raise Conflict(f"实例 {instance_id} 不能迁移到 {target.process_key} v{target.version} "
                       f"(not a running instance of another version of that process)", field="instance_id")
    event = session.get(Event, row.event_id)
    compiled = instances.specs.get(session, target.id)
    workflow, _old, ctx, before = instances.load(session, row, event, actor)
    reasons = blockers(workflow, compiled, row.status)
    if reasons:
        instances.cache.put(row.id, row.row_version, workflow, before)      # unchanged
        raise Conflict("；".join(reasons), field="instance_id", reasons=reasons)
    armed = {spec: due for _, spec, due in due_times(workflow)}
    top, subprocesses = _diff(workflow, compiled)

    def move():                           # re-predicting a branch may evaluate diagram code: as in any step
        workflow.script_engine.hold_timers = True      # a timer already due fires later, with its branch
        try:
            migrate_workflow(top, workflow, compiled.spec)
            workflow.subprocess_specs = compiled.subprocess_specs
            for sp_id, diff in subprocesses.items():
                if diff is not None:
                    sub = workflow.subprocesses[sp_id]
                    migrate_workflow(diff, sub, compiled.subprocess_specs[sub.spec.name])
        finally:
            workflow.script_engine.hold_timers = False
    instances._run(workflow, move)
    if start_data is not None:
        _give_missing(workflow, start_data(event))
    _restore_timers(workflow, armed)
    claims = {w.id: (w.claimed_by, w.claimed_at) for w in session.scalars(
        select(WorkItem).where(WorkItem.instance_id == row.id, WorkItem.claimed_by.is_not(None)))}
    session.execute(delete(WorkItem).where(WorkItem.instance_id == row.id))
    ctx.record("instance_migrated", {"from": source.version, "to": target.version, "by": actor,
                                     "timers_kept": [{"timer": s, "due_at": local_iso(d)} for s, d in sorted(armed.items())]})
    instances.save(session, row, workflow, compiled, event, Indexed({}, before.timers))
    session.execute(update(Instance).where(Instance.id == row.id).values(version_id=target.id))
    set_committed_value(row, "version_id", target.id)
    for task_id, (who, when) in claims.items():
        session.execute(update(WorkItem).where(WorkItem.id == task_id).values(claimed_by=who, claimed_at=when))
    return {"instance_id": row.id, "event_id": event.id, "event_number": event.number, "moved": True,
            "from_version": source.version, "to_version": target.version}


def _give_missing(workflow, data: dict) -> None:
    """Add each start-data key a task the top-level workflow is at lacks (never overwriting what it has)."""
    for task in workflow.get_tasks(state=LIVE):
        if task.workflow is workflow:
            for key, value in data.items():
                task.data.setdefault(key, value)


def _restore_timers(workflow, armed: dict) -> None:
    """Put back the due time of every timer that was armed before the move (re-predicting its branch
    cleared it, or armed it again from now), so no limit starts again."""
    for task in workflow.get_tasks(state=TaskState.WAITING | TaskState.READY):
        spec = task.task_spec.bpmn_id or task.task_spec.name
        if spec in armed and not task._get_internal_data("event_fired", False):
            task._set_internal_data(event_value=armed[spec])
