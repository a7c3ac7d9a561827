"""The hand-made cases most report tests read: strategy discussions in March 2026 (England).

Day 0 is Monday 2 March 2026, so working day 15 is Monday 23 March. The Easter bank holidays
(Good Friday 3 April, Easter Monday 6 April 2026) fall inside the window of a discussion on
Monday 23 March: its day 15 is Wednesday 15 April, not Monday 13 April.
"""

from __future__ import annotations

from datetime import date

from domain.reports import CaseHistory
from tests.reports.cases import Case

MARCH_2 = date(2026, 3, 2)


def d(month: int, day: int, year: int = 2026) -> date:
    return date(year, month, day)


def cases() -> dict[str, Case]:
    """Ten cases, by what they test."""
    on_time = (
        Case("ON-TIME", MARCH_2, area="north", team="north-1")
        .started()
        .confirmed(d(3, 4))
        .sheet(d(3, 5))
        .booked(d(3, 6), d(3, 19))
        .held(d(3, 19), plan=True)
        # The plan: review 1 within 3 months, review 2 moved out of timescale (agreed).
        .review_cycle(1, due=d(6, 19), on=d(3, 19))
        .book_review(1, d(3, 19), d(6, 17))
        .hold_review(1, d(6, 17))
        .review_cycle(2, due=d(12, 17), on=d(6, 17))
        .book_review(2, d(6, 17), d(12, 16))
        .move_review(2, d(12, 10), d(1, 6, 2027), "Chair unavailable; no other chair in time")
        .hold_review(2, d(1, 6, 2027), late=True)
    )
    day_15 = (
        Case("DAY-15", MARCH_2, area="north", team="north-2")
        .started()
        .confirmed(d(3, 4))
        .booked(d(3, 9), d(3, 23))
        .held(d(3, 23), plan=True)
        .review_cycle(1, due=d(6, 23), on=d(3, 23))  # never booked: overdue from 24 June
    )
    approved = (
        Case("APPROVED-DELAY", MARCH_2, area="north", team="north-1")
        .started()
        .confirmed(d(3, 3))
        .delay(d(3, 9), d(3, 27), "Police checks outstanding")
        .booked(d(3, 9), d(3, 27))
        .held(d(3, 27), plan=False)
    )
    unapproved = (
        Case("UNAPPROVED", MARCH_2, area="south", team="south-1")
        .started()
        .confirmed(d(3, 4))
        .booked(d(3, 10), d(4, 8))
        .delay(
            d(3, 16),
            d(4, 8),
            "Parent in hospital",
            decision="reject_delay",
            comment="Rejected: hold it within timescale",
        )
        .held(d(4, 8), plan=False)
    )
    withdrawn = (
        Case("WITHDRAWN", MARCH_2, area="south", team="south-1").started().withdrawn(d(3, 6))
    )
    rebooked = (
        Case("REBOOKED", MARCH_2, area="south", team="south-2")
        .started()
        .confirmed(d(3, 4))
        .booked(d(3, 6), d(3, 19))
        .stood_down(d(3, 17))
        .booked(d(3, 17), d(3, 20), kind="rebook_conference")
        .held(d(3, 20), plan=False)
    )
    registered_late = (
        Case("REGISTERED-LATE", MARCH_2, area="south", team="south-2")
        .started(d(3, 5))
        .confirmed(d(3, 6))
        .booked(d(3, 9), d(3, 23))
        .held(d(3, 23), plan=False)
    )
    easter = (
        Case("EASTER", d(3, 23), area="south", team="south-1")
        .started()
        .confirmed(d(3, 25))
        .booked(d(3, 26), d(4, 15))
        .held(d(4, 15), plan=False)
    )
    no_booking = (
        Case("NO-BOOKING", d(3, 23), area="south", team="south-1")
        .started()
        .confirmed(d(3, 25))
        .held(d(4, 14), plan=False)
    )
    late_open = (
        Case("LATE-OPEN", d(3, 9), area="south", team="south-2", likelihood="possible")
        .started(d(3, 12))
        .confirmed(d(3, 13))
    )
    return {
        c.reference: c
        for c in (
            on_time,
            day_15,
            approved,
            unapproved,
            withdrawn,
            rebooked,
            registered_late,
            easter,
            no_booking,
            late_open,
        )
    }


def histories() -> list[CaseHistory]:
    return [case.history() for case in cases().values()]
