"""The built-in handlers, run by the real engine through the HTTP API (no stand-ins)."""
from __future__ import annotations

from sqlalchemy import select

from engine.models import Notification


def notifications(app):
    svc = app.extensions["eventflow"]
    return svc.read(lambda s: [(n.recipient_kind, n.recipient, n.kind) for n in s.scalars(select(Notification))])


def test_dispatch_whistle_sets_the_lead_unit_and_tells_it(app, api):
    event = api.report()
    api.whistle_to(event["id"], department="shijian.xincheng_scjgs")
    assert api.event(event["id"])["lead_unit"] == "shijian.xincheng_scjgs"
    assert ("unit", "shijian.xincheng_scjgs", "whistle_dispatched") in notifications(app)
    assert api.tasks("shijian1", event["id"])          # the 市监局 above the office sees it


def test_record_overdue_tells_the_units_supervisor(app, api):
    event = api.report()
    api.whistle_to(event["id"], department="zhifa")
    api.advance("PT31M")
    assert ("unit", "zhifa", "overdue") in notifications(app)
    overdue = [a for a in api.event(event["id"])["timeline"] if a["action"] == "overdue"]
    assert overdue[0]["data"] == {"stage": "accept", "limit": "PT30M", "unit": "zhifa"}


def test_notify_source_tells_the_reporter_the_outcome(app, api):
    event = api.report("grid1")
    api.complete("staff1", event["id"], "verify", {"in_jurisdiction": True, "is_valid": True})
    api.complete("staff1", event["id"], "analyse", {"can_self_handle": True})
    api.complete("stationed1", event["id"], "handle_locally", {"result_summary": "已处理"})
    api.complete("staff1", event["id"], "check", {"passed": True})
    assert ("person", "grid1", "outcome") in notifications(app)
