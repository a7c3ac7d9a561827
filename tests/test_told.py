"""People the procedures say must be told (issue 22, section 4): the rules on their own.

Strategy discussion Monday 2 March 2026 at 10:00 (day 15: Monday 23 March). Every name and
address is invented.
"""

from __future__ import annotations

from datetime import date, datetime, time

from domain import case_views
from domain.calendar import LONDON, london_instant
from domain.case_state import CaseState
from domain.outbox import EmailPurpose, OutgoingEmail
from domain.procedure import Procedure
from tests.case_helpers import (
    address_of,
    book,
    decide,
    decision,
    invitees,
    new_state,
    procedure,
)

STRATEGY = datetime(2026, 3, 2, 10, 0, tzinfo=LONDON)


def _on(state: CaseState, n: int, hour: int = 11) -> datetime:
    return london_instant(state.calendar.add_working_days(state.strategy_day, n), time(hour))


def _to(proc: Procedure, *roles: str) -> list[str]:
    return [address_of(proc, r) for r in roles]


def _notices(emails: list[OutgoingEmail]) -> list[OutgoingEmail]:
    return [e for e in emails if e.purpose == EmailPurpose.NOTICE]


def test_004_asks_the_service_manager_for_repeat_plan_oversight() -> None:
    """004: "if a decision has been made to take a case back to conference within 12 months of
    the end of the previous child protection plan the Service Manager for your team must provide
    oversight to that decision on the child's file"."""
    proc = procedure("leicestershire-leaflet")
    state = new_state(proc, STRATEGY, previous_plan_ended=date(2025, 9, 1))
    sent = case_views.start_notice(state, STRATEGY)
    asked = [e for e in sent.emails if "Repeat plan" in e.subject]
    assert [e.to for e in asked] == [_to(proc, "service_manager")]
    assert "01 September 2025" in asked[0].body
    fresh = new_state(proc, STRATEGY)
    assert not [e for e in case_views.start_notice(fresh, STRATEGY).emails if "Repeat" in e.subject]


def _leicestershire_booked() -> tuple[Procedure, CaseState]:
    proc = procedure("leicestershire-leaflet")
    state = new_state(proc, STRATEGY)
    decide(state, decision(proc, "confirm_icpc", role="social_worker"), _on(state, 1))
    decide(state, decision(proc, "receive_convening_sheet", invitees=invitees(2)), _on(state, 1))
    decide(
        state, book(proc, state.calendar.add_working_days(state.strategy_day, 14)), _on(state, 2)
    )
    return proc, state


def test_004_a_stand_down_for_quoracy_or_the_family_tells_the_sw_unit_and_clerk() -> None:
    """004, not quorate: "the Social Worker will then need to contact CYPS Safeguarding Unit ...
    to rebook in the meeting. Social Worker will be advised of last date to hold the meeting";
    family cannot attend: the same."""
    for reason, by in (
        ("not_quorate", "safeguarding_manager"),
        ("family_cannot_attend", "cp_chair"),
    ):
        proc, state = _leicestershire_booked()
        down = decision(proc, "stand_down", role=by, stand_down_reason=reason, reason="Why")
        sent = _notices(decide(state, down, _on(state, 3)).emails)
        told = [e for e in sent if "stood down" in e.subject]
        assert [e.to for e in told] == [_to(proc, "social_worker", "safeguarding_unit", "clerk")]
        assert "Last date to hold the conference: Monday 23 March 2026" in told[0].body


def test_confirming_or_withdrawing_the_need_tells_the_booking_service() -> None:
    """000 action 5: "the Social Worker will contact the CP Conference Service again to confirm
    or withdraw the need for an ICPC"; 004: "by DAY 5 the request for an ICPC needs to be
    completed by calling the Safeguarding Unit"."""
    for proc_id, service in (
        ("bct-management-note", "cp_conference_service"),
        ("leicestershire-leaflet", "safeguarding_unit"),
    ):
        proc = procedure(proc_id)
        for kind in ("confirm_icpc", "withdraw_icpc"):
            state = new_state(proc, STRATEGY)
            sent = _notices(
                decide(state, decision(proc, kind, reason="Seen"), _on(state, 2)).emails
            )
            assert [e.to for e in sent] == [_to(proc, service)], (proc_id, kind)
            assert "copied for information" in sent[0].body


def test_003_the_duty_po_is_sent_the_details_when_the_sheet_arrives() -> None:
    """003, stage 2, business support: "Send the details to the Duty PO for safety screening."""
    proc = procedure("cp-conference-responsibilities")
    state = new_state(proc, STRATEGY)
    sheet = decision(proc, "receive_convening_sheet", invitees=invitees(2))
    sent = _notices(decide(state, sheet, _on(state, 2)).emails)
    assert [e.to for e in sent] == [_to(proc, "duty_principal_officer")]
    assert "safety screening" in sent[0].body


def test_002_booking_tells_the_sw_and_tm_with_the_advocacy_information() -> None:
    """002: "The ISU will contact the social worker and team manager to book the meeting";
    "The ISU will send information around advocacy for children when an ICPC is booked."""
    proc = procedure("isu-practitioner-guide")
    state = new_state(proc, STRATEGY)
    decide(state, decision(proc, "confirm_icpc"), _on(state, 1))
    decide(state, decision(proc, "receive_convening_sheet", invitees=invitees(2)), _on(state, 1))
    day = state.calendar.add_working_days(state.strategy_day, 13)
    sent = _notices(decide(state, book(proc, day), _on(state, 2)).emails)
    told = [e for e in sent if e.to == _to(proc, "social_worker", "team_manager")]
    assert len(told) == 1
    assert "advocacy" in told[0].body and "Venue: Room 2, Example House" in told[0].body


def test_004_booking_confirmation_carries_the_booking_to_clerk_and_admin_managers() -> None:
    """004: "they will send an email to the CP Chair, Social Worker, and Safeguarding Admin to
    confirm the booking"; "copy in Safeguarding Admin managers this conference is then allocated
    to a nominated clerk"."""
    proc, state = _leicestershire_booked()
    step = decision(proc, "record_step", step="booking_confirmed", reason="Sent")
    sent = _notices(decide(state, step, _on(state, 2, 15)).emails)
    roles = (
        "cp_chair",
        "social_worker",
        "safeguarding_unit",
        "clerk",
        "safeguarding_admin_manager",
    )
    assert [e.to for e in sent] == [_to(proc, *roles)]
    assert state.booking is not None
    assert "When: Friday 20 March 2026 at 10:00" in sent[0].body
    assert "Venue: Room 2, Example House" in sent[0].body


def test_000_a_delay_decision_is_a_reply_to_the_request_with_hos_safeguarding_copied() -> None:
    """000 action 7: "They should copy in the Head of Service Safeguarding. ICPC should only be
    moved out of timescale with the approval of the Head of Service who will provide approval by
    replying to the above e-mail"."""
    proc = procedure("bct-management-note")
    state = new_state(proc, STRATEGY)
    decide(state, decision(proc, "confirm_icpc"), _on(state, 1))
    ask = decision(
        proc,
        "request_delay",
        proposed_date=state.calendar.add_working_days(state.strategy_day, 18),
        safety_plan="Plan",
        reason="Assessment",
    )
    decide(state, ask, _on(state, 3))
    sent = _notices(
        decide(state, decision(proc, "approve_delay", reason="Yes"), _on(state, 4)).emails
    )
    # The reply goes to the team manager's e-mail and whom it copied in: not the social worker.
    want = _to(proc, "team_manager", "head_of_service_safeguarding")
    assert [e.to for e in sent] == [want]
    assert "needs your decision" not in sent[0].body
