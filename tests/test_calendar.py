"""The working-day calendar against dates counted by hand.

Every expectation below was counted on a paper calendar first (the counting is in the
comment next to it) and only then run against the ``holidays`` package. Day 0 is the
strategy discussion's own date, whatever day it falls on; day N is the Nth working day after
it, so day 1 is the first working day after the discussion.
"""

from __future__ import annotations

from datetime import UTC, date, time, timedelta

import pytest

from domain.calendar import (
    LONDON,
    Nation,
    WorkingDayCalendar,
    WorkingDayTable,
    add_calendar_months,
    london_instant,
)

ENGLAND = WorkingDayCalendar(Nation.ENGLAND)
WALES = WorkingDayCalendar(Nation.WALES)
SCOTLAND = WorkingDayCalendar(Nation.SCOTLAND)
NORTHERN_IRELAND = WorkingDayCalendar(Nation.NORTHERN_IRELAND)

D = date


# --- Christmas and New Year ---------------------------------------------------------------

# December 2026: Thu 17, Fri 18, [Sat 19, Sun 20], Mon 21, Tue 22, Wed 23, Thu 24,
# [Fri 25 Christmas, Sat 26 Boxing Day, Sun 27, Mon 28 Boxing Day substitute], Tue 29,
# Wed 30, Thu 31, [Fri 1 Jan New Year, Sat 2, Sun 3], Mon 4 ... Fri 8, [9, 10], Mon 11, Tue 12.
#
# From Thu 17 Dec 2026 (day 0): 1 Fri 18, 2 Mon 21, 3 Tue 22, 4 Wed 23, 5 Thu 24,
# 6 Tue 29, 7 Wed 30, 8 Thu 31, 9 Mon 4, 10 Tue 5, 11 Wed 6, 12 Thu 7, 13 Fri 8,
# 14 Mon 11, 15 Tue 12 Jan 2027.
CHRISTMAS_2026 = [
    (0, D(2026, 12, 17)),
    (1, D(2026, 12, 18)),
    (2, D(2026, 12, 21)),
    (4, D(2026, 12, 23)),
    (5, D(2026, 12, 24)),
    (6, D(2026, 12, 29)),
    (7, D(2026, 12, 30)),
    (8, D(2026, 12, 31)),
    (9, D(2027, 1, 4)),
    (13, D(2027, 1, 8)),
    (14, D(2027, 1, 11)),
    (15, D(2027, 1, 12)),
]


@pytest.mark.parametrize(("n", "expected"), CHRISTMAS_2026)
def test_christmas_2026_england(n: int, expected: date) -> None:
    assert ENGLAND.add_working_days(D(2026, 12, 17), n) == expected
    assert ENGLAND.working_days_between(D(2026, 12, 17), expected) == n


@pytest.mark.parametrize(("n", "expected"), CHRISTMAS_2026)
def test_wales_keeps_the_english_bank_holidays(n: int, expected: date) -> None:
    assert WALES.add_working_days(D(2026, 12, 17), n) == expected


def test_boxing_day_2026_on_a_saturday_moves_to_monday_28() -> None:
    assert not ENGLAND.is_working_day(D(2026, 12, 25))  # Friday, Christmas Day
    assert not ENGLAND.is_working_day(D(2026, 12, 26))  # Saturday, Boxing Day
    assert not ENGLAND.is_working_day(D(2026, 12, 28))  # Monday, the substitute day
    assert ENGLAND.is_working_day(D(2026, 12, 29))
    assert ENGLAND.bank_holiday_name(D(2026, 12, 28)) is not None
    assert ENGLAND.bank_holiday_name(D(2026, 12, 29)) is None


def test_christmas_2026_scotland_also_loses_monday_4_january() -> None:
    # Scotland has 1 and 2 January; 2 Jan 2027 is a Saturday, so Mon 4 Jan is the substitute.
    # From Thu 17 Dec 2026: as England to 8 Thu 31 Dec, then [Fri 1, Sat 2, Sun 3, Mon 4],
    # 9 Tue 5, 10 Wed 6, 11 Thu 7, 12 Fri 8, 13 Mon 11, 14 Tue 12, 15 Wed 13 Jan 2027.
    assert not SCOTLAND.is_working_day(D(2027, 1, 4))
    assert ENGLAND.is_working_day(D(2027, 1, 4))
    assert SCOTLAND.add_working_days(D(2026, 12, 17), 8) == D(2026, 12, 31)
    assert SCOTLAND.add_working_days(D(2026, 12, 17), 9) == D(2027, 1, 5)
    assert SCOTLAND.add_working_days(D(2026, 12, 17), 15) == D(2027, 1, 13)


# December 2027: Mon 20, Tue 21, Wed 22, Thu 23, Fri 24, [Sat 25 Christmas, Sun 26 Boxing Day,
# Mon 27 and Tue 28 substitutes], Wed 29, Thu 30, Fri 31, [Sat 1 Jan 2028 New Year, Sun 2,
# Mon 3 Jan substitute], Tue 4 ... Fri 7, [8, 9], Mon 10 ... Thu 13.
#
# From Mon 20 Dec 2027: 1 Tue 21, 2 Wed 22, 3 Thu 23, 4 Fri 24, 5 Wed 29, 6 Thu 30,
# 7 Fri 31, 8 Tue 4, 9 Wed 5, 10 Thu 6, 11 Fri 7, 12 Mon 10, 13 Tue 11, 14 Wed 12,
# 15 Thu 13 Jan 2028.
@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (4, D(2027, 12, 24)),
        (5, D(2027, 12, 29)),
        (7, D(2027, 12, 31)),
        (8, D(2028, 1, 4)),
        (15, D(2028, 1, 13)),
    ],
)
def test_christmas_2027_two_substitute_days(n: int, expected: date) -> None:
    assert ENGLAND.add_working_days(D(2027, 12, 20), n) == expected
    assert ENGLAND.working_days_between(D(2027, 12, 20), expected) == n


def test_christmas_2027_substitutes_are_monday_27_and_tuesday_28() -> None:
    for day in (D(2027, 12, 27), D(2027, 12, 28), D(2028, 1, 3)):
        assert not ENGLAND.is_working_day(day), day
    assert ENGLAND.is_working_day(D(2027, 12, 29))


def test_new_year_2028_scotland_loses_monday_3_and_tuesday_4() -> None:
    # Sat 1 and Sun 2 Jan 2028 give Scotland Mon 3 and Tue 4. From Mon 20 Dec 2027:
    # 7 Fri 31, [3, 4 off], 8 Wed 5, 9 Thu 6, 10 Fri 7, 11 Mon 10, 12 Tue 11, 13 Wed 12,
    # 14 Thu 13, 15 Fri 14 Jan 2028.
    assert not SCOTLAND.is_working_day(D(2028, 1, 4))
    assert SCOTLAND.add_working_days(D(2027, 12, 20), 8) == D(2028, 1, 5)
    assert SCOTLAND.add_working_days(D(2027, 12, 20), 15) == D(2028, 1, 14)


def test_scotland_2_january_on_a_weekday() -> None:
    # Thu 1 and Fri 2 Jan 2026. From Wed 31 Dec 2025: England day 1 is Fri 2 Jan;
    # Scotland skips 1 and 2 Jan and the weekend, so day 1 is Mon 5 Jan.
    assert ENGLAND.add_working_days(D(2025, 12, 31), 1) == D(2026, 1, 2)
    assert SCOTLAND.add_working_days(D(2025, 12, 31), 1) == D(2026, 1, 5)


# --- Easter -----------------------------------------------------------------------------------


def test_easter_2027() -> None:
    # Good Friday 26 March 2027, Easter Monday 29 March. From Wed 24 Mar 2027 (England):
    # 1 Thu 25, [Fri 26, Sat 27, Sun 28, Mon 29], 2 Tue 30, 3 Wed 31, 4 Thu 1 Apr, 5 Fri 2 Apr.
    assert not ENGLAND.is_working_day(D(2027, 3, 26))
    assert not ENGLAND.is_working_day(D(2027, 3, 29))
    assert ENGLAND.add_working_days(D(2027, 3, 24), 1) == D(2027, 3, 25)
    assert ENGLAND.add_working_days(D(2027, 3, 24), 2) == D(2027, 3, 30)
    assert ENGLAND.add_working_days(D(2027, 3, 24), 5) == D(2027, 4, 2)


def test_scotland_has_good_friday_but_not_easter_monday() -> None:
    # From Wed 24 Mar 2027 (Scotland): 1 Thu 25, [Fri 26, weekend], 2 Mon 29, 3 Tue 30,
    # 4 Wed 31, 5 Thu 1 Apr.
    assert not SCOTLAND.is_working_day(D(2027, 3, 26))
    assert SCOTLAND.is_working_day(D(2027, 3, 29))
    assert SCOTLAND.add_working_days(D(2027, 3, 24), 2) == D(2027, 3, 29)
    assert SCOTLAND.add_working_days(D(2027, 3, 24), 5) == D(2027, 4, 1)


def test_northern_ireland_easter_monday() -> None:
    assert not NORTHERN_IRELAND.is_working_day(D(2027, 3, 26))
    assert not NORTHERN_IRELAND.is_working_day(D(2027, 3, 29))


# --- May and August bank holidays -------------------------------------------------------------


def test_early_may_and_spring_bank_holidays_2027() -> None:
    # 1 May 2027 is a Saturday, so the early May bank holiday is Mon 3 May; the spring bank
    # holiday is the last Monday of May, Mon 31 May. Fri 30 Apr -> day 1 Tue 4 May;
    # Fri 28 May -> day 1 Tue 1 June.
    for cal in (ENGLAND, WALES, SCOTLAND, NORTHERN_IRELAND):
        assert not cal.is_working_day(D(2027, 5, 3))
        assert not cal.is_working_day(D(2027, 5, 31))
        assert cal.add_working_days(D(2027, 4, 30), 1) == D(2027, 5, 4)
        assert cal.add_working_days(D(2027, 5, 28), 1) == D(2027, 6, 1)


def test_summer_bank_holiday_england_last_monday_scotland_first_monday() -> None:
    # August 2027 starts on a Sunday: its Mondays are 2, 9, 16, 23, 30.
    # England (and Wales, Northern Ireland): the last Monday, 30 Aug. Scotland: the first, 2 Aug.
    assert not ENGLAND.is_working_day(D(2027, 8, 30))
    assert ENGLAND.is_working_day(D(2027, 8, 2))
    assert not WALES.is_working_day(D(2027, 8, 30))
    assert not NORTHERN_IRELAND.is_working_day(D(2027, 8, 30))
    assert not SCOTLAND.is_working_day(D(2027, 8, 2))
    assert SCOTLAND.is_working_day(D(2027, 8, 30))
    # Fri 27 Aug -> England day 1 Tue 31 Aug, Scotland day 1 Mon 30 Aug.
    assert ENGLAND.add_working_days(D(2027, 8, 27), 1) == D(2027, 8, 31)
    assert SCOTLAND.add_working_days(D(2027, 8, 27), 1) == D(2027, 8, 30)
    # Fri 30 Jul -> England day 1 Mon 2 Aug, Scotland day 1 Tue 3 Aug.
    assert ENGLAND.add_working_days(D(2027, 7, 30), 1) == D(2027, 8, 2)
    assert SCOTLAND.add_working_days(D(2027, 7, 30), 1) == D(2027, 8, 3)


def test_st_andrews_day_is_scottish_only() -> None:
    # Tue 30 Nov 2027. From Mon 29 Nov: England day 1 Tue 30 Nov; Scotland day 1 Wed 1 Dec.
    assert not SCOTLAND.is_working_day(D(2027, 11, 30))
    assert ENGLAND.is_working_day(D(2027, 11, 30))
    assert ENGLAND.add_working_days(D(2027, 11, 29), 1) == D(2027, 11, 30)
    assert SCOTLAND.add_working_days(D(2027, 11, 29), 1) == D(2027, 12, 1)


def test_northern_ireland_st_patricks_day_and_the_twelfth() -> None:
    # Wed 17 Mar 2027. From Tue 16 Mar: NI 1 Thu 18, 2 Fri 19, 3 Mon 22;
    # England 1 Wed 17, 2 Thu 18, 3 Fri 19.
    assert not NORTHERN_IRELAND.is_working_day(D(2027, 3, 17))
    assert NORTHERN_IRELAND.add_working_days(D(2027, 3, 16), 1) == D(2027, 3, 18)
    assert NORTHERN_IRELAND.add_working_days(D(2027, 3, 16), 3) == D(2027, 3, 22)
    assert ENGLAND.add_working_days(D(2027, 3, 16), 3) == D(2027, 3, 19)
    # 12 July 2027 is a Monday: from Fri 9 Jul, NI day 1 is Tue 13 Jul, England's Mon 12.
    assert NORTHERN_IRELAND.add_working_days(D(2027, 7, 9), 1) == D(2027, 7, 13)
    assert ENGLAND.add_working_days(D(2027, 7, 9), 1) == D(2027, 7, 12)
    # 12 July 2026 is a Sunday: the substitute is Mon 13 Jul, so from Fri 10 Jul, day 1 is
    # Tue 14 Jul.
    assert not NORTHERN_IRELAND.is_working_day(D(2026, 7, 13))
    assert NORTHERN_IRELAND.add_working_days(D(2026, 7, 10), 1) == D(2026, 7, 14)
    for cal in (ENGLAND, WALES, SCOTLAND):
        assert cal.is_working_day(D(2027, 3, 17))
        assert cal.is_working_day(D(2027, 7, 12))


# --- weekends, and strategy discussions held on a day off -------------------------------------


def test_weekend() -> None:
    # June 2026 starts on a Monday and has no bank holiday. Fri 5 Jun -> day 1 Mon 8 Jun.
    # From Mon 1 Jun, 15 working days are three whole weeks: day 15 is Mon 22 Jun.
    assert not ENGLAND.is_working_day(D(2026, 6, 6))
    assert not ENGLAND.is_working_day(D(2026, 6, 7))
    assert ENGLAND.add_working_days(D(2026, 6, 5), 1) == D(2026, 6, 8)
    assert ENGLAND.add_working_days(D(2026, 6, 1), 15) == D(2026, 6, 22)
    assert ENGLAND.working_days_between(D(2026, 6, 1), D(2026, 6, 22)) == 15


# Issue 11, and DESIGN: "The strategy discussion's own date is day 0, whatever day of the week
# it falls on; day N is the Nth working day after it. A discussion on a Saturday has its day 1
# on the Monday." Every kind of day off, with day 1 and day 15 counted by hand.
DAY_OFF_STARTS = [
    # Weekend. Sat 14 Nov 2026: 1 Mon 16, 5 Fri 20, 10 Fri 27, 11 Mon 30, 15 Fri 4 Dec
    # (the old rule made Mon 16 day 0 and gave Mon 7 Dec).
    ("saturday", D(2026, 11, 14), D(2026, 11, 16), D(2026, 12, 4)),
    ("sunday", D(2026, 11, 15), D(2026, 11, 16), D(2026, 12, 4)),
    # Bank holiday. Good Friday 26 Mar 2027: [weekend, Easter Monday 29], 1 Tue 30, 2 Wed 31,
    # 3 Thu 1, 4 Fri 2, 5 Mon 5, 10 Mon 12, 15 Mon 19 Apr 2027 (old rule: Tue 20 Apr).
    ("good_friday", D(2027, 3, 26), D(2027, 3, 30), D(2027, 4, 19)),
    ("easter_monday", D(2027, 3, 29), D(2027, 3, 30), D(2027, 4, 19)),
    # Substitute day. Mon 28 Dec 2026 (Boxing Day's, Sat 26): 1 Tue 29, 2 Wed 30, 3 Thu 31,
    # [1 Jan, weekend], 4 Mon 4, 5 Tue 5, 9 Mon 11, 14 Mon 18, 15 Tue 19 Jan 2027.
    ("substitute_day", D(2026, 12, 28), D(2026, 12, 29), D(2027, 1, 19)),
    # Christmas to New Year. Christmas Day Fri 25 Dec 2026: the same count as Mon 28.
    ("christmas_day", D(2026, 12, 25), D(2026, 12, 29), D(2027, 1, 19)),
    # New Year's Day Fri 1 Jan 2027: [weekend], 1 Mon 4, 5 Fri 8, 10 Fri 15, 15 Fri 22 Jan.
    ("new_years_day", D(2027, 1, 1), D(2027, 1, 4), D(2027, 1, 22)),
]


@pytest.mark.parametrize(
    ("kind", "strategy", "day_1", "day_15"), DAY_OFF_STARTS, ids=[d[0] for d in DAY_OFF_STARTS]
)
def test_a_strategy_discussion_on_a_day_off_is_day_0_itself(
    kind: str, strategy: date, day_1: date, day_15: date
) -> None:
    assert not ENGLAND.is_working_day(strategy)
    assert ENGLAND.add_working_days(strategy, 0) == strategy
    assert ENGLAND.add_working_days(strategy, 1) == day_1
    assert ENGLAND.add_working_days(strategy, 15) == day_15
    assert ENGLAND.working_days_between(strategy, strategy) == 0
    assert ENGLAND.working_days_between(strategy, day_1) == 1
    assert ENGLAND.working_days_between(strategy, day_15) == 15
    # Day 1 is the first working day after the discussion: nothing in between counts.
    assert ENGLAND.working_days_between(strategy, day_1 - timedelta(days=1)) == 0


def test_friday_saturday_and_sunday_discussions_share_day_15() -> None:
    # Fri 13 Nov 2026 is a working day: its day 1 is Mon 16 too, so its day 15 is Fri 4 Dec.
    for day in (D(2026, 11, 13), D(2026, 11, 14), D(2026, 11, 15)):
        assert ENGLAND.add_working_days(day, 15) == D(2026, 12, 4)


def test_strategy_on_a_saturday_before_christmas() -> None:
    # Sat 19 Dec 2026: day 0 Sat 19, 1 Mon 21, 2 Tue 22, 3 Wed 23, 4 Thu 24, 5 Tue 29.
    saturday = D(2026, 12, 19)
    assert ENGLAND.add_working_days(saturday, 0) == saturday
    assert ENGLAND.add_working_days(saturday, 1) == D(2026, 12, 21)
    assert ENGLAND.add_working_days(saturday, 4) == D(2026, 12, 24)
    assert ENGLAND.add_working_days(saturday, 5) == D(2026, 12, 29)
    # Sat 6 Mar 2027: 1 Mon 8, 5 Fri 12, 10 Fri 19, 14 Thu 25, [Good Friday 26, weekend,
    # Easter Monday 29], 15 Tue 30 Mar.
    assert ENGLAND.add_working_days(D(2027, 3, 6), 14) == D(2027, 3, 25)
    assert ENGLAND.add_working_days(D(2027, 3, 6), 15) == D(2027, 3, 30)


def test_a_scottish_substitute_day() -> None:
    # Scotland: 2 Jan 2027 is a Saturday, so Mon 4 Jan is its substitute. A discussion on
    # Sat 2 Jan: day 1 Tue 5 Jan (England: Mon 4 Jan).
    assert SCOTLAND.add_working_days(D(2027, 1, 2), 1) == D(2027, 1, 5)
    assert ENGLAND.add_working_days(D(2027, 1, 2), 1) == D(2027, 1, 4)


def test_next_and_previous_working_day() -> None:
    assert ENGLAND.next_working_day(D(2026, 12, 17)) == D(2026, 12, 17)
    assert ENGLAND.next_working_day(D(2026, 12, 25)) == D(2026, 12, 29)
    assert ENGLAND.previous_working_day(D(2026, 12, 28)) == D(2026, 12, 24)


# --- closures ---------------------------------------------------------------------------------


def test_closure_days() -> None:
    # An authority closed on Wed 23 and Thu 24 Dec 2026 (and, to no effect, Sat 19 Dec).
    # From Thu 17 Dec: 1 Fri 18, 2 Mon 21, 3 Tue 22, [23, 24 closed, 25-28 off], 4 Tue 29,
    # 5 Wed 30 Dec.
    closed = WorkingDayCalendar(Nation.ENGLAND, [D(2026, 12, 23), D(2026, 12, 24), D(2026, 12, 19)])
    assert not closed.is_working_day(D(2026, 12, 23))
    assert ENGLAND.is_working_day(D(2026, 12, 23))
    assert closed.add_working_days(D(2026, 12, 17), 3) == D(2026, 12, 22)
    assert closed.add_working_days(D(2026, 12, 17), 4) == D(2026, 12, 29)
    assert closed.add_working_days(D(2026, 12, 17), 5) == D(2026, 12, 30)
    assert closed.working_days_between(D(2026, 12, 17), D(2026, 12, 30)) == 5
    # A strategy discussion on a closure day is day 0 itself; its day 1 is Tue 29 Dec.
    assert closed.add_working_days(D(2026, 12, 23), 0) == D(2026, 12, 23)
    assert closed.add_working_days(D(2026, 12, 23), 1) == D(2026, 12, 29)


# --- negative offsets and working_days_between ------------------------------------------------


def test_negative_offsets() -> None:
    # From Tue 5 Jan 2027: -1 Mon 4, [Sun 3, Sat 2, Fri 1 Jan], -2 Thu 31 Dec, -3 Wed 30 Dec.
    assert ENGLAND.add_working_days(D(2027, 1, 5), -1) == D(2027, 1, 4)
    assert ENGLAND.add_working_days(D(2027, 1, 5), -2) == D(2026, 12, 31)
    assert ENGLAND.add_working_days(D(2027, 1, 5), -3) == D(2026, 12, 30)
    # From Tue 29 Dec 2026: -1 is Thu 24 Dec (Mon 28, the weekend and Fri 25 are off).
    assert ENGLAND.add_working_days(D(2026, 12, 29), -1) == D(2026, 12, 24)


def test_negative_offset_from_a_day_off_counts_back_from_the_day_itself() -> None:
    # Sat 2 Jan 2027 is day 0: day -1 is Thu 31 Dec and day -2 Wed 30 Dec.
    assert ENGLAND.add_working_days(D(2027, 1, 2), -1) == D(2026, 12, 31)
    assert ENGLAND.add_working_days(D(2027, 1, 2), -2) == D(2026, 12, 30)
    assert ENGLAND.working_days_between(D(2027, 1, 2), D(2026, 12, 31)) == -1
    # Sat 19 Dec 2026 is day 0, so day -1 is Fri 18 Dec.
    assert ENGLAND.add_working_days(D(2026, 12, 19), -1) == D(2026, 12, 18)


def test_working_days_between() -> None:
    assert ENGLAND.working_days_between(D(2026, 12, 17), D(2026, 12, 17)) == 0
    assert ENGLAND.working_days_between(D(2026, 12, 17), D(2027, 1, 12)) == 15
    # An end on a day off after day 0 counts as the last working day before it:
    # Sun 27 Dec 2026 counts as Thu 24 Dec, day 5.
    assert ENGLAND.working_days_between(D(2026, 12, 17), D(2026, 12, 27)) == 5
    assert ENGLAND.working_days_between(D(2026, 12, 17), D(2026, 12, 28)) == 5


def test_working_days_between_with_an_end_before_the_start() -> None:
    # From Tue 5 Jan 2027 back: -1 Mon 4, -2 Thu 31, -3 Wed 30, -4 Tue 29 Dec.
    assert ENGLAND.working_days_between(D(2027, 1, 5), D(2026, 12, 30)) == -3
    assert ENGLAND.working_days_between(D(2027, 1, 5), D(2026, 12, 29)) == -4
    # A day off before day 0 counts as the first working day after it: Sun 27 Dec -> Tue 29.
    assert ENGLAND.working_days_between(D(2027, 1, 5), D(2026, 12, 27)) == -4
    # A strategy discussion on a Saturday: the Saturday itself is day 0's side, Fri is -1.
    assert ENGLAND.working_days_between(D(2026, 12, 19), D(2026, 12, 19)) == 0
    assert ENGLAND.working_days_between(D(2026, 12, 19), D(2026, 12, 18)) == -1


# --- calendar months --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (D(2027, 1, 31), 1, D(2027, 2, 28)),  # clipped to the end of February
        (D(2028, 1, 31), 1, D(2028, 2, 29)),  # 2028 is a leap year
        (D(2026, 8, 31), 6, D(2027, 2, 28)),  # Aug + 6 = Feb of the next year
        (D(2026, 11, 30), 3, D(2027, 2, 28)),
        (D(2026, 11, 15), 3, D(2027, 2, 15)),  # no clipping needed
        (D(2026, 10, 31), 14, D(2027, 12, 31)),  # more than a year
        (D(2027, 3, 31), -1, D(2027, 2, 28)),  # backwards, clipped
        (D(2027, 1, 15), -1, D(2026, 12, 15)),  # backwards over a year end
        (D(2027, 5, 31), 1, D(2027, 6, 30)),  # 30-day month
        (D(2027, 5, 31), 0, D(2027, 5, 31)),
    ],
)
def test_add_calendar_months(day: date, months: int, expected: date) -> None:
    assert add_calendar_months(day, months) == expected


# --- Europe/London instants -------------------------------------------------------------------


def test_london_instant_across_the_march_change() -> None:
    # Clocks go forward at 01:00 UTC on Sun 29 Mar 2026 (the last Sunday of March).
    before = london_instant(D(2026, 3, 28), time(16, 0))
    after = london_instant(D(2026, 3, 30), time(16, 0))
    assert before.isoformat() == "2026-03-28T16:00:00+00:00"
    assert after.isoformat() == "2026-03-30T16:00:00+01:00"
    assert before.utcoffset() == timedelta(0)
    assert after.utcoffset() == timedelta(hours=1)
    # Two days apart on the wall clock, 47 hours apart in real time. (Subtracting two
    # datetimes in the same ZoneInfo zone is wall-clock arithmetic, so compare in UTC.)
    assert after.astimezone(UTC) - before.astimezone(UTC) == timedelta(hours=47)
    assert after.astimezone(UTC).hour == 15


def test_london_instant_across_the_october_change() -> None:
    # Clocks go back at 01:00 UTC on Sun 25 Oct 2026 (the last Sunday of October).
    before = london_instant(D(2026, 10, 23), time(16, 0))
    after = london_instant(D(2026, 10, 26), time(16, 0))
    assert before.isoformat() == "2026-10-23T16:00:00+01:00"
    assert after.isoformat() == "2026-10-26T16:00:00+00:00"
    assert before.tzinfo is LONDON
    assert after.astimezone(UTC) - before.astimezone(UTC) == timedelta(days=3, hours=1)
    assert before.astimezone(UTC).hour == 15


def test_london_instant_in_the_hour_the_clocks_skip_or_repeat() -> None:
    # Sun 29 Mar 2026: at 01:00 GMT the clocks jump to 02:00 BST, so 01:30 never shows in
    # London; it is taken as 02:30 BST (01:30 UTC), carrying the offset London has then.
    skipped = london_instant(D(2026, 3, 29), time(1, 30))
    assert skipped.isoformat() == "2026-03-29T02:30:00+01:00"
    assert skipped.astimezone(UTC).isoformat() == "2026-03-29T01:30:00+00:00"
    # Its London wall clock reads back unchanged.
    assert skipped.astimezone(LONDON).replace(tzinfo=None) == skipped.replace(tzinfo=None)
    # Sun 25 Oct 2026: at 02:00 BST the clocks go back to 01:00 GMT, so 01:30 shows twice;
    # it is the first, 01:30 BST (00:30 UTC).
    repeated = london_instant(D(2026, 10, 25), time(1, 30))
    assert repeated.isoformat() == "2026-10-25T01:30:00+01:00"
    assert repeated.astimezone(UTC).hour == 0
    # Either side of the skipped hour nothing moves.
    assert london_instant(D(2026, 3, 29), time(0, 59)).isoformat() == "2026-03-29T00:59:00+00:00"
    assert london_instant(D(2026, 3, 29), time(2, 0)).isoformat() == "2026-03-29T02:00:00+01:00"


# --- the frozen table -------------------------------------------------------------------------


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


@pytest.mark.parametrize("nation", list(Nation))
def test_table_agrees_with_the_calendar_over_its_range(nation: Nation) -> None:
    cal = WorkingDayCalendar(nation, [D(2027, 2, 10)])
    first, last = D(2026, 11, 1), D(2027, 4, 30)
    table = WorkingDayTable.from_calendar(cal, first, last)
    for day in _days(first, last):
        assert table.is_working_day(day) == cal.is_working_day(day), day
    # Counting inside the range gives the same answers.
    for start in _days(D(2026, 11, 1), D(2027, 3, 1))[::3]:
        for n in (0, 1, 5, 15):
            assert table.add_working_days(start, n) == cal.add_working_days(start, n)
        end = start + timedelta(days=20)
        assert table.working_days_between(start, end) == cal.working_days_between(start, end)


def test_table_lists_only_weekday_days_off() -> None:
    table = WorkingDayTable.from_calendar(ENGLAND, D(2026, 12, 1), D(2027, 1, 31))
    # Sat 26 Dec is implied by the weekend; Mon 28 Dec is its substitute.
    assert table.days_off == [D(2026, 12, 25), D(2026, 12, 28), D(2027, 1, 1)]


def test_table_refuses_dates_outside_its_range() -> None:
    table = WorkingDayTable.from_calendar(ENGLAND, D(2026, 12, 1), D(2027, 1, 31))
    with pytest.raises(ValueError, match="outside"):
        table.is_working_day(D(2027, 2, 1))
    with pytest.raises(ValueError, match="outside"):
        table.is_working_day(D(2026, 11, 30))
    # Counting that walks off the end refuses too, rather than guessing.
    with pytest.raises(ValueError, match="outside"):
        table.add_working_days(D(2027, 1, 20), 15)


def test_table_survives_a_json_round_trip() -> None:
    table = WorkingDayTable.from_calendar(SCOTLAND, D(2026, 12, 1), D(2027, 1, 31))
    again = WorkingDayTable.model_validate_json(table.model_dump_json())
    assert again == table
    assert again.add_working_days(D(2026, 12, 17), 15) == D(2027, 1, 13)
