"""What a service-task handler may use while an instance runs (one session, one clock, one event).

Handlers never import the engine's tables: they record and notify through this object. What they
record (audit rows, parties) is collected here and stored by the engine's save, in one batched statement
per table, inside the same unit of work (engine/runtime/instances.py `save`); a notice goes through the
outbox's one `notify` at once (engine/notices/outbox.py), in the same unit of work.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from engine.casework import arrivals, on_spot, revisits
from engine.channels import callbacks
from engine.pool.duplicates import flag, followers
from engine.core.errors import InvalidData
from handlers.errors import InvalidParameter
from engine.pool.events import add_parties, register_transfer
from engine.pool.intake import locate
from engine.store.models import Audit, User
from engine.notices import outbox


_AUDITS = Audit.__table__.insert()


@dataclass
class RunContext:
    session: Any
    clock: Any
    catalogs: Any
    event: Any = None
    instance_id: int | None = None
    actor: str = "system"
    #: the version's user-task metadata (assignee rules), for deadlines to name who must act
    task_meta: dict | None = None
    #: events this step created that need their own process started (转办), by the engine after the step
    pending_starts: list = field(default_factory=list)
    #: the data this step's event starts again with, in a new instance, once this one has ended (重新办理
    #: after a 不满意 回访: engine/casework/revisits.py); None: it does not
    restart: dict | None = None
    #: how many times a 不满意 回访 may reopen an event (EVENTFLOW_REVISIT_REOPENS)
    revisit_reopens: int = 1
    #: §8.3 到场: a check-in further than this many metres from the event is flagged (EVENTFLOW_ARRIVAL_FAR_M)
    arrival_far_m: float = 300
    #: the §8 time limits (engine/limits/deadlines.py): what a limit met outside a timer is computed with (即知即改)
    limits: Any = None
    #: a deadline was armed in this step (engine/limits/deadlines.py): its records are reconciled after it
    armed: bool = False
    #: engine/pool/duplicates.py's window: a report placed in this step (分拨) is checked for duplicates too
    duplicate_window: Any = None
    #: the instance was made in this step, its first (engine/runtime/instances.py `start`): no record refers to it
    #: yet, so its deadline records are not read (none can exist: they name it, and it is not committed)
    new_instance: bool = False
    #: the instance's deadline records, read once per step (engine/limits/deadlines.py `rows`)
    deadline_rows: list | None = None
    #: the reports merged into the event, read once per step
    _followers: list | None = None
    #: rows written by this step, stored in batches by `write` (the engine's save calls it)
    audits: list = field(default_factory=list)
    parties: set = field(default_factory=set)
    #: parties the event is known to have already (the completed task's own assignee, stored when its work item
    #: was: event_party rows are never removed), not written again
    stored_parties: frozenset = frozenset()

    def now(self):
        return self.clock.now()

    def record(self, action: str, data: dict | None = None, task=None) -> None:
        """Append to the audit trail (who, when by the injected clock, which task, what data). The task's id
        is kept for a person's task only (a completion is found by it, 已办 links it); a step of the diagram's
        own is named, not numbered: its id leads nowhere once the process ends (bytes per closed event)."""
        self.audits.append(dict(
            at=self.clock.now(), actor=self.actor, action=action,
            event_id=self.event.id if self.event is not None else None, instance_id=self.instance_id,
            task_id=str(task.id) if task is not None and task.task_spec.manual else None,
            task_name=(task.task_spec.bpmn_name or task.task_spec.bpmn_id) if task is not None else None,
            data=data))

    def recorded(self, action: str, **match) -> bool:
        """Has this instance already recorded `action` with these data values (e.g. the same overdue)?"""
        where = [Audit.instance_id == self.instance_id, Audit.action == action]
        if self.event is not None:      # the event's rows, by its index (not every row of the action)
            where.append(Audit.event_id == self.event.id)
        stored = self.session.scalars(select(Audit.data).where(*where))
        this_step = [row["data"] for row in self.audits if row["action"] == action]
        return any(all((data or {}).get(k) == v for k, v in match.items()) for data in [*stored, *this_step])

    def notify(self, recipient_kind: str, recipient: str, kind: str, message: str, **options) -> None:
        """Tell someone through the outbox (`outbox.notify`: `clause`, `rung`, `duty_copy` as options)."""
        outbox.notify(self.session, self.catalogs, self.clock.now(), self.event.id if self.event is not None else None,
                      recipient_kind, recipient, kind, message, **options)

    def write(self) -> None:
        """Store what this step recorded and involved: one batched INSERT per table, in the order it was
        recorded. Called by the engine's save; safe to call again (the lists empty)."""
        if self.audits:
            if self.event is not None:     # a channel that follows every stage hears it (engine/channels/callbacks.py)
                for row in self.audits:
                    if row["event_id"] == self.event.id:
                        callbacks.enqueue_stage(self.session, self.catalogs, self.event, row["action"], row["data"],
                                                row["task_name"], row["at"])
            self.session.connection().execute(_AUDITS, self.audits)
        if self.parties - self.stored_parties:
            add_parties(self.session, self.event.id, sorted(self.parties - self.stored_parties))
        self.audits, self.parties = [], set()

    def set_lead_unit(self, unit: str) -> None:
        """The unit chosen at dispatch (派单): who sees the event from now on."""
        self.event.lead_unit = unit

    def set_status_reason(self, reason: str | None) -> None:
        """Why the event ends as it does (不予受理、退回、撤单 reasons), shown with its status (§7.1)."""
        if reason:
            self.event.status_reason = str(reason)[:2000]

    def involve(self, kind: str, value: str) -> None:
        """A unit or person given work on the event keeps seeing it (idempotent)."""
        self.parties.add((kind, str(value)))

    def merged_reports(self) -> list:
        """The reports merged into this event (engine/pool/duplicates.py): they hear its outcome too."""
        if self.event is None:
            return []
        if self._followers is None:
            self._followers = followers(self.session, self.event.id)
        return self._followers

    def call_back(self, outcome: str, words: str, reason=None) -> None:
        """A signed callback of the outcome to the event's channel, and to the channels of the reports
        merged into it, where they have a callback endpoint (engine/channels/callbacks.py; sent after commit)."""
        now = self.clock.now()
        callbacks.enqueue(self.session, self.event, outcome, words, reason, now, catalogs=self.catalogs)
        for report in self.merged_reports():
            callbacks.enqueue(self.session, report, outcome, words, reason, now, merged_into=self.event,
                              catalogs=self.catalogs, result_of=self.event)

    def place(self, lat, lng, crs: str, address: str | None, task=None) -> str:
        """分拨定位 (§7.1): put an address-only event on the map. The point is converted to WGS-84 and the
        community whose area holds it owns the event (audited when it changes pool); a point in no
        community raises InvalidParameter on `lat` (the engine answers 422 naming the form field)."""
        try:
            location, community = locate({"lat": lat, "lng": lng, "crs": crs,
                                          "address": address or self.event.address}, self.catalogs)
        except (InvalidData, TypeError, ValueError) as err:
            reason = err.details["errors"][0]["reason"] if isinstance(err, InvalidData) else "应为数字 (a number)"
            raise InvalidParameter("lat", reason) from None
        event, before = self.event, self.event.community
        event.lat, event.lng, event.address = location["lat"], location["lng"], location["address"]
        event.received_crs, event.community = location["crs"], community
        self.record("placed", {"lat": location["lat"], "lng": location["lng"], "address": location["address"],
                               "crs": crs, "community": community, "from_community": before}, task=task)
        if before is not None and before != community:
            self.record("jurisdiction_routed", {"sent_to": before, "community": community,
                                                "reason": "事发地属该社区辖区 (§7.1 属地: the location lies in this community)"})
        if self.duplicate_window is not None:   # now that it has a place, it may repeat an open report
            flag(self.session, event, self.duplicate_window, self.clock.now())
        return community

    def transfer(self, community: str, reason: str):
        """转办 (§7.1): register a linked event in `community`'s pool; its process starts after this
        step, in the same unit of work."""
        new = register_transfer(self.session, self.event, community, reason, self.actor, self.clock.now())
        self.pending_starts.append(new)
        return new

    # -- 回访 (engine/casework/revisits.py) ---------------------------------------------------------------
    def plan_revisit(self, task) -> dict:
        """安排回访: a 回访 opens when the called process closed the event and its reporter can be asked."""
        return revisits.plan(self, task)

    def record_revisit(self, task) -> dict:
        """记录回访结果: the 回访's answers kept; whether its 不满意 reopens the event."""
        return revisits.record(self, task)

    def reopen(self, task, reason) -> dict:
        """重新办理: the event opens again, in a new instance started after this step (back to 研判)."""
        return revisits.reopen(self, task, reason)

    # -- on site (§8.3 到场, 即知即改) ---------------------------------------------------------------------------
    def check_arrival(self, task, location, unit=None) -> dict:
        """核对到场位置: the check-in against the event's location, kept and flagged when far (engine/casework/arrivals.py)."""
        return arrivals.check(self, task, location, unit)

    def verify_on_spot(self, task, confirmed, note=None) -> bool:
        """记录核实结果 of a report made as handled on the spot (engine/casework/on_spot.py): True when confirmed."""
        return on_spot.verify(self, task, confirmed, note)

    def can_be_assigned(self, role: str, unit: str | None = None, person: str | None = None,
                        community: str | None = None) -> bool:
        """Is there an active user who could do a task of `role` given to this unit (or a unit above
        it) or to this person, within `community` when one is named? A task nobody can see would keep
        the event open forever."""
        for user in self.session.scalars(select(User).where(User.active.is_(True))):
            if role not in (user.roles or []) or (community and user.community != community):
                continue
            if person is not None and user.username == person:
                return True
            if unit is not None and user.unit and self.catalogs.is_within(unit, user.unit):
                return True
        return False
