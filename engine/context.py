"""What a service-task handler may use while an instance runs (one session, one clock, one event).

Handlers never import the engine's tables: they record and notify through this object.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.models import Audit, Notification


@dataclass
class RunContext:
    session: Any
    clock: Any
    catalogs: Any
    event: Any = None
    instance_id: int | None = None
    actor: str = "system"

    def now(self):
        return self.clock.now()

    def record(self, action: str, data: dict | None = None, task=None) -> None:
        """Append to the audit trail (who, when by the injected clock, which task, what data)."""
        self.session.add(Audit(
            at=self.clock.now(), actor=self.actor, action=action,
            event_id=self.event.id if self.event is not None else None, instance_id=self.instance_id,
            task_id=str(task.id) if task is not None else None,
            task_name=(task.task_spec.bpmn_name or task.task_spec.bpmn_id) if task is not None else None,
            data=data))

    def notify(self, recipient_kind: str, recipient: str, kind: str, message: str) -> None:
        self.session.add(Notification(
            at=self.clock.now(), event_id=self.event.id if self.event is not None else None,
            recipient_kind=recipient_kind, recipient=recipient, kind=kind, message=message))

    def set_lead_unit(self, unit: str) -> None:
        """The unit chosen at dispatch (派单): who sees the event from now on."""
        self.event.lead_unit = unit
