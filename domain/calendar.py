"""The working-day calendar: weekends, the nation's bank holidays and an authority's closures.

Day 0 is the strategy discussion's own date, whatever day it falls on (a Saturday, a bank
holiday); day N is the Nth working day after it, so day 1 is the first working day after the
discussion. Pure and deterministic: the holiday tables are read
here, so this module must only run in activities and tools, never inside workflow code.
"""

from __future__ import annotations

import calendar as _cal
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cache, cached_property
from types import MappingProxyType
from zoneinfo import ZoneInfo

import holidays
from pydantic import BaseModel, ConfigDict

LONDON = ZoneInfo("Europe/London")


class Nation(StrEnum):
    """The four UK nations; each has its own bank holidays (substitute days included)."""

    ENGLAND = "england"
    WALES = "wales"
    SCOTLAND = "scotland"
    NORTHERN_IRELAND = "northern_ireland"

    @property
    def holidays_subdivision(self) -> str:
        return {
            Nation.ENGLAND: "ENG",
            Nation.WALES: "WLS",
            Nation.SCOTLAND: "SCT",
            Nation.NORTHERN_IRELAND: "NIR",
        }[self]


class WorkingDayCounting:
    """Counting rules shared by the live calendar and its frozen table; they need only
    ``is_working_day``."""

    def is_working_day(self, day: date) -> bool:
        raise NotImplementedError

    def next_working_day(self, day: date) -> date:
        """The day itself if it is a working day, else the first working day after it."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def previous_working_day(self, day: date) -> date:
        """The day itself if it is a working day, else the last working day before it."""
        while not self.is_working_day(day):
            day -= timedelta(days=1)
        return day

    def add_working_days(self, start: date, n: int) -> date:
        """Day ``n`` counted from ``start`` (day 0, whatever day of the week it is).

        Day N is the Nth working day after ``start``; day -N the Nth working day before it.
        ``start`` itself is day 0 even when it is a day off: a strategy discussion on Saturday
        14 November 2026 has day 1 on Monday 16 and day 15 on Friday 4 December 2026.
        """
        current = start
        step = 1 if n >= 0 else -1
        remaining = abs(n)
        while remaining:
            current += timedelta(days=step)
            if self.is_working_day(current):
                remaining -= 1
        return current

    def working_days_between(self, start: date, end: date) -> int:
        """The working-day number of ``end`` counted from ``start`` as day 0.

        The inverse of :meth:`add_working_days`: for every n,
        ``working_days_between(s, add_working_days(s, n)) == n``. After ``start`` it counts
        the working days in (start, end], so an ``end`` that is a day off counts as the last
        working day before it (or 0, when there is none since ``start``). Before ``start`` it
        counts the working days in [end, start), negated, so a day off counts as the first
        working day after it.
        """
        count = 0
        if end >= start:
            current = start
            while current < end:
                current += timedelta(days=1)
                if self.is_working_day(current):
                    count += 1
            return count
        current = end
        while current < start:
            if self.is_working_day(current):
                count -= 1
            current += timedelta(days=1)
        return count


@cache
def bank_holidays_in(nation: Nation, year: int) -> Mapping[date, str]:
    """One nation's bank holidays in one year, substitute days ("observed") included, built once
    per process: the holidays package is slow to build a year, and every calendar of a nation
    (each procedure, each case's planning) shares it. Read-only."""
    table = holidays.country_holidays("GB", subdiv=nation.holidays_subdivision, years=year)
    return MappingProxyType({day: str(name) for day, name in table.items()})


class WorkingDayCalendar(WorkingDayCounting):
    """Counts working days for one authority."""

    def __init__(self, nation: Nation = Nation.ENGLAND, closures: Iterable[date] = ()) -> None:
        self.nation = nation
        self.closures = frozenset(closures)

    def bank_holiday_name(self, day: date) -> str | None:
        return bank_holidays_in(self.nation, day.year).get(day)

    def is_working_day(self, day: date) -> bool:
        return (
            day.weekday() < 5
            and day not in bank_holidays_in(self.nation, day.year)
            and day not in self.closures
        )


def add_calendar_months(day: date, months: int) -> date:
    """The same day of the month ``months`` later, clipped to the month's end (31 Jan -> 28 Feb)."""
    month_index = day.month - 1 + months
    year = day.year + month_index // 12
    month = month_index % 12 + 1
    last = _cal.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


def _london_day(at: date | datetime) -> date:
    return at.astimezone(LONDON).date() if isinstance(at, datetime) else at


def past_limit(at: date | datetime, limit: date | datetime) -> bool:
    """Whether ``at`` falls after a statutory limit: the one meaning of "within 15 working days"
    (and of a review's "within 3 months"), for the status, the search attribute, the lists, the
    case page, the reports and the rules alike.

    The statute counts working days, so a limit is its whole day: a conference on day 15 at
    17:30 is within 15 working days, and only from the next day is a case late. The limit's
    instant (day 15 at the end of the working day) is when reminders and escalations fall due,
    never what decides timescale.
    """
    return _london_day(at) > _london_day(limit)


def limit_passed_at(limit: datetime) -> datetime:
    """The first instant :func:`past_limit` holds after ``limit``: midnight in England at the
    end of the limit's day, when a path still waiting turns out of timescale."""
    return london_instant(_london_day(limit) + timedelta(days=1), time(0, 0))


def london_instant(day: date, at: time) -> datetime:
    """A Europe/London wall-clock time on ``day`` as an aware datetime (right across clock changes).

    A time the clocks skip (01:00-01:59 on the last Sunday of March) is moved on by the gap,
    so 01:30 that day is 02:30 BST, never a "01:30+00:00" London never showed. A time the
    clocks show twice (01:00-01:59 on the last Sunday of October) is the first, in BST.
    """
    return datetime.combine(day, at, tzinfo=LONDON).astimezone(UTC).astimezone(LONDON)


class WorkingDayTable(WorkingDayCounting, BaseModel):
    """A frozen copy of a calendar over a date range: what workflow code may count with.

    Workflow code must not read holiday tables (a library upgrade would change replays), so an
    activity computes this table once and it is kept in the workflow's history. Weekends are
    implied; ``days_off`` lists the other non-working weekdays (bank holidays, closures).
    """

    model_config = ConfigDict(frozen=True)

    first: date
    last: date
    days_off: list[date]

    @classmethod
    def from_calendar(cls, cal: WorkingDayCalendar, first: date, last: date) -> WorkingDayTable:
        days_off = []
        day = first
        while day <= last:
            if day.weekday() < 5 and not cal.is_working_day(day):
                days_off.append(day)
            day += timedelta(days=1)
        return cls(first=first, last=last, days_off=days_off)

    def is_working_day(self, day: date) -> bool:
        if not self.first <= day <= self.last:
            raise ValueError(f"{day} is outside the case's calendar ({self.first} to {self.last})")
        return day.weekday() < 5 and day not in self._off

    @cached_property
    def _off(self) -> frozenset[date]:
        return frozenset(self.days_off)
