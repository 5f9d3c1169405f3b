"""工作日 (issue #4): holidays and 调休 from chinesecalendar, later years from the catalog file, and the
`add_working_days` function that BPMN expressions can call."""
from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta

import pytest

from catalogs import load_catalogs
from catalogs.loader import DATA_DIR
from engine.core.clock import SHANGHAI, SimulatedClock, parse_instant
from engine.casework.run_context import RunContext
from engine.limits.deadlines import DeadlineError, Deadlines
from engine.runtime.scripting import EventflowScriptEngine
from engine.limits.workdays import WorkCalendar
from handlers.registry import default_registry


def calendar(years=None):
    data = load_catalogs().calendar()
    data["years"].update(years or {})
    return WorkCalendar(data)


def test_the_start_day_is_not_counted_and_the_deadline_is_the_close_of_office_hours():
    due = calendar().add_working_days(datetime.fromisoformat("2026-11-23T08:00:00+08:00"), 1)   # a Monday
    assert due.isoformat() == "2026-11-24T17:30:00+08:00"


def test_a_make_up_saturday_counts_and_the_holiday_week_does_not():
    cal = calendar()
    assert cal.is_working_day(datetime(2026, 10, 10).date())          # 调休 Saturday
    assert not cal.is_working_day(datetime(2026, 10, 5).date())       # National Day week, a Monday
    assert cal.add_working_days(datetime.fromisoformat("2026-09-30T12:00:00+08:00"), 3).isoformat() \
        == "2026-10-10T17:30:00+08:00"


def test_a_year_from_the_catalog_file_replaces_weekends_only_counting():
    plain = calendar()
    assert plain.add_working_days(datetime.fromisoformat("2026-12-31T10:00:00+08:00"), 1).isoformat() \
        == "2027-01-01T17:30:00+08:00" and plain.uncovered_years == {2027}
    edited = calendar({"2027": {"holidays": ["2027-01-01"], "workdays": ["2027-01-09"]}})
    assert edited.add_working_days(datetime.fromisoformat("2026-12-31T10:00:00+08:00"), 1).isoformat() \
        == "2027-01-04T17:30:00+08:00"
    assert edited.is_working_day(datetime(2027, 1, 9).date()) and edited.uncovered_years == set()


def test_add_working_days_is_callable_from_a_diagram_expression():
    catalogs = load_catalogs()
    ctx = RunContext(session=None, clock=SimulatedClock(parse_instant("2026-10-08T09:00:00+08:00")), catalogs=catalogs)
    engine = EventflowScriptEngine(ctx, default_registry(), Deadlines(catalogs))

    class Task:
        data = {"declared": "2026-09-30T16:00:00+08:00"}
    assert engine.evaluate(Task(), "add_working_days(declared, 5)") == "2026-10-13T17:30:00+08:00"


# -- working time (工作时间): office hours on working days, for a kind whose basis is "working" --------
def at(text):
    return datetime.fromisoformat(text)


def test_working_time_inside_office_hours_is_plain_addition():
    assert calendar().add_working_time(at("2026-11-23T09:00:00+08:00"), timedelta(hours=2)).isoformat() \
        == "2026-11-23T11:00:00+08:00"


def test_working_time_left_at_the_close_carries_over_the_weekend_to_the_next_opening():
    # Friday 16:30: one hour today (to 17:30), the other hour from Monday 08:30
    assert calendar().add_working_time(at("2026-11-20T16:30:00+08:00"), timedelta(hours=2)).isoformat() \
        == "2026-11-23T09:30:00+08:00"


def test_working_time_asked_out_of_hours_counts_from_the_next_opening():
    cal = calendar()
    assert cal.add_working_time(at("2026-11-23T06:00:00+08:00"), timedelta(minutes=30)).isoformat() \
        == "2026-11-23T09:00:00+08:00"                                  # before opening: from 08:30
    assert cal.add_working_time(at("2026-11-23T20:00:00+08:00"), timedelta(minutes=30)).isoformat() \
        == "2026-11-24T09:00:00+08:00"                                  # after the close: from tomorrow
    assert cal.add_working_time(at("2026-11-23T17:00:00+08:00"), timedelta(minutes=30)).isoformat() \
        == "2026-11-23T17:30:00+08:00"                                  # exactly the rest of the day


def test_working_time_skips_the_national_day_holiday_and_counts_the_make_up_saturday():
    # 2026-09-30 (Wed) 17:00 + 1 h: half an hour that day, then 1–7 October are off, 8 October is worked
    assert calendar().add_working_time(at("2026-09-30T17:00:00+08:00"), timedelta(hours=1)).isoformat() \
        == "2026-10-08T09:00:00+08:00"
    # Friday 9 October 17:00 + 1 h: Saturday 10 October is a 调休 working day
    assert calendar().add_working_time(at("2026-10-09T17:00:00+08:00"), timedelta(hours=1)).isoformat() \
        == "2026-10-10T09:00:00+08:00"


def test_a_working_time_kind_reads_its_limit_in_office_hours_and_refuses_mixed_days_and_hours(tmp_path):
    edited = tmp_path / "catalogs"
    shutil.copytree(DATA_DIR, edited)
    kinds = json.loads((edited / "deadline_kinds.json").read_text(encoding="utf-8"))
    for kind in kinds:
        if kind["code"] == "accept":
            kind["basis"] = "working"                   # an administrator's setting, not the diagram's
    (edited / "deadline_kinds.json").write_text(json.dumps(kinds, ensure_ascii=False), encoding="utf-8")
    deadlines = Deadlines(load_catalogs(edited))
    due, basis, rule, warning = deadlines.compute("accept", "PT30M", at("2026-11-20T17:20:00+08:00"))
    assert (due.astimezone(SHANGHAI).isoformat(), basis, rule, warning) == \
        ("2026-11-23T08:50:00+08:00", "working", "PT30M", None)   # 10 min on Friday, 20 on Monday
    with pytest.raises(DeadlineError) as err:
        deadlines.compute("accept", "P1DT2H", at("2026-11-20T17:20:00+08:00"))
    assert "P<n>D" in str(err.value) and "PT<h>H<m>M" in str(err.value) and "P1DT2H" in str(err.value)


def test_an_hour_limit_in_natural_time_ignores_office_hours():
    due, basis, _, _ = Deadlines(load_catalogs()).compute("accept", "PT30M", at("2026-11-20T17:20:00+08:00"))
    assert basis == "natural" and due.astimezone(SHANGHAI).isoformat() == "2026-11-20T17:50:00+08:00"


# -- what a suspension covered (engine/casework/administration.py moves a working-time limit by it) -----------
def test_working_time_between_counts_office_hours_on_working_days_only():
    at, cal = datetime.fromisoformat, calendar()
    # Fri 2026-10-09 16:30 → Sun 10-11 12:00: Friday 16:30–17:30, and Saturday 10-10 (调休, a working day)
    assert cal.working_time_between(at("2026-10-09T16:30:00+08:00"), at("2026-10-11T12:00:00+08:00")) \
        == timedelta(hours=10)
    # within one morning, and a night with nothing in it
    assert cal.working_time_between(at("2026-10-12T09:00:00+08:00"), at("2026-10-12T10:15:00+08:00")) \
        == timedelta(minutes=75)
    assert cal.working_time_between(at("2026-10-12T18:00:00+08:00"), at("2026-10-13T08:30:00+08:00")) \
        == timedelta(0)
    # the National Day holiday counts nothing (Thu 10-01 to Wed 10-07)
    assert cal.working_time_between(at("2026-09-30T17:30:00+08:00"), at("2026-10-08T08:30:00+08:00")) \
        == timedelta(0)


def test_a_suspension_moves_a_working_limit_by_office_time_and_a_natural_one_by_its_length():
    deadlines = Deadlines(load_catalogs())
    at = datetime.fromisoformat
    due, began, now = at("2026-10-14T17:30:00+08:00"), at("2026-10-09T16:30:00+08:00"), at("2026-10-11T12:00:00+08:00")
    assert deadlines.moved("working", due, began, now) == at("2026-10-16T09:30:00+08:00")
    assert deadlines.moved("natural", due, began, now) == due + (now - began)
    # a suspension over a weekend night covers no office time: a working limit does not move
    assert deadlines.moved("working", due, at("2026-10-17T18:00:00+08:00"), at("2026-10-18T20:00:00+08:00")) == due
