"""The monthly out-of-timescale lists (001 steps 16 and 20), from hand-made event lists."""

from __future__ import annotations

from datetime import date

from domain.reports import Period, out_of_timescale
from procedures import load_all
from tests.reports.cases import CALENDAR, Case
from tests.reports.scenario import MARCH_2, d, histories

PROCEDURES = load_all()
TODAY = date(2026, 11, 25)
HEAD = "user-area-head-of-service (area head of service)"


def rows(month: str, today: date = TODAY) -> list[tuple[object, ...]]:
    report = out_of_timescale(histories(), Period.month(month), PROCEDURES, today)
    return [
        (
            r.conference,
            r.case_reference,
            r.area,
            r.status,
            r.due,
            r.held,
            r.working_days_late,
            r.reason,
            r.approval,
            r.approver,
            r.approver_comment,
            r.registered_working_day,
        )
        for r in [*report.icpc, *report.rcpc]
    ]


def test_march_lists_held_late_and_not_held_past_due_with_reasons_and_approvers() -> None:
    assert rows("2026-03") == [
        # Held late within an approved delay: the request's reason, who approved, their comment.
        (
            "ICPC",
            "APPROVED-DELAY",
            "north",
            "held late",
            d(3, 23),
            d(3, 27),
            4,
            "Police checks outstanding",
            "approved",
            HEAD,
            "Agreed: the safety plan manages the risk",
            None,
        ),
        # Still not held on 31 March, its delay rejected: 6 working days late by then.
        (
            "ICPC",
            "UNAPPROVED",
            "south",
            "not held",
            d(3, 23),
            None,
            6,
            "Parent in hospital",
            "rejected",
            HEAD,
            "Rejected: hold it within timescale",
            None,
        ),
        # Registered on working day 3, due 30 March, no delay asked for: one day late.
        ("ICPC", "LATE-OPEN", "south", "not held", d(3, 30), None, 1, "", "none", "", "", 3),
    ]


def test_withdrawn_on_time_rebooked_and_easter_cases_are_not_late() -> None:
    listed = {row[1] for month in ("2026-03", "2026-04") for row in rows(month)}
    assert listed == {"APPROVED-DELAY", "UNAPPROVED", "LATE-OPEN"}


def test_april_lists_the_late_conference_when_it_is_held() -> None:
    # By area, the latest first.
    assert rows("2026-04") == [
        ("ICPC", "LATE-OPEN", "south", "not held", d(3, 30), None, 21, "", "none", "", "", 3),
        (
            "ICPC",
            "UNAPPROVED",
            "south",
            "held late",
            d(3, 23),
            d(4, 8),
            10,
            "Parent in hospital",
            "rejected",
            HEAD,
            "Rejected: hold it within timescale",
            None,
        ),
    ]
    report = out_of_timescale(histories(), Period.month("2026-04"), PROCEDURES, TODAY)
    assert report.as_of == d(4, 30)
    assert report.unplaced_by_reason == {"conference held but no booking recorded": 1}


def test_a_review_not_held_past_its_due_date_is_listed_apart() -> None:
    report = out_of_timescale(histories(), Period.month("2026-06"), PROCEDURES, TODAY)
    assert [
        (r.case_reference, r.status, r.review_number, r.due, r.working_days_late)
        for r in report.rcpc
    ] == [("DAY-15", "not held", 1, d(6, 23), 5)]
    assert [r.case_reference for r in report.icpc] == ["LATE-OPEN"]


def test_a_review_held_late_carries_the_agreed_move_and_who_agreed() -> None:
    report = out_of_timescale(histories(), Period.month("2027-01"), PROCEDURES, date(2027, 3, 1))
    late = next(r for r in report.rcpc if r.case_reference == "ON-TIME")
    # Due 17 December 2026; held 6 January 2027: 11 working days on (Christmas, Boxing Day
    # (substitute, 28 December) and New Year's Day not counted).
    assert (late.review_number, late.status, late.due, late.held) == (
        2,
        "held late",
        d(12, 17),
        d(1, 6, 2027),
    )
    assert late.working_days_late == 11 == CALENDAR.working_days_between(d(12, 17), d(1, 6, 2027))
    assert (late.reason, late.approval, late.approver, late.approver_comment) == (
        "Chair unavailable; no other chair in time",
        "approved",
        HEAD,
        "Agreed: no chair within timescale",
    )
    overdue = next(r for r in report.rcpc if r.case_reference == "DAY-15")
    assert overdue.working_days_late == CALENDAR.working_days_between(d(6, 23), date(2027, 1, 31))


def test_the_month_under_way_is_listed_as_at_today() -> None:
    report = out_of_timescale(histories(), Period.month("2026-03"), PROCEDURES, d(3, 25))
    assert report.as_of == d(3, 25)
    # On 25 March: APPROVED-DELAY not held yet (its delay approved), UNAPPROVED not held and its
    # delay asked for on 16 March; LATE-OPEN not due until the 30th.
    assert [(r.case_reference, r.status, r.working_days_late, r.approval) for r in report.icpc] == [
        ("APPROVED-DELAY", "not held", 2, "approved"),
        ("UNAPPROVED", "not held", 2, "rejected"),
    ]


def test_a_delay_asked_for_after_the_month_does_not_change_its_list() -> None:
    case = Case("ASKED-LATER", MARCH_2, area="east").started().confirmed(d(3, 4))
    case.delay(d(4, 2), d(4, 20), "Asked for in April")
    report = out_of_timescale([case.history()], Period.month("2026-03"), PROCEDURES, TODAY)
    (row,) = report.icpc
    assert (row.status, row.reason, row.approval) == ("not held", "", "none")


def test_each_area_gets_its_own_lists_and_csv() -> None:
    report = out_of_timescale(histories(), Period.month("2026-03"), PROCEDURES, TODAY)
    assert report.areas == ["north", "south"]
    north = report.for_area("north")
    assert [r.case_reference for r in north.icpc] == ["APPROVED-DELAY"]
    lines = report.icpc_csv().splitlines()
    assert lines[0] == (
        "case_reference,procedure_id,area,team,strategy_discussion,due,booked,held,status,"
        "working_days_late,reason,approval,approver,approver_comment,registered_working_day"
    )
    assert lines[1] == (
        "APPROVED-DELAY,bct-management-note,north,north-1,2026-03-02,2026-03-23,2026-03-27,"
        "2026-03-27,held late,4,Police checks outstanding,approved,"
        f"{HEAD},Agreed: the safety plan manages the risk,"
    )
    assert report.rcpc_csv().splitlines() == [
        "case_reference,procedure_id,area,team,review_number,due,booked,held,status,"
        "working_days_late,reason,approval,approver,approver_comment"
    ]
