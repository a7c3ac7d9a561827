"""Properties of working-day counting, for every nation, over 2020 to 2035."""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.calendar import Nation, WorkingDayCalendar, WorkingDayTable

FIRST = date(2020, 1, 1)
LAST = date(2035, 12, 31)

dates = st.dates(min_value=FIRST, max_value=date(2035, 6, 30))
nations = st.sampled_from(list(Nation))
offsets = st.integers(min_value=0, max_value=60)
signed_offsets = st.integers(min_value=-60, max_value=60)
closures = st.lists(st.dates(min_value=FIRST, max_value=LAST), max_size=20)

FAST = settings(max_examples=150, deadline=None)


@cache
def calendar(nation: Nation) -> WorkingDayCalendar:
    return WorkingDayCalendar(nation)


@FAST
@given(nations, dates, signed_offsets)
def test_counting_inverts_adding(nation: Nation, start: date, n: int) -> None:
    cal = calendar(nation)
    assert cal.working_days_between(start, cal.add_working_days(start, n)) == n


@FAST
@given(nations, dates, signed_offsets, closures)
def test_counting_inverts_adding_with_closures(
    nation: Nation, start: date, n: int, closed: list[date]
) -> None:
    cal = WorkingDayCalendar(nation, closed)
    assert cal.working_days_between(start, cal.add_working_days(start, n)) == n


@FAST
@given(nations, dates, signed_offsets)
def test_every_counted_day_is_a_working_day(nation: Nation, start: date, n: int) -> None:
    # Day 0 is the strategy discussion itself, a working day or not; every other is one.
    if n != 0:
        assert calendar(nation).is_working_day(calendar(nation).add_working_days(start, n))


@FAST
@given(nations, dates, offsets)
def test_day_n_is_on_or_after_the_strategy_discussion(nation: Nation, start: date, n: int) -> None:
    day = calendar(nation).add_working_days(start, n)
    assert day >= start
    # n working days fit in no fewer than n calendar days.
    assert (day - start).days >= n


@FAST
@given(nations, dates, offsets, offsets)
def test_order_is_kept(nation: Nation, start: date, a: int, b: int) -> None:
    cal = calendar(nation)
    low, high = sorted((a, b))
    assert cal.add_working_days(start, low) <= cal.add_working_days(start, high)
    if low < high:
        assert cal.add_working_days(start, low) < cal.add_working_days(start, high)


@FAST
@given(nations, dates, dates)
def test_counting_is_monotone_in_the_end(nation: Nation, start: date, end: date) -> None:
    cal = calendar(nation)
    later = end + timedelta(days=1)
    assert cal.working_days_between(start, end) <= cal.working_days_between(start, later)


@FAST
@given(nations, dates)
def test_day_zero_is_the_strategy_day_itself(nation: Nation, start: date) -> None:
    cal = calendar(nation)
    assert cal.add_working_days(start, 0) == start
    assert cal.working_days_between(start, start) == 0
    # Day 1 is the first working day after it, whatever day ``start`` was.
    day_1 = cal.add_working_days(start, 1)
    assert day_1 > start and cal.is_working_day(day_1)
    assert all(
        not cal.is_working_day(start + timedelta(days=i)) for i in range(1, (day_1 - start).days)
    )


@FAST
@given(nations, dates, offsets)
def test_one_more_day_is_the_next_working_day(nation: Nation, start: date, n: int) -> None:
    cal = calendar(nation)
    day_n = cal.add_working_days(start, n)
    assert cal.add_working_days(start, n + 1) == cal.next_working_day(day_n + timedelta(days=1))


@FAST
@given(nations, dates, offsets)
def test_backwards_mirrors_forwards(nation: Nation, start: date, n: int) -> None:
    cal = calendar(nation)
    day_n = cal.add_working_days(start, n)
    # Back from day n lands on the discussion, or, when it was a day off, on the working day
    # before it (the working days before day 1 are the same from either).
    back = cal.add_working_days(day_n, -n)
    assert back == (cal.previous_working_day(start) if n else start)


@FAST
@given(nations, dates)
def test_weekends_are_never_working_days(nation: Nation, day: date) -> None:
    if day.weekday() >= 5:
        assert not calendar(nation).is_working_day(day)


@cache
def table(nation: Nation) -> WorkingDayTable:
    return WorkingDayTable.from_calendar(calendar(nation), FIRST, LAST)


@FAST
@given(nations, st.dates(min_value=FIRST, max_value=LAST))
def test_table_matches_the_live_calendar_day_by_day(nation: Nation, day: date) -> None:
    assert table(nation).is_working_day(day) == calendar(nation).is_working_day(day)


# Starts far enough inside the table that 60 working days either way stay inside it.
inner_dates = st.dates(min_value=date(2020, 6, 1), max_value=date(2035, 6, 30))


@FAST
@given(nations, inner_dates, signed_offsets)
def test_table_counts_as_the_live_calendar(nation: Nation, start: date, n: int) -> None:
    live = calendar(nation)
    frozen = table(nation)
    day = live.add_working_days(start, n)
    assert frozen.add_working_days(start, n) == day
    assert frozen.add_working_days(start, 1) == live.add_working_days(start, 1)
    end = start + timedelta(days=n * 2)
    if FIRST <= end <= LAST:
        assert frozen.working_days_between(start, end) == live.working_days_between(start, end)
