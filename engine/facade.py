"""The engine's front door: what web/ and the CLI call. Every method takes the caller's session and
never commits (the unit of work in engine/store/uow.py does)."""
from __future__ import annotations

from datetime import timedelta, timezone

from sqlalchemy import bindparam, delete, func, select

from engine.limits import deadlines as deadlines_module
from engine.runtime import deploy as deploying
from engine.casework import administration, incidents, tasks
from engine.channels import callbacks, devices, open311
from engine.oversight import circular, hazards, spot_checks
from engine.pool import comments, duplicates, events, intake, photos
from engine.notices import inbox
from engine.accounts import permissions, privacy, user_import, users
from engine.limits import supervision, whistle_order
from engine.core.clock import local
from engine.core.errors import Conflict, Forbidden, InvalidData, NotFound
from engine.wiring import PROCESS_KEY, Environment
from engine.store.models import (Audit, Deadline, Event, Instance, Notification, PendingStart, ProcessVersion, Timer, User,
                           WorkItem)
from engine.pool.photos import PhotoStore
from engine.runtime.specs import active_version

_HAS_PROCESS = select(Instance.id).where(Instance.event_id == bindparam("event_id"))
_PENDING = select(PendingStart.event_id).where(PendingStart.event_id == bindparam("event_id")).with_for_update()
_STARTED = delete(PendingStart).where(PendingStart.event_id == bindparam("event_id"))
#: the timers the sweep may fire: those of running instances (a suspended one's wait for its resumption)
_DUE = (select(Timer.instance_id).join(Instance, Instance.id == Timer.instance_id)
        .where(Instance.status == "running"))
_WAITING = (select(PendingStart.event_id).where(PendingStart.stored_at <= bindparam("before"))
            .order_by(PendingStart.stored_at).limit(bindparam("limit")))


#: how near a report must be to an open one to be flagged, unless the settings say otherwise
DEFAULT_WINDOW = duplicates.Window()


class Runtime:
    """Being taken apart (issue #16): its methods move to domain functions of a Command."""

    def __init__(self, catalogs, registry, clock, process_key: str = PROCESS_KEY,
                 reopen_window: timedelta = timedelta(days=7), wall_clock=None,
                 duplicate_window: duplicates.Window = DEFAULT_WINDOW,
                 photos: PhotoStore | None = None, start_grace: timedelta = timedelta(seconds=60)):
        self.env = Environment(catalogs, registry, clock, wall_clock=wall_clock, photos=photos,
                               duplicate_window=duplicate_window, reopen_window=reopen_window,
                               start_grace=start_grace, process_key=process_key)

    def __getattr__(self, name):
        return getattr(self.env, name)

    @property
    def deadlines(self):
        return self.env.limits

    @property
    def duplicate_window(self) -> duplicates.Window:
        return self.env.duplicate_window

    @duplicate_window.setter
    def duplicate_window(self, window: duplicates.Window) -> None:
        self.env.duplicate_window = window

    # -- process versions -------------------------------------------------------------------------
    def deploy(self, session, bundle, actor: str):
        return deploying.deploy(session, bundle, self.catalogs, self.registry, self.clock, actor, self.env.limits)

    # -- events -----------------------------------------------------------------------------------
    def report(self, session, payload, user, idempotency_key=None) -> tuple[Event, bool]:
        """Check and store a report; (event, created). Nothing else happens in this unit: the accepted
        submission is stored before the process starts. A retry (the same Idempotency-Key, else the same
        `source_ref`, from the same user) returns the event it created, with created False."""
        ref = idempotency_key if idempotency_key is not None else (payload or {}).get("source_ref") \
            if isinstance(payload, dict) else None
        key = intake.key_for(f"user:{user.username}", ref)
        found = intake.existing(session, key)
        if found is not None:
            return found, False
        clean = events.check_report(payload, self.catalogs, user)
        event = events.register(session, clean, user.username, self.clock.now(), key=key, raw=payload)
        duplicates.flag(session, event, self.duplicate_window, self.clock.now())
        return event, True

    def report_citizen(self, session, form: dict, channel: str, idempotency_key=None) -> tuple[Event, bool]:
        """群众接报 (§5.3) through Open311 (engine/open311.py): a citizen channel's form, its API key
        already checked; (event, created). Stored without a user, in the community that holds the point;
        as with `report`, the process starts in a second unit of work."""
        event, created = open311.submit(session, self.catalogs, form, channel, self.clock.now(), idempotency_key)
        if created:
            duplicates.flag(session, event, self.duplicate_window, self.clock.now())
        return event, created

    def receive_alert(self, session, device_id, timestamp, signature, body: bytes, signature_window: int = 300,
                      repeat_window: timedelta = timedelta(minutes=30)) -> devices.Accepted:
        """智慧社区预警 (§5.4): a device's signed alert, checked against the wall clock, registered (or
        counted on the open event it repeats) by the business clock. Like `report`, nothing is started
        in this unit (engine/channels/devices.py)."""
        accepted = devices.receive(session, self.catalogs, device_id, timestamp, signature, body,
                                   now=self.clock.now(), wall_now=self.wall_clock.now(),
                                   signature_window=signature_window, repeat_window=repeat_window)
        if accepted.created:   # a device's alert may repeat a citizen's or a grid worker's report
            duplicates.flag(session, session.get(Event, accepted.event_id), self.duplicate_window, self.clock.now())
        return accepted

    def start(self, session, event_id: int, actor: str) -> Instance:
        """Start a stored event's process (the event row is locked: two starters start one)."""
        event = session.get(Event, event_id, with_for_update=True)
        if event is None:
            raise NotFound(f"event {event_id} does not exist")
        if session.scalar(_HAS_PROCESS, {"event_id": event_id}) is not None:
            raise Conflict(f"event {event.number} already has a process")
        session.execute(_STARTED, {"event_id": event_id})
        version = active_version(session, self.process_key)
        event.error = None
        return self.instances.start(session, event, version,
                                    events.initial_data(event, placement_unit=self.catalogs.city_authority()), actor)

    def event_detail(self, session, event_id: int, user, where: str = "api") -> dict:
        """The event as GET /api/events/{id} shows it, with its deadlines and their warning lights (a
        sensitive one's read is recorded: engine/accounts/privacy.py `disclose`)."""
        event = events.get_visible(session, event_id, user, self.catalogs)
        privacy.disclose(session, self.catalogs, user, event, self.clock.now(), where)
        body = events.detail(session, event)
        now = self.clock.now()
        rows = session.scalars(select(Deadline).where(Deadline.event_id == event.id).order_by(Deadline.id))
        body["deadlines"] = [deadlines_module.describe(row, self.catalogs, now) for row in rows]
        # visible warnings, e.g. a working-day deadline in a year without a holiday calendar
        body["warnings"] = sorted({row["calendar_warning"] for row in body["deadlines"] if row["calendar_warning"]})
        body["duplicate_of"] = duplicates.describe_flag(session, event, user, self.catalogs)   # for the registrar (§7.1)
        if body["duplicate_of"]:
            self.disclose_listed(session, user, [body["duplicate_of"]["id"]], where)
        body.update(duplicates.related(session, event, user, self.catalogs))
        body["callbacks"] = callbacks.of_event(session, event.id)   # signed callbacks to its channel
        body = privacy.scrub(body, privacy.linked_hidden_numbers(session, self.catalogs, user, event))
        return privacy.redact_detail(body, event, user)             # a reporter's contact, masked but for its community

    def inbox(self, session, user, after_id=None, kind=None, page=1, per_page=20):
        """The user's messages (engine/notices/inbox.py): outcomes of their reports, dispatches, warnings, 督办."""
        total, items = inbox.listing(session, user, self.catalogs, after_id, kind, page, per_page)
        self.disclose_listed(session, user, [i["event_id"] for i in items], "notifications")
        return total, items

    def circular(self, session, user, start, end) -> dict:
        """§9.1 通报 for a period as this user may read it (engine/oversight/circular.py), its sensitive reads recorded."""
        notice = circular.build(session, self.catalogs, start, end, user)
        self.disclose_listed(session, user, circular.event_ids(notice), "circular")
        return notice

    def spot_check(self, session, user, check) -> dict:
        """A §9.3 draw as this user may read it (engine/oversight/spot_checks.py), its sensitive reads recorded."""
        body = spot_checks.describe(session, check, user, self.catalogs)
        self.disclose_listed(session, user, [i.get("event_id") for i in body["items"] if not i.get("sensitive")],
                             "spot_check")
        return body

    def disclose_listed(self, session, user, event_ids, where: str) -> None:
        """A list showed what was derived from these events: the sensitive ones' reads are recorded."""
        privacy.disclose_ids(session, self.catalogs, user, event_ids, self.clock.now(), where)

    def comment(self, session, event_id: int, body, user) -> dict:
        """留言 on an event, told to whoever has its open tasks."""
        return comments.comment(session, self.catalogs, event_id, body, user, self.clock.now())

    def urge(self, session, event_id: int, body, user) -> dict:
        """催办 (§9.1) the event's open tasks."""
        return comments.urge(session, self.catalogs, event_id, body, user, self.clock.now())

    def import_users(self, session, filename, data: bytes, scrypt_n: int, actor: str = "system") -> list[dict]:
        """Staff accounts from a spreadsheet, all or none (engine/accounts/user_import.py), audited."""
        return user_import.import_users(session, self.catalogs, self.wall_clock, filename, data, scrypt_n, actor)

    def list_users(self, session) -> list[dict]:
        return [users.describe(u) for u in session.scalars(select(User).order_by(User.username))]

    def create_user(self, session, body, actor, scrypt_n: int) -> dict:
        """新建账号 (system_admin): audited; the password is the administrator's to hand over."""
        if not isinstance(body, dict):
            raise InvalidData([{"field": "(body)", "reason": "expected a JSON object"}])
        unknown = sorted(set(body) - {"username", "password", "display_name", "roles", "community", "unit",
                                      "sensitive_access"})
        if unknown:
            raise InvalidData([{"field": k, "reason": "not a field of an account"} for k in unknown])
        roles = body.get("roles")
        if not isinstance(roles, list):
            raise InvalidData([{"field": "roles", "reason": "a list of role codes"}])
        def code(name):    # "" is no code; a list or an object is refused by name (users.scope_errors)
            return None if body.get(name) in (None, "") else body[name]
        user = users.create_user(session, self.catalogs, self.wall_clock, body.get("username") or "",
                                 body.get("password") or "", roles, code("community"), code("unit"),
                                 body.get("display_name") or None, scrypt_n, bool(body.get("sensitive_access")))
        session.add(Audit(at=self.wall_clock.now(), actor=actor.username, action="user_created",
                          data={"user": user.username, "roles": user.roles, "community": user.community,
                                "unit": user.unit}))
        return users.describe(user)

    def update_user(self, session, user_id: int, changes, actor, scrypt_n: int) -> dict:
        return users.describe(users.update_user(session, self.catalogs, self.wall_clock, user_id, changes, actor,
                                                scrypt_n))

    def whistle_order(self, session, event_id: int, user) -> dict:
        """哨单 (§7.3): the printable whistle order (404 until the event has been whistled)."""
        order = whistle_order.build(session, self.catalogs, event_id, user)
        privacy.disclose(session, self.catalogs, user, session.get(Event, event_id), self.clock.now(), "whistle_order")
        return order

    def diagram(self, session, event_id: int, user) -> tuple[str, list[str]]:
        """(BPMN XML, ids of the open tasks in it): the diagram of the event's process version that holds
        its current task (Figure 1 itself while it is in event_flow), for the bpmn-js viewer."""
        event = events.get_visible(session, event_id, user, self.catalogs)
        privacy.disclose(session, self.catalogs, user, event, self.clock.now(), "diagram")
        row = session.scalar(select(Instance).where(Instance.event_id == event.id).order_by(Instance.id.desc()))
        if row is None:
            raise NotFound(f"event {event.number} has no process")
        version = session.get(ProcessVersion, row.version_id)
        open_ids = [w.spec_name for w in session.scalars(select(WorkItem).where(WorkItem.event_id == event.id))]
        files = {path: text for path, text in sorted(version.files.items()) if path.endswith(".bpmn")}
        for _path, text in files.items():
            marked = [i for i in open_ids if f'id="{i}"' in text]
            if marked:
                return text, marked
        top = next((t for t in files.values() if f'id="{version.process_key}"' in t), next(iter(files.values())))
        return top, []

    def map_data(self, session, event_id: int, user) -> dict:
        """GeoJSON of the event's community boundary and its point (WGS-84), for the event page's map."""
        event = events.get_visible(session, event_id, user, self.catalogs)
        privacy.disclose(session, self.catalogs, user, event, self.clock.now(), "map")
        features = [f for f in self.catalogs.get("communities")["features"]
                    if f["properties"]["code"] == event.community]
        boundary = [{"type": "Feature", "geometry": f["geometry"],
                     "properties": {"kind": "community", "name": f["properties"].get("name")}} for f in features]
        point = [] if event.lat is None else [{"type": "Feature", "geometry": {"type": "Point",
                                                                                  "coordinates": [event.lng, event.lat]},
                                               "properties": {"kind": "event", "name": event.number}}]
        return {"type": "FeatureCollection", "features": boundary + point}

    # -- §9.1 supervision, §8.4 extensions --------------------------------------------------------
    def supervision(self, session, user, filters) -> list[dict]:
        items = supervision.list_supervision(session, user, self.catalogs, filters)
        self.disclose_listed(session, user, [i["event_id"] for i in items], "supervision")
        return items

    def request_extension(self, session, deadline_id: int, body: dict, user) -> dict:
        return supervision.describe_request(
            supervision.request_extension(session, self.catalogs, self.clock, deadline_id, body, user))

    def extension_requests(self, session, user, status=None) -> list[dict]:
        items = supervision.list_requests(session, user, self.catalogs, status)
        self.disclose_listed(session, user, [i["event_id"] for i in items], "extension_requests")
        return items

    def decide_extension(self, session, request_id: int, body: dict, user) -> dict:
        row = supervision.decide(session, self.catalogs, self.clock, self.instances, request_id, body, user)
        return supervision.shown_request(session, self.catalogs, user, row)

    # -- instance administration: 挂起, 恢复, 终止 (engine/casework/administration.py) ---------------------------
    def suspend(self, session, event_id: int, reason, user) -> Event:
        return administration.suspend(session, self, event_id, _reason(reason), user)

    def resume(self, session, event_id: int, reason, user) -> Event:
        return administration.resume(session, self, event_id, _reason(reason), user)

    def terminate(self, session, event_id: int, reason, user) -> Event:
        return administration.terminate(session, self, event_id, _reason(reason), user)

    def _running(self, session, event: Event) -> Instance:
        row = session.scalar(select(Instance).where(Instance.event_id == event.id,
                                                    Instance.status.in_(("running", "suspended")))
                             .order_by(Instance.id.desc()))
        if row is None:
            raise Conflict(f"事件 {event.number} 没有进行中的流程 (the event has no running process)")
        return row

    def _locked(self, session, event_id: int, user) -> Event:
        """The event, visible to the user, with its row locked until commit (PostgreSQL FOR UPDATE;
        SQLite serializes writers with BEGIN IMMEDIATE): two withdrawals or reopens cannot both pass
        their status check."""
        event = events.get_visible(session, event_id, user, self.catalogs)
        session.execute(select(Event.id).where(Event.id == event.id).with_for_update())
        session.refresh(event)
        return event

    def withdraw(self, session, event_id: int, reason: str, user) -> Event:
        """撤单 (§7.1): the source takes its report back before closure. A BPMN message: the process's
        withdraw boundary event cancels all open work and timers and ends the event as `withdrawn`."""
        event = self._locked(session, event_id, user)
        if not permissions.may_speak_for_source(user, event):
            raise Forbidden("只有上报人或本社区干部可以撤单 (only the reporter or the community's staff may withdraw)")
        if event.status != "open":
            raise Conflict(f"事件 {event.number} 状态为「{events.STATUS_WORDS.get(event.status, event.status)}」，不能撤单",
                           event_status=event.status)
        reason = _reason(reason)
        self._end_by_message(session, event, "withdraw", {"reason": reason, "by": user.username}, user,
                             "流程当前不接受撤单 (the process does not accept a withdrawal now)", "withdrawn",
                             lambda item: f"事件 {event.number} 已撤单，「{item.title}」无需再办：{reason}")
        return event

    def _end_by_message(self, session, event, message: str, payload: dict, user, refused: str, kind: str, words):
        """Send the BPMN message that ends the event's running process (撤单, 合并); 409 `refused` if
        nothing in it waits for the message. Whoever had open work on it hears that it is gone."""
        row = self._running(session, event)
        cancelled = self.open_work(session, event.id)
        if not self.instances.send_message(session, row, event, message, payload, user.username):
            raise Conflict(refused)
        for item in cancelled:
            session.add(Notification(at=self.clock.now(), event_id=event.id, recipient_kind=item.assignee_kind,
                                     recipient=getattr(item, item.assignee_kind), kind=kind, message=words(item)))

    def reopen(self, session, event_id: int, reason: str, user) -> Event:
        """重启: a closed event comes back to analysis (研判) within the reopen window — a repeat
        complaint about the same matter. It starts a new instance of the active version with
        `reopened` true (the BPMN routes it past 核实), and counts against the first-time rate (§8.6)."""
        event = self._locked(session, event_id, user)
        if not permissions.may_speak_for_source(user, event):
            raise Forbidden("只有上报人或本社区干部可以重启事件 (only the reporter or the community's staff may reopen)")
        if event.status != "closed" or event.closed_at is None:
            raise Conflict(f"只有已办结的事件可以重启 (only a closed event can be reopened; it is {event.status})",
                           event_status=event.status)
        closed_at = event.closed_at if event.closed_at.tzinfo else event.closed_at.replace(tzinfo=timezone.utc)
        if self.clock.now() > closed_at + self.reopen_window:
            raise Conflict(f"已超过重启期限（办结后 {self.reopen_window.days} 天）(the reopen window has passed)",
                           closed_at=local(closed_at))
        reason = _reason(reason)
        event.status, event.closed_at, event.status_reason, event.lead_unit = "open", None, None, None
        event.reopen_count = (event.reopen_count or 0) + 1
        session.add(Audit(at=self.clock.now(), actor=user.username, action="reopened", event_id=event.id,
                          data={"reason": reason, "count": event.reopen_count}))
        version = active_version(session, self.process_key)
        self.instances.start(session, event, version, events.initial_data(event, reopened=True), user.username)
        return event

    def merge(self, session, event_id: int, body, user) -> Event:
        """合并 (§5, §7.1): the registrar merges a repeated report into the open event of the same matter.
        A BPMN message `merge` ends the duplicate's process (its open work and timers are cancelled, its
        source is told); from then on the survivor's outcomes reach the merged report's source too."""
        event = self._locked(session, event_id, user)
        survivor, reason = duplicates.check_merge(session, event, body, user, self.catalogs)
        payload = {"into": survivor.id, "into_number": survivor.number, "reason": reason, "by": user.username}
        self._end_by_message(session, event, "merge", payload, user,
                             "流程当前不接受合并 (the process does not accept a merge now)", "merged",
                             lambda item: f"事件 {event.number} 已并入 {survivor.number} 办理，「{item.title}」无需再办")
        duplicates.merged(session, event, survivor, reason, user, self.clock.now())
        return event

    def dismiss_duplicate(self, session, event_id: int, body, user) -> Event:
        """不是重复: the registrar clears a duplicate flag, with the reason."""
        event = self._locked(session, event_id, user)
        duplicates.dismiss(session, event, (body or {}).get("reason") if isinstance(body, dict) else None, user,
                           self.clock.now())
        return event

    def restart(self, session, event_id: int, user) -> Event:
        """重新启动: an administrator starts the process of a stored event whose start was refused (status
        `error`: e.g. no version was deployed then). Nothing changes if it is refused again."""
        event = events.get_visible(session, event_id, user, self.catalogs)
        if event.status != "error" or session.scalar(_HAS_PROCESS, {"event_id": event_id}) is not None:
            raise Conflict(f"事件 {event.number} 不是启动失败的事件 (only an event whose process failed to start)",
                           event_status=event.status)
        event.status, event.stage = "open", "登记"
        session.add(Audit(at=self.clock.now(), actor=user.username, action="process_restarted", event_id=event.id,
                          data={"error": event.error}))
        self.start(session, event_id, user.username)
        return event

    def start_pending(self, session, event_id: int, actor: str) -> Instance | None:
        """Start the process of a stored submission still waiting for it: right after storing it, on a
        retry of it, or from the sweep after the app stopped in between. None if it waits no more."""
        if session.scalar(_PENDING, {"event_id": event_id}) is None:
            return None
        return self.start(session, event_id, actor)

    def pending_starts(self, session, stored_before, limit: int = 100) -> list[int]:
        """Submissions stored before `stored_before` whose process never started, oldest first."""
        return list(session.scalars(_WAITING, {"before": stored_before, "limit": limit}))

    def mark_failed_start(self, session, event_id: int, message: str) -> None:
        """The process could not start: the event stays in the pool marked `error`, for an administrator
        (the sweep does not try again)."""
        event = session.get(Event, event_id)
        event.status, event.error, event.stage = "error", message, ""
        session.execute(_STARTED, {"event_id": event_id})

    # -- photos: 实时照片 §7.1, before/after §8.5 ----------------------------------------------------
    def check_photos(self, uploads, field: str) -> list[photos.Checked]:
        """Decode every upload ((filename, bytes) pairs) before anything is stored; InvalidData names
        each bad one (`photos.1`)."""
        return self.photos.check(uploads, field)

    def add_photos(self, session, event_id: int, checked, user) -> list[dict]:
        """Store checked photos for an event the user may see (once per event and content)."""
        event = events.get_visible(session, event_id, user, self.catalogs)
        return [photos.describe(row, event.id) for row in self._store_photos(session, event, checked, user)]

    def attach_report_photos(self, session, event: Event, checked, user) -> None:
        """The photos sent with a report, stored in the report's own unit of work: the event's `photos`
        list holds their keys."""
        rows = self._store_photos(session, event, checked, user)
        event.photos = list(dict.fromkeys([*(event.photos or []), *(row.sha256 for row in rows)]))

    def _store_photos(self, session, event: Event, checked, user):
        rows = self.photos.store(session, event, checked, user.username, self.clock.now())
        session.add(Audit(at=self.clock.now(), actor=user.username, action="photos_added", event_id=event.id,
                          data={"photos": [{"key": r.sha256, "flags": list(r.flags or [])} for r in rows]}))
        return rows

    def photo_file(self, session, event_id: int, key: str, user, where: str = "api_photo") -> tuple[str, bytes]:
        """(content type, bytes) of a stored photo, only for a user who may see the event (404 otherwise)."""
        event = events.get_visible(session, event_id, user, self.catalogs)
        privacy.disclose(session, self.catalogs, user, event, self.clock.now(), where)
        row = photos.find(session, event, key)
        return row.content_type, self.photos.read(row)

    # -- tasks ------------------------------------------------------------------------------------
    def tasks_for(self, session, user) -> list[dict]:
        return tasks.ready_for(session, user, self.catalogs, self.specs)

    def events_of(self, session, ids, user) -> dict[int, dict]:
        """Summaries of the events behind a user's tasks (they see each one through its task)."""
        rows = list(session.scalars(select(Event).where(Event.id.in_(set(ids))))) if ids else []
        for event in rows:
            privacy.disclose(session, self.catalogs, user, event, self.clock.now(), "tasks")
        return {e.id: events.summary(e) for e in rows}

    def search_events(self, session, user, filters: dict, page: int, per_page: int, where: str = "api_list"):
        """(total, summaries) of the events the user may see that match the filters (engine/pool/events.py)."""
        total, rows = events.search(session, user, self.catalogs, filters, page, per_page)
        for event in rows:
            privacy.disclose(session, self.catalogs, user, event, self.clock.now(), where)
        return total, [events.summary(e) for e in rows]

    def claim(self, session, task_id: str, user) -> dict:
        """认领 a ready task (the clock runs on)."""
        item = tasks.claim(session, user, self.catalogs, task_id, self.clock.now())
        return {"task_id": item.id, "claimed_by": item.claimed_by, "claimed_at": local(item.claimed_at)}

    def release(self, session, task_id: str, user) -> dict:
        """取消认领: back to everyone who may do it."""
        item = tasks.release(session, user, self.catalogs, task_id, self.clock.now())
        return {"task_id": item.id, "claimed_by": None, "claimed_at": None}

    def done_work(self, session, user) -> list[dict]:
        """已办: what the user completed, newest first."""
        return tasks.done_by(session, user, self.catalogs)

    def my_work(self, session, user) -> list[dict]:
        """待办: the user's ready tasks, each with the deadline that runs on it and its light."""
        return tasks.with_deadlines(session, tasks.ready_for(session, user, self.catalogs, self.specs),
                                    self.catalogs, self.clock.now())

    def task_detail(self, session, task_id: str, user, where: str = "api_task") -> dict:
        """One ready task with its form and what the worker needs to see: the task's process data
        (the order to work on, earlier answers for a rework 重办, co-departments' parts to consolidate)."""
        item, row, event = tasks.find_work(session, user, self.catalogs, task_id)
        privacy.disclose(session, self.catalogs, user, event, self.clock.now(), where)
        compiled = self.specs.get(session, row.version_id)
        body = tasks.describe(item, event, compiled.resolved_form(item.form, self.catalogs),
                              row.status == "suspended")
        body["data"] = self.instances.task_data(session, row, event, task_id)
        return body

    def complete(self, session, task_id: str, data, user) -> dict:
        item, row, event = tasks.find_work(session, user, self.catalogs, task_id)
        tasks.not_claimed_by_another(item, user)
        compiled = self.specs.get(session, row.version_id)
        clean = tasks.check_data(item, compiled, self.catalogs, data, event=event, session=session)
        try:
            done = self.instances.complete_task(session, row, event, task_id, clean, user.username)
        except incidents.STEP_FAILURES as err:   # 409, the task stays ready, an incident opens (issue #15)
            raise incidents.task_failure(err, item, row, event, clean, user.username, self.catalogs) from err
        if done is None:
            raise Conflict("该任务已办理或已撤销 (the task is no longer ready)", task_id=task_id)
        incidents.resolve_task(session, task_id, user.username, self.clock.now())
        return {"task_id": task_id, "event_id": event.id, "event_status": event.status, "stage": event.stage}

    # -- incidents: 流程异常 (engine/casework/incidents.py) ---------------------------------------------------------
    def record_incident(self, session, failure) -> int:
        """Open (or count again) the incident of a failed step, in a unit of its own; its id."""
        return incidents.record(session, failure, self.clock.now()).id

    def list_incidents(self, session, user, filters: dict) -> list[dict]:
        return incidents.listing(session, user, self.catalogs, filters)

    def retry_incident(self, session, incident_id: int, user) -> dict:
        """重试: the failed step again; StepFailed (409) if it fails again."""
        incidents.retry(session, self, incident_id, user)
        return incidents.one(session, incident_id, user, self.catalogs)

    # -- timers -----------------------------------------------------------------------------------
    def due_instance_ids(self, session, limit: int = 500) -> list[int]:
        """Instances with a due timer, earliest first, those whose handler failed after the others.
        Reads only the due rows through the due_at index (no GROUP BY, which lets a planner scan the
        whole table), so its cost does not grow with the number of open instances (bench/sweep.py)."""
        now = self.clock.now()
        healthy = session.scalars(_DUE.where(Timer.due_at <= now, Timer.last_error.is_(None))
                                  .order_by(Timer.due_at).limit(limit * 4))
        ids = list(dict.fromkeys(healthy))[:limit]
        if len(ids) < limit:  # failed ones are retried after the healthy, never ahead of them, and not at
            # all while an incident holds them (a diagram's failure: retried by an administrator, issue #15)
            failed = session.scalars(_DUE.where(Timer.due_at <= now, Timer.last_error.is_not(None),
                                                Timer.instance_id.not_in(incidents.held_instances()))
                                     .order_by(Timer.due_at).limit(limit * 4))
            ids = list(dict.fromkeys([*ids, *failed]))[:limit]
        return ids

    def next_due(self, session):
        """The earliest moment the sweep has work: a timer that has not failed (failed ones are retried
        by every sweep, but must not hold back the timers behind them) or a warning (预警) to send."""
        times = [session.scalar(select(func.min(Timer.due_at)).join(Instance, Instance.id == Timer.instance_id)
                                .where(Timer.last_error.is_(None), Instance.status == "running")),
                 self.deadlines.next_warning(session)]
        times = [t if t.tzinfo else t.replace(tzinfo=timezone.utc) for t in times if t is not None]
        return min(times) if times else None

    def recompute_deadlines(self, session) -> int:
        """After the working calendar was edited: pending working-day deadlines move with it."""
        moved = self.deadlines.recompute(session, lambda event_id: session.get(Event, event_id),
                                         lambda row, event, due: self.instances.rearm(session, row, event, due))
        for row in moved:
            session.add(Audit(at=self.clock.now(), actor="system", action="deadline_recomputed", event_id=row.event_id,
                              data={"kind": row.kind, "due_at": local(row.due_at),
                                    "calendar_warning": row.calendar_warning}))
        return len(moved)

    def send_warnings(self, session) -> int:
        """黄灯预警 for every pending deadline past its warning share (rows locked: each warning once)."""
        now = self.clock.now()
        rows = self.deadlines.due_warnings(session, now)
        for row in rows:
            self.deadlines.warn(session, row, now, session.get(Event, row.event_id))
        return len(rows)

    def check_hazards(self, session) -> dict | None:
        """§9.2 hazard-point reminders and flags (engine/oversight/hazards.py), once per day of the clock."""
        today = self.clock.now().astimezone(timezone(timedelta(hours=8))).date()
        if getattr(self, "_hazards_checked", None) == today:
            return None
        done = hazards.remind_and_flag(session, self.catalogs, self.deadlines.calendar, self.clock.now())
        self._hazards_checked = today
        return done

    def fire(self, session, instance_id: int) -> list[str]:
        """Fire what fell due on one instance. The timer rows are locked (PostgreSQL: FOR UPDATE SKIP
        LOCKED), so when several app nodes sweep at once each timer fires once."""
        claimed = session.execute(select(Timer.id, Timer.last_error).where(Timer.instance_id == instance_id,
                                                                           Timer.due_at <= self.clock.now())
                                  .with_for_update(skip_locked=True)).all()
        row = session.get(Instance, instance_id)
        if not claimed or row.status != "running":   # a suspended instance's timers wait (issue #4)
            return []
        event = session.get(Event, row.event_id)
        fired = self.instances.fire_timers(session, row, event)
        if any(error for _, error in claimed):       # a failed one fired after all: its incident is resolved
            incidents.resolve_timers(session, instance_id, self.clock.now())
        return fired

    def record_timer_error(self, session, instance_id: int, message: str, error=None) -> None:
        """The sweep could not fire an instance's due timers: the error is kept on them, and a failure of
        the diagram's step (not, say, of the database) opens an incident, which holds them until retried."""
        due = list(session.scalars(select(Timer).where(Timer.instance_id == instance_id,
                                                       Timer.due_at <= self.clock.now())))
        for timer in due:
            timer.last_error = message[:2000]
        if isinstance(error, incidents.STEP_FAILURES) and due:
            row = session.get(Instance, instance_id)
            failure = incidents.timer_failure(error, row, session.get(Event, row.event_id),
                                              [t.spec_name for t in due], self.catalogs)
            incidents.record(session, failure, self.clock.now())

    def open_work(self, session, event_id: int) -> list[WorkItem]:
        return list(session.scalars(select(WorkItem).where(WorkItem.event_id == event_id)))


def _reason(value) -> str:
    if not isinstance(value, str) or len(value.strip()) < 2:
        raise InvalidData([{"field": "reason", "reason": "请说明理由，至少2个字 (a reason of at least 2 characters)"}])
    return value.strip()[:2000]
