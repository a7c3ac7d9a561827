"""Report periods, their refusals, and the fast working-day index the reports count with."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.reports import Period, PeriodError, check_period
from domain.reports.workdays import WorkingDayIndex
from tests.reports.cases import CALENDAR


def test_a_month_a_quarter_and_a_year_to_31_march() -> None:
    assert Period.month("2026-02") == Period(
        start=date(2026, 2, 1), end=date(2026, 2, 28), label="February 2026"
    )
    q = Period.quarter("2026-Q2")
    assert (q.start, q.end) == (date(2026, 4, 1), date(2026, 6, 30))
    year = Period.year_to_march(2026)
    assert (year.start, year.end, year.label) == (
        date(2025, 4, 1),
        date(2026, 3, 31),
        "year to 31 March 2026 (2025-26)",
    )
    assert [m.label for m in year.months()][:2] == ["April 2025", "May 2025"]
    assert len(year.months()) == 12
    part = Period.between(date(2026, 1, 20), date(2026, 3, 5)).months()
    assert [(m.start, m.end) for m in part] == [
        (date(2026, 1, 20), date(2026, 1, 31)),
        (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 3, 1), date(2026, 3, 5)),
    ]


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Period.month("2026-13"), "'2026-13' is not a month (YYYY-MM"),
        (lambda: Period.month(""), "'' is not a month"),
        (lambda: Period.quarter("2026-Q5"), "'2026-Q5' is not a quarter"),
        (
            lambda: Period.between(date(2026, 5, 1), date(2026, 4, 30)),
            "the period is inverted: it ends (2026-04-30) before it starts (2026-05-01)",
        ),
        (lambda: Period.year_to_march(1999), "1999 is not a reporting year"),
    ],
)
def test_a_period_that_is_not_one_is_refused_in_one_line(make: object, message: str) -> None:
    with pytest.raises(PeriodError) as refused:
        make()  # type: ignore[operator]
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_period_in_the_future_is_refused_and_the_current_one_is_not() -> None:
    today = date(2026, 11, 25)
    check_period(Period.month("2026-11"), today)
    with pytest.raises(PeriodError, match="December 2026 is in the future"):
        check_period(Period.month("2026-12"), today)


@settings(max_examples=300, deadline=None)
@given(
    start=st.dates(min_value=date(2001, 1, 1), max_value=date(2098, 6, 1)),
    span=st.integers(min_value=-400, max_value=400),
    n=st.integers(min_value=0, max_value=300),
)
def test_the_index_counts_exactly_as_the_calendar(start: date, span: int, n: int) -> None:
    index = WorkingDayIndex(CALENDAR)
    end = start + timedelta(days=span)
    assert index.between(start, end) == CALENDAR.working_days_between(start, end)
    assert index.add(start, n) == CALENDAR.add_working_days(start, n)
    assert index.is_working_day(end) == CALENDAR.is_working_day(end)
    assert index.previous_working_day(end) == CALENDAR.previous_working_day(end)


def test_one_index_serves_dates_years_apart() -> None:
    index = WorkingDayIndex(CALENDAR)
    assert index.between(date(2026, 3, 2), date(2026, 3, 23)) == 15
    assert index.between(date(2003, 3, 3), date(2003, 3, 24)) == 15  # reaches back
    assert index.add(date(2026, 12, 20), 300) == CALENDAR.add_working_days(date(2026, 12, 20), 300)
    with pytest.raises(ValueError):
        index.add(date(2026, 3, 2), -1)
