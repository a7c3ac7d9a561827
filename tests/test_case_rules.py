"""The case rules on their own: no Temporal, explicit ``now``, a state planned as the activity does.

The strategy discussion is Monday 2 March 2026 at 10:00 (no bank holiday within the next
15 working days, which end on Monday 23 March). Every name and address is invented.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import pytest

from domain import case_invitations, case_rules, case_views
from domain.calendar import LONDON, london_instant
from domain.case_rules import Refusal
from domain.case_state import CaseState, DelayStatus, Stage
from domain.decisions import Decider, Invitee
from domain.milestones import MilestoneStatus
from domain.notices import invitation_emails
from domain.outbox import CalendarMethod, EmailPurpose, OutgoingEmail
from domain.procedure import Enforcement, Procedure
from domain.vocabulary import DecisionKind
from tests.case_helpers import (
    ALL_PROCEDURES,
    address_of,
    book,
    booking,
    contact_email,
    contacts_for,
    decide,
    decision,
    invitees,
    new_state,
    procedure,
    rebook_reason,
    who,
)

BCT = "bct-management-note"
QARSS = "man13-qarss"
LEICESTERSHIRE = "leicestershire-leaflet"
STRATEGY = datetime(2026, 3, 2, 10, 0, tzinfo=LONDON)


def at(day: date, hour: int = 11, minute: int = 0) -> datetime:
    return london_instant(day, time(hour, minute))


def working_day(state: CaseState, n: int) -> date:
    return state.calendar.add_working_days(state.strategy_day, n)


def on_day(state: CaseState, n: int, hour: int = 11) -> datetime:
    return at(working_day(state, n), hour)


def bct() -> Procedure:
    return procedure(BCT)


def snapshot(state: CaseState) -> dict[str, Any]:
    return state.model_dump()


def refused(state: CaseState, d: Any, now: datetime, match: str) -> None:
    """``d`` is refused by both check and apply, with ``match`` in the reason, changing nothing."""
    before = snapshot(state)
    with pytest.raises(Refusal, match=match):
        case_rules.check(state, d, now)
    with pytest.raises(Refusal, match=match):
        case_rules.apply(state, d, now)
    assert snapshot(state) == before


def confirmed(proc: Procedure | None = None, strategy: datetime = STRATEGY) -> CaseState:
    proc = proc or bct()
    state = new_state(proc, strategy)
    decide(state, decision(proc, "confirm_icpc"), strategy + timedelta(hours=2))
    return state


def to_addresses(emails: list[OutgoingEmail]) -> list[list[str]]:
    return [e.to for e in emails]


# --- the planned case ---------------------------------------------------------------------------


@pytest.mark.parametrize("proc_id", ALL_PROCEDURES)
def test_every_procedure_plans_a_case_with_its_statutory_deadline_on_working_day_15(
    proc_id: str,
) -> None:
    state = new_state(procedure(proc_id), STRATEGY)
    assert state.stage == Stage.AWAITING_CONFIRMATION
    assert state.deadline.astimezone(LONDON).date() == working_day(state, 15)
    assert [e.event for e in state.timeline] == ["case_started"]
    assert case_rules.next_wakeup(state) is not None


def test_bct_milestones_fall_on_the_days_the_note_names() -> None:
    state = new_state(bct(), STRATEGY)
    due = {m.id: m.planned.due for m in state.milestones}
    assert due["confirm_or_withdraw"] == at(date(2026, 3, 9), 17)  # day 5
    assert due["convening_sheet"] == at(date(2026, 3, 11), 17)  # day 7
    assert due["invitations_sent"] is None  # waits for the convening sheet
    assert due["icpc_deadline"] == at(date(2026, 3, 23), 17)  # day 15


# --- refusals, each with its plain reason ----------------------------------------------------------


def test_booking_after_the_statutory_limit_without_an_approved_delay_is_refused() -> None:
    state = confirmed()
    refused(
        state,
        book(state.procedure, working_day(state, 16)),
        on_day(state, 1),
        r"24 March 2026 is after the statutory limit \(23 March 2026, working day 15\); it needs"
        r" a delay approved by an area head of service first\.",
    )


def test_approving_a_delay_nobody_requested_is_refused() -> None:
    state = confirmed()
    refused(
        state,
        decision(state.procedure, "approve_delay", reason="Fine by me"),
        on_day(state, 2),
        r"No delay has been requested, so there is nothing to approve or reject\.",
    )


def request_delay(state: CaseState, now: datetime, requester: Decider | None = None) -> None:
    proc = state.procedure
    d = decision(
        proc,
        "request_delay",
        reason="Police disclosure will not be ready before day 15",
        proposed_date=working_day(state, 18).isoformat(),
        safety_plan="Child stays with grandparent; daily visits by the social worker",
    )
    if requester is not None:
        d = d.model_copy(update={"decided_by": requester})
    decide(state, d, now)


def test_the_requester_may_not_approve_their_own_delay() -> None:
    state = confirmed()
    # The same person holds both roles on this case: they still may not approve their own delay.
    request_delay(state, on_day(state, 3), Decider(user="user-dual", role="team_manager"))
    approve = decision(state.procedure, "approve_delay", reason="Agreed").model_copy(
        update={"decided_by": Decider(user="user-dual", role="area_head_of_service")}
    )
    refused(
        state,
        approve,
        on_day(state, 4),
        r"You requested this delay; someone else must decide on it\.",
    )


def test_a_role_the_procedure_does_not_allow_is_refused() -> None:
    state = confirmed()
    request_delay(state, on_day(state, 3))
    refused(
        state,
        decision(state.procedure, "approve_delay", role="social_worker", reason="Agreed"),
        on_day(state, 4),
        r"^A social worker may not approve a delay in this procedure; only an area head of"
        r" service may\.$",
    )
    refused(
        state,
        decision(
            state.procedure,
            "book_conference",
            role="team_manager",
            booking=booking(working_day(state, 12)),
        ),
        on_day(state, 4),
        r"^A team manager may not book the conference in this procedure; only a CP conference"
        r" service \(business support\) may\.$",
    )


def test_a_role_unknown_to_the_procedure_is_named_plainly() -> None:
    state = new_state(bct(), STRATEGY)
    refused(
        state,
        decision(state.procedure, "confirm_icpc", role="school_nurse"),
        on_day(state, 1),
        r"^A school nurse may not confirm the ICPC in this procedure; only a social worker or a"
        r" team manager may\.$",
    )


def test_a_convening_sheet_without_email_is_refused_where_the_procedure_requires_them() -> None:
    proc = bct()
    assert proc.convening_sheet.require_email
    state = new_state(proc, STRATEGY)
    no_email = Invitee(name="Invitee 9", role_or_relationship="Father", telephone="01000 000009")
    refused(
        state,
        decision(proc, "receive_convening_sheet", invitees=[*invitees(1), no_email]),
        on_day(state, 4),
        r"^Invitee 2 \(Father\) has no email address; this procedure requires one for everyone\.$",
    )
    # A school without an address is fine: its invitation may go through a mailbox instead.
    school = Invitee(name="School", role_or_relationship="School", is_school=True)
    decide(state, decision(proc, "receive_convening_sheet", invitees=[school]), on_day(state, 4))
    assert state.invitees == [school]


def test_booking_on_a_day_that_is_not_a_working_day_is_refused() -> None:
    state = confirmed()
    refused(
        state,
        book(state.procedure, date(2026, 3, 7)),
        on_day(state, 1),
        r"^Saturday 07 March 2026 is not a working day for this authority\.$",
    )
    # A bank holiday too (Good Friday 2026), here after the limit: the day off is named first.
    late = confirmed(strategy=datetime(2026, 3, 16, 10, 0, tzinfo=LONDON))
    refused(
        late,
        book(late.procedure, date(2026, 4, 3)),
        on_day(late, 1),
        r"^Friday 03 April 2026 is not a working day for this authority\.$",
    )


def test_other_booking_refusals() -> None:
    proc = bct()
    state = new_state(proc, STRATEGY)
    refused(
        state,
        book(proc, working_day(state, 12)),
        on_day(state, 1),
        r"^The need for an ICPC has not been confirmed yet\.$",
    )
    decide(state, decision(proc, "confirm_icpc"), on_day(state, 1))
    refused(
        state,
        book(proc, working_day(state, 1), at=time(9, 0)),
        on_day(state, 1),
        r"is in the past\.$",
    )
    refused(
        state,
        decision(proc, "rebook_conference", booking=booking(working_day(state, 12))),
        on_day(state, 1),
        r"^Only a conference that was stood down can be rebooked\.$",
    )
    decide(state, book(proc, working_day(state, 12)), on_day(state, 2))
    refused(
        state,
        book(proc, working_day(state, 13)),
        on_day(state, 2),
        r"^The conference is already booked; stand it down to rebook it\.$",
    )


def test_too_little_notice_is_refused_where_the_procedure_refuses() -> None:
    proc = procedure(QARSS)
    notice = proc.invitation_notice
    assert notice is not None and notice.enforcement == Enforcement.REFUSE
    needed = notice.working_days if notice.working_days is not None else notice.days
    assert needed
    state = confirmed(proc)
    now = on_day(state, 10)
    too_soon = state.calendar.add_working_days(now.date(), 1)
    refused(
        state,
        book(proc, too_soon),
        now,
        rf"^Invitees must have at least {needed} (working )?days' notice; a conference on"
        rf" {too_soon:%d %B %Y} gives 1\.$",
    )


def leicestershire_stand_down_reasons(proc: Procedure) -> tuple[str, str]:
    """A reason that needs a permission, and the role that gives it."""
    needing = [r for r in proc.stand_down_reasons if r.permission_from]
    assert needing, f"{proc.id} names no stand-down reason that needs permission"
    reason = needing[0]
    assert reason.permission_from is not None
    return reason.id, reason.permission_from


def booked(proc: Procedure, day_number: int = 12, *, sheet: bool = True) -> CaseState:
    state = confirmed(proc)
    if sheet:
        sheet_decision = decision(proc, "receive_convening_sheet", invitees=invitees(2))
        decide(state, sheet_decision, on_day(state, 1))
    decide(state, book(proc, working_day(state, day_number)), on_day(state, 1, 15))
    return state


def test_stand_down_reasons_come_from_the_list_and_some_need_permission() -> None:
    proc = procedure(LEICESTERSHIRE)
    state = booked(proc)
    reason_id, permission_role = leicestershire_stand_down_reasons(proc)
    standers = [r for r in proc.roles_for(DecisionKind.STAND_DOWN) if r != permission_role]
    assert standers, "someone other than the permission-giver may stand a conference down"
    refused(
        state,
        decision(
            proc,
            "stand_down",
            role=standers[0],
            stand_down_reason="chair_on_holiday",
            reason="Because",
        ),
        on_day(state, 5),
        r"^'chair_on_holiday' is not a stand-down reason in this procedure \(choose from: .*\)\.$",
    )
    title = proc.stand_down_reason(reason_id).title  # type: ignore[union-attr]
    refused(
        state,
        decision(
            proc, "stand_down", role=standers[0], stand_down_reason=reason_id, reason="Not quorate"
        ),
        on_day(state, 5),
        rf"^Standing down because '{title}' needs an? .+'s permission\.$",
    )
    if proc.may_decide(permission_role, DecisionKind.STAND_DOWN):
        decide(
            state,
            decision(
                proc,
                "stand_down",
                role=permission_role,
                stand_down_reason=reason_id,
                reason="Not quorate",
            ),
            on_day(state, 5),
        )
        assert state.stage in (Stage.STOOD_DOWN, Stage.CLOSED)


def test_stand_down_needs_a_booking() -> None:
    proc = bct()
    state = confirmed(proc)
    refused(
        state,
        decision(proc, "stand_down", stand_down_reason="anything", reason="No longer needed"),
        on_day(state, 2),
        r"^There is no booked conference to stand down\.$",
    )


def test_holding_before_the_booked_day_is_refused() -> None:
    proc = bct()
    state = booked(proc)
    conference = state.booking.starts_at  # type: ignore[union-attr]
    refused(
        state,
        decision(proc, "hold_conference", outcome="no_plan"),
        on_day(state, 11),
        r"^The conference is booked for Wednesday 18 March 2026 at 10:00; it cannot be recorded"
        r" as held before then\.$",
    )
    early = decision(proc, "hold_conference", outcome="no_plan", held_at=on_day(state, 11))
    refused(state, early, conference + timedelta(hours=3), r"cannot be recorded as held before")


@pytest.mark.parametrize("ending", ["withdraw", "hold"])
def test_a_closed_case_takes_no_more_decisions(ending: str) -> None:
    proc = bct()
    state = booked(proc)
    assert state.booking is not None
    if ending == "withdraw":
        now = on_day(state, 3)
        decide(state, decision(proc, "withdraw_icpc", reason="Enquiries found no risk"), now)
        word = "withdrawn"
    else:
        now = state.booking.starts_at + timedelta(hours=3)
        decide(state, decision(proc, "hold_conference", outcome="no_plan"), now)
        word = "held"
    for later in (
        decision(proc, "confirm_icpc", role="team_manager"),
        decision(proc, "share_report"),
        decision(
            proc,
            "reassign_worker",
            contact={"role": "social_worker", "name": "Staff 99", "email": "sw2@staff.example.org"},
        ),
    ):
        refused(
            state,
            later,
            now + timedelta(hours=1),
            rf"^The case is {word}; it takes no more decisions\.$",
        )
    assert case_rules.on_clock(state, now + timedelta(days=30)).emails == []
    assert case_rules.next_wakeup(state) is None
    assert case_rules.available_decisions(state, "team_manager") == []


def test_delay_refusals_about_the_date_and_a_second_request() -> None:
    state = confirmed()
    proc = state.procedure
    refused(
        state,
        decision(
            proc,
            "request_delay",
            reason="r",
            safety_plan="s",
            proposed_date=working_day(state, 15).isoformat(),
        ),
        on_day(state, 2),
        r"^23 March 2026 is within the statutory limit \(23 March 2026\); no delay is needed\.$",
    )
    request_delay(state, on_day(state, 3))
    refused(
        state,
        decision(
            proc,
            "request_delay",
            reason="r",
            safety_plan="s",
            proposed_date=working_day(state, 19).isoformat(),
        ),
        on_day(state, 3),
        r"^A delay is already waiting for a decision\.$",
    )


# --- accepted decisions ---------------------------------------------------------------------------


def test_the_timeline_records_who_decided_when_and_why() -> None:
    proc = bct()
    state = new_state(proc, STRATEGY)
    now = on_day(state, 2, 14)
    decide(state, decision(proc, "confirm_icpc", reason="Section 47 found significant harm"), now)
    entry = state.timeline[-1]
    assert entry.event == "confirm_icpc"
    assert entry.at == now
    assert entry.by == who("social_worker")
    assert entry.reason == "Section 47 found significant harm"
    assert entry.summary == "ICPC confirmed"
    assert state.confirmed_at == now


def test_milestones_met_on_time_and_late() -> None:
    proc = bct()
    state = new_state(proc, STRATEGY)
    decide(state, decision(proc, "confirm_icpc"), on_day(state, 3))
    decide(state, decision(proc, "receive_convening_sheet", invitees=invitees(2)), on_day(state, 9))
    statuses = {m.id: m.status(on_day(state, 9)) for m in state.milestones}
    assert statuses["confirm_or_withdraw"] == MilestoneStatus.MET
    assert statuses["convening_sheet"] == MilestoneStatus.MET_LATE
    # The sheet anchors the invitations: due two working days later, not met yet.
    invitations = state.milestone("invitations_sent")
    assert invitations.planned.due == at(working_day(state, 11), 17)
    assert invitations.status(on_day(state, 9)) == MilestoneStatus.PENDING
    assert invitations.status(on_day(state, 12)) == MilestoneStatus.OVERDUE


@pytest.mark.parametrize("sheet_first", [True, False])
def test_invitations_are_due_once_both_the_booking_and_the_sheet_are_in(sheet_first: bool) -> None:
    proc = bct()
    state = confirmed(proc)
    sheet = decision(proc, "receive_convening_sheet", invitees=invitees(2))
    booking_decision = book(proc, working_day(state, 12))
    first, second = (sheet, booking_decision) if sheet_first else (booking_decision, sheet)
    sent = decide(state, first, on_day(state, 2))
    assert not [e for e in sent.emails if e.purpose == EmailPurpose.INVITATION]
    assert not case_invitations.invitations_due(state)
    sent = decide(state, second, on_day(state, 3))
    invitations = [e for e in sent.emails if e.purpose == EmailPurpose.INVITATION]
    assert to_addresses(invitations) == [
        ["invitee1@family.example.org"],
        ["invitee2@family.example.org"],
    ]
    assert len({e.idempotency_key for e in invitations}) == 2
    event = invitations[0].calendar_event
    assert event is not None
    assert event.method == CalendarMethod.REQUEST and event.sequence == 1
    assert event.starts_at == at(working_day(state, 12), 10)
    assert event.organizer_email == address_of(proc, "cp_conference_service")
    assert not case_invitations.invitations_due(state)
    assert state.milestone("invitations_sent").status(on_day(state, 3)) == MilestoneStatus.MET
    assert state.stage == Stage.BOOKED
    # Nothing is sent twice, however often the clock runs.
    again = decide(state, decision(proc, "share_report"), on_day(state, 5))
    assert again.emails == []


def test_invitations_go_when_the_organizing_role_has_no_address() -> None:
    # The ISU organizes here and has no shared mailbox: a case started with no ISU contact
    # (issue 21) once wedged its workflow on an organizer address its own rules refused.
    proc = procedure("isu-practitioner-guide")
    organizer = proc.milestone("icpc_deadline").responsible
    assert not proc.role(organizer).mailbox
    contacts = [c for c in contacts_for(proc) if c.role != organizer]
    state = new_state(proc, STRATEGY, contacts=contacts)
    decide(state, decision(proc, "confirm_icpc"), STRATEGY + timedelta(hours=2))
    decide(state, decision(proc, "receive_convening_sheet", invitees=invitees(1)), on_day(state, 1))
    sent = decide(state, book(proc, working_day(state, 12)), on_day(state, 1, 15))
    [invitation] = [e for e in sent.emails if e.purpose == EmailPurpose.INVITATION]
    assert invitation.to == ["invitee1@family.example.org"]
    assert invitation.calendar_event is not None
    assert invitation.calendar_event.organizer_email is None  # the mail activity names its sender


def test_a_convening_sheet_after_the_invitations_is_refused() -> None:
    proc = bct()
    state = booked(proc)
    refused(
        state,
        decision(proc, "receive_convening_sheet", invitees=invitees(3)),
        on_day(state, 4),
        r"^Invitations have already gone out for this conference\.$",
    )


def test_stand_down_and_rebook_cancels_then_reinvites_with_a_higher_sequence() -> None:
    proc = bct()
    state = booked(proc)
    first = state.booking
    stood = decide(
        state,
        decision(
            proc, "stand_down", stand_down_reason=rebook_reason(proc), reason="Chair taken ill"
        ),
        on_day(state, 6),
    )
    cancels = [e for e in stood.emails if e.purpose == EmailPurpose.INVITATION]
    assert len(cancels) == 2
    assert all(
        e.calendar_event and e.calendar_event.method == CalendarMethod.CANCEL for e in cancels
    )
    assert state.stage == Stage.STOOD_DOWN
    assert state.booking is None and state.is_open
    assert case_rules.available_decisions(state, "cp_conference_service") == [
        DecisionKind.RECEIVE_CONVENING_SHEET,
        DecisionKind.REPORT_CAPACITY_PROBLEM,
        DecisionKind.REBOOK_CONFERENCE,
    ]
    refused(
        state,
        book(proc, working_day(state, 13)),
        on_day(state, 6),
        r"^The conference was stood down; rebook it instead\.$",
    )
    rebook = decision(proc, "rebook_conference", booking=booking(working_day(state, 14)))
    sent = decide(state, rebook, on_day(state, 6, 15))
    invitations = [e for e in sent.emails if e.purpose == EmailPurpose.INVITATION]
    assert len(invitations) == 2
    event = invitations[0].calendar_event
    assert event is not None and first is not None
    assert event.method == CalendarMethod.REQUEST
    assert event.sequence == 2
    assert event.uid == cancels[0].calendar_event.uid  # type: ignore[union-attr]
    assert event.starts_at == at(working_day(state, 14), 10)
    keys = {e.idempotency_key for e in [*cancels, *invitations]}
    assert len(keys) == 4
    assert state.timeline[-2].summary.startswith("Conference rebooked for")


def test_a_late_registered_case_escalates_each_past_milestone_once() -> None:
    proc = bct()
    registered = STRATEGY.replace(day=16, hour=9)  # working day 10
    state = new_state(proc, STRATEGY, now=registered)
    assert state.timeline[0].summary == "Case opened (registered on working day 10)"
    first = case_rules.on_clock(state, registered)
    escalations = [e for e in first.emails if e.purpose == EmailPurpose.ESCALATION]
    assert [e.subject.split("] ")[1] for e in escalations] == [
        f"OVERDUE: {proc.milestone('confirm_or_withdraw').title}",
        f"OVERDUE: {proc.milestone('convening_sheet').title}",
    ]
    assert not [e for e in first.emails if e.purpose == EmailPurpose.REMINDER]
    assert [e.event for e in state.timeline].count("overdue") == 2
    for minutes in (0, 1, 60, 600):
        assert case_rules.on_clock(state, registered + timedelta(minutes=minutes)).emails == []
    assert [e.event for e in state.timeline].count("overdue") == 2
    wake = case_rules.next_wakeup(state)
    assert wake is not None
    assert wake[1] == f"Reminder: {proc.milestone('icpc_deadline').title}"
    # The deadline's turn comes in its own time, once.
    late = on_day(state, 16)
    deadline = case_rules.on_clock(state, late).emails
    assert [e.purpose for e in deadline] == [EmailPurpose.ESCALATION]
    assert case_rules.on_clock(state, late + timedelta(hours=1)).emails == []
    assert state.escalated()


def test_reminders_go_once_before_the_milestone_and_escalations_once_after() -> None:
    proc = bct()
    state = new_state(proc, STRATEGY)
    confirm = state.milestone("confirm_or_withdraw")
    assert confirm.planned.remind_at is not None and confirm.planned.due is not None
    assert case_rules.next_wakeup(state) == (
        confirm.planned.remind_at,
        f"Reminder: {confirm.planned.title}",
    )
    assert case_rules.on_clock(state, confirm.planned.remind_at - timedelta(minutes=1)).emails == []
    reminder = case_rules.on_clock(state, confirm.planned.remind_at).emails
    assert [(e.purpose, e.to) for e in reminder] == [
        (EmailPurpose.REMINDER, [contact_email("social_worker")])
    ]
    assert case_rules.on_clock(state, confirm.planned.remind_at + timedelta(hours=1)).emails == []
    assert case_rules.next_wakeup(state) == (confirm.planned.due, f"Due: {confirm.planned.title}")
    escalation = case_rules.on_clock(state, confirm.planned.due + timedelta(seconds=1)).emails
    # 000: the conference service chases the social worker on day 5.
    assert [(e.purpose, e.to) for e in escalation] == [
        (
            EmailPurpose.ESCALATION,
            [contact_email("social_worker"), address_of(proc, "cp_conference_service")],
        )
    ]
    assert case_rules.on_clock(state, confirm.planned.due + timedelta(hours=2)).emails == []
    assert not state.out_of_timescale(confirm.planned.due)
    # The limit is its whole day (domain.calendar.past_limit): late from the next day.
    assert not state.out_of_timescale(state.deadline + timedelta(seconds=1))
    assert state.out_of_timescale(state.deadline + timedelta(days=1))


def test_a_met_milestone_is_neither_reminded_nor_escalated() -> None:
    proc = bct()
    state = new_state(proc, STRATEGY)
    decide(state, decision(proc, "confirm_icpc"), on_day(state, 1))
    emails = case_rules.on_clock(state, on_day(state, 5, 18)).emails
    assert all("confirms or withdraws" not in e.subject for e in emails)


def test_available_decisions_per_role_and_state() -> None:
    proc = bct()
    state = new_state(proc, STRATEGY)
    available = case_rules.available_decisions
    assert available(state, "social_worker") == [
        DecisionKind.CONFIRM_ICPC,
        DecisionKind.WITHDRAW_ICPC,
    ]
    assert available(state, "area_head_of_service") == [DecisionKind.REPORT_CAPACITY_PROBLEM]
    assert available(state, "school_nurse") == []
    decide(state, decision(proc, "confirm_icpc"), on_day(state, 1))
    assert available(state, "social_worker") == [DecisionKind.WITHDRAW_ICPC]
    assert available(state, "cp_conference_service") == [
        DecisionKind.RECEIVE_CONVENING_SHEET,
        DecisionKind.BOOK_CONFERENCE,
        DecisionKind.REPORT_CAPACITY_PROBLEM,
    ]
    request_delay(state, on_day(state, 2))
    assert state.stage == Stage.AWAITING_DELAY_DECISION
    assert state.awaiting_roles() == ["area_head_of_service"]
    assert available(state, "area_head_of_service") == [
        DecisionKind.APPROVE_DELAY,
        DecisionKind.REJECT_DELAY,
        DecisionKind.REPORT_CAPACITY_PROBLEM,
    ]
    assert DecisionKind.REQUEST_DELAY not in available(state, "team_manager")
    decide(
        state,
        decision(proc, "approve_delay", reason="Agreed, safety plan is sound"),
        on_day(state, 3),
    )
    assert DecisionKind.REQUEST_DELAY in available(state, "team_manager")
    decide(state, decision(proc, "receive_convening_sheet", invitees=invitees(1)), on_day(state, 3))
    decide(state, book(proc, working_day(state, 12)), on_day(state, 3))
    assert available(state, "social_worker") == [
        DecisionKind.WITHDRAW_ICPC,
        DecisionKind.SHARE_REPORT,
    ]
    assert available(state, "cp_conference_service") == [
        DecisionKind.REPORT_CAPACITY_PROBLEM,
        DecisionKind.STAND_DOWN,
        DecisionKind.HOLD_CONFERENCE,
    ]
    # Everything listed passes the role check.
    for role in [r.id for r in proc.roles]:
        for kind in available(state, role):
            assert proc.may_decide(role, kind)


def test_a_delay_approved_allows_booking_up_to_the_proposed_date() -> None:
    proc = bct()
    state = confirmed(proc)
    request_delay(state, on_day(state, 3))
    assert state.delay is not None and state.delay.proposed_date == working_day(state, 18)
    flagged = [e for e in state.timeline if e.event == "request_delay"]
    assert flagged and flagged[0].by == who("team_manager")
    decide(
        state,
        decision(proc, "approve_delay", reason="Agreed: safety plan in place"),
        on_day(state, 4),
    )
    assert state.delay.status == DelayStatus.APPROVED
    assert state.delay.decided_by == who("area_head_of_service")
    assert state.delay.comments == "Agreed: safety plan in place"
    refused(
        state,
        book(proc, working_day(state, 19)),
        on_day(state, 4),
        r"is later than the date the delay was approved for",
    )
    decide(state, book(proc, working_day(state, 18)), on_day(state, 4))
    assert state.stage == Stage.AWAITING_CONVENING_SHEET
    assert state.out_of_timescale(on_day(state, 4))


def test_a_delay_rejected_keeps_the_statutory_limit() -> None:
    proc = bct()
    state = confirmed(proc)
    request_delay(state, on_day(state, 3))
    sent = decide(state, decision(proc, "reject_delay", reason="Hold it in time"), on_day(state, 4))
    # 000 action 7: the Head of Service replies "to the above e-mail", the team manager's, which
    # copied in the Head of Service Safeguarding.
    assert [e.to for e in sent.emails] == [
        [contact_email(r) for r in ("team_manager", "head_of_service_safeguarding")]
    ]
    assert sent.emails[0].subject.endswith("Delay rejected")
    assert state.delay.status == DelayStatus.REJECTED  # type: ignore[union-attr]
    refused(
        state, book(proc, working_day(state, 16)), on_day(state, 4), r"after the statutory limit"
    )


def test_short_notice_is_flagged_by_email_where_the_procedure_flags() -> None:
    proc = procedure(LEICESTERSHIRE)
    notice = proc.invitation_notice
    assert notice is not None and notice.enforcement == Enforcement.FLAG and notice.escalate_to
    state = confirmed(proc)
    decide(state, decision(proc, "receive_convening_sheet", invitees=invitees(1)), on_day(state, 9))
    sent = decide(state, book(proc, working_day(state, 12)), on_day(state, 9, 15))
    flags = [e for e in sent.emails if "Short notice" in e.subject]
    assert len(flags) == 1
    assert flags[0].to == [address_of(proc, r) for r in notice.escalate_to]
    assert "notice; a conference on" in flags[0].body
    assert state.booking is not None  # flagged, not refused


def test_school_invitations_go_to_the_education_safeguarding_mailbox_in_school_holidays() -> None:
    proc = bct()
    rule = proc.school_holidays
    assert rule is not None
    strategy = datetime(2027, 2, 3, 10, 0, tzinfo=LONDON)  # half term is 15-19 February 2027
    state = confirmed(proc, strategy)
    decide(
        state,
        decision(proc, "receive_convening_sheet", invitees=invitees(1, school=True)),
        on_day(state, 2),
    )
    sent = decide(state, book(proc, date(2027, 2, 16)), on_day(state, 3))
    invitations = [e for e in sent.emails if e.purpose == EmailPurpose.INVITATION]
    assert to_addresses(invitations) == [
        ["invitee1@family.example.org"],
        [rule.school_invitations_to],
    ]
    assert "School holiday" in invitations[1].body
    # Outside the holidays the school gets its own invitation.
    term = confirmed(proc)
    decide(
        term,
        decision(proc, "receive_convening_sheet", invitees=invitees(1, school=True)),
        on_day(term, 2),
    )
    sent = decide(term, book(proc, working_day(term, 12)), on_day(term, 3))
    assert ["dsl@school.example.org"] in to_addresses(sent.emails)


def test_a_cancellation_goes_to_the_school_mailbox_the_invitation_went_to() -> None:
    """000 action 10: "During school holidays invitations to the conference to schools will be
    made through a JADDU form completed online by CP BSS and then sending it to
    EducationSafeguarding@birmingham.gov.uk": an invitation sent in half term went there, so
    its cancellation after half term goes there too, not to a school that never had it."""
    proc = bct()
    rule = proc.school_holidays
    assert rule is not None
    state = confirmed(proc, datetime(2027, 2, 3, 10, 0, tzinfo=LONDON))
    decide(
        state,
        decision(proc, "receive_convening_sheet", invitees=invitees(1, school=True)),
        on_day(state, 2),
    )
    # Booked in half term (Tuesday 16 February 2027) for Wednesday 24, after it.
    sent = decide(state, book(proc, date(2027, 2, 24)), datetime(2027, 2, 16, 11, tzinfo=LONDON))
    invited = [e for e in sent.emails if e.purpose == EmailPurpose.INVITATION]
    assert [rule.school_invitations_to] in to_addresses(invited)
    # Withdrawn on Monday 22 February, in term.
    fx = case_rules.apply(
        state,
        decision(proc, "withdraw_icpc", reason="No longer needed"),
        datetime(2027, 2, 22, 11, tzinfo=LONDON),
    )
    cancelled = [e for e in fx.emails if e.calendar_event is not None]
    assert to_addresses(cancelled) == [
        ["invitee1@family.example.org"],
        [rule.school_invitations_to],
    ]
    # A case started before this rule replays as it ran: the school, by term-time dates.
    state.cancel_where_invited = False
    again = [
        e.to
        for e in invitation_emails(
            state, datetime(2027, 2, 22, 11, tzinfo=LONDON), CalendarMethod.CANCEL
        )[0]
    ]
    assert ["dsl@school.example.org"] in again


def test_withdrawing_after_invitations_cancels_them_and_ends_the_case() -> None:
    proc = bct()
    state = booked(proc)
    fx = case_rules.apply(
        state, decision(proc, "withdraw_icpc", reason="No longer needed"), on_day(state, 4)
    )
    assert fx.ended
    assert state.stage == Stage.WITHDRAWN
    assert [e.calendar_event.method for e in fx.emails if e.calendar_event] == [
        CalendarMethod.CANCEL,
        CalendarMethod.CANCEL,
    ]
    assert state.milestone("confirm_or_withdraw").met_at is not None


def test_stage_details_read_plainly() -> None:
    proc = bct()
    state = new_state(proc, STRATEGY)
    text = case_views.stage_details(state, on_day(state, 1))
    assert text.splitlines() == [
        "Stage: awaiting confirmation",
        "ICPC deadline: Monday 23 March 2026 at 17:00",
        f"Next: {proc.milestone('confirm_or_withdraw').title} — due Monday 09 March 2026 at"
        " 17:00 (pending)",
        "Waiting for: a social worker",
    ]


def test_notes_a_decision_raises_follow_it_in_the_timeline_at_its_time() -> None:
    proc = bct()
    contacts = [c for c in contacts_for(proc) if c.role != "area_head_of_service"]
    state = new_state(proc, STRATEGY, contacts=contacts)
    decide(state, decision(proc, "confirm_icpc"), on_day(state, 1))
    now = on_day(state, 3, 15)
    request_delay(state, now)
    assert [(e.event, e.at) for e in state.timeline[-2:]] == [
        ("request_delay", now),
        ("no_address", now),
    ]
    assert state.timeline[-1].summary == (
        "No address for area_head_of_service: 'Delay requested: your decision is needed'"
        " not emailed to them"
    )
    # An invitee who asked to avoid the booked day: a warning, after the booking.
    avoid = Invitee(
        name="Invitee 5",
        role_or_relationship="Grandparent",
        email="invitee5@family.example.org",
        dates_to_avoid=[working_day(state, 12)],
    )
    state = confirmed(proc)
    decide(state, decision(proc, "receive_convening_sheet", invitees=[avoid]), on_day(state, 2))
    fx = case_rules.apply(state, book(proc, working_day(state, 12)), on_day(state, 3))
    assert fx.summary.startswith("Conference booked for")
    assert [e.event for e in state.timeline[-2:]] == ["book_conference", "warning"]
    assert state.timeline[-1].summary == "1 invitee(s) asked to avoid this date"


def test_standing_down_as_no_longer_needed_closes_the_case() -> None:
    closing = [
        (p, r)
        for p in map(procedure, ALL_PROCEDURES)
        for r in p.stand_down_reasons
        if r.ends_case and not r.permission_from
    ]
    assert closing, "some procedure lists a stand-down reason that ends the case"
    proc, reason = closing[0]
    state = booked(proc)
    fx = case_rules.apply(
        state,
        decision(proc, "stand_down", stand_down_reason=reason.id, reason="Risk resolved"),
        on_day(state, 6),
    )
    assert fx.ended
    assert state.stage == Stage.CLOSED and not state.is_open
    assert len([e for e in fx.emails if e.calendar_event]) == 2  # the invitations cancelled
    assert state.timeline[-1].summary == f"Conference stood down: {reason.title}"
    refused(
        state,
        decision(proc, "rebook_conference", booking=booking(working_day(state, 13))),
        on_day(state, 6),
        r"^The case is closed; it takes no more decisions\.$",
    )


def test_003_books_a_conference_only_once_the_convening_sheet_is_in() -> None:
    proc = procedure("cp-conference-responsibilities")
    assert proc.booking.requires_convening_sheet
    state = confirmed(proc)
    refused(
        state,
        book(proc, working_day(state, 12)),
        on_day(state, 1),
        "only once the convening sheet is in",
    )
    decide(state, decision(proc, "receive_convening_sheet", invitees=invitees(2)), on_day(state, 2))
    decide(state, book(proc, working_day(state, 12)), on_day(state, 2, 15))
    assert state.stage == Stage.BOOKED
    # Elsewhere (000) the booking may come first, as 004's phone booking does.
    other = confirmed(bct())
    decide(other, book(bct(), working_day(other, 12)), on_day(other, 1))
    assert other.booking is not None


def test_refusals_keep_acronyms_in_role_titles() -> None:
    proc = procedure("man13-qarss")
    state = confirmed(proc)
    request = decision(
        proc,
        "request_delay",
        proposed_date=working_day(state, 20),
        reason="Key agency cannot attend",
        safety_plan="Daily visits",
    )
    decide(state, request, on_day(state, 2))
    approve = decision(proc, "approve_delay", role="qarss_business_support", reason="ok")
    refused(
        state,
        approve,
        on_day(state, 3),
        r"^A QARSS business support may not approve a delay in this procedure; only an area"
        r" manager may\.$",
    )
