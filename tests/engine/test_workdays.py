"""工作日 (issue #4): holidays and 调休 from chinesecalendar, later years from the catalog file, and the
`add_working_days` function that BPMN expressions can call."""
from __future__ import annotations

from datetime import datetime

from catalogs import load_catalogs
from engine.clock import SimulatedClock, parse_instant
from engine.context import RunContext
from engine.deadlines import Deadlines
from engine.scripting import EventflowScriptEngine
from engine.workdays import WorkCalendar
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
