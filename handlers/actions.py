"""Audit actions and notice kinds the service-task handlers write; the engine's reports read them
(§7.3 哨单, §8.6 退回率 and 一次性处置率, §9.2 月报). Constants, so writer and readers cannot drift apart."""
from __future__ import annotations

WHISTLE_DISPATCHED = "whistle_dispatched"   # data: lead_unit, event_type …
WHISTLE_RETURNED = "whistle_returned"       # data: unit, code (return_reasons), reason, count
