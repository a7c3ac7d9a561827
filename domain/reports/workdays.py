"""Working-day arithmetic over many cases at once: a running count per day, built once.

The reports count working days for thousands of cases. Asking the authority's calendar day by
day (a bank-holiday table lookup each) would cost seconds; this index asks once per day of the
span it covers, keeps the running count of working days, and answers each question with two
list lookups. It counts exactly as :class:`domain.calendar.WorkingDayCounting` does: day 0 is
the start's own date, day N the Nth working day after it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping
from datetime import date, timedelta

from domain.calendar import WorkingDayCounting
from domain.procedure import Procedure


class WorkingDayIndex:
    """One calendar's working days over whole years, extended as dates ask for more."""

    def __init__(self, calendar: WorkingDayCounting) -> None:
        self._calendar = calendar
        self._years: tuple[int, int] | None = None  # the years covered, both included
        self._first = date(2000, 1, 1)
        self._running: list[int] = []  # working days in [first, first + i]
        self._working: list[bool] = []

    def _cover(self, first_year: int, last_year: int) -> None:
        """Count every day from a month before ``first_year`` to a month after ``last_year``."""
        if self._years is not None:
            first_year = min(first_year, self._years[0])
            last_year = max(last_year, self._years[1])
        first, last = date(first_year - 1, 12, 1), date(last_year + 1, 1, 31)
        running, working, count, day = [], [], 0, first
        while day <= last:
            works = self._calendar.is_working_day(day)
            count += works
            running.append(count)
            working.append(works)
            day += timedelta(days=1)
        self._years = (first_year, last_year)
        self._first, self._running, self._working = first, running, working

    def _ensure(self, *days: date) -> None:
        low, high = min(d.year for d in days), max(d.year for d in days)
        if self._years is None or low < self._years[0] or high > self._years[1]:
            self._cover(low, high)

    def _at(self, day: date) -> int:
        self._ensure(day)
        return (day - self._first).days

    def is_working_day(self, day: date) -> bool:
        offset = self._at(day)  # first: it may extend (replace) the lists
        return self._working[offset]

    def between(self, start: date, end: date) -> int:
        """The working-day number of ``end`` counted from ``start`` as day 0 (negative before
        it), as :meth:`WorkingDayCounting.working_days_between` counts."""
        self._ensure(start, end)  # both covered before either offset is taken
        i, j = (start - self._first).days, (end - self._first).days
        if j >= i:
            return self._running[j] - self._running[i]
        return -(self._running[i - 1] - self._running[j - 1])

    def add(self, start: date, n: int) -> date:
        """Day ``n`` (0 or more) counted from ``start``."""
        if n < 0:
            raise ValueError("only days after the start are counted here")
        if n == 0:
            return start
        i = self._at(start)
        target = self._running[i] + n
        while target > self._running[-1]:
            assert self._years is not None
            self._cover(self._years[0], self._years[1] + 1)
        return self._first + timedelta(days=bisect_left(self._running, target, lo=i + 1))

    def previous_working_day(self, day: date) -> date:
        """The day itself if it is a working day, else the last working day before it."""
        while not self.is_working_day(day):
            day -= timedelta(days=1)
        return day


class Calendars:
    """The working-day index of each procedure's authority, made on first use."""

    def __init__(self, procedures: Mapping[str, Procedure]) -> None:
        self.procedures = procedures
        self._indexes: dict[str, WorkingDayIndex] = {}

    def get(self, procedure_id: str) -> WorkingDayIndex | None:
        """None for a procedure that is not installed (the case cannot be placed)."""
        index = self._indexes.get(procedure_id)
        if index is None:
            procedure = self.procedures.get(procedure_id)
            if procedure is None:
                return None
            index = self._indexes[procedure_id] = WorkingDayIndex(procedure.calendar)
        return index


def unknown_procedure(procedure_id: str) -> str:
    return f"procedure '{procedure_id}' is not installed: its working days are unknown"
