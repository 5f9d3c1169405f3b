"""工作日 — working days for the limits of §8 counted in working time (e.g. §8.3: 5 working days).

Public holidays and make-up working days (调休) come from the chinesecalendar package for the years it
covers, and from the administrator-edited catalog file (catalogs/data/calendar.json) for later years; a
year listed in the file replaces the package's data. A year found in neither is counted on weekends
only, and every such use is remembered so the API and the log can show a warning.

Rules (issue #4), in Asia/Shanghai:
- working days (`P5D`): the start day is not counted; the deadline is the close of office hours on the
  n-th working day after it;
- working time (`PT2H`, `PT30M`): only office hours on working days count; a start outside them counts
  from the next opening, and time left at a day's close carries over to the next working day's opening.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta

import chinese_calendar

from engine.core.clock import SHANGHAI

log = logging.getLogger(__name__)


def _first_and_last_covered_year() -> tuple[int, int]:
    years = sorted({d.year for d in chinese_calendar.holidays} | {d.year for d in chinese_calendar.workdays})
    return years[0], years[-1]


PACKAGE_YEARS = _first_and_last_covered_year()


class WorkCalendar:
    def __init__(self, calendar: dict):
        """`calendar` is the catalog's `calendar` (office hours and extra years)."""
        start, end = calendar["office_hours"]["start"], calendar["office_hours"]["end"]
        self.office_open = time.fromisoformat(start)
        self.office_close = time.fromisoformat(end)
        self._extra = {int(year): ({date.fromisoformat(d) for d in days["holidays"]},
                                   {date.fromisoformat(d) for d in days["workdays"]})
                       for year, days in calendar["years"].items()}
        #: years a deadline was computed in without holiday data (weekends only)
        self.uncovered_years: set[int] = set()

    def covers(self, year: int) -> bool:
        return year in self._extra or PACKAGE_YEARS[0] <= year <= PACKAGE_YEARS[1]

    def is_working_day(self, day: date) -> bool:
        if day.year in self._extra:
            holidays, workdays = self._extra[day.year]
            if day in holidays:
                return False
            if day in workdays:
                return True
            return day.weekday() < 5
        if self.covers(day.year):
            return chinese_calendar.is_workday(day)
        if day.year not in self.uncovered_years:
            self.uncovered_years.add(day.year)
            log.warning("no holiday calendar for %s: working days counted on weekends only; add the year to "
                        "catalogs/data/calendar.json", day.year)
        return day.weekday() < 5

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The close of office hours on the `days`-th working day after `start`'s day (not counted)."""
        if days < 1:
            raise ValueError("a working-day limit counts at least one day")
        day = start.astimezone(SHANGHAI).date()
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return datetime.combine(day, self.office_close, tzinfo=SHANGHAI)

    def add_working_time(self, start: datetime, amount: timedelta) -> datetime:
        """`start` plus `amount` of office time on working days (e.g. 2 working hours asked at 16:30 on a
        Friday fall due at 09:30 on the next working day)."""
        if amount <= timedelta(0):
            raise ValueError("a working-time limit counts more than no time")
        at = start.astimezone(SHANGHAI)
        left = amount
        while True:
            opening = datetime.combine(at.date(), self.office_open, tzinfo=SHANGHAI)
            closing = datetime.combine(at.date(), self.office_close, tzinfo=SHANGHAI)
            if self.is_working_day(at.date()) and at < closing:
                at = max(at, opening)
                if left <= closing - at:
                    return at + left
                left -= closing - at
            next_day = at.date() + timedelta(days=1)
            at = datetime.combine(next_day, self.office_open, tzinfo=SHANGHAI)

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """The office time on working days between two instants: what a working-time limit would have
        used of a span (a suspension moves such a limit by this much, engine/casework/administration.py)."""
        total = timedelta(0)
        begin, finish = start.astimezone(SHANGHAI), end.astimezone(SHANGHAI)
        day = begin.date()
        while day <= finish.date():
            if self.is_working_day(day):
                opening = max(begin, datetime.combine(day, self.office_open, tzinfo=SHANGHAI))
                closing = min(finish, datetime.combine(day, self.office_close, tzinfo=SHANGHAI))
                if closing > opening:
                    total += closing - opening
            day += timedelta(days=1)
        return total

    def years_without_data(self, start: datetime, end: datetime) -> list[int]:
        """The years between two instants that have no holiday data (for warnings on a deadline)."""
        first, last = start.astimezone(SHANGHAI).year, end.astimezone(SHANGHAI).year
        return [year for year in range(first, last + 1) if not self.covers(year)]
