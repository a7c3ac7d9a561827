"""Rules that doing the steps in another order must not get round (issue 22, section 2): each
test quotes the seed line it holds to. Invented data only."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from domain import case_invitations, case_rules
from domain.case_start import with_recorded_plans
from domain.case_state import CaseState, Stage
from domain.decisions import ConferenceFormat
from domain.outbox import OutgoingEmail
from domain.procedure import ProcedureError, parse_procedure
from procedures import load_all
from tests.case_helpers import (
    address_of,
    book,
    case_start,
    decide,
    decision,
    invitees,
    new_state,
    procedure,
)
from tests.test_case_rules import (
    BCT,
    LEICESTERSHIRE,
    QARSS,
    STRATEGY,
    booked,
    confirmed,
    on_day,
    refused,
    working_day,
)

CP_RESPONSIBILITIES = "cp-conference-responsibilities"


def told(emails: list[OutgoingEmail], role_address: str, topic: str) -> bool:
    return any(role_address in e.to and topic in e.subject for e in emails)


# --- 004: a withdrawal after a booking, stood down or not ---------------------------------------


def test_004_a_withdrawal_after_a_stand_down_still_needs_the_cp_chair_and_tells_those_named() -> (
    None
):
    """004: "make contact with the allocated CP Chair to discuss and agree the meeting to no
    longer go ahead ... once this is done Social Worker should then call CYPS Safeguarding
    Unit": standing the conference down first ("Social Worker report was not shared with
    family") does not let the social worker withdraw it alone."""
    proc = procedure(LEICESTERSHIRE)
    state = booked(proc)
    stand_down = decision(
        proc,
        "stand_down",
        "social_worker",
        stand_down_reason="report_not_shared",
        reason="Report not shared in time",
    )
    decide(state, stand_down, on_day(state, 3))
    assert state.booking is None and state.stand_down_reason == "report_not_shared"
    sw = decision(proc, "withdraw_icpc", "social_worker", reason="Child now looked after")
    fx = decide(state, sw, on_day(state, 4))
    assert state.withdrawn_at is None and state.withdrawal_requested is not None
    assert state.awaiting_roles() == ["cp_chair"]
    assert told(fx.emails, address_of(proc, "cp_chair"), "your agreement is needed")
    assert "stood down (Social worker report was not shared with the family)" in fx.emails[0].body
    chair = decision(proc, "withdraw_icpc", "cp_chair", reason="Agreed with the social worker")
    fx = decide(state, chair, on_day(state, 4, 15))
    assert state.stage == Stage.WITHDRAWN
    assert state.timeline[-1].summary.endswith("the conference stood down will not be rebooked")
    for role in ("cp_chair", "clerk", "safeguarding_unit", "social_worker"):
        assert told(fx.emails, address_of(proc, role), "ICPC cancelled: withdrawn"), role


def test_004_the_old_cases_order_rules_are_kept_for_their_replay() -> None:
    """A case started before the order rules (``order_rules`` off) withdraws as it did."""
    proc = procedure(LEICESTERSHIRE)
    state = booked(proc)
    state.order_rules = False
    stand_down = decision(
        proc, "stand_down", "social_worker", stand_down_reason="report_not_shared", reason="Late"
    )
    decide(state, stand_down, on_day(state, 3))
    sw = decision(proc, "withdraw_icpc", "social_worker", reason="Child now looked after")
    fx = decide(state, sw, on_day(state, 4))
    assert state.stage == Stage.WITHDRAWN
    # Withdrawn by the social worker alone, the chair neither asked nor told (the
    # Safeguarding Unit hears of it as 004 says for any withdrawal: tests/test_told.py).
    assert not any(address_of(proc, "cp_chair") in e.to for e in fx.emails)
    assert [e.to for e in fx.emails] == [[address_of(proc, "safeguarding_unit")]]


# --- 000 and 001: holding needs the invitations --------------------------------------------------


def test_000_holding_without_the_convening_sheet_or_invitations_needs_the_heads_approval() -> None:
    """000 action 10: "Invitations to the conference will be sent out to by CP BSS within 2
    days of receipt of the convening sheet": a conference booked while awaiting the sheet is
    not recorded as held without them, unless the area head of service approves, with a reason
    (action 8: "the recorded agreement from the Head of Service (including reasons ...)")."""
    proc = procedure(BCT)
    state = booked(proc, 10, sheet=False)
    assert state.invitees is None
    held_on = on_day(state, 10, 14)
    hold = decision(proc, "hold_conference", outcome="no_plan")
    refused(state, hold, held_on, "convening sheet is not in: recording it as held needs")
    approve = decision(
        proc, "approve_without_invitations", reason="Family and agencies invited by phone"
    )
    assert approve.decided_by.role == "area_head_of_service"
    fx = decide(state, approve, on_day(state, 9))
    assert told(fx.emails, address_of(proc, "cp_conference_service"), "without its invitations")
    refused(state, approve, on_day(state, 9), "already approved")
    fx = decide(state, hold, held_on)
    assert state.stage == Stage.HELD
    assert "without its invitations, approved by user-area_head_of_service" in (
        state.timeline[-1].summary
    )


def test_000_invitations_sent_let_the_conference_be_held_and_need_no_approval() -> None:
    """000 action 10: with the sheet in, the invitations went out: holding needs nothing more."""
    proc = procedure(BCT)
    state = booked(proc, 10)
    assert state.invitations_sent_sequence == state.booking_sequence
    approve = decision(proc, "approve_without_invitations", reason="Not needed")
    refused(state, approve, on_day(state, 9), "went out; no approval is needed")
    decide(state, decision(proc, "hold_conference", outcome="no_plan"), on_day(state, 10, 14))
    assert state.stage == Stage.HELD


def test_001_invitations_held_back_for_short_notice_mean_no_conference_held() -> None:
    """001 step 8: "Please note that no ICPC can be convened without giving parents and other
    professionals at least 5 days' notice": invitations held back for short notice leave
    nobody to approve holding it; it is stood down and rebooked."""
    proc = procedure(QARSS)
    state = confirmed(proc)
    decide(state, book(proc, working_day(state, 13)), on_day(state, 1))
    sheet = decision(proc, "receive_convening_sheet", invitees=invitees(2))
    decide(state, sheet, on_day(state, 9))
    assert state.invitations_held_sequence == state.booking_sequence
    hold = decision(proc, "hold_conference", outcome="no_plan")
    refused(state, hold, on_day(state, 13, 14), "held back for too little notice, and this")
    with pytest.raises(case_rules.Refusal, match="no step to approve holding"):
        case_rules.check(
            state,
            decision(proc, "approve_without_invitations", "ops_manager_cp", reason="Urgent"),
            on_day(state, 9),
        )


def test_approving_without_invitations_needs_the_procedure_to_ask_for_them() -> None:
    """Granting approve_without_invitations where [holding] asks nothing is refused on load."""
    data = procedure(LEICESTERSHIRE).model_dump(mode="json", exclude_none=True)
    data["decisions"]["approve_without_invitations"] = ["service_manager"]
    with pytest.raises(ProcedureError, match="needs \\[holding\\] requires_invitations"):
        parse_procedure(data, "test.toml")


# --- 003: the Duty PO's screening decides the method, before the invitations -----------------


def screened(state: CaseState, choice: str, hour: int = 12) -> case_rules.Effects:
    proc = state.procedure
    step = decision(
        proc, "record_step", "duty_principal_officer", step="safety_screening", choice=choice
    )
    return decide(state, step, on_day(state, 6, hour))


def sheet_in(state: CaseState) -> None:
    proc = state.procedure
    decide(state, decision(proc, "receive_convening_sheet", invitees=invitees(2)), on_day(state, 5))


def test_003_invitations_wait_for_the_screening_which_sets_the_bookings_format() -> None:
    """003: "Send the details to the Duty PO for safety screening. Send the invites for either
    a hybrid or virtual meeting"; Duty PO: "Decide on the method of conference to be used":
    booked first, nothing goes out until the screening, whose method the booking takes."""
    proc = procedure(CP_RESPONSIBILITIES)
    state = confirmed(proc)
    sheet_in(state)
    fx = decide(state, book(proc, working_day(state, 12)), on_day(state, 5, 15))
    assert state.timeline[-1].summary.endswith("(hybrid)")
    assert state.invitations_sent_sequence is None and not case_invitations.invitations_due(state)
    assert not any("Invitation" in e.subject for e in fx.emails)
    fx = screened(state, "virtual")
    assert state.booking is not None and state.booking.format == ConferenceFormat.VIRTUAL
    assert "the conference booked as hybrid is now virtual" in state.timeline[-2].summary
    assert state.invitations_sent_sequence == state.booking_sequence
    assert len([e for e in fx.emails if e.calendar_event is not None]) == 2


def test_003_an_in_person_booking_is_refused_and_one_against_the_screening_too() -> None:
    """003: "Send the invites for either a hybrid or virtual meeting": in person is not a
    method the Duty PO can decide, and once decided a booking in the other is refused."""
    proc = procedure(CP_RESPONSIBILITIES)
    state = confirmed(proc)
    sheet_in(state)
    day = working_day(state, 12)
    refused(
        state,
        book(proc, day, format="in_person"),
        on_day(state, 5, 15),
        "hybrid or virtual, as a duty principal officer decides .*cannot be booked as in person",
    )
    screened(state, "hybrid")
    refused(
        state,
        book(proc, day, format="virtual"),
        on_day(state, 6, 15),
        "decided the conference is hybrid",
    )
    decide(state, book(proc, day, format="hybrid"), on_day(state, 6, 15))
    assert state.invitations_sent_sequence == state.booking_sequence


def test_003_the_method_step_must_choose_among_conference_formats() -> None:
    """A procedure naming a method step that is no record_step of formats is refused on load."""
    data = load_all()[CP_RESPONSIBILITIES].model_dump(mode="json", exclude_none=True)
    data["booking"]["format_from_step"] = "report_shared"
    with pytest.raises(ProcedureError, match="not a milestone recorded with record_step"):
        parse_procedure(data, "test.toml")


# --- 004: a repeat plan within 12 months, from the case record --------------------------------


def test_004_a_plan_ended_in_the_record_needs_the_service_managers_oversight() -> None:
    """004: "if a decision has been made to take a case back to conference within 12 months of
    the end of the previous child protection plan the Service Manager for your team must
    provide oversight to that decision on the child's file": the record's end counts without
    anyone typing it, and a typed end only adds to it (the later of the two)."""
    proc = procedure(LEICESTERSHIRE)
    start = case_start(proc, STRATEGY)
    assert start.previous_plan_ended is None
    same_day = STRATEGY - timedelta(hours=1)
    after = STRATEGY + timedelta(days=3)  # ended after the strategy discussion: not previous
    derived = with_recorded_plans(start, proc, [same_day, after])
    assert derived.previous_plan_ended == same_day.date()
    state = new_state(proc, STRATEGY, previous_plan_ended=derived.previous_plan_ended)
    assert state.stage == Stage.AWAITING_REPEAT_OVERSIGHT
    # Typed later than the record's: the typed one; typed earlier: the record's.
    later = case_start(proc, STRATEGY, previous_plan_ended=date(2026, 2, 1))
    assert with_recorded_plans(later, proc, [STRATEGY - timedelta(days=400)]) is later
    earlier = case_start(proc, STRATEGY, previous_plan_ended=date(2024, 1, 1))
    assert with_recorded_plans(earlier, proc, [same_day]).previous_plan_ended == same_day.date()


def test_a_procedure_without_repeat_plans_ignores_the_record() -> None:
    """Only 004 names the repeat-plan oversight: other starts are left as they are."""
    proc = procedure(BCT)
    start = case_start(proc, STRATEGY)
    assert with_recorded_plans(start, proc, [STRATEGY]) is start
