"""The engine's long-lived parts, built once per app (web/services.py) or per job: the catalogs, the
clocks, the process runtime wired to the domain through its hooks (engine/runtime/hooks.py), and the
settings domain operations read. Operations get it as `cmd.env` (engine/core/command.py)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from engine.casework.run_context import RunContext
from engine.core.command import Command
from engine.core.config import Settings
from engine.jobs import periodic
from engine.limits.deadlines import Deadlines
from engine.pool import events
from engine.pool.duplicates import Window
from engine.pool.photos import PhotoStore
from engine.runtime.hooks import Hooks
from engine.runtime.instances import InstanceCache, Instances
from engine.runtime.specs import SpecCache

#: the top-level process every event runs (processes/community_event.bpmn)
PROCESS_KEY = "community_event"


@dataclass
class Environment:
    catalogs: Any
    registry: Any
    clock: Any
    #: sessions and tokens expire by the wall clock even when business time is simulated; web/ injects
    #: it (nothing below web/ reads the wall clock itself)
    wall_clock: Any = None
    #: the media directory and photo limits (engine/pool/photos.py)
    photos: PhotoStore | None = None
    #: how near a new report must be to an open one to be flagged (engine/pool/duplicates.py); also used
    #: when an address-only report is placed (分拨) inside its process
    duplicate_window: Window = field(default_factory=Window)
    #: how long after closure its source may reopen an event (重启)
    reopen_window: timedelta = timedelta(days=7)
    #: how many times a 不满意 回访 reopens an event (重新办理; engine/casework/revisits.py)
    revisit_reopens: int = 1
    #: §8.3 到场: a check-in further than this many metres from the event is flagged (engine/casework/arrivals.py)
    arrival_far_m: float = 300
    #: how long a stored submission may wait for its process before the sweep starts it
    start_grace: timedelta = timedelta(seconds=60)
    process_key: str = PROCESS_KEY
    #: the app's address, for links in notices sent outside it (engine/notices/delivery.py)
    public_url: str = "http://127.0.0.1:5000"
    #: hosts inside the network a person's own notice channel may still name (engine/notices/channel_edits.py)
    own_channel_hosts: frozenset = frozenset()
    #: 导出任务 (engine/exports/jobs.py): how long a built file is kept, and how long one may stay 工作中
    export_keep: timedelta = timedelta(days=7)
    export_stale: timedelta = timedelta(minutes=30)
    specs: SpecCache = field(default_factory=SpecCache)
    #: the periodic work beside the timer sweep (engine/jobs.py), this environment's own
    jobs: list = field(default_factory=periodic)

    def __post_init__(self):
        if self.wall_clock is None:
            self.wall_clock = self.clock
        if self.photos is None:
            self.photos = PhotoStore.from_settings(Settings())
        #: the §8 time limits the timers carry (engine/limits/deadlines.py)
        self.limits = Deadlines(self.catalogs)
        self.instances = Instances(self.specs, self.registry, self.catalogs, self.clock,
                                   Hooks(run_context=self._run_context, limits=self.limits,
                                         initial_data=events.initial_data), InstanceCache())

    def _run_context(self, **parts) -> RunContext:
        return RunContext(duplicate_window=self.duplicate_window, revisit_reopens=self.revisit_reopens,
                          arrival_far_m=self.arrival_far_m, limits=self.limits, **parts)

    def command(self, session, user=None) -> Command:
        return Command(session, self, user)
