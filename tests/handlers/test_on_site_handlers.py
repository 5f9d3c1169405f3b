"""The on-site handlers alone, against a run context (tests/handlers/conftest.py): 核对到场位置 (`check_arrival`,
§8.3) and 记录核实结果 of 即知即改 (`record_on_spot`). Through Figure 1 and the API: tests/web/test_on_site.py."""
from __future__ import annotations

import pytest
from pyproj import Geod
from sqlalchemy import select

from engine.pool import registration
from engine.store.models import ArrivalCheck, Audit, Deadline, Event, Notification
from handlers.errors import InvalidParameter
from tests.engine.steps import report, start
from tests.samples import REPORT, image


def north(metres: float) -> dict:
    lng, lat, _ = Geod(ellps="WGS84").fwd(REPORT["location"]["lng"], REPORT["location"]["lat"], 0, metres)
    return {"lat": lat, "lng": lng}


def fixed_report(cmd) -> int:
    """grid1's report made as handled on the spot, with one after photo."""
    after = cmd.env.photos.check([("after.jpg", image())], "after_photos")
    event, _ = registration.report(cmd, {**REPORT, "handled_on_spot": True}, fixed={"after_photos": after})
    return event.id


def test_check_arrival_keeps_the_check_in_and_flags_a_far_one(call, read, run):
    event_id = run(report, user="grid1")
    result, _ = call("check_arrival", event_id, actor="zhifa1", location=north(1000), unit="zhifa")
    assert result["far"] is True and result["limit_m"] == 300 and abs(result["distance_m"] - 1000) < 0.5
    result, _ = call("check_arrival", event_id, actor="zhifa1", location=north(299), unit="zhifa")
    assert result["far"] is False
    rows = read(lambda cmd: [(r.unit, r.person, r.far, r.reason) for r in cmd.session.scalars(
        select(ArrivalCheck).where(ArrivalCheck.event_id == event_id).order_by(ArrivalCheck.id))])
    assert rows == [("zhifa", "zhifa1", True, "到场定位距事件位置 1000 米，超过 300 米（§8.3 到场）"),
                    ("zhifa", "zhifa1", False, "到场定位距事件位置 299 米（300 米以内）")]
    assert len(read(lambda cmd: list(cmd.session.scalars(select(Audit).where(Audit.action == "arrival_checked"))))) == 2
    for bad in ({"lat": 27.5}, "27.5,120.6", {"lat": True, "lng": 120.6}):
        with pytest.raises(InvalidParameter) as refused:
            call("check_arrival", event_id, actor="zhifa1", location=bad)
        assert refused.value.param == "location"
    unplaced = run(report, user="grid1", location={"address": "新城大道"})      # no point yet: nothing to measure
    result, _ = call("check_arrival", unplaced, actor="zhifa1", location=north(0))
    assert result == {"distance_m": None, "limit_m": 300.0, "far": False}


def test_record_on_spot_confirms_the_fix_as_the_reporters_limit_met_or_sends_it_the_normal_way(call, read, run):
    confirmed, rejected = run(fixed_report, user="grid1"), run(fixed_report, user="grid1")
    instance = run(start, confirmed, user="grid1")
    assert call("record_on_spot", confirmed, actor="staff1", instance=instance, confirmed=True)[0] is True
    event = read(lambda cmd: cmd.session.get(Event, confirmed))
    assert event.on_spot["state"] == "confirmed" and event.on_spot["verified_by"] == "staff1"
    limits = read(lambda cmd: {d.kind: d for d in cmd.session.scalars(select(Deadline).where(Deadline.event_id == confirmed))})
    assert sorted(limits) == ["community_handle", "verify"]        # the 核实's own limit (§8.1) runs on its task
    limit = limits["community_handle"]
    assert (limit.kind, limit.status, limit.met_by, limit.unit, limit.community) == \
        ("community_handle", "met", "grid1", None, "lg-xincheng")
    assert limit.started_at == limit.met_at == event.created_at and limit.due_at > limit.met_at

    assert call("record_on_spot", rejected, actor="staff1", confirmed=False, note="摊位仍在")[0] is False
    event = read(lambda cmd: cmd.session.get(Event, rejected))
    assert event.on_spot["state"] == "rejected" and event.on_spot["note"] == "摊位仍在"
    assert read(lambda cmd: list(cmd.session.scalars(select(Deadline).where(Deadline.event_id == rejected)))) == []
    told = read(lambda cmd: [(n.recipient, n.message) for n in cmd.session.scalars(
        select(Notification).where(Notification.event_id == rejected, Notification.kind == "outcome"))])
    assert told == [("grid1", f"【即知即改未通过核实】{event.number}：摊位仍在，转入常规流转（§7.1 核实）")]
    with pytest.raises(InvalidParameter) as refused:
        call("record_on_spot", rejected, actor="staff1", confirmed="yes")
    assert refused.value.param == "confirmed"
