"""Duplicates across channels (issue #5, §5, §7.1): which open event a new report is flagged against.
Engine functions on both databases (no app): engine/pool/duplicates.py flags a report as events.register
stores it; distances on the WGS-84 ellipsoid (pyproj); the clock is the simulated one."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.core.config import Settings
from engine.pool import duplicates
from engine.pool.location import distance_m
from engine.store.models import Event
from tests.engine.steps import report, reported_and_started, send

#: about 100 m / 300 m north of the client's REPORT point (27.52, 120.60), still in lg-xincheng
NEAR, FAR = 0.0009, 0.0027


def at(lat_offset=0.0, **changes):
    return {"location": {"lat": 27.52 + lat_offset, "lng": 120.60, "address": "龙港市新城大道 88 号"}, **changes}


def test_distance_is_geodesic_metres():
    assert distance_m(27.52, 120.60, 27.52, 120.60) == 0
    assert distance_m(27.52, 120.60, 27.52 + NEAR, 120.60) == pytest.approx(99.7, abs=0.5)
    # a degree of longitude is shorter than a degree of latitude at 27.5°N
    assert distance_m(27.52, 120.60, 27.52, 120.601) == pytest.approx(98.8, abs=0.5)


def flagged(run, user="grid1", **changes):
    """The id of the open event a new report was flagged against (None: not flagged)."""
    return run(lambda cmd: cmd.session.get(Event, report(cmd, **changes)).duplicate_of_id, user=user)


def duplicate_of(read, event_id):
    return read(lambda cmd: cmd.session.get(Event, event_id).duplicate_of_id)


def seen_by(read, event_id, user="staff1") -> dict:
    """What the registrar sees of the flag on an event, and of the reports flagged against it (§7.1)."""
    def look(cmd):
        event = cmd.session.get(Event, event_id)
        return {"duplicate_of": duplicates.describe_flag(cmd.session, event, cmd.user, cmd.catalogs),
                **duplicates.related(cmd.session, event, cmd.user, cmd.catalogs)}
    return read(look, user=user)


def number(read, event_id) -> str:
    return read(lambda cmd: cmd.session.get(Event, event_id).number)


def test_a_report_of_the_same_type_near_an_open_event_is_flagged(run, read):
    first = run(report, user="grid1", **at())
    again = run(report, user="grid1", description="门口有人摆摊，挡住人行道", **at(NEAR))
    assert duplicate_of(read, again) == first
    flag = seen_by(read, again)["duplicate_of"]
    assert flag["number"] == number(read, first) and flag["distance_m"] == pytest.approx(99.7, abs=0.5)
    assert [d["number"] for d in seen_by(read, first)["suspected_duplicates"]] == [number(read, again)]
    assert seen_by(read, first)["duplicate_of"] is None


@pytest.mark.parametrize("changes", [at(FAR), {**at(), "type_code": "A06"}], ids=["300 m away", "another type"])
def test_farther_than_the_radius_or_of_another_type_is_not_flagged(run, changes):
    run(report, user="grid1", **at())
    assert flagged(run, **changes) is None


def test_only_open_events_within_the_time_window_count(run, read, clock):
    old = run(report, user="grid1", **at())
    clock.set(clock.now() + timedelta(hours=25))      # the default window is 24 hours
    fresh = run(report, user="grid1", **at(-NEAR))
    assert duplicate_of(read, fresh) is None
    assert read(lambda cmd: cmd.session.get(Event, old).status) == "open"
    withdrawn = reported_and_started(run, **at(NEAR / 2))
    assert duplicate_of(read, withdrawn) == fresh
    assert run(send, withdrawn, "withdraw", {"reason": "问题已自行解决", "by": "grid1"}, user="grid1")   # 撤单
    assert read(lambda cmd: cmd.session.get(Event, withdrawn).status) == "withdrawn"
    assert flagged(run, **at(NEAR / 2)) == fresh    # the withdrawn one no longer counts; the 25-hour-old one neither


def test_the_nearest_open_event_is_named(run, read):
    far = run(report, user="grid1", **at(NEAR * 1.5))
    near = run(report, user="grid1", **at(NEAR * 0.5))
    assert duplicate_of(read, near) == far             # within 200 m of each other
    assert flagged(run, **at(NEAR * 0.4)) == near


def test_the_radius_and_window_are_settings(env, run):
    settings = Settings.from_env(env={"EVENTFLOW_DUPLICATE_RADIUS_M": "50", "EVENTFLOW_DUPLICATE_WINDOW_H": "2"})
    assert (settings.duplicate_radius_m, settings.duplicate_window_hours) == (50, 2)
    env.duplicate_window = duplicates.Window(50, timedelta(hours=2))
    run(report, user="grid1", **at())
    assert flagged(run, **at(NEAR)) is None
    assert flagged(run, **at(0.0003)) is not None
