"""The timeliness KPI from hand-made event lists: every figure, as DfE's table C4 counts it."""

from __future__ import annotations

from datetime import date

import pytest

from domain.reports import Period, timeliness
from domain.reports.timeliness import NATIONAL_PERCENT_WITHIN_15, IcpcFigures
from procedures import load_all
from tests.reports.cases import CALENDAR, Case
from tests.reports.scenario import MARCH_2, d, histories

PROCEDURES = load_all()
NO_BOOKING = "conference held but no booking recorded"


def test_the_scenario_counts_days_from_the_strategy_discussion_as_day_0() -> None:
    assert CALENDAR.add_working_days(MARCH_2, 15) == d(3, 23)
    # Good Friday and Easter Monday fall inside the window: day 15 moves two days on.
    assert CALENDAR.add_working_days(d(3, 23), 15) == d(4, 15)
    assert CALENDAR.working_days_between(d(3, 23), d(4, 15)) == 15


def test_march_icpcs_on_time_day_15_late_with_approval_rebooked_registered_late() -> None:
    report = timeliness(histories(), Period.month("2026-03"), PROCEDURES)
    # Held in March: ON-TIME day 13, DAY-15 day 15, APPROVED-DELAY day 19, REBOOKED day 14
    # (held once, on its rebooked date), REGISTERED-LATE day 15 (counted from day 0, not from
    # the day it was registered).
    assert report.icpc == IcpcFigures(
        held=5,
        within_15=4,
        percent_within_15=80.0,
        median_working_days=15.0,
        p25_working_days=14.0,
        p75_working_days=15.0,
        bands={"0-10": 0, "11-15": 4, "16-20": 1, "21+": 0},
        late_with_approved_delay=1,
        late_without_approval=0,
    )
    assert report.withdrawn == 1  # WITHDRAWN: not held, never late
    assert [(u.case_reference, u.reason) for u in report.unplaced] == [("NO-BOOKING", NO_BOOKING)]
    assert report.unplaced_by_reason == {NO_BOOKING: 1}
    assert report.reviews.held == 0
    assert [(m.month, m.held, m.within_15, m.percent_within_15) for m in report.icpc_by_month] == [
        ("2026-03", 5, 4, 80.0)
    ]
    assert report.national_percent_within_15 == NATIONAL_PERCENT_WITHIN_15 == 81.4


def test_march_splits_by_procedure_area_and_team() -> None:
    report = timeliness(histories(), Period.month("2026-03"), PROCEDURES)
    by = {
        split: {k: (f.held, f.within_15, f.percent_within_15) for k, f in values.items()}
        for split, values in report.icpc_by.items()
    }
    assert by == {
        "procedure": {"bct-management-note": (5, 4, 80.0)},
        "area": {"north": (3, 2, 66.7), "south": (2, 2, 100.0)},
        "team": {"north-1": (2, 1, 50.0), "north-2": (1, 1, 100.0), "south-2": (2, 2, 100.0)},
    }
    north = report.icpc_by["area"]["north"]
    assert (north.median_working_days, north.bands["16-20"]) == (15.0, 1)


def test_april_late_without_approval_and_bank_holidays_inside_the_window() -> None:
    report = timeliness(histories(), Period.month("2026-04"), PROCEDURES)
    # UNAPPROVED: held on working day 25 with its delay rejected; EASTER: day 15 exactly, the
    # two Easter bank holidays not counted.
    assert report.icpc == IcpcFigures(
        held=2,
        within_15=1,
        percent_within_15=50.0,
        median_working_days=20.0,
        p25_working_days=17.5,
        p75_working_days=22.5,
        bands={"0-10": 0, "11-15": 1, "16-20": 0, "21+": 1},
        late_with_approved_delay=0,
        late_without_approval=1,
    )
    assert report.withdrawn == 0
    assert [u.case_reference for u in report.unplaced] == ["NO-BOOKING"]


def test_a_quarter_adds_its_months_up() -> None:
    report = timeliness(histories(), Period.between(d(3, 1), d(4, 30)), PROCEDURES)
    assert (report.icpc.held, report.icpc.within_15, report.icpc.percent_within_15) == (7, 5, 71.4)
    assert report.icpc.bands == {"0-10": 0, "11-15": 5, "16-20": 1, "21+": 1}
    assert [(m.month, m.held, m.within_15) for m in report.icpc_by_month] == [
        ("2026-03", 5, 4),
        ("2026-04", 2, 1),
    ]
    # NO-BOOKING is one case with one problem, however many months it touches.
    assert report.unplaced_by_reason == {NO_BOOKING: 1}


def test_reviews_first_within_3_months_and_later_against_6() -> None:
    june = timeliness(histories(), Period.month("2026-06"), PROCEDURES).reviews
    assert (june.held, june.within_timescale, june.percent_within_timescale) == (1, 1, 100.0)
    assert (june.first_held, june.first_within, june.later_held) == (1, 1, 0)
    january = timeliness(histories(), Period.month("2027-01"), PROCEDURES).reviews
    # Review 2 was due 17 December 2026 (6 months after review 1) and held 6 January 2027.
    assert (january.held, january.within_timescale, january.percent_within_timescale) == (1, 0, 0.0)
    assert (january.later_held, january.later_within) == (1, 0)
    year = timeliness(histories(), Period.year_to_march(2027), PROCEDURES)
    assert year.reviews_by["area"]["north"].held == 2


def test_a_review_held_without_a_booking_is_not_placed() -> None:
    case = (
        Case("REVIEW-NO-BOOKING", MARCH_2)
        .started()
        .confirmed(d(3, 4))
        .booked(d(3, 6), d(3, 19))
        .held(d(3, 19))
        .review_cycle(1, due=d(6, 19), on=d(3, 19))
        .hold_review(1, d(6, 18))
    )
    report = timeliness([case.history()], Period.month("2026-06"), PROCEDURES)
    assert report.reviews.held == 0
    assert report.unplaced_by_reason == {"review 1 held but no booking recorded": 1}


def test_a_case_of_an_unknown_procedure_is_not_placed() -> None:
    case = (
        Case("ELSEWHERE", MARCH_2, procedure_id="not-installed").started().booked(d(3, 4), d(3, 19))
    )
    history = case.held(d(3, 19)).history()
    report = timeliness([history], Period.month("2026-03"), PROCEDURES)
    assert report.icpc.held == 0
    assert [u.reason for u in report.unplaced] == [
        "procedure 'not-installed' is not installed: its working days are unknown"
    ]


def test_the_rows_and_csv_carry_the_same_figures() -> None:
    report = timeliness(histories(), Period.month("2026-03"), PROCEDURES)
    rows = report.rows()
    assert rows[0]["scope"] == "all" and rows[0]["icpc_held"] == 5
    assert rows[0]["band_11-15"] == 4 and rows[0]["icpc_percent_within_15"] == 80.0
    assert [(r["scope"], r["value"]) for r in rows[1:4]] == [
        ("procedure", "bct-management-note"),
        ("area", "north"),
        ("area", "south"),
    ]
    lines = report.to_csv().splitlines()
    assert lines[0].startswith("scope,value,icpc_held,icpc_within_15,icpc_percent_within_15")
    assert lines[1].startswith("all,all,5,4,80.0,15.0,14.0,15.0,0,4,1,0,1,0,0,0,")


def test_an_empty_period_counts_nothing() -> None:
    report = timeliness(histories(), Period.month("2025-01"), PROCEDURES)
    assert report.icpc.held == 0 and report.icpc.percent_within_15 is None
    assert report.icpc.median_working_days is None and report.unplaced == []


@pytest.mark.parametrize("held_on, within", [(d(3, 23), True), (d(3, 24), False)])
def test_day_15_is_within_and_day_16_is_not(held_on: date, within: bool) -> None:
    case = Case("EDGE", MARCH_2).started().booked(d(3, 4), held_on).held(held_on)
    report = timeliness([case.history()], Period.month("2026-03"), PROCEDURES)
    assert report.icpc.within_15 == int(within)
    assert report.icpc.bands["11-15" if within else "16-20"] == 1
