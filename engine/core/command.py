"""The command context: what one domain operation runs with (the part Camunda's CommandContext plays).

A web view or a job opens one unit of work (engine/store/uow.py) and hands the operation a `Command`: the
session of that unit, the engine's long-lived parts (`env`: catalogs, clocks, the process runtime; built
once by engine/wiring.py) and the user it acts for. Domain functions take it as their first argument
(`lifecycle.withdraw(cmd, event_id, reason)`) and never commit: the unit of work does, once.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Command:
    session: Any
    env: Any
    #: who the operation acts for (engine/accounts/users.py `Principal`); None for the system's own jobs
    user: Any = None

    @property
    def catalogs(self):
        return self.env.catalogs

    @property
    def clock(self):
        return self.env.clock

    def now(self):
        """Business time: the injected clock (simulated in the demo and the tests)."""
        return self.env.clock.now()

    @property
    def actor(self) -> str:
        return self.user.username if self.user is not None else "system"
