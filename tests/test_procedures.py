"""The five installed procedures say what their documents say.

Every expected date below was worked out by hand from a printed calendar and the England
bank holidays (2026: Good Friday 3 April, Easter Monday 6 April, early May 4 May, Christmas
25 December, Boxing Day substitute 28 December; 2027: New Year 1 January, Good Friday
26 March, Easter Monday 29 March, early May 3 May). The clocks go forward on 29 March 2026
and 28 March 2027 and back on 25 October 2026. Day 0 is the strategy discussion; "our day N"
is the Nth working day after it. Nothing here is copied from the planner's output.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from domain.calendar import LONDON
from domain.planner import PlannedMilestone, Schedule, plan
from domain.procedure import ICPC_DEADLINE_ID, Enforcement, Phase, Procedure
from domain.vocabulary import Anchor, DecisionKind
from procedures import PROCEDURES_DIR, load_all, load_procedure

EXPECTED_IDS = {
    "bct-management-note",  # seed 000
    "man13-qarss",  # seed 001
    "isu-practitioner-guide",  # seed 002
    "cp-conference-responsibilities",  # seed 003
    "leicestershire-leaflet",  # seed 004
}


def london(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=LONDON)


def utc(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


@pytest.fixture(scope="module")
def procedures() -> dict[str, Procedure]:
    return load_all()


def due(schedule: Schedule, milestone_id: str) -> datetime:
    m: PlannedMilestone = schedule.get(milestone_id)
    assert m.due is not None, f"{milestone_id} still waits on {m.waiting_on}"
    return m.due


def assert_due(schedule: Schedule, milestone_id: str, expected_utc: datetime) -> None:
    """Compare the instant, and the London wall clock, so an hour's slip cannot hide."""
    actual = due(schedule, milestone_id)
    assert actual.astimezone(UTC) == expected_utc, milestone_id
    assert actual.astimezone(LONDON) == expected_utc.astimezone(LONDON), milestone_id


# --- every installed file --------------------------------------------------------------------


def test_every_installed_file_loads_and_the_ids_are_the_five_expected() -> None:
    paths = sorted(PROCEDURES_DIR.glob("*.toml"))
    assert len(paths) == 5
    ids = [load_procedure(path).id for path in paths]
    assert len(set(ids)) == len(ids)
    assert set(ids) == EXPECTED_IDS
    # Each file is named after its id, so an operator can find it.
    assert {path.stem for path in paths} == EXPECTED_IDS
    assert set(load_all()) == EXPECTED_IDS


@pytest.mark.parametrize("procedure_id", sorted(EXPECTED_IDS))
def test_each_has_the_statutory_15_working_day_icpc_deadline(
    procedures: dict[str, Procedure], procedure_id: str
) -> None:
    deadline = procedures[procedure_id].milestone(ICPC_DEADLINE_ID)
    assert deadline.anchor == Anchor.STRATEGY_DISCUSSION
    assert deadline.working_days == 15
    assert (deadline.days, deadline.months, deadline.hours) == (None, None, None)
    assert deadline.statutory is True
    assert deadline.phase == Phase.ICPC
    assert deadline.satisfied_by == [DecisionKind.HOLD_CONFERENCE.value]


@pytest.mark.parametrize("procedure_id", sorted(EXPECTED_IDS))
def test_each_says_how_it_numbers_days_and_quotes_a_source_for_every_milestone(
    procedures: dict[str, Procedure], procedure_id: str
) -> None:
    procedure = procedures[procedure_id]
    assert procedure.day_numbering.strip()
    assert procedure.source_document.startswith("shared/seeds/")
    for m in procedure.milestones:
        assert m.source.strip(), f"{procedure_id}: {m.id} has no source"


@pytest.mark.parametrize(
    ("procedure_id", "approvers"),
    [
        # 000 action 7: "only be moved out of timescale with the approval of the Head of
        # Service" (Manager Responsible: Area HoS); action 8: "recorded agreement from the
        # Head of Service".
        ("bct-management-note", ["area_head_of_service"]),
        # 001 step 14: "If the Area Manager agrees with the reasons for the ICPC to go out
        # of timescale".
        ("man13-qarss", ["area_manager"]),
        # 004: "SW/TM must obtain their Service Manager agreement for the conference to go
        # out of date".
        ("leicestershire-leaflet", ["service_manager"]),
    ],
)
def test_who_may_approve_a_delay(
    procedures: dict[str, Procedure], procedure_id: str, approvers: list[str]
) -> None:
    procedure = procedures[procedure_id]
    assert procedure.roles_for(DecisionKind.APPROVE_DELAY) == approvers
    assert procedure.roles_for(DecisionKind.REJECT_DELAY) == approvers
    for role in procedure.roles:
        if role.id not in approvers:
            assert not procedure.may_decide(role.id, DecisionKind.APPROVE_DELAY), role.id


# --- 000: Birmingham Children's Trust management note ----------------------------------------


def test_000_confirm_by_day_5_checklist_by_day_7_invitations_2_days_after_the_sheet(
    procedures: dict[str, Procedure],
) -> None:
    bct = procedures["bct-management-note"]
    # Strategy discussion Tuesday 3 November 2026 (GMT), no bank holidays in the window.
    # Day 0 Tue 3, 1 Wed 4, 2 Thu 5, 3 Fri 6, 4 Mon 9, 5 Tue 10, 6 Wed 11, 7 Thu 12,
    # 8 Fri 13, 9 Mon 16, 10 Tue 17, 11 Wed 18, 12 Thu 19, 13 Fri 20, 14 Mon 23, 15 Tue 24.
    # The sheet arrives Thursday 12 November at 11:00; 2 working days on: Fri 13 (1),
    # Mon 16 (2).
    schedule = plan(
        bct,
        london(2026, 11, 3, 10),
        {Anchor.CONVENING_SHEET_RECEIVED: london(2026, 11, 12, 11)},
    )
    # Action 5: "On or before the 5th working day from the Strategy Meeting/Discussion ...
    # confirm or withdraw the need for an ICPC".
    assert_due(schedule, "confirm_or_withdraw", utc(2026, 11, 10, 17))
    assert schedule.get("confirm_or_withdraw").working_day == 5
    assert set(schedule.get("confirm_or_withdraw").satisfied_by) == {
        "confirm_icpc",
        "withdraw_icpc",
    }
    # Action 9: "a completed convening checklist ... no later than day 7 after the Strategy
    # Meeting date".
    assert_due(schedule, "convening_sheet", utc(2026, 11, 12, 17))
    assert schedule.get("convening_sheet").working_day == 7
    assert bct.convening_sheet.require_email  # "including email addresses"
    # Action 10: "Invitations ... within 2 days of receipt of the convening sheet".
    assert schedule.get("invitations_sent").anchor == Anchor.CONVENING_SHEET_RECEIVED
    assert_due(schedule, "invitations_sent", utc(2026, 11, 16, 17))
    # Context: "within 15 working days of the Strategy Discussion".
    assert_due(schedule, ICPC_DEADLINE_ID, utc(2026, 11, 24, 17))


def test_000_over_christmas_the_bank_holidays_are_skipped_and_schools_use_the_mailbox(
    procedures: dict[str, Procedure],
) -> None:
    bct = procedures["bct-management-note"]
    # Strategy Thursday 17 December 2026. Day 1 Fri 18, 2 Mon 21, 3 Tue 22, 4 Wed 23,
    # 5 Thu 24 (Christmas Eve is a working day), Fri 25 and Mon 28 (Boxing Day substitute)
    # are off, 6 Tue 29, 7 Wed 30, 8 Thu 31, Fri 1 January off, 9 Mon 4, 10 Tue 5, 11 Wed 6,
    # 12 Thu 7, 13 Fri 8, 14 Mon 11, 15 Tue 12 January 2027.
    schedule = plan(bct, london(2026, 12, 17, 10))
    assert_due(schedule, "confirm_or_withdraw", utc(2026, 12, 24, 17))
    assert_due(schedule, "convening_sheet", utc(2026, 12, 30, 17))
    assert_due(schedule, ICPC_DEADLINE_ID, utc(2027, 1, 12, 17))
    assert schedule.get("invitations_sent").waiting_on == Anchor.CONVENING_SHEET_RECEIVED
    # Action 10: during school holidays invitations to schools go to the education mailbox.
    assert bct.school_holidays is not None
    assert bct.school_holidays.school_invitations_to == "EducationSafeguarding@birmingham.gov.uk"
    assert bct.school_holidays.covers(date(2026, 12, 30)) is not None
    assert bct.school_holidays.covers(date(2026, 11, 16)) is None


# --- 001: Management Action Note 13 (QARSS) --------------------------------------------------


def test_001_days_are_numbered_from_the_strategy_day_as_day_1(
    procedures: dict[str, Procedure],
) -> None:
    man13 = procedures["man13-qarss"]
    # Strategy Monday 1 February 2027. The note's Day 1 is that Monday (our day 0), so its
    # Day N is our day N-1:
    #   note Day 1 Mon 1 = our 0, Day 2 Tue 2 = 1, Day 3 Wed 3 = 2, Day 4 Thu 4 = 3,
    #   Day 5 Fri 5 = our 4, Day 6 Mon 8 = 5, Day 7 Tue 9 = 6, Day 8 Wed 10 = our 7,
    #   Day 9 Thu 11 = 8, Day 10 Fri 12 = 9, Day 11 Mon 15 = 10, Day 12 Tue 16 = 11,
    #   Day 13 Wed 17 = 12, Day 14 Thu 18 = our 13, Day 15 Fri 19 = our 14,
    #   and our day 15 (the statutory limit) is Monday 22 February.
    schedule = plan(man13, london(2027, 2, 1, 10))
    # Step 3, "Day 5": the s47 progress check and whether an ICPC is required.
    assert_due(schedule, "s47_progress_check", utc(2027, 2, 5, 17))
    assert schedule.get("s47_progress_check").working_day == 4
    # Step 4, "Day 6": the convening form goes to QARSS.
    assert_due(schedule, "convening_form", utc(2027, 2, 8, 17))
    assert schedule.get("convening_form").working_day == 5
    # Step 8, "Day 8": "QARSS business support will send out the invites".
    assert_due(schedule, "invitations_sent", utc(2027, 2, 10, 17))
    assert schedule.get("invitations_sent").working_day == 7
    # Step 12 and Working Together: 15 working days after the strategy meeting.
    assert_due(schedule, ICPC_DEADLINE_ID, utc(2027, 2, 22, 17))
    # Step 8: "ICPC should be booked for either day 14 or day 15 of the process".
    assert man13.booking.preferred_working_days == [13, 14]
    cal = man13.calendar
    assert [cal.add_working_days(date(2027, 2, 1), n) for n in (13, 14)] == [
        date(2027, 2, 18),
        date(2027, 2, 19),
    ]


def test_001_report_two_working_days_before_the_conference(
    procedures: dict[str, Procedure],
) -> None:
    man13 = procedures["man13-qarss"]
    # Step 11: "available 2 days before the conference". Conference on the note's Day 15,
    # Friday 19 February 2027: two working days before is Wednesday 17 (Thu 18 is -1).
    schedule = plan(
        man13, london(2027, 2, 1, 10), {Anchor.CONFERENCE_DATE: london(2027, 2, 19, 10)}
    )
    assert_due(schedule, "report_shared", utc(2027, 2, 17, 17))
    assert schedule.get("report_shared").working_day == 12
    # A conference on Monday 22 February: -1 is Fri 19, -2 is Thu 18 (the weekend skipped).
    schedule = plan(
        man13, london(2027, 2, 1, 10), {Anchor.CONFERENCE_DATE: london(2027, 2, 22, 10)}
    )
    assert_due(schedule, "report_shared", utc(2027, 2, 18, 17))


def test_001_five_working_days_notice_or_the_booking_is_refused(
    procedures: dict[str, Procedure],
) -> None:
    man13 = procedures["man13-qarss"]
    # Step 8: "no ICPC can be convened without giving parents and other professionals at
    # least 5 days' notice" -- a refusal, not a warning.
    notice = man13.invitation_notice
    assert notice is not None
    assert notice.working_days == 5
    assert notice.days is None
    assert notice.enforcement == Enforcement.REFUSE
    # The note's own timetable keeps to it: invites on its Day 8 (Wed 10 February), the
    # conference on its Day 14 (Thu 18): Thu 11, Fri 12, Mon 15, Tue 16, Wed 17, Thu 18 --
    # six working days.
    assert man13.calendar.working_days_between(date(2027, 2, 10), date(2027, 2, 18)) == 6
    # Step 10: no ISRO for day 14 or 15 goes to the Ops Manager (CP).
    escalation = next(c for c in man13.capacity_escalations if c.id == "no_isro_available")
    assert escalation.escalate_to == ["ops_manager_cp"]


# --- 002: ISU practitioner guide -------------------------------------------------------------


def test_002_s47_reports_and_initial_core_group(procedures: dict[str, Procedure]) -> None:
    isu = procedures["isu-practitioner-guide"]
    # Strategy Wednesday 1 April 2026 (BST since 29 March). Day 1 Thu 2, Fri 3 (Good Friday)
    # and Mon 6 (Easter Monday) off, 2 Tue 7, 3 Wed 8, 4 Thu 9, 5 Fri 10, 6 Mon 13, 7 Tue 14,
    # 8 Wed 15, 9 Thu 16, 10 Fri 17, 11 Mon 20, 12 Tue 21, 13 Wed 22, 14 Thu 23, 15 Fri 24.
    # Conference booked for and held on Tuesday 21 April 2026.
    # Reports 3 working days before: Mon 20 (-1), Fri 17 (-2), Thu 16 (-3).
    # Initial core group 10 working days after it was held: Wed 22 (1), Thu 23, Fri 24,
    # Mon 27, Tue 28, Wed 29, Thu 30, Fri 1 May (8), Mon 4 May is a bank holiday, Tue 5 (9),
    # Wed 6 May (10).
    schedule = plan(
        isu,
        london(2026, 4, 1, 10),
        {
            Anchor.CONFERENCE_DATE: london(2026, 4, 21, 10),
            Anchor.CONFERENCE_HELD: london(2026, 4, 21, 12),
        },
    )
    # "This must be completed within four working days of the Strategy Discussion."
    assert_due(schedule, "s47_completed", utc(2026, 4, 9, 16))  # 17:00 BST
    assert schedule.get("s47_completed").working_day == 4
    # "share with family 3 working days prior to the conference".
    assert_due(schedule, "reports_shared_with_family", utc(2026, 4, 16, 16))
    assert schedule.get("reports_shared_with_family").working_day == 9
    assert_due(schedule, ICPC_DEADLINE_ID, utc(2026, 4, 24, 16))
    # "Initial Core Group within 10 working days", chaired by the team manager.
    core = schedule.get("initial_core_group")
    assert core.anchor == Anchor.CONFERENCE_HELD
    assert core.phase == Phase.PLAN
    assert core.working_day is None  # after the ICPC, not counted from the strategy day
    assert_due(schedule, "initial_core_group", utc(2026, 5, 6, 16))
    assert isu.roles_for(DecisionKind.HOLD_CORE_GROUP) == ["team_manager"]


def test_002_core_group_waits_until_the_conference_is_held(
    procedures: dict[str, Procedure],
) -> None:
    schedule = plan(procedures["isu-practitioner-guide"], london(2026, 4, 1, 10))
    assert schedule.get("initial_core_group").due is None
    assert schedule.get("initial_core_group").waiting_on == Anchor.CONFERENCE_HELD


# --- 003: CP conference responsibilities -----------------------------------------------------


def test_003_invitations_48_hours_after_the_sheet_and_report_48_hours_before(
    procedures: dict[str, Procedure],
) -> None:
    cp = procedures["cp-conference-responsibilities"]
    # Strategy Monday 5 October 2026. Day 5 Mon 12, day 10 Mon 19, day 15 Mon 26 October.
    # The sheet arrives Wednesday 14 October at 09:30 BST; 48 hours later is Friday 16
    # October at 09:30 BST (08:30 UTC). The conference is booked for Thursday 22 October at
    # 10:00 BST; 48 hours before is Tuesday 20 October at 10:00 BST (09:00 UTC).
    schedule = plan(
        cp,
        london(2026, 10, 5, 10),
        {
            Anchor.CONVENING_SHEET_RECEIVED: london(2026, 10, 14, 9, 30),
            Anchor.CONFERENCE_DATE: london(2026, 10, 22, 10),
        },
    )
    # Stage 1, days 0-5: the convening sheet returned.
    assert_due(schedule, "convening_sheet", utc(2026, 10, 12, 16))
    # Stage 2, days 5-10: chair, slot and venue found.
    assert_due(schedule, "conference_booked", utc(2026, 10, 19, 16))
    # Stage 2: "Send the invites ... Within 48 hours of completed form submitted."
    assert_due(schedule, "invitations_sent", utc(2026, 10, 16, 8, 30))
    # Stage 3: "Complete social work report ... at least 48 hours before conference".
    assert_due(schedule, "report_shared", utc(2026, 10, 20, 9))
    # Stage 3 ends on day 15.
    assert_due(schedule, ICPC_DEADLINE_ID, utc(2026, 10, 26, 17))  # GMT by then


def test_003_48_hours_count_in_working_time(procedures: dict[str, Procedure]) -> None:
    """003: "Send the invites ... Within 48 hours of completed form submitted." and "Complete
    social work report to conference at least 48 hours before conference, having shared with
    family." Counted as two working days at the same time of day."""
    cp = procedures["cp-conference-responsibilities"]
    # Sheet received Friday 23 October 2026 at 15:00 BST: Mon 26 (1), Tue 27 (2) at 15:00 GMT,
    # not Sunday 25 (the clocks go back that night; the wall-clock time is kept).
    # Conference Monday 26 October at 10:00 GMT: Fri 23 (1), Thu 22 (2) at 10:00 BST.
    schedule = plan(
        cp,
        london(2026, 10, 5, 10),
        {
            Anchor.CONVENING_SHEET_RECEIVED: london(2026, 10, 23, 15),
            Anchor.CONFERENCE_DATE: london(2026, 10, 26, 10),
        },
    )
    assert_due(schedule, "invitations_sent", utc(2026, 10, 27, 15))
    assert_due(schedule, "safety_screening", utc(2026, 10, 27, 15))
    assert_due(schedule, "report_shared", utc(2026, 10, 22, 9))
    assert due(schedule, "report_shared").astimezone(LONDON).hour == 10
    # The August bank holiday: a sheet on Friday 28 August 2026 at 11:00 is due Tue 1 (1),
    # Wed 2 September (2) at 11:00 BST, Monday 31 being a bank holiday.
    schedule = plan(
        cp, london(2026, 8, 20, 10), {Anchor.CONVENING_SHEET_RECEIVED: london(2026, 8, 28, 11)}
    )
    assert_due(schedule, "invitations_sent", utc(2026, 9, 2, 10))


def test_003_review_attendance_list_two_weeks_before_the_review(
    procedures: dict[str, Procedure],
) -> None:
    cp = procedures["cp-conference-responsibilities"]
    # "provide an up to date attendance list ... at least two weeks prior to the Conference".
    # Review booked for Wednesday 10 February 2027 at 10:00; 14 days before is Wednesday
    # 27 January 2027, due by the end of that day (17:00 GMT).
    schedule = plan(cp, london(2026, 10, 5, 10), {Anchor.REVIEW_DATE: london(2027, 2, 10, 10)})
    review_list = schedule.get("review_attendance_list")
    assert review_list.phase == Phase.REVIEW
    assert review_list.anchor == Anchor.REVIEW_DATE
    assert_due(schedule, "review_attendance_list", utc(2027, 1, 27, 17))
    assert cp.convening_sheet.require_email
    assert cp.convening_sheet.require_telephone
    assert cp.convening_sheet.require_postal_address


# --- 004: Leicestershire leaflet -------------------------------------------------------------


@pytest.mark.parametrize(
    ("strategy", "cut_off_utc"),
    [
        # BST: strategy Monday 7 September 2026. 1 Tue 8, 2 Wed 9, 3 Thu 10, 4 Fri 11,
        # 5 Mon 14, 6 Tue 15, 7 Wed 16 September; 16:00 BST = 15:00 UTC.
        (london(2026, 9, 7, 10), utc(2026, 9, 16, 15)),
        # GMT: strategy Monday 9 November 2026. 1 Tue 10, 2 Wed 11, 3 Thu 12, 4 Fri 13,
        # 5 Mon 16, 6 Tue 17, 7 Wed 18 November; 16:00 GMT = 16:00 UTC.
        (london(2026, 11, 9, 10), utc(2026, 11, 18, 16)),
        # Easter 2027: strategy Wednesday 24 March (GMT). 1 Thu 25, Good Friday 26, the
        # weekend (clocks forward on the 28th) and Easter Monday 29 are off, 2 Tue 30,
        # 3 Wed 31, 4 Thu 1 April, 5 Fri 2, 6 Mon 5, 7 Tue 6 April; 16:00 BST = 15:00 UTC.
        (london(2027, 3, 24, 10), utc(2027, 4, 6, 15)),
    ],
    ids=["bst", "gmt", "easter-2027"],
)
def test_004_police_checks_cut_off_4pm_on_working_day_7(
    procedures: dict[str, Procedure], strategy: datetime, cut_off_utc: datetime
) -> None:
    # "Cut off is 4pm on the seventh day following the date of the Strategy discussion".
    schedule = plan(procedures["leicestershire-leaflet"], strategy)
    assert_due(schedule, "police_checks_requested", cut_off_utc)
    cut_off = due(schedule, "police_checks_requested").astimezone(LONDON)
    assert (cut_off.hour, cut_off.minute) == (16, 0)
    assert schedule.get("police_checks_requested").working_day == 7
    # "Best practice is to give minimum of an extra day": the reminder a working day before.
    remind_at = schedule.get("police_checks_requested").remind_at
    assert remind_at is not None
    cal = procedures["leicestershire-leaflet"].calendar
    strategy_day = strategy.astimezone(LONDON).date()
    assert cal.working_days_between(strategy_day, remind_at.astimezone(LONDON).date()) == 6


@pytest.mark.parametrize(
    ("conference", "cut_off_utc"),
    [
        # Strategy Monday 9 November 2026; conference booked for day 10, Monday 23 November at
        # 10:00. Seven working days before: Fri 20 (-1), Thu 19, Wed 18, Tue 17, Mon 16, Fri 13,
        # Thu 12 November (-7), at 16:00 GMT: earlier than working day 7 (Wed 18).
        (london(2026, 11, 23, 10), utc(2026, 11, 12, 16)),
        # A conference on day 15 (Mon 30 November): seven working days before is Thu 19, later
        # than working day 7, so the leaflet's day-7 cut-off stands.
        (london(2026, 11, 30, 10), utc(2026, 11, 18, 16)),
    ],
    ids=["booked-day-10", "booked-day-15"],
)
def test_004_police_checks_need_seven_working_days_before_the_conference(
    procedures: dict[str, Procedure], conference: datetime, cut_off_utc: datetime
) -> None:
    """004: "Police require at least seven working days' notice to request checks. Cut off is
    4pm on the seventh day following the date of the Strategy discussion": the notice is before
    the conference itself, so a conference booked before day 15 brings the cut-off forward."""
    leics = procedures["leicestershire-leaflet"]
    strategy = london(2026, 11, 9, 10)
    assert_due(plan(leics, strategy), "police_checks_requested", utc(2026, 11, 18, 16))
    booked = plan(leics, strategy, {Anchor.CONFERENCE_DATE: conference})
    assert_due(booked, "police_checks_requested", cut_off_utc)
    cal = leics.calendar
    cut_off = due(booked, "police_checks_requested").astimezone(LONDON)
    assert (cut_off.hour, cut_off.minute) == (16, 0)
    assert cal.working_days_between(cut_off.date(), conference.date()) >= 7


def test_004_easter_2027_request_deadline_report_and_after_the_conference(
    procedures: dict[str, Procedure],
) -> None:
    leics = procedures["leicestershire-leaflet"]
    # Strategy Wednesday 24 March 2027; working days as in the Easter case above, then
    # 8 Wed 7, 9 Thu 8, 10 Fri 9, 11 Mon 12, 12 Tue 13, 13 Wed 14, 14 Thu 15, 15 Fri 16 April.
    # Conference booked for and held on Thursday 15 April 2027 at 10:00 BST.
    # Report: 24 hours before is Wednesday 14 April at 10:00 BST = 09:00 UTC.
    # Plan sign-off, 5 working days after: Fri 16 (1), Mon 19, Tue 20, Wed 21, Thu 22 (5).
    # Record, 15 working days after: ... Thu 22 (5), Fri 23 (6), Mon 26, Tue 27, Wed 28,
    # Thu 29 (10), Fri 30 (11), Mon 3 May is a bank holiday, Tue 4 (12), Wed 5, Thu 6,
    # Fri 7 May (15).
    schedule = plan(
        leics,
        london(2027, 3, 24, 10),
        {
            Anchor.CONFERENCE_DATE: london(2027, 4, 15, 10),
            Anchor.CONFERENCE_HELD: london(2027, 4, 15, 12),
        },
    )
    # "by DAY 4 ... alerting your manager", "by DAY 5 the request for an ICPC needs to be
    # completed": due on day 5 (Fri 2 April), the manager reminded on day 4 (Thu 1 April).
    assert_due(schedule, "request_icpc", utc(2027, 4, 2, 16))
    request = schedule.get("request_icpc")
    assert "team_manager" in request.remind
    assert request.remind_at is not None
    assert request.remind_at.astimezone(LONDON).date() == date(2027, 4, 1)
    # "The ICPC must be held within 15 working days of the Strategy Discussion".
    assert_due(schedule, ICPC_DEADLINE_ID, utc(2027, 4, 16, 16))
    # "at least 24 hours before conference".
    assert_due(schedule, "report_shared_with_family", utc(2027, 4, 14, 9))
    # "signed off on Mosaic by the CP Chair no later than 5 working days of the conference".
    assert schedule.get("plan_signed_off").anchor == Anchor.CONFERENCE_HELD
    assert_due(schedule, "plan_signed_off", utc(2027, 4, 22, 16))
    assert leics.roles_for(DecisionKind.SIGN_OFF_PLAN) == ["cp_chair"]
    # "A record of the CP Conference ... no later than 15 working days of the CP Conference".
    assert schedule.get("conference_record_shared").anchor == Anchor.CONFERENCE_HELD
    assert_due(schedule, "conference_record_shared", utc(2027, 5, 7, 16))


def test_004_report_is_24_working_hours_before_the_conference(
    procedures: dict[str, Procedure],
) -> None:
    """004: "Family must have sight of or receive a copy of the Social Work report at least 24
    hours before conference": the same time one working day before."""
    leics = procedures["leicestershire-leaflet"]
    # Conference Monday 23 November 2026 at 14:00 GMT: Friday 20 at 14:00, not Sunday 22.
    schedule = plan(
        leics, london(2026, 11, 9, 10), {Anchor.CONFERENCE_DATE: london(2026, 11, 23, 14)}
    )
    assert_due(schedule, "report_shared_with_family", utc(2026, 11, 20, 14))
    # Conference Tuesday 29 December 2026 at 10:00: Christmas Day (Friday), the weekend and
    # Boxing Day's substitute (Monday 28) are off, so Thursday 24 December at 10:00.
    schedule = plan(
        leics, london(2026, 12, 17, 10), {Anchor.CONFERENCE_DATE: london(2026, 12, 29, 10)}
    )
    assert_due(schedule, "report_shared_with_family", utc(2026, 12, 24, 10))


def test_004_repeat_plans_stand_downs_notice_and_delays(
    procedures: dict[str, Procedure],
) -> None:
    leics = procedures["leicestershire-leaflet"]
    # "back to conference within 12 months of the end of the previous child protection plan
    # the Service Manager for your team must provide oversight".
    assert leics.repeat_plan is not None
    assert leics.repeat_plan.within_months == 12
    assert leics.repeat_plan.oversight_role == "service_manager"
    assert leics.roles_for(DecisionKind.RECORD_REPEAT_PLAN_OVERSIGHT) == ["service_manager"]
    # Not quorate: "to stand a CP Conference down will need permission from a Safeguarding
    # manager".
    not_quorate = leics.stand_down_reason("not_quorate")
    assert not_quorate is not None
    assert not_quorate.permission_from == "safeguarding_manager"
    assert not not_quorate.ends_case
    assert leics.may_decide("safeguarding_manager", DecisionKind.STAND_DOWN)
    # No longer needed ends the case rather than rebooking.
    no_longer_needed = leics.stand_down_reason("no_longer_needed")
    assert no_longer_needed is not None and no_longer_needed.ends_case
    # "If it is not possible to hold the meeting before it's last day, SW/TM must obtain
    # their Service Manager agreement for the conference to go out of date".
    assert leics.roles_for(DecisionKind.APPROVE_DELAY) == ["service_manager"]
    assert set(leics.roles_for(DecisionKind.REQUEST_DELAY)) == {"social_worker", "team_manager"}
    for role in ("social_worker", "team_manager", "cp_chair", "safeguarding_manager"):
        assert not leics.may_decide(role, DecisionKind.APPROVE_DELAY)
    # "all participants of a conference should be given 7 working days notice" (LLR
    # practice standards): a "should", so short notice is flagged, not refused.
    notice = leics.invitation_notice
    assert notice is not None
    assert notice.working_days == 7
    assert notice.enforcement == Enforcement.FLAG


# --- what every procedure must let someone decide --------------------------------------------

REQUIRED_DECISIONS = [
    DecisionKind.CONFIRM_ICPC,
    DecisionKind.WITHDRAW_ICPC,
    DecisionKind.RECEIVE_CONVENING_SHEET,
    DecisionKind.BOOK_CONFERENCE,
    DecisionKind.REQUEST_DELAY,
    DecisionKind.APPROVE_DELAY,
    DecisionKind.REJECT_DELAY,
    DecisionKind.STAND_DOWN,
    DecisionKind.REBOOK_CONFERENCE,
    DecisionKind.HOLD_CONFERENCE,
    DecisionKind.REASSIGN_WORKER,
    DecisionKind.HOLD_CORE_GROUP,
    DecisionKind.SIGN_OFF_PLAN,
    DecisionKind.SHARE_CONFERENCE_RECORD,
    DecisionKind.SEND_REVIEW_ATTENDANCE_LIST,
    DecisionKind.BOOK_REVIEW,
    DecisionKind.REQUEST_REVIEW_MOVE,
    DecisionKind.APPROVE_REVIEW_MOVE,
    DecisionKind.HOLD_REVIEW,
    DecisionKind.END_PLAN,
]


@pytest.mark.parametrize("procedure_id", sorted(EXPECTED_IDS))
def test_each_names_who_takes_every_decision_a_case_and_its_plan_need(
    procedures: dict[str, Procedure], procedure_id: str
) -> None:
    procedure = procedures[procedure_id]
    missing = [kind.value for kind in REQUIRED_DECISIONS if not procedure.roles_for(kind)]
    assert missing == []
    # Whoever asks for a delay does not approve it alone.
    requesters = set(procedure.roles_for(DecisionKind.REQUEST_DELAY))
    assert not requesters & set(procedure.roles_for(DecisionKind.APPROVE_DELAY))
    # Every review-move agreement the procedure asks for can be given by someone.
    approvers = set(procedure.roles_for(DecisionKind.APPROVE_REVIEW_MOVE))
    for role in procedure.reviews.move_within_timescale + procedure.reviews.move_out_of_timescale:
        assert role in approvers | set(procedure.roles_for(DecisionKind.REQUEST_REVIEW_MOVE))


@pytest.mark.parametrize("procedure_id", sorted(EXPECTED_IDS))
def test_each_can_stand_a_conference_down_and_end_or_rebook_it(
    procedures: dict[str, Procedure], procedure_id: str
) -> None:
    procedure = procedures[procedure_id]
    reasons = procedure.stand_down_reasons
    assert any(r.ends_case for r in reasons), "a conference no longer needed ends the case"
    assert any(not r.ends_case for r in reasons), "a conference that cannot go ahead is rebooked"
    for reason in reasons:
        assert reason.source.strip(), f"{procedure_id}: {reason.id} has no source"
        if reason.permission_from:
            assert procedure.may_decide(reason.permission_from, DecisionKind.STAND_DOWN)


@pytest.mark.parametrize("procedure_id", sorted(EXPECTED_IDS))
def test_each_reviews_first_within_3_months_then_every_6(
    procedures: dict[str, Procedure], procedure_id: str
) -> None:
    reviews = procedures[procedure_id].reviews
    if procedure_id == "man13-qarss":
        # 001 context: "3 months (90 days) between the ICP and the first review child protection
        # conference (RCPC)"; "6 months (181 days) between the first and second RCPC and any
        # subsequent RCPC": counted in days as written.
        assert (reviews.first.days, reviews.then.days) == (90, 181)
        assert (reviews.first.months, reviews.then.months) == (None, None)
    else:
        assert (reviews.first.months, reviews.then.months) == (3, 6)
    # A review held late always needs somebody's recorded agreement.
    assert reviews.move_out_of_timescale


# --- 000: more of the note -------------------------------------------------------------------


def test_000_easter_2026_and_the_clocks_going_forward(procedures: dict[str, Procedure]) -> None:
    bct = procedures["bct-management-note"]
    # Strategy Wednesday 25 March 2026 at 10:00 GMT; the clocks go forward on Sunday 29.
    # Day 1 Thu 26, 2 Fri 27, 3 Mon 30, 4 Tue 31, 5 Wed 1 April, 6 Thu 2, Good Friday 3 and
    # Easter Monday 6 are off, 7 Tue 7, 8 Wed 8, 9 Thu 9, 10 Fri 10, 11 Mon 13, 12 Tue 14,
    # 13 Wed 15, 14 Thu 16, 15 Fri 17 April. Every due time is 17:00 BST = 16:00 UTC.
    # The sheet arrives Thursday 2 April at 15:00: 2 working days on are Tue 7 (1), Wed 8 (2).
    schedule = plan(
        bct,
        london(2026, 3, 25, 10),
        {Anchor.CONVENING_SHEET_RECEIVED: london(2026, 4, 2, 15)},
    )
    assert schedule.strategy_discussion.utcoffset() == timedelta(0)
    assert_due(schedule, "confirm_or_withdraw", utc(2026, 4, 1, 16))
    assert due(schedule, "confirm_or_withdraw").utcoffset() == timedelta(hours=1)
    assert_due(schedule, "convening_sheet", utc(2026, 4, 7, 16))
    assert schedule.get("convening_sheet").working_day == 7
    assert_due(schedule, "invitations_sent", utc(2026, 4, 8, 16))
    assert_due(schedule, ICPC_DEADLINE_ID, utc(2026, 4, 17, 16))


def test_000_no_venue_goes_to_the_head_of_service_then_corporate_accommodation(
    procedures: dict[str, Procedure],
) -> None:
    bct = procedures["bct-management-note"]
    # Action 14: "the Head of Service will escalate to the Corporate Accommodation lead".
    (no_venue,) = [c for c in bct.capacity_escalations if c.id == "no_venue"]
    assert no_venue.escalate_to == ["area_head_of_service", "corporate_accommodation_lead"]
    # Action 7: the team manager e-mails the head of service to ask for a late booking.
    assert bct.roles_for(DecisionKind.REQUEST_DELAY) == ["team_manager"]
    # Action 13: reviews booked early "may be moved to prioritise ICPCs" (Safeguarding AHoS).
    assert bct.reviews.move_within_timescale == ["safeguarding_assistant_head_of_service"]
    # The note sets no notice period for invitations.
    assert bct.invitation_notice is None


# --- 001: more of the note -------------------------------------------------------------------


def test_001_over_christmas_2026_and_new_year(procedures: dict[str, Procedure]) -> None:
    man13 = procedures["man13-qarss"]
    # Strategy Monday 14 December 2026 (the note's Day 1, our day 0). Our day 1 Tue 15,
    # 2 Wed 16, 3 Thu 17, 4 Fri 18, 5 Mon 21, 6 Tue 22, 7 Wed 23, 8 Thu 24; Christmas Fri 25
    # and the Boxing Day substitute Mon 28 are off; 9 Tue 29, 10 Wed 30, 11 Thu 31; New Year
    # Fri 1 January off; 12 Mon 4, 13 Tue 5, 14 Wed 6, 15 Thu 7 January 2027.
    # Conference on the note's Day 14 (our 13), Tuesday 5 January 2027 at 10:00: the report
    # "2 days before the conference" is Mon 4 (-1), then Fri 1 is off, so Thu 31 December (-2).
    schedule = plan(
        man13, london(2026, 12, 14, 10), {Anchor.CONFERENCE_DATE: london(2027, 1, 5, 10)}
    )
    assert_due(schedule, "s47_progress_check", utc(2026, 12, 18, 17))  # note Day 5
    assert_due(schedule, "convening_form", utc(2026, 12, 21, 17))  # note Day 6
    assert_due(schedule, "invitations_sent", utc(2026, 12, 23, 17))  # note Day 8
    assert_due(schedule, "report_shared", utc(2026, 12, 31, 17))
    assert schedule.get("report_shared").working_day == 11
    assert_due(schedule, ICPC_DEADLINE_ID, utc(2027, 1, 7, 17))
    # "day 14 or day 15 of the process" are Tue 5 and Wed 6 January 2027.
    cal = man13.calendar
    assert [
        cal.add_working_days(date(2026, 12, 14), n) for n in man13.booking.preferred_working_days
    ] == [
        date(2027, 1, 5),
        date(2027, 1, 6),
    ]


def test_001_escalations_and_review_moves(procedures: dict[str, Procedure]) -> None:
    man13 = procedures["man13-qarss"]
    escalations = {c.id: c.escalate_to for c in man13.capacity_escalations}
    # Step 15: "If QARRS cannot facilitate an ICPC within 7 working days of receiving all
    # necessary information, the Ops Manager (CP) should review and inform both the Team
    # manager and Area Manager".
    assert escalations["cannot_facilitate_within_7_working_days"] == [
        "ops_manager_cp",
        "team_manager",
        "area_manager",
    ]
    # A booking outside day 14 or 15 (our 13 or 14) is flagged to the Ops Manager (CP).
    assert man13.booking.flag_outside_preferred_to == ["ops_manager_cp"]
    # Steps 17-19: ISRO and team manager agree a move in timescale; the Area Manager and
    # the Ops Manager agree one out of it.
    assert man13.reviews.move_within_timescale == ["isro", "team_manager"]
    assert man13.reviews.move_out_of_timescale == ["area_manager", "ops_manager_cp"]
    # Step 13: the team manager raises it; step 14: the Area Manager agrees.
    assert man13.roles_for(DecisionKind.REQUEST_DELAY) == ["team_manager"]


# --- 002 and 003: more of the documents ------------------------------------------------------


def test_002_cancel_only_when_parents_cannot_attend(procedures: dict[str, Procedure]) -> None:
    isu = procedures["isu-practitioner-guide"]
    # "Meetings should only be cancelled in exceptional circumstances where parents cannot
    # attend"; social work availability is not a reason ("This cannot change").
    reasons = {r.id: r for r in isu.stand_down_reasons}
    assert set(reasons) == {"no_longer_needed", "parents_cannot_attend"}
    assert not reasons["parents_cannot_attend"].ends_case
    # "The team manager needs to ensure they still attend if the social worker is unable."
    assert isu.roles_for(DecisionKind.REASSIGN_WORKER) == ["team_manager"]
    assert isu.roles_for(DecisionKind.CONFIRM_ICPC) == ["team_manager"]


def test_003_decide_and_return_the_sheet_by_day_5_across_the_spring_clock_change(
    procedures: dict[str, Procedure],
) -> None:
    cp = procedures["cp-conference-responsibilities"]
    # Strategy Monday 16 March 2026 (GMT). Day 5 Mon 23 March (17:00 GMT = 17:00 UTC);
    # day 10 Mon 30 March, after the clocks go forward (17:00 BST = 16:00 UTC); day 11 Tue 31,
    # 12 Wed 1 April, 13 Thu 2, Good Friday and Easter Monday off, 14 Tue 7, 15 Wed 8 April.
    # Conference Monday 30 March at 10:00 BST: 48 hours before, in working time, is Fri 27 (1),
    # Thu 26 March (2) at 10:00 GMT on the wall clock.
    schedule = plan(cp, london(2026, 3, 16, 10), {Anchor.CONFERENCE_DATE: london(2026, 3, 30, 10)})
    # Stage 1, days 0-5: "Decide whether an ICPC is needed" and return the convening sheet.
    assert_due(schedule, "icpc_decision", utc(2026, 3, 23, 17))
    assert set(schedule.get("icpc_decision").satisfied_by) == {"confirm_icpc", "withdraw_icpc"}
    assert_due(schedule, "convening_sheet", utc(2026, 3, 23, 17))
    assert_due(schedule, "conference_booked", utc(2026, 3, 30, 16))
    assert_due(schedule, "report_shared", utc(2026, 3, 26, 10))
    assert due(schedule, "report_shared").astimezone(LONDON).hour == 10
    assert_due(schedule, ICPC_DEADLINE_ID, utc(2026, 4, 8, 16))
    # The table's invitations are "Within 48 hours" (hours = 48), the report "at least 48
    # hours before": both counted in working time (docs/working-days.md).
    assert cp.milestone("invitations_sent").hours == 48
    assert cp.milestone("report_shared").hours == -48


# --- 004: more of the leaflet ----------------------------------------------------------------


def test_004_who_stands_down_and_who_covers_a_sick_chair_or_clerk(
    procedures: dict[str, Procedure],
) -> None:
    leics = procedures["leicestershire-leaflet"]
    reasons = {r.id: r for r in leics.stand_down_reasons}
    # The leaflet's six reasons, in its order.
    assert list(reasons) == [
        "no_longer_needed",
        "not_quorate",
        "report_not_shared",
        "no_interpreter",
        "family_cannot_attend",
        "unforeseen_circumstances",
    ]
    # "make contact with the allocated CP Chair to discuss and agree the meeting to no longer
    # go ahead"; "discuss this with the allocated CP Chair and agree a change of date".
    assert reasons["no_longer_needed"].permission_from == "cp_chair"
    assert reasons["family_cannot_attend"].permission_from == "cp_chair"
    # "If the decision to rearrange/stand down the meeting has originated from the Social
    # Worker": the social worker may stand down for the reasons that need no permission.
    assert leics.may_decide("social_worker", DecisionKind.STAND_DOWN)
    # "In the event of an CP Chair being sick, Safeguarding Managers will attempt to obtain
    # cover from another CP Chair".
    escalations = {c.id: c.escalate_to for c in leics.capacity_escalations}
    assert escalations["chair_unavailable"] == ["safeguarding_manager"]
    assert "clerk_unavailable" in escalations
    # "the duty clerk can carry out the request" for police checks.
    assert set(leics.roles_for(DecisionKind.REQUEST_POLICE_CHECKS)) == {"social_worker", "clerk"}
    # The invite list is due by the same 16:00 cut-off as the police checks.
    invite_list = leics.milestone("invite_list")
    assert (invite_list.working_days, str(invite_list.time)) == (7, "16:00:00")


def test_000_reviews_are_not_booked_early(procedures: dict[str, Procedure]) -> None:
    # Action 12 (PO): "In order to maximise capacity, CPRCs will not be booked early in
    # anticipation of expected progress." The note gives no number: 20 working days before the
    # review falls due is the product's choice, and the file says so.
    bct = procedures["bct-management-note"]
    assert bct.reviews.earliest_working_days_before_due == 20
    others = [p for p in procedures.values() if p.id != "bct-management-note"]
    assert all(p.reviews.earliest_working_days_before_due is None for p in others)
    text = (PROCEDURES_DIR / "bct-management-note.toml").read_text(encoding="utf-8")
    assert "the product's choice" in text.split("earliest_working_days_before_due")[0][-600:]


def test_steps_name_their_seed_and_the_role_responsible_records_them(
    procedures: dict[str, Procedure],
) -> None:
    steps = {p.id: [m.id for m in p.steps()] for p in procedures.values()}
    # 001 steps 1, 2, 4 (two), 5, 6, 7; 003's Duty PO screening; 004's booking confirmation.
    assert steps["man13-qarss"] == [
        "strategy_meeting_form",
        "s47_enquiry_recorded",
        "family_informed",
        "advocacy_considered",
        "isro_screening_assigned",
        "s47_authorised",
        "isro_screening",
    ]
    assert steps["cp-conference-responsibilities"] == ["safety_screening"]
    assert steps["leicestershire-leaflet"] == ["booking_confirmed"]
    for proc in procedures.values():
        for m in proc.steps():
            assert m.source.strip() and m.remind, f"{proc.id}: {m.id}"
            assert proc.may_decide(m.responsible, DecisionKind.RECORD_STEP)
    screening = procedures["cp-conference-responsibilities"].milestone("safety_screening")
    assert screening.choices == ["hybrid", "virtual"]
    assert screening.responsible == "duty_principal_officer"
