"""Everything a request needs, built once per app: settings, database, catalogs, clock, runtime."""
from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from catalogs import load_catalogs
from engine.accounts import catalog_edits, sign_in, users
from engine.casework import incidents, lifecycle, process_versions
from engine.store import clock_state, locks, uow
from engine.pool import duplicates, reading
from engine.core.clock import SimulatedClock, SystemClock, parse_instant
from engine.core.config import Settings
from engine.store.db import ONE_READ, has_table, make_engine, make_session_factory
from engine.limits import deadlines, escalation
from engine.core.errors import EventflowError, StepFailed, Unauthorized
from engine.pool.photos import PhotoStore
from engine.runtime import sweep
from engine.store.wakeups import Wakeups
from engine.wiring import Environment
from handlers.registry import default_registry

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    db: object
    session_factory: object
    catalogs: object
    clock: object
    #: the engine's long-lived parts (engine/wiring.py); operations get them as `cmd.env`
    env: Environment
    #: the newest catalog revision this node has loaded (engine/accounts/catalog_edits.py), and when it last looked
    catalog_revision: int | None = None
    catalogs_checked: float = 0.0
    #: per thread, the session a request's token check opened for the request's first unit of work
    _opened: threading.local = field(default_factory=threading.local, repr=False)
    #: wakes this process's live streams when work or a message is committed on any node (engine/store/wakeups.py)
    wakeups: Wakeups | None = None

    @classmethod
    def build(cls, settings: Settings | None = None, registry=None) -> "Services":
        settings = settings or Settings.from_env()
        from engine.oversight.assessment import parse_required, parse_weights
        try:
            parse_weights(settings.assessment_weights)          # a bad setting stops the start, not a page
        except ValueError as err:
            raise ValueError(f"EVENTFLOW_ASSESSMENT_WEIGHTS: {err}") from None
        try:
            parse_required(settings.assessment_requires)
        except ValueError as err:
            raise ValueError(f"EVENTFLOW_ASSESSMENT_REQUIRES: {err}") from None
        db = make_engine(settings.database_url)
        factory = make_session_factory(db)
        catalogs, revision = load_catalogs(settings.catalog_dir), None
        if has_table(db, "catalog_revision"):   # catalogs edited in the app replace their files
            catalogs, revision = uow.read(factory, lambda s: (catalog_edits.load(s, settings.catalog_dir),
                                                              catalog_edits.newest_id(s)))
        clock = cls._clock(settings, db, factory)
        env = Environment(catalogs, registry or default_registry(), clock, wall_clock=SystemClock(),
                          photos=PhotoStore.from_settings(settings),
                          duplicate_window=duplicates.Window(settings.duplicate_radius_m,
                                                             timedelta(hours=settings.duplicate_window_hours)),
                          reopen_window=timedelta(days=settings.reopen_window_days),
                          revisit_reopens=settings.revisit_reopens,
                          arrival_far_m=settings.arrival_far_m,
                          start_grace=timedelta(seconds=settings.start_grace_seconds),
                          public_url=settings.public_url,
                          own_channel_hosts=frozenset(h.strip() for h in settings.own_channel_hosts.split(",")
                                                      if h.strip()),
                          export_keep=timedelta(days=settings.export_keep_days),
                          export_stale=timedelta(minutes=settings.export_stale_minutes))
        return cls(settings, db, factory, catalogs, clock, env, catalog_revision=revision,
                   catalogs_checked=time.monotonic(),
                   wakeups=Wakeups(db, factory, poll_seconds=settings.live_poll_ms / 1000))

    def command(self, session, user=None):
        """The command context (engine/core/command.py) of one operation in this unit of work."""
        return self.env.command(session, user)

    def refresh_catalogs(self, force: bool = False) -> bool:
        """Take on catalogs another app node saved (at most every EVENTFLOW_CATALOG_REFRESH_S seconds,
        one indexed read). True when they changed."""
        now = time.monotonic()
        if not force and now - self.catalogs_checked < self.settings.catalog_refresh_seconds:
            return False
        self.catalogs_checked = now
        newest = uow.read_if_ready(self.session_factory, catalog_edits.newest_id, default=False)
        if newest is False:   # no tables yet (before `eventflow init-db`): the files are what there is
            return False
        if newest == self.catalog_revision:
            return False
        new = self.read(lambda s: catalog_edits.load(s, self.settings.catalog_dir))
        self.catalogs.replace_with(new)
        self.catalog_revision = newest
        return True

    def edit_catalog(self, edit) -> dict:
        """A catalog edit (engine/accounts/catalog_edits.py) in one unit of work; once committed this node uses the
        new catalogs at once, pending working-day deadlines move with an edited calendar, and the rungs waiting
        after a miss with an edited escalation ladder."""
        row, new = self.run(edit)
        if row is None:
            return {"revision": None, "changed": False}
        self.catalogs.replace_with(new)
        self.catalog_revision = row.id          # what this node loaded (a later edit elsewhere is picked up)
        moved = self.run(lambda s: deadlines.move_with_calendar(self.command(s))) if row.name == "calendar" else 0
        rescheduled = self.run(lambda s: escalation.resync(self.command(s))) if row.name == "escalation" else 0
        return {"revision": row.id, "changed": True, "summary": row.summary, "deadlines_moved": moved,
                "escalations_rescheduled": rescheduled}

    @staticmethod
    def _clock(settings, db, factory):
        if settings.clock == "system":
            return SystemClock()
        start = parse_instant(settings.sim_start) if settings.sim_start else SystemClock().now()
        saved = clock_state.saved(db, factory)     # a restarted app keeps simulated time
        if saved is not None and saved > start:
            start = saved
        return SimulatedClock(start)

    def save_clock(self, session) -> None:
        clock_state.save(session, self.clock.now())

    def sync_clock(self) -> None:
        """A simulated clock takes on the time saved in the database if it is later: every process on the
        database — the gunicorn workers, `eventflow worker`, other nodes — shares one simulated time (the
        clock_state row; web/__init__.py reads it before each request). Nothing under the system clock."""
        if self.clock.simulated:
            saved = clock_state.newest(self.session_factory)
            if saved is not None:
                self.clock.follow(saved)

    @contextmanager
    def holding_clock(self, wait: bool = True):
        """Under a simulated clock, hold the shared clock (engine/store/locks.py: across processes) at its
        saved time: yields False at once when `wait` is False and an advance holds it. Under the system
        clock, True (nothing to hold)."""
        if not self.clock.simulated:
            yield True
            return
        with locks.exclusive(self.db, locks.CLOCK, wait) as held:
            if held:
                self.sync_clock()
            yield held

    def advance_clock(self, target) -> sweep.SweepResult:
        """Move the shared simulated clock to `target(now)`, firing every timer and job at its due time on
        the way (engine/runtime/sweep.py `advance`), and save the time for every process. One advance at a
        time on the database; the worker's sweep waits for it, so what fell due is fired, and reported, here."""
        with self.holding_clock():
            result = sweep.advance(self.session_factory, self.env, target(self.clock.now()))
            self.run(self.save_clock)
        return result

    def sweep(self) -> sweep.SweepResult:
        """One timer sweep with its jobs (`eventflow worker`, every EVENTFLOW_SWEEP_INTERVAL seconds). Under a
        simulated clock it runs at the shared time, and not while an advance holds the clock (that advance
        fires what falls due)."""
        with self.holding_clock(wait=False) as held:
            return sweep.sweep(self.session_factory, self.env) if held else sweep.SweepResult()

    def next_due_at(self):
        """When the sweep next has work (engine/runtime/sweep.py `next_due`): the earliest timer, or a job's
        next due time — a yellow warning, a rung of the escalation ladder that fires hours after a miss —,
        for the worker's next sweep; None under a simulated clock, whose time moves only when advanced."""
        if self.clock.simulated:
            return None
        return self.read(lambda s: sweep.next_due(self.command(s)))

    def run(self, fn):
        """One unit of work (commit once, retried on a concurrent save)."""
        return uow.run(self._session, fn)

    def read(self, fn):
        return uow.read(self._session, fn)

    def sign_in(self, username: str, password: str, address: str | None):
        """(token, expires) for a right name and password, throttled per client (engine/accounts/sign_in.py): the
        throttle and the password checked in a read, then a short write that issues the token or keeps the refusal
        (Unauthorized, 401, raised once kept); TooManyAttempts (429) while the client is refused."""
        settings, clock, client = self.settings, self.env.wall_clock, sign_in.client_key(address)
        throttle = sign_in.Throttle(settings.sign_in_window_seconds, settings.sign_in_per_account,
                                    settings.sign_in_per_client)
        checked = self.read(lambda s: sign_in.check(s, clock, username, password, client, throttle, settings.scrypt_n))
        found = self.run(lambda s: sign_in.settle(s, clock, username, client, checked, throttle,
                                                  settings.token_ttl_seconds))
        if isinstance(found, Unauthorized):   # the refusal, kept by the unit's commit
            raise found
        return found

    def authenticate(self, token: str):
        """The bearer token's user (401 if none). On PostgreSQL the check begins the request's unit of
        work: the request's first unit (`run`, `read`, `store_submission`) goes on in its session and
        transaction, so checking the token costs one statement and no round trips of its own
        (bench/latency.py). On SQLite, whose writers take the lock at BEGIN, it is a read of its own: its one
        SELECT, its own transaction, on a connection without a BEGIN or an ORM session (those took half the check:
        bench/peer.py's floor)."""
        if self.db.dialect.name != "postgresql":
            with self.db.connect().execution_options(**{ONE_READ: True}) as connection:   # no lock, no BEGIN
                return users.authenticate(connection, self.env.wall_clock, token)
        self.end_request()
        session = self.session_factory()
        try:
            user = users.authenticate(session, self.env.wall_clock, token)
        except BaseException:
            session.close()
            raise
        self._opened.session = session
        return user

    def _session(self):
        """The session the request's token check opened, once; else a new one."""
        session = getattr(self._opened, "session", None)
        if session is None:
            return self.session_factory()
        self._opened.session = None
        return session

    def end_request(self) -> None:
        """Close the session a token check opened if no unit of work took it (the request failed first, or
        needed none)."""
        session = getattr(self._opened, "session", None)
        if session is not None:
            self._opened.session = None
            session.close()

    def run_step(self, fn):
        """A unit of work that takes a process step (completing a task, retrying an incident). If the step
        fails (StepFailed, 409) its unit is rolled back — the task stays ready — and its incident is opened,
        or counted again, in a unit of its own (engine/casework/incidents.py); the answer names the incident."""
        try:
            return self.run(fn)
        except StepFailed as err:
            err.details["incident_id"] = self.run(lambda s, failure=err: incidents.record_failure(self.command(s), failure))
            log.warning("incident %s: %s", err.details["incident_id"], err.message)
            raise

    def view_event(self, event_id: int, user, where: str = "api") -> dict:
        """The event as the user sees it (a read); a sensitive one's view is then audited in a write of
        its own, so an ordinary view never takes the write lock."""
        return self.read(lambda s: reading.event_detail(self.command(s, user), event_id, where))

    def migrate_instances(self, target_id: int, instance_ids, actor: str, progress=None) -> list[dict]:
        """Move instances to a version, each in its own unit of work (engine/runtime/instance_migration.py); one that cannot
        move is reported with its reasons and left as it was. `progress(done, total)` after each."""
        results = []
        for done, instance_id in enumerate(instance_ids, start=1):
            try:
                results.append(self.run(lambda s, i=instance_id: process_versions.migrate(self.command(s), i, target_id, actor)))
            except EventflowError as err:
                results.append({"instance_id": instance_id, "moved": False,
                                "reasons": err.details.get("reasons") or [err.message]})
            if progress is not None:
                progress(done, len(instance_ids))
        return results

    def run_unique(self, fn):
        """A unit of work that stores a row under a unique key: racing units meet at its index, the loser runs
        again and finds what the winner stored (engine/store/uow.py `run_unique`)."""
        return uow.run_unique(self._session, fn)

    def store_submission(self, store):
        """Store a submission of any source in its own unit of work, committed before anything else
        happens. Two racing retries with one idempotency key meet at its unique index: the loser runs
        again and finds what the winner stored."""
        return self.run_unique(store)

    def start_process(self, event_id: int, actor: str, answer=None):
        """Start a stored submission's process in a second unit, if it still waits for one (a retry of a
        submission whose first attempt stopped after storing it starts it too). If the process refuses
        to start (no version deployed, a handler's error), the event stays in the pool marked `error` for
        an administrator. Anything else (the database went away) leaves it waiting: the sweep starts it
        after a grace period (engine/runtime/sweep.py).

        `answer(session)`, if given, is read in the start's own unit once the process has started there, and
        returned (one unit fewer for the reporter's answer); None when this call started nothing or failed, or
        the answer failed (the caller reads it in a unit of its own then, and meets the failure there): a failed
        answer never undoes the start, nor is taken for its failure (engine/store/uow.py `read_after`)."""
        def start(session):
            if lifecycle.start_pending(self.command(session), event_id, actor) is None or answer is None:
                return None
            return uow.read_after(session, answer, f"event {event_id}'s answer")
        try:
            return self.run(start)
        except EventflowError as err:
            message = err.message
            self.run(lambda s: lifecycle.mark_failed_start(self.command(s), event_id, message))
        except Exception:  # noqa: BLE001 - the submission is stored; its start is retried by the sweep
            log.exception("event %s: process not started; the sweep will start it", event_id)
