"""Whole cases on the time-skipping server for the rules doing steps in another order must not
get round (issue 22, section 2), counting the mails. Invented data only."""

from __future__ import annotations

from domain.case_state import Stage
from tests.case_helpers import address_of, book, decision, invitees
from tests.conftest import MailCatcher
from tests.test_case_workflow import Opener, day_n, invitations, open_case, subject, worker

FIXTURES = (open_case, worker)  # the whole-case tests' fixtures, shared with test_case_workflow


async def test_004_stand_down_then_withdraw_still_waits_for_the_cp_chair(
    open_case: Opener, smtp_server: MailCatcher
) -> None:
    """004: "make contact with the allocated CP Chair to discuss and agree the meeting to no
    longer go ahead": a stand-down ("report not shared") first changes nothing."""
    case = await open_case("leicestershire-leaflet")
    proc = case.proc
    state = await case.signal(decision(proc, "confirm_icpc"))
    await case.signal(decision(proc, "receive_convening_sheet", invitees=invitees(2)))
    state = await case.signal(book(proc, day_n(state, 12)))
    stand_down = decision(
        proc, "stand_down", "social_worker", stand_down_reason="report_not_shared", reason="Late"
    )
    await case.signal(stand_down)
    state = await case.signal(
        decision(proc, "withdraw_icpc", "social_worker", reason="Child now looked after")
    )
    assert state.is_open and state.withdrawal_requested is not None
    chair = address_of(proc, "cp_chair")
    asked = [m for m in smtp_server.to(chair) if "your agreement is needed" in subject(m)]
    assert len(asked) == 1
    await case.signal(decision(proc, "withdraw_icpc", "cp_chair", reason="Agreed"))
    assert (await case.result()).stage == Stage.WITHDRAWN
    for role in ("cp_chair", "clerk", "safeguarding_unit", "social_worker"):
        told = [m for m in smtp_server.to(address_of(proc, role)) if "withdrawn" in subject(m)]
        assert len(told) == 1, role


async def test_000_a_conference_awaiting_its_sheet_is_held_only_with_approval(
    open_case: Opener, smtp_server: MailCatcher
) -> None:
    """000 action 10: "Invitations to the conference will be sent out to by CP BSS within 2
    days of receipt of the convening sheet": booked while awaiting the sheet, holding it is
    refused until the area head of service approves, with a reason."""
    case = await open_case("bct-management-note")
    proc = case.proc
    state = await case.signal(decision(proc, "confirm_icpc"))
    state = await case.signal(book(proc, day_n(state, 10)))
    assert state.booking is not None
    state = await case.sleep_until(state.booking.starts_at)
    hold = decision(proc, "hold_conference", outcome="no_plan")
    state = await case.signal(hold)
    assert state.timeline[-1].event == "refused" and "approval" in state.timeline[-1].summary
    await case.signal(decision(proc, "approve_without_invitations", reason="Invited by phone"))
    service = address_of(proc, "cp_conference_service")
    approved = [m for m in smtp_server.to(service) if "without its invitations" in subject(m)]
    assert len(approved) == 1
    await case.signal(hold)
    assert (await case.result()).stage == Stage.HELD
    assert invitations(smtp_server) == []


async def test_003_invitations_go_after_the_screening_in_its_format(
    open_case: Opener, smtp_server: MailCatcher
) -> None:
    """003: "Send the details to the Duty PO for safety screening. Send the invites for either
    a hybrid or virtual meeting": booked as hybrid, no invitation before the screening; the
    screening's "virtual" sends them, virtual."""
    case = await open_case("cp-conference-responsibilities")
    proc = case.proc
    state = await case.signal(decision(proc, "confirm_icpc"))
    await case.signal(decision(proc, "receive_convening_sheet", invitees=invitees(2)))
    state = await case.signal(book(proc, day_n(state, 12)))
    assert invitations(smtp_server) == []
    screening = decision(
        proc, "record_step", "duty_principal_officer", step="safety_screening", choice="virtual"
    )
    state = await case.signal(screening)
    assert state.booking is not None and state.booking.format == "virtual"
    assert len(invitations(smtp_server)) == 2
