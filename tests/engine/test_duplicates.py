"""Duplicates across channels (issue #5, §5, §7.1): which open event a new report is flagged against.
Real app and databases; distances on the WGS-84 ellipsoid (pyproj); the clock is the simulated one."""
from __future__ import annotations

import pytest

from engine.pool.location import distance_m

#: about 100 m / 300 m north of the client's REPORT point (27.52, 120.60), still in lg-xincheng
NEAR, FAR = 0.0009, 0.0027


def at(lat_offset=0.0, **changes):
    return {"location": {"lat": 27.52 + lat_offset, "lng": 120.60, "address": "龙港市新城大道 88 号"}, **changes}


def test_distance_is_geodesic_metres():
    assert distance_m(27.52, 120.60, 27.52, 120.60) == 0
    assert distance_m(27.52, 120.60, 27.52 + NEAR, 120.60) == pytest.approx(99.7, abs=0.5)
    # a degree of longitude is shorter than a degree of latitude at 27.5°N
    assert distance_m(27.52, 120.60, 27.52, 120.601) == pytest.approx(98.8, abs=0.5)


def test_a_report_of_the_same_type_near_an_open_event_is_flagged(api):
    first = api.report(**at())
    again = api.report(description="门口有人摆摊，挡住人行道", **at(NEAR))
    assert again["duplicate_of_id"] == first["id"]
    flag = api.event(again["id"])["duplicate_of"]
    assert flag["number"] == first["number"] and flag["distance_m"] == pytest.approx(99.7, abs=0.5)
    assert [d["number"] for d in api.event(first["id"])["suspected_duplicates"]] == [again["number"]]
    assert first["duplicate_of_id"] is None and api.event(first["id"])["duplicate_of"] is None


@pytest.mark.parametrize("changes", [at(FAR), {**at(), "type_code": "A06"}], ids=["300 m away", "another type"])
def test_farther_than_the_radius_or_of_another_type_is_not_flagged(api, changes):
    api.report(**at())
    assert api.report(**changes)["duplicate_of_id"] is None


def test_only_open_events_within_the_time_window_count(api):
    old = api.report(**at())
    api.advance("PT25H")                       # the default window is 24 hours
    fresh = api.report(**at(-NEAR))
    assert fresh["duplicate_of_id"] is None and old["status"] == "open"
    withdrawn = api.report(**at(NEAR / 2))
    assert withdrawn["duplicate_of_id"] == fresh["id"]
    api.withdraw("grid1", withdrawn["id"])
    later = api.report(**at(NEAR / 2))          # the withdrawn one no longer counts; the 25-hour-old one neither
    assert later["duplicate_of_id"] == fresh["id"]


def test_the_nearest_open_event_is_named(api):
    far = api.report(**at(NEAR * 1.5))
    near = api.report(**at(NEAR * 0.5))
    assert near["duplicate_of_id"] == far["id"]   # within 200 m of each other
    third = api.report(**at(NEAR * 0.4))
    assert third["duplicate_of_id"] == near["id"]


def test_the_radius_and_window_are_settings(app, api):
    from engine.core.config import Settings
    from web.services import Services
    settings = Settings.from_env(env={"EVENTFLOW_DUPLICATE_RADIUS_M": "50", "EVENTFLOW_DUPLICATE_WINDOW_H": "2"})
    window = Services.build(settings.__class__(**{**settings.__dict__, "database_url": "sqlite://"})).runtime \
        .duplicate_window
    assert (window.radius_m, window.within.total_seconds()) == (50, 7200)
    app.extensions["eventflow"].runtime.duplicate_window = window
    api.report(**at())
    assert api.report(**at(NEAR))["duplicate_of_id"] is None
    assert api.report(**at(0.0003))["duplicate_of_id"] is not None
