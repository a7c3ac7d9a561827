"""Whole cases on the time-skipping server for the rules that must hold at every moment (issue
11, section 3): notice checked when invitations go out, a Leicestershire withdrawal after
booking, holding after the limit, and two delay requests. Invented data only."""

from __future__ import annotations

from datetime import date, timedelta

from domain.case_rules import CaseDecision
from domain.case_state import DelayStatus, Stage
from domain.procedure import Procedure
from tests.case_helpers import address_of, book, decision, invitees
from tests.conftest import MailCatcher
from tests.test_case_workflow import (
    Opener,
    day_at,
    day_n,
    invitations,
    open_case,
    subject,
    worker,
)

BCT = "bct-management-note"
FIXTURES = (open_case, worker)  # the whole-case tests' fixtures, shared with test_case_workflow


def delay(proc: Procedure, proposed: date) -> CaseDecision:
    return decision(
        proc,
        "request_delay",
        reason="Agency report late",
        proposed_date=proposed.isoformat(),
        safety_plan="Daily contact",
    )


async def test_a_late_convening_sheet_holds_back_short_invitations(
    open_case: Opener, smtp_server: MailCatcher
) -> None:
    """001 step 8: "no ICPC can be convened without giving parents and other professionals at
    least 5 days' notice": booked early for day 13, the sheet on day 9 sends nothing short."""
    case = await open_case("man13-qarss")
    proc = case.proc
    state = await case.signal(decision(proc, "confirm_icpc"))
    state = await case.signal(book(proc, day_n(state, 13)))
    assert state.booking is not None
    await case.sleep_until(day_at(state, 9))
    state = await case.signal(decision(proc, "receive_convening_sheet", invitees=invitees(2)))
    state = await case.settle()
    assert invitations(smtp_server) == []
    assert [e.event for e in state.timeline].count("invitations_held") == 1
    assert state.invitations_sent_sequence is None
    held = smtp_server.to(address_of(proc, "ops_manager_cp"))
    assert any("Invitations not sent: too little notice" in subject(m) for m in held)


async def test_a_leicestershire_withdrawal_after_booking_waits_for_the_cp_chair(
    open_case: Opener, smtp_server: MailCatcher
) -> None:
    case = await open_case("leicestershire-leaflet")
    proc = case.proc
    state = await case.signal(decision(proc, "confirm_icpc"))
    await case.signal(decision(proc, "receive_convening_sheet", invitees=invitees(2)))
    state = await case.signal(book(proc, day_n(state, 12)))
    assert len(invitations(smtp_server)) == 2
    # Without the chair's agreement: the conference stays booked.
    state = await case.signal(
        decision(proc, "withdraw_icpc", "social_worker", reason="Child now looked after")
    )
    assert state.stage == Stage.BOOKED and state.withdrawal_requested is not None
    assert invitations(smtp_server, "CANCEL") == []
    chair = address_of(proc, "cp_chair")
    assert any("your agreement is needed" in subject(m) for m in smtp_server.to(chair))
    # With it: withdrawn, invitees' invitations cancelled, chair, clerk and unit told.
    await case.signal(decision(proc, "withdraw_icpc", "cp_chair", reason="Agreed"))
    result = await case.result()
    assert result.stage == Stage.WITHDRAWN
    assert len(invitations(smtp_server, "CANCEL")) == 2
    for role in ("cp_chair", "clerk", "safeguarding_unit", "social_worker"):
        told = smtp_server.to(address_of(proc, role))
        assert any("ICPC cancelled: withdrawn" in subject(m) for m in told), role


async def test_holding_late_is_refused_without_an_approved_delay_and_taken_with_one(
    open_case: Opener, smtp_server: MailCatcher
) -> None:
    case = await open_case(BCT)
    proc = case.proc
    state = await case.signal(decision(proc, "confirm_icpc"))
    await case.signal(decision(proc, "receive_convening_sheet", invitees=invitees(1)))
    state = await case.signal(book(proc, day_n(state, 14)))
    held = day_at(state, 16)
    await case.sleep_until(held + timedelta(hours=3))
    hold = decision(proc, "hold_conference", outcome="no_plan", held_at=held.isoformat())
    state = await case.signal(hold)
    assert state.stage == Stage.BOOKED
    assert state.timeline[-1].event == "refused"
    assert "with no approved delay" in state.timeline[-1].summary
    await case.signal(delay(proc, day_n(state, 16)))
    await case.signal(decision(proc, "approve_delay", reason="Chair was ill; agreed"))
    await case.signal(hold)
    result = await case.result()
    assert result.stage == Stage.HELD
    state = await case.state()
    held_entry = [e for e in state.timeline if e.event == "hold_conference"][-1]
    assert "within the delay to" in held_entry.summary


async def test_two_delay_requests_each_need_their_own_approval(
    open_case: Opener, smtp_server: MailCatcher
) -> None:
    case = await open_case(BCT)
    proc = case.proc
    state = await case.signal(decision(proc, "confirm_icpc"))
    await case.signal(delay(proc, day_n(state, 18)))
    await case.signal(decision(proc, "approve_delay", reason="Agreed"))
    state = await case.signal(delay(proc, day_n(state, 20)))
    assert state.stage == Stage.AWAITING_DELAY_DECISION
    assert [d.status for d in state.delays] == [DelayStatus.APPROVED, DelayStatus.PENDING]
    await case.signal(decision(proc, "receive_convening_sheet", invitees=invitees(1)))
    state = await case.signal(book(proc, day_n(state, 20)))
    assert state.booking is None and state.timeline[-1].event == "refused"
    await case.signal(decision(proc, "approve_delay", reason="Agreed again"))
    state = await case.signal(book(proc, day_n(state, 20)))
    assert state.booking is not None
    assert [d.status for d in state.delays] == [DelayStatus.APPROVED, DelayStatus.APPROVED]
    copied = smtp_server.to(address_of(proc, "head_of_service_safeguarding"))
    assert len([m for m in copied if "Delay requested" in subject(m)]) == 2
