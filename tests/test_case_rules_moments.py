"""Rules that must hold at every moment, not only when a decision is first taken (issue 11,
sections 3 and 5), and the people the procedures say must be told.

Domain tests: no Temporal, explicit ``now``. The strategy discussion is Monday 2 March 2026 at
10:00 (no bank holiday in the next 25 working days). Every name and address is invented.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import pytest

from domain import case_invitations, case_rules, case_views
from domain.calendar import LONDON, london_instant
from domain.case_rules import Refusal
from domain.case_state import CaseState, DelayStatus, Stage
from domain.decisions import Decider
from domain.outbox import CalendarMethod, EmailPurpose, OutgoingEmail
from domain.procedure import Procedure
from tests.case_helpers import (
    address_of,
    book,
    booking,
    decide,
    decision,
    invitees,
    new_state,
    procedure,
    who,
)
from tests.test_plan_rules import after_icpc_procedure, approve, email_of, move, new_plan
from tests.test_plan_rules import at as plan_at
from tests.test_plan_rules import book as book_review
from tests.test_plan_rules import decide as plan_decide

BCT = "bct-management-note"
QARSS = "man13-qarss"
LEICESTERSHIRE = "leicestershire-leaflet"
STRATEGY = datetime(2026, 3, 2, 10, 0, tzinfo=LONDON)


def at(day: date, hour: int = 11) -> datetime:
    return london_instant(day, time(hour, 0))


def working_day(state: CaseState, n: int) -> date:
    return state.calendar.add_working_days(state.strategy_day, n)


def on_day(state: CaseState, n: int, hour: int = 11) -> datetime:
    return at(working_day(state, n), hour)


def confirmed(proc: Procedure) -> CaseState:
    state = new_state(proc, STRATEGY)
    decide(state, decision(proc, "confirm_icpc"), STRATEGY + timedelta(hours=2))
    return state


def refused(state: CaseState, d: Any, now: datetime, match: str) -> None:
    before = state.model_dump_json()
    with pytest.raises(Refusal, match=match):
        case_rules.check(state, d, now)
    with pytest.raises(Refusal, match=match):
        case_rules.apply(state, d, now)
    assert state.model_dump_json() == before


def invitations(emails: list[OutgoingEmail]) -> list[OutgoingEmail]:
    return [e for e in emails if e.purpose == EmailPurpose.INVITATION]


def notices(emails: list[OutgoingEmail], words: str) -> list[OutgoingEmail]:
    return [e for e in emails if e.purpose == EmailPurpose.NOTICE and words in e.subject]


def addresses(proc: Procedure, roles: list[str]) -> list[str]:
    return [address_of(proc, r) for r in roles]


def delay_request(proc: Procedure, proposed: date, role: str | None = None) -> Any:
    return decision(
        proc,
        "request_delay",
        role,
        reason="Police disclosure will not be ready in time",
        proposed_date=proposed.isoformat(),
        safety_plan="Daily visits by the social worker",
    )


# --- 001 step 8: notice checked when the invitations go out ---------------------------------------


def test_a_late_convening_sheet_does_not_send_invitations_short_where_notice_is_refused() -> None:
    """001 step 8: "Please note that no ICPC can be convened without giving parents and other
    professionals at least 5 days' notice." Booked early for day 13, the sheet arrives on day 9:
    4 working days' notice. The invitations are held back, QARSS and the Ops Manager told."""
    proc = procedure(QARSS)
    state = confirmed(proc)
    decide(state, book(proc, working_day(state, 13)), on_day(state, 1))
    assert state.invitations_sent_sequence is None  # no invite list yet
    sent = decide(
        state, decision(proc, "receive_convening_sheet", invitees=invitees(2)), on_day(state, 9)
    )
    assert invitations(sent.emails) == []
    held = notices(sent.emails, "Invitations not sent: too little notice")
    assert len(held) == 1
    assert held[0].to == addresses(proc, ["ops_manager_cp", "qarss_business_support"])
    assert "at least 5 working days' notice" in held[0].body and "gives 4" in held[0].body
    assert state.invitations_sent_sequence is None
    assert not case_invitations.invitations_due(state)  # not retried, not sent later by accident
    events = [e.event for e in state.timeline]
    assert events[-1] == "invitations_held" and "invitations_sent" not in events
    assert "Invitations held back" in case_views.stage_details(state, on_day(state, 9))
    assert state.milestone("invitations_sent").met_at is None

    # The date moves: stood down and rebooked (with an approved delay) with enough notice.
    decide(
        state,
        decision(proc, "stand_down", stand_down_reason="cannot_go_ahead", reason="Short notice"),
        on_day(state, 9, 12),
    )
    decide(state, delay_request(proc, working_day(state, 17)), on_day(state, 9, 13))
    decide(state, decision(proc, "approve_delay", reason="Agreed"), on_day(state, 9, 14))
    rebook = decision(proc, "rebook_conference", booking=booking(working_day(state, 16)))
    sent = decide(state, rebook, on_day(state, 9, 15))
    assert len(invitations(sent.emails)) == 2
    assert state.invitations_sent_sequence == state.booking_sequence


def test_a_late_convening_sheet_sends_invitations_with_a_flag_where_notice_is_flagged() -> None:
    """004: "all participants of a conference should be given 7 working days notice": "should",
    so the invitations go, and the roles the file names are told they went short."""
    proc = procedure(LEICESTERSHIRE)
    notice = proc.invitation_notice
    assert notice is not None
    state = confirmed(proc)
    decide(state, book(proc, working_day(state, 12)), on_day(state, 1))
    sent = decide(
        state, decision(proc, "receive_convening_sheet", invitees=invitees(2)), on_day(state, 8)
    )
    assert len(invitations(sent.emails)) == 2
    short = notices(sent.emails, "Short notice for invitees")
    assert [e.to for e in short] == [addresses(proc, notice.escalate_to)]
    assert "went out with too little notice" in short[0].body
    entry = [e for e in state.timeline if e.event == "invitations_sent"][-1]
    assert "short notice" in entry.summary and "gives 4" in entry.summary


def test_invitations_with_enough_notice_go_as_before() -> None:
    proc = procedure(QARSS)
    state = confirmed(proc)
    decide(state, book(proc, working_day(state, 13)), on_day(state, 1))
    sent = decide(
        state, decision(proc, "receive_convening_sheet", invitees=invitees(2)), on_day(state, 7)
    )
    assert len(invitations(sent.emails)) == 2
    assert notices(sent.emails, "notice") == []
    assert state.milestone("invitations_sent").met_at is not None


# --- 004: withdrawing or standing down a booked ICPC ----------------------------------------------


def leicestershire_booked() -> tuple[Procedure, CaseState]:
    proc = procedure(LEICESTERSHIRE)
    state = confirmed(proc)
    decide(state, decision(proc, "receive_convening_sheet", invitees=invitees(2)), on_day(state, 1))
    decide(state, book(proc, working_day(state, 12)), on_day(state, 1, 15))
    return proc, state


def test_a_social_worker_cannot_cancel_a_booked_icpc_alone_in_leicestershire() -> None:
    """004: "make contact with the allocated CP Chair to discuss and agree the meeting to no
    longer go ahead, once this is done Social Worker should then call CYPS Safeguarding Unit"."""
    proc, state = leicestershire_booked()
    sent = decide(
        state,
        decision(proc, "withdraw_icpc", "social_worker", reason="Child now looked after"),
        on_day(state, 4),
    )
    assert state.stage == Stage.BOOKED and state.booking is not None
    assert state.withdrawn_at is None
    assert state.withdrawal_requested is not None
    assert state.withdrawal_requested.requested_by == who("social_worker")
    assert state.awaiting_roles() == ["cp_chair"]
    assert [e.to for e in sent.emails] == [addresses(proc, ["cp_chair"])]
    assert "your agreement is needed" in sent.emails[0].subject
    assert not any(e.calendar_event for e in sent.emails)  # nobody's invitation is cancelled
    assert "stays booked until a CP chair agrees" in state.timeline[-1].summary


def test_the_cp_chairs_agreement_withdraws_it_and_tells_the_chair_clerk_and_unit() -> None:
    proc, state = leicestershire_booked()
    decide(
        state,
        decision(proc, "withdraw_icpc", "social_worker", reason="Child now looked after"),
        on_day(state, 4),
    )
    sent = decide(
        state,
        decision(proc, "withdraw_icpc", "cp_chair", reason="Agreed with the social worker"),
        on_day(state, 4, 14),
    )
    assert state.stage == Stage.WITHDRAWN and sent.ended
    cancels = [e for e in sent.emails if e.calendar_event]
    assert [e.calendar_event.method for e in cancels if e.calendar_event] == [
        CalendarMethod.CANCEL
    ] * 2
    told = notices(sent.emails, "ICPC cancelled: withdrawn")
    assert len(told) == 1
    assert told[0].to == addresses(
        proc, ["cp_chair", "clerk", "safeguarding_unit", "social_worker"]
    )
    summary = [e for e in state.timeline if e.event == "withdraw_icpc"][-1].summary
    assert "with a CP chair's agreement (requested by user-social_worker)" in summary


def test_before_booking_the_social_worker_still_withdraws_alone() -> None:
    proc = procedure(LEICESTERSHIRE)
    state = confirmed(proc)
    decide(
        state,
        decision(proc, "withdraw_icpc", "social_worker", reason="Threshold not met"),
        on_day(state, 3),
    )
    assert state.stage == Stage.WITHDRAWN


def test_standing_down_as_no_longer_needed_tells_the_chair_clerk_and_unit() -> None:
    proc, state = leicestershire_booked()
    refused(
        state,
        decision(
            proc,
            "stand_down",
            "social_worker",
            stand_down_reason="no_longer_needed",
            reason="Moved away",
        ),
        on_day(state, 4),
        "needs a CP chair's permission",
    )
    sent = decide(
        state,
        decision(
            proc, "stand_down", "cp_chair", stand_down_reason="no_longer_needed", reason="Moved"
        ),
        on_day(state, 4),
    )
    assert state.stage == Stage.CLOSED
    told = notices(sent.emails, "Conference stood down")
    assert [e.to for e in told] == [addresses(proc, ["cp_chair", "clerk", "safeguarding_unit"])]


def test_withdrawing_elsewhere_after_booking_needs_nobody_else() -> None:
    proc = procedure(BCT)
    state = confirmed(proc)
    decide(state, decision(proc, "receive_convening_sheet", invitees=invitees(1)), on_day(state, 1))
    decide(state, book(proc, working_day(state, 12)), on_day(state, 1, 15))
    decide(state, decision(proc, "withdraw_icpc", reason="No longer needed"), on_day(state, 4))
    assert state.stage == Stage.WITHDRAWN


# --- holding after the limit -----------------------------------------------------------------------


def bct_booked(day: int = 14) -> tuple[Procedure, CaseState]:
    proc = procedure(BCT)
    state = confirmed(proc)
    decide(state, decision(proc, "receive_convening_sheet", invitees=invitees(1)), on_day(state, 1))
    decide(state, book(proc, working_day(state, day)), on_day(state, 1, 15))
    return proc, state


def hold(proc: Procedure, held: datetime, reason: str = "") -> Any:
    return decision(
        proc,
        "hold_conference",
        outcome="no_plan",
        held_at=held.isoformat(),
        reason=reason,
    )


def test_a_conference_held_long_after_the_limit_without_an_approved_delay_is_refused() -> None:
    """000 action 7: "ICPC should only be moved out of timescale with the approval of the Head
    of Service"; action 8: "Any delay must have the recorded agreement from the Head of Service
    (including reasons for the delay)". Booked for day 14, recorded as held on day 25."""
    proc, state = bct_booked(14)
    held = on_day(state, 25, 10)
    refused(
        state,
        hold(proc, held, reason="Chair was ill"),
        held + timedelta(hours=3),
        r"after the statutory limit .* with no approved delay: recording it needs a delay to"
        r" that date, with its reason, approved by an area head of service",
    )


def test_a_conference_held_late_with_an_approved_delay_records_the_approval() -> None:
    proc, state = bct_booked(14)
    held = on_day(state, 25, 10)
    now = held + timedelta(hours=3)
    # A delay asked for after the conference was held late: put right, with its approval.
    decide(state, delay_request(proc, working_day(state, 25)), now)
    approver = Decider(user="hos-1", role="area_head_of_service")
    approval = decision(proc, "approve_delay", reason="Agreed: chair was ill").model_copy(
        update={"decided_by": approver}
    )
    decide(state, approval, now + timedelta(minutes=5))
    decide(state, hold(proc, held), now + timedelta(minutes=10))
    assert state.stage == Stage.HELD
    summary = state.timeline[-1].summary
    assert "after the statutory limit, within the delay to" in summary
    assert "approved by hos-1 (area head of service)" in summary
    assert "Reason: Police disclosure will not be ready in time" in summary


def test_a_conference_held_after_the_approved_delays_date_is_refused() -> None:
    proc = procedure(BCT)
    state = confirmed(proc)
    decide(state, delay_request(proc, working_day(state, 18)), on_day(state, 3))
    decide(state, decision(proc, "approve_delay", reason="Agreed"), on_day(state, 4))
    decide(state, decision(proc, "receive_convening_sheet", invitees=invitees(1)), on_day(state, 4))
    decide(state, book(proc, working_day(state, 17)), on_day(state, 4, 15))
    held = on_day(state, 20, 10)
    refused(
        state,
        hold(proc, held),
        held + timedelta(hours=3),
        r"after the date the delay was approved for \(",
    )
    decide(state, hold(proc, on_day(state, 17, 10)), held)  # within it: accepted
    assert state.stage == Stage.HELD


# --- delays: late requests, second requests, who is told -----------------------------------------


def test_a_delay_request_after_day_8_is_recorded_late_and_escalated() -> None:
    """001 step 13: "they should at the earliest opportunity discuss this with the relevant Area
    Manager" (By day 8: our working day 7). A request on day 18, after the limit, is late."""
    proc = procedure(QARSS)
    state = confirmed(proc)
    sent = decide(state, delay_request(proc, working_day(state, 20)), on_day(state, 18))
    request = state.delay
    assert request is not None and request.late and request.working_day == 18
    assert (
        "late: working day 18, due by the procedure's day 8 (working day 7)"
        in state.timeline[-1].summary
    )
    late = notices(sent.emails, "Late delay request")
    assert [e.to for e in late] == [addresses(proc, ["ops_manager_cp"])]
    assert "This request is late" in late[0].body


def test_a_delay_request_by_day_7_is_on_time() -> None:
    proc = procedure(QARSS)
    state = confirmed(proc)
    sent = decide(state, delay_request(proc, working_day(state, 20)), on_day(state, 7))
    assert state.delay is not None and not state.delay.late
    assert notices(sent.emails, "Late delay request") == []


def test_a_delay_request_copies_in_the_head_of_service_safeguarding() -> None:
    """000 action 7: "they should e-mail the relevant Head of Service stating the reason for the
    request to book the conference late. They should copy in the Head of Service Safeguarding." """
    proc = procedure(BCT)
    state = confirmed(proc)
    sent = decide(state, delay_request(proc, working_day(state, 18)), on_day(state, 3))
    asked = notices(sent.emails, "Delay requested")
    # Only the Head of Service decides: the Head of Service Safeguarding is copied for information.
    assert [(e.to, e.subject.split("] ")[1]) for e in asked] == [
        (addresses(proc, ["area_head_of_service"]), "Delay requested: your decision is needed"),
        (
            addresses(proc, ["head_of_service_safeguarding"]),
            "Delay requested: copied for information",
        ),
    ]
    assert "copied for information: no decision is needed" in asked[1].body
    assert "needs your decision" not in asked[1].body


def test_an_approval_and_its_rationale_go_to_the_ops_manager_cp() -> None:
    """001 step 14: "If the Area Manager agrees with the reasons for the ICPC to go out of
    timescale they will inform the Ops Manager (CP) of this agreement and the rationale"."""
    proc = procedure(QARSS)
    state = confirmed(proc)
    decide(state, delay_request(proc, working_day(state, 18)), on_day(state, 3))
    sent = decide(
        state,
        decision(proc, "approve_delay", reason="The disclosure is essential"),
        on_day(state, 4),
    )
    approved = notices(sent.emails, "Delay approved")
    assert [e.to for e in approved] == [addresses(proc, ["team_manager", "ops_manager_cp"])]
    assert "Rationale: The disclosure is essential" in approved[0].body


def test_a_second_request_after_an_approval_needs_its_own_approval() -> None:
    proc = procedure(BCT)
    state = confirmed(proc)
    decide(state, delay_request(proc, working_day(state, 18)), on_day(state, 3))
    decide(state, decision(proc, "approve_delay", reason="Agreed"), on_day(state, 4))
    decide(state, delay_request(proc, working_day(state, 21)), on_day(state, 5))
    assert state.stage == Stage.AWAITING_DELAY_DECISION
    assert [d.status for d in state.delays] == [DelayStatus.APPROVED, DelayStatus.PENDING]
    assert "a new request after the delay approved to" in state.timeline[-1].summary
    decide(state, decision(proc, "receive_convening_sheet", invitees=invitees(1)), on_day(state, 5))
    # The first approval stands until the second is decided; it does not reach day 21.
    refused(
        state,
        book(proc, working_day(state, 21)),
        on_day(state, 5, 14),
        "later than the date the delay was approved for",
    )
    decide(state, decision(proc, "approve_delay", reason="Agreed again"), on_day(state, 6))
    assert [d.status for d in state.delays] == [DelayStatus.APPROVED, DelayStatus.APPROVED]
    decide(state, book(proc, working_day(state, 21)), on_day(state, 6, 14))
    assert state.booking is not None


def test_a_rejected_second_request_leaves_the_first_approval() -> None:
    proc = procedure(BCT)
    state = confirmed(proc)
    decide(state, delay_request(proc, working_day(state, 18)), on_day(state, 3))
    decide(state, decision(proc, "approve_delay", reason="Agreed"), on_day(state, 4))
    decide(state, delay_request(proc, working_day(state, 21)), on_day(state, 5))
    decide(state, decision(proc, "reject_delay", reason="No"), on_day(state, 6))
    assert state.approved_delay is not None
    assert state.approved_delay.proposed_date == working_day(state, 18)
    assert state.stage != Stage.AWAITING_DELAY_DECISION


def test_a_state_saved_with_one_delay_still_loads() -> None:
    proc = procedure(BCT)
    state = confirmed(proc)
    decide(state, delay_request(proc, working_day(state, 18)), on_day(state, 3))
    data = state.model_dump(mode="json")
    data["delay"] = data.pop("delays")[0]
    old = CaseState.model_validate(data)
    assert old.delay is not None and old.delay.proposed_date == working_day(state, 18)
    assert len(old.delays) == 1
    data["delay"] = None
    assert CaseState.model_validate(data).delays == []


# --- 001 step 15: a timer from the convening form --------------------------------------------------


def test_qarss_is_chased_to_facilitate_the_icpc_within_7_working_days_of_the_sheet() -> None:
    """001 step 15: "If QARRS cannot facilitate an ICPC within 7 working days of receiving all
    necessary information, the Ops Manager (CP) should review and inform both the Team manager
    and Area Manager"."""
    proc = procedure(QARSS)
    state = confirmed(proc)
    assert state.milestone("icpc_facilitated").planned.due is None  # no sheet yet
    decide(state, decision(proc, "receive_convening_sheet", invitees=invitees(1)), on_day(state, 5))
    due = state.milestone("icpc_facilitated").planned.due
    assert due is not None and due.astimezone(LONDON).date() == working_day(state, 12)
    fx = case_rules.on_clock(state, due + timedelta(minutes=1))
    overdue = [e for e in fx.emails if "OVERDUE" in e.subject and "7 working days" in e.subject]
    assert [e.to for e in overdue] == [
        addresses(proc, ["ops_manager_cp", "team_manager", "area_manager"])
    ]


def test_booking_within_7_working_days_of_the_sheet_meets_it() -> None:
    proc = procedure(QARSS)
    state = confirmed(proc)
    decide(state, decision(proc, "receive_convening_sheet", invitees=invitees(1)), on_day(state, 5))
    decide(state, book(proc, working_day(state, 13)), on_day(state, 6))
    assert state.milestone("icpc_facilitated").met_at is not None


# --- 001 step 18: a review moved within timescale ------------------------------------------------


def test_a_review_moved_within_timescale_is_notified_to_the_area_and_ops_managers() -> None:
    """001 step 18: "If it agreed the RCPC should move and it remains in timescales, the Area
    Manager and Ops Manager should be notified of the change"."""
    proc = after_icpc_procedure()
    reviews = proc.reviews.model_copy(
        update={"notify_moves_within_timescale": ["area_manager", "ops_manager"]}
    )
    proc = proc.model_copy(update={"reviews": reviews})
    state = new_plan(proc)
    plan_decide(state, book_review(date(2026, 6, 15)), plan_at(date(2026, 3, 23)))
    plan_decide(state, move(date(2026, 6, 17), role="isro"), plan_at(date(2026, 5, 1)))
    fx = plan_decide(state, approve("team_manager"), plan_at(date(2026, 5, 2)))
    moved = [e for e in fx.emails if "Review conference moved" in e.subject]
    assert len(moved) == 1
    assert email_of("area_manager") in moved[0].to and email_of("ops_manager") in moved[0].to


def test_man13_names_the_area_and_ops_managers_for_moves_within_timescale() -> None:
    proc = procedure(QARSS)
    assert proc.reviews.notify_moves_within_timescale == ["area_manager", "ops_manager_cp"]
