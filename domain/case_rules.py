"""The ICPC case as a table of decisions: strategy discussion to the conference.

Each row of :data:`CASE_PATH` holds one decision's payload, title, when it is open, its check
and its effect; the machine in :mod:`domain.path` does the rest (who may, refusals, milestones
met, the timeline, the clock). Also here: the case's invitations, its start and its plain-words
stage for the Temporal UI. No I/O, no clock: ``now`` is always passed in.

To add a decision: its payload model in :mod:`domain.decisions`, its kind in
:mod:`domain.vocabulary`, one row below, one entry in the web form's table, and the procedure
files that grant it to a role.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from domain.case_record import CaseSummary, Stream, progress
from domain.case_state import (
    FINAL_STAGES,
    CaseState,
    DelayRequest,
    DelayStatus,
    Stage,
    WithdrawalRequest,
)
from domain.decisions import (
    AdviseConferenceSplit,
    ApproveDelay,
    BookConference,
    Booking,
    ConfirmIcpc,
    DecisionBase,
    HoldConference,
    Outcome,
    RebookConference,
    ReceiveConveningSheet,
    RecordRepeatPlanOversight,
    RejectDelay,
    ReportCapacityProblem,
    RequestDelay,
    RequestPoliceChecks,
    ShareReport,
    StandDown,
    WithdrawIcpc,
)
from domain.milestones import MilestoneState
from domain.notices import invitation_emails, when
from domain.outbox import CalendarMethod, OutgoingEmail
from domain.path import DecisionRule, Effects, Path, Refusal, flag, refuse_if, satisfy
from domain.path import day_of as _day
from domain.procedure import Enforcement, Procedure
from domain.shared_rules import REASSIGN_WORKER
from domain.step_rules import RECORD_STEP
from domain.vocabulary import DecisionKind, SystemEvent
from domain.wording import capitalised, role_title, roles_text, with_article

__all__ = ["CASE_DECISION", "CASE_PATH", "CaseDecision", "Effects", "Refusal"]


# --- confirming or withdrawing the need ----------------------------------------------------


def _unconfirmed(state: CaseState, role: str) -> str | None:
    if state.confirmed_at:
        return f"The ICPC was already confirmed on {when(state.confirmed_at)}."
    return None


def _confirm(state: CaseState, d: ConfirmIcpc, now: datetime, fx: Effects) -> str:
    state.confirmed_at = now
    return "ICPC confirmed"


def _withdrawal_permission(state: CaseState) -> str | None:
    """Whose agreement withdrawing needs now: once the conference is booked, the permission
    the procedure's "no longer needed" stand-down asks for (004: the CP chair)."""
    reason = state.procedure.no_longer_needed
    if state.booking is None or reason is None:
        return None
    return reason.permission_from


def _withdraw(state: CaseState, d: WithdrawIcpc, now: datetime, fx: Effects) -> str:
    """004: the social worker makes "contact with the allocated CP Chair to discuss and agree
    the meeting to no longer go ahead": after booking, a withdrawal by anyone else waits for
    that agreement, which the agreeing role records by withdrawing too."""
    needed = _withdrawal_permission(state)
    booking = state.booking
    if needed and booking is not None and d.decided_by.role != needed:
        state.withdrawal_requested = WithdrawalRequest(
            requested_by=d.decided_by, requested_at=now, reason=d.reason
        )
        who = roles_text(state.procedure, [needed])
        asker = with_article(role_title(state.procedure, d.decided_by.role))
        text = (
            f"{capitalised(asker)} asks to withdraw the ICPC booked for {when(booking.starts_at)}."
            f" It goes ahead unless {who} agrees: record the withdrawal (withdraw_icpc) to agree,"
            f" with your reasons.\n\nReason given: {d.reason}"
        )
        flag(state, fx, [needed], "Withdrawal requested: your agreement is needed", text, "w")
        return f"Withdrawal requested; the conference stays booked until {who} agrees"
    requested = state.withdrawal_requested
    _cancel_invitations(state, now, fx)
    state.withdrawn_at = now
    if booking is None:
        return "ICPC withdrawn"
    reason = state.procedure.no_longer_needed
    roles = list(reason.notify) if reason else []
    if requested is not None:
        roles.append(requested.requested_by.role)
    if roles:
        text = (
            f"The ICPC booked for {when(booking.starts_at)} will not go ahead: it has been"
            f" withdrawn.\n\nReason: {d.reason}"
        )
        flag(state, fx, list(dict.fromkeys(roles)), "ICPC cancelled: withdrawn", text, "c")
    if needed:
        agreed = f" with {with_article(role_title(state.procedure, needed))}'s agreement"
        if requested is not None:
            agreed += f" (requested by {requested.requested_by.user})"
        return f"ICPC withdrawn{agreed}; the booked conference is cancelled"
    return "ICPC withdrawn; the booked conference is cancelled"


# --- the convening sheet ---------------------------------------------------------------------


def _check_sheet(state: CaseState, d: ReceiveConveningSheet, now: datetime) -> None:
    rule = state.procedure.convening_sheet
    for number, invitee in enumerate(d.invitees, start=1):
        label = f"Invitee {number} ({invitee.role_or_relationship})"
        if rule.require_email and not invitee.email and not invitee.is_school:
            raise Refusal(
                f"{label} has no email address; this procedure requires one for everyone."
            )
        if rule.require_telephone and not invitee.telephone:
            raise Refusal(f"{label} has no telephone number; this procedure requires one.")
        if rule.require_postal_address and not invitee.postal_address:
            raise Refusal(f"{label} has no postal address; this procedure requires one.")


def _receive_sheet(state: CaseState, d: ReceiveConveningSheet, now: datetime, fx: Effects) -> str:
    state.invitees = list(d.invitees)
    state.sheet_received_at = now
    state.confirmed_at = state.confirmed_at or now  # a sheet says an ICPC is needed
    fx.replan = True
    return f"Convening sheet received with {len(d.invitees)} invitees"


# --- booking and rebooking -------------------------------------------------------------------


def _ready_to_book(state: CaseState) -> str | None:
    """What a booking needs before any date is looked at."""
    if state.needs_repeat_oversight and state.procedure.repeat_plan:
        oversight = roles_text(state.procedure, [state.procedure.repeat_plan.oversight_role])
        return (
            "A previous child protection plan ended within"
            f" {state.procedure.repeat_plan.within_months} months: {oversight}'s recorded"
            " oversight is needed before the ICPC proceeds."
        )
    if state.confirmed_at is None:
        return "The need for an ICPC has not been confirmed yet."
    if state.procedure.booking.requires_convening_sheet and state.invitees is None:
        return "This procedure books a conference only once the convening sheet is in."
    return None


def _not_booked(state: CaseState, role: str) -> str | None:
    if state.booking is not None:
        return "The conference is already booked; stand it down to rebook it."
    if state.stand_down_reason is not None:
        return "The conference was stood down; rebook it instead."
    return _ready_to_book(state)


def _stood_down(state: CaseState, role: str) -> str | None:
    if state.stand_down_reason is None or state.booking is not None:
        return "Only a conference that was stood down can be rebooked."
    return _ready_to_book(state)


def _check_booking(state: CaseState, d: BookConference | RebookConference, now: datetime) -> None:
    booking = d.booking
    if booking.starts_at <= now:
        raise Refusal(f"{when(booking.starts_at)} is in the past.")
    day = _day(booking.starts_at)
    if not state.calendar.is_working_day(day):
        raise Refusal(f"{day:%A %d %B %Y} is not a working day for this authority.")
    deadline = _day(state.deadline)
    if day > deadline:
        delay = state.approved_delay
        if delay is None:
            approvers = roles_text(
                state.procedure, state.procedure.roles_for(DecisionKind.APPROVE_DELAY)
            )
            raise Refusal(
                f"{day:%d %B %Y} is after the statutory limit ({deadline:%d %B %Y}, working"
                f" day 15); it needs a delay approved by {approvers} first."
            )
        if day > delay.proposed_date:
            raise Refusal(
                f"{day:%d %B %Y} is later than the date the delay was approved for"
                f" ({delay.proposed_date:%d %B %Y})."
            )
    notice = state.procedure.invitation_notice
    if notice and notice.enforcement == Enforcement.REFUSE:
        shortfall = _notice_shortfall(state, booking, now)
        if shortfall:
            raise Refusal(shortfall)


def _book(
    state: CaseState, d: BookConference | RebookConference, now: datetime, fx: Effects
) -> str:
    state.booking = d.booking
    state.booked_at = now
    state.booking_sequence += 1
    state.stand_down_reason = None
    fx.replan = True
    _flag_booking(state, d.booking, now, fx)
    verb = "rebooked" if isinstance(d, RebookConference) else "booked"
    return f"Conference {verb} for {when(d.booking.starts_at)} ({d.booking.format})"


def _notice_shortfall(state: CaseState, booking: Booking, now: datetime) -> str | None:
    notice = state.procedure.invitation_notice
    if notice is None:
        return None
    today, day = _day(now), _day(booking.starts_at)
    if notice.working_days is not None:
        given = state.calendar.working_days_between(today, day)
        needed, unit = notice.working_days, "working days'"
    else:
        given = (day - today).days
        needed, unit = notice.days or 0, "days'"
    if given >= needed:
        return None
    return (
        f"Invitees must have at least {needed} {unit} notice; a conference on"
        f" {day:%d %B %Y} gives {given}."
    )


def _flag_booking(state: CaseState, booking: Booking, now: datetime, fx: Effects) -> None:
    notice = state.procedure.invitation_notice
    if notice and notice.enforcement == Enforcement.FLAG:
        shortfall = _notice_shortfall(state, booking, now)
        if shortfall:
            flag(state, fx, notice.escalate_to, "Short notice for invitees", shortfall, "a")
    preferred = state.procedure.booking.preferred_working_days
    if preferred:
        day = state.calendar.working_days_between(state.strategy_day, _day(booking.starts_at))
        if day not in preferred:
            text = (
                f"The conference is booked on working day {day}; the procedure asks for day"
                f" {' or '.join(str(p) for p in preferred)}."
            )
            roles = state.procedure.booking.flag_outside_preferred_to
            flag(state, fx, roles, "Conference booked outside the preferred days", text, "b")
    avoid = [i for i in state.invitees or [] if _day(booking.starts_at) in i.dates_to_avoid]
    if avoid:
        fx.note("warning", f"{len(avoid)} invitee(s) asked to avoid this date")


def _cancel_invitations(state: CaseState, now: datetime, fx: Effects) -> None:
    if state.invitations_sent_sequence is not None and state.booking is not None:
        emails, _ = invitation_emails(state, now, CalendarMethod.CANCEL)
        fx.emails += emails


# --- the report and police checks -----------------------------------------------------------


def _share_report(state: CaseState, d: ShareReport, now: datetime, fx: Effects) -> str:
    state.report_shared_at = now
    return "Report shared with the family"


def _police_not_asked(state: CaseState, role: str) -> str | None:
    if state.police_checks_requested_at:
        return f"Police checks were already requested on {when(state.police_checks_requested_at)}."
    return None


def _request_police(state: CaseState, d: RequestPoliceChecks, now: datetime, fx: Effects) -> str:
    state.police_checks_requested_at = now
    return "Police checks requested"


# --- delays beyond the statutory limit -------------------------------------------------------


def _delay_pending(state: CaseState) -> bool:
    return state.delay is not None and state.delay.status == DelayStatus.PENDING


def _check_request_delay(state: CaseState, d: RequestDelay, now: datetime) -> None:
    if d.proposed_date <= _day(state.deadline):
        raise Refusal(
            f"{d.proposed_date:%d %B %Y} is within the statutory limit"
            f" ({_day(state.deadline):%d %B %Y}); no delay is needed."
        )
    # A conference already held late (on or after its booked day) may still be put right.
    booked = _day(state.booking.starts_at) if state.booking is not None else None
    retrospective = booked is not None and booked <= d.proposed_date
    if d.proposed_date <= _day(now) and not retrospective:
        raise Refusal(f"The proposed date {d.proposed_date:%d %B %Y} is not in the future.")


def _request_delay(state: CaseState, d: RequestDelay, now: datetime, fx: Effects) -> str:
    rule = state.procedure.delays
    working_day = state.calendar.working_days_between(state.strategy_day, _day(now))
    by_day = rule.request_by_working_day
    late = by_day is not None and working_day > by_day
    standing = state.approved_delay
    state.delays.append(
        DelayRequest(
            requested_by=d.decided_by,
            requested_at=now,
            reason=d.reason,
            proposed_date=d.proposed_date,
            safety_plan=d.safety_plan,
            late=late,
            working_day=working_day,
        )
    )
    approvers = state.procedure.roles_for(DecisionKind.APPROVE_DELAY)
    lateness = (
        f"This request is late: made on working day {working_day}; the procedure asks for it"
        f" by day {by_day}.\n\n"
        if late
        else ""
    )
    earlier = (
        f"It is a new request: the delay approved to {standing.proposed_date:%d %B %Y} stands"
        " until this one is decided.\n\n"
        if standing is not None
        else ""
    )
    text = (
        f"A delay to {d.proposed_date:%d %B %Y} has been requested and needs your"
        f" decision.\n\n{lateness}{earlier}Reason: {d.reason}\nSafety plan: {d.safety_plan}"
    )
    roles = list(dict.fromkeys([*approvers, *rule.request_copy_to]))
    flag(state, fx, roles, "Delay requested: your decision is needed", text)
    summary = f"Delay requested to {d.proposed_date:%d %B %Y}"
    if late:
        if rule.late_request_escalate_to:
            flag(state, fx, rule.late_request_escalate_to, "Late delay request", text, "l")
        summary += f" (late: working day {working_day}, due by day {by_day})"
    if standing is not None:
        summary += f"; a new request after the delay approved to {standing.proposed_date:%d %B %Y}"
    return summary


_delay_awaits_a_decision = refuse_if(
    lambda s: not _delay_pending(s),
    "No delay has been requested, so there is nothing to approve or reject.",
)


def _delay_requester(state: CaseState) -> tuple[str, str] | None:
    if not _delay_pending(state) or state.delay is None:
        return None
    return (
        state.delay.requested_by.user,
        "You requested this delay; someone else must decide on it.",
    )


def _decide_delay(
    state: CaseState, d: ApproveDelay | RejectDelay, now: datetime, fx: Effects
) -> str:
    assert state.delay is not None
    approved = isinstance(d, ApproveDelay)
    decided = state.delay.model_copy(
        update={
            "status": DelayStatus.APPROVED if approved else DelayStatus.REJECTED,
            "decided_by": d.decided_by,
            "decided_at": now,
            "comments": d.reason,
        }
    )
    state.delays[-1] = decided
    verdict = "approved" if approved else "rejected"
    # 001 step 14: the Area Manager "will inform the Ops Manager (CP) of this agreement and the
    # rationale for this decision": the rationale goes to whoever the procedure copies in.
    roles = list(
        dict.fromkeys([decided.requested_by.role, *state.procedure.delays.decision_copy_to])
    )
    decider = with_article(role_title(state.procedure, d.decided_by.role))
    text = (
        f"The delay to {decided.proposed_date:%d %B %Y} was {verdict} by {decider}"
        f" ({d.decided_by.user}).\n\nRationale: {d.reason}\n\nReason for the request:"
        f" {decided.reason}\nSafety plan: {decided.safety_plan}"
    )
    flag(state, fx, roles, f"Delay {verdict}", text)
    return f"Delay {verdict}"


# --- capacity, standing down, holding ---------------------------------------------------------


def _check_capacity(state: CaseState, d: ReportCapacityProblem, now: datetime) -> None:
    known = [c.id for c in state.procedure.capacity_escalations]
    if d.problem not in known:
        raise Refusal(
            f"'{d.problem}' is not a capacity problem this procedure names"
            f" (it names: {', '.join(known) or 'none'})."
        )


def _report_capacity(state: CaseState, d: ReportCapacityProblem, now: datetime, fx: Effects) -> str:
    problem = next(c for c in state.procedure.capacity_escalations if c.id == d.problem)
    text = f"Capacity problem reported: {problem.title}.\n\n{d.reason}"
    flag(state, fx, problem.escalate_to, f"Escalation: {problem.title}", text)
    return f"Capacity problem: {problem.title}"


def _check_stand_down(state: CaseState, d: StandDown, now: datetime) -> None:
    reasons = state.procedure.stand_down_reasons
    reason = state.procedure.stand_down_reason(d.stand_down_reason)
    if reasons and reason is None:
        raise Refusal(
            f"'{d.stand_down_reason}' is not a stand-down reason in this procedure"
            f" (choose from: {', '.join(r.id for r in reasons)})."
        )
    if reason and reason.permission_from and reason.permission_from != d.decided_by.role:
        who = roles_text(state.procedure, [reason.permission_from])
        raise Refusal(f"Standing down because '{reason.title}' needs {who}'s permission.")


def _stand_down(state: CaseState, d: StandDown, now: datetime, fx: Effects) -> str:
    reason = state.procedure.stand_down_reason(d.stand_down_reason)
    booking = state.booking
    _cancel_invitations(state, now, fx)
    state.booking = None
    state.invitations_sent_sequence = None
    state.stand_down_reason = d.stand_down_reason
    if reason is not None and reason.ends_case:
        state.closed_at = now
    state.withdrawal_requested = None
    if reason is not None and reason.notify and booking is not None:
        text = (
            f"The conference booked for {when(booking.starts_at)} has been stood down:"
            f" {reason.title}.\n\nReason: {d.reason}"
        )
        flag(state, fx, reason.notify, "Conference stood down", text, "s")
    fx.replan = True
    return f"Conference stood down: {reason.title if reason else d.stand_down_reason}"


def _check_hold(state: CaseState, d: HoldConference, now: datetime) -> None:
    assert state.booking is not None
    held = d.held_at or state.booking.starts_at
    if _day(held) < _day(state.booking.starts_at) or held > now:
        raise Refusal(
            f"The conference is booked for {when(state.booking.starts_at)}; it cannot be"
            " recorded as held before then."
        )
    late = _held_late_without_approval(state, held)
    if late:
        raise Refusal(late)


def _held_late_without_approval(state: CaseState, held: datetime) -> str | None:
    """A conference held after the statutory limit needs an approved delay that covers its
    date (the approval the procedure names, with the request's reason and safety plan)."""
    day, deadline = _day(held), _day(state.deadline)
    if day <= deadline:
        return None
    approved = state.approved_delay
    if approved is not None and day <= approved.proposed_date:
        return None
    approvers = roles_text(state.procedure, state.procedure.roles_for(DecisionKind.APPROVE_DELAY))
    past = (
        f"after the date the delay was approved for ({approved.proposed_date:%d %B %Y})"
        if approved is not None
        else f"after the statutory limit ({deadline:%d %B %Y}, working day 15) with no"
        " approved delay"
    )
    return (
        f"A conference held on {day:%d %B %Y} is {past}: recording it needs a delay to that"
        f" date, with its reason, approved by {approvers} first (request_delay)."
    )


def _hold(state: CaseState, d: HoldConference, now: datetime, fx: Effects) -> str:
    assert state.booking is not None
    state.held_at = d.held_at or state.booking.starts_at
    state.outcome = d.outcome
    state.withdrawal_requested = None
    fx.replan = True
    plan = "a child protection plan" if d.outcome == Outcome.CHILD_PROTECTION_PLAN else "no plan"
    summary = f"Conference held on {when(state.held_at)}: {plan}"
    approved = state.approved_delay
    if _day(state.held_at) > _day(state.deadline) and approved is not None:
        assert approved.decided_by is not None
        reason = d.reason or approved.reason
        summary += (
            f"; after the statutory limit, within the delay to"
            f" {approved.proposed_date:%d %B %Y} approved by {approved.decided_by.user}"
            f" ({role_title(state.procedure, approved.decided_by.role)}). Reason: {reason}"
        )
    return summary


# --- repeat plans (004) -------------------------------------------------------------------------


def _has_repeat_step(procedure: Procedure) -> str | None:
    if procedure.repeat_plan is None:
        return "This procedure has no repeat-plan oversight step."
    return None


def _record_oversight(
    state: CaseState, d: RecordRepeatPlanOversight, now: datetime, fx: Effects
) -> str:
    state.repeat_oversight_at = now
    return "Repeat-plan oversight recorded"


# --- how the conference is arranged (004) ------------------------------------------------------


def _advise_split(state: CaseState, d: AdviseConferenceSplit, now: datetime, fx: Effects) -> str:
    """Whoever books the conference is told, so the booking can be arranged in two parts."""
    advice = "needs to be split" if d.split_needed else "does not need to be split"
    bookers = state.procedure.roles_for(DecisionKind.BOOK_CONFERENCE)
    text = f"The social worker advises the conference {advice}.\n\nRisks or concerns: {d.reason}"
    flag(state, fx, bookers, f"Conference arrangements: it {advice}", text)
    return f"Advised the conference {advice}"


# --- the table ---------------------------------------------------------------------------------


def _closed(state: CaseState) -> str | None:
    if state.stage in FINAL_STAGES:
        return f"The case is {state.stage.replace('_', ' ')}; it takes no more decisions."
    return None


def _watched(state: CaseState) -> list[MilestoneState]:
    """The clock chases the ICPC's milestones while the case is open."""
    return state.icpc_milestones() if state.is_open else []


Rule = DecisionRule[CaseState, Any]

CASE_PATH: Path[CaseState] = Path(
    Stream.CASE,
    [
        Rule(ConfirmIcpc, "confirm the ICPC", _confirm, open_when=_unconfirmed),
        Rule(WithdrawIcpc, "withdraw the ICPC", _withdraw),
        Rule(
            ReceiveConveningSheet,
            "record the convening sheet",
            _receive_sheet,
            open_when=refuse_if(
                lambda s: s.invitations_sent_sequence is not None,
                "Invitations have already gone out for this conference.",
            ),
            check=_check_sheet,
        ),
        Rule(
            BookConference,
            "book the conference",
            _book,
            open_when=_not_booked,
            check=_check_booking,
        ),
        Rule(
            ShareReport,
            "record the report as shared with the family",
            _share_report,
            open_when=refuse_if(
                lambda s: s.booking is None,
                "There is no conference booked to share a report for.",
            ),
        ),
        Rule(
            RequestPoliceChecks,
            "request police checks",
            _request_police,
            open_when=_police_not_asked,
        ),
        Rule(
            RequestDelay,
            "request a delay",
            _request_delay,
            open_when=refuse_if(_delay_pending, "A delay is already waiting for a decision."),
            check=_check_request_delay,
        ),
        Rule(
            ApproveDelay,
            "approve a delay",
            _decide_delay,
            open_when=_delay_awaits_a_decision,
            forbidden_to=_delay_requester,
        ),
        Rule(
            RejectDelay,
            "reject a delay",
            _decide_delay,
            open_when=_delay_awaits_a_decision,
            forbidden_to=_delay_requester,
        ),
        Rule(
            ReportCapacityProblem,
            "report a capacity problem",
            _report_capacity,
            open_when=refuse_if(
                lambda s: not s.procedure.capacity_escalations,
                "This procedure names no capacity problems to report.",
            ),
            check=_check_capacity,
        ),
        Rule(
            StandDown,
            "stand the conference down",
            _stand_down,
            open_when=refuse_if(
                lambda s: s.booking is None, "There is no booked conference to stand down."
            ),
            check=_check_stand_down,
        ),
        Rule(
            RebookConference,
            "rebook the conference",
            _book,
            open_when=_stood_down,
            check=_check_booking,
        ),
        Rule(
            HoldConference,
            "record the conference as held",
            _hold,
            open_when=refuse_if(
                lambda s: s.booking is None,
                "No conference is booked, so none can be recorded as held.",
            ),
            check=_check_hold,
        ),
        REASSIGN_WORKER,
        RECORD_STEP,  # the procedure's own timed steps (domain/step_rules.py)
        Rule(
            RecordRepeatPlanOversight,
            "record oversight of a repeat plan",
            _record_oversight,
            open_when=refuse_if(
                lambda s: not s.needs_repeat_oversight,
                "This case does not need repeat-plan oversight (or it is recorded already).",
            ),
            in_procedure=_has_repeat_step,
        ),
        Rule(
            AdviseConferenceSplit, "advise whether the conference needs to be split", _advise_split
        ),
    ],
    closed=_closed,
    watched=_watched,
    mail_key=lambda state: str(len(state.timeline)),  # stable: the timeline only grows
)

# The decisions a case takes, parsed by kind: built from the table, never listed by hand.
if TYPE_CHECKING:
    CaseDecision = DecisionBase
else:
    CaseDecision = CASE_PATH.union
CASE_DECISION = CASE_PATH.adapter

check = CASE_PATH.check
apply = CASE_PATH.apply
available_decisions = CASE_PATH.available
next_wakeup = CASE_PATH.next_wakeup
on_clock = CASE_PATH.on_clock


# --- invitations ----------------------------------------------------------------------------


def invitations_due(state: CaseState) -> bool:
    """Both the booking and the invite list are in, and this booking's invitations are not out."""
    return (
        state.is_open
        and state.booking is not None
        and state.invitees is not None
        and state.invitations_sent_sequence != state.booking_sequence
        and state.invitations_held_sequence != state.booking_sequence
    )


@dataclass
class Invitations:
    """What sending a booking's invitations comes to: the emails to send (invitations and any
    notice), and how many invitations are among them (none when they were held back)."""

    emails: list[OutgoingEmail] = field(default_factory=list)
    count: int = 0
    short: str = ""  # the notice shortfall, when there is one


def send_invitations(state: CaseState, now: datetime) -> Invitations:
    """The invitations for the current booking, with the procedure's notice checked at the
    moment they go out (001 step 8: "no ICPC can be convened without giving parents and other
    professionals at least 5 days' notice"): a booking made early and a convening sheet received
    late must not send them short. Refused: none is sent, and the bookers and the roles the
    procedure names are told to rebook. Flagged: they go, and those roles are told."""
    notice = state.procedure.invitation_notice
    assert state.booking is not None
    shortfall = _notice_shortfall(state, state.booking, now)
    if notice is None or shortfall is None:
        emails = prepare_invitations(state, now)
        return Invitations(emails=emails, count=len(emails))
    fx = Effects(key=f"invitations/{state.booking_sequence}/")
    bookers = [
        *state.procedure.roles_for(DecisionKind.BOOK_CONFERENCE),
        *state.procedure.roles_for(DecisionKind.REBOOK_CONFERENCE),
    ]
    if notice.enforcement == Enforcement.REFUSE:
        state.invitations_held_sequence = state.booking_sequence
        roles = list(dict.fromkeys([*notice.escalate_to, *bookers]))
        text = (
            f"The invitations were NOT sent. {shortfall} Stand the conference down and rebook"
            " it on a date that gives enough notice."
        )
        flag(state, fx, roles, "Invitations not sent: too little notice", text, "held")
        state.record(
            now,
            "invitations_held",
            f"Invitations not sent: {shortfall}",
            data={"notified": fx.notified},
        )
        _record_notes(state, fx, now)
        return Invitations(emails=fx.emails, short=shortfall)
    emails = prepare_invitations(state, now)
    # Booked today: the booking already told them of this same shortfall.
    if state.booked_at is None or _day(state.booked_at) != _day(now):
        text = f"The invitations went out with too little notice. {shortfall}"
        flag(state, fx, notice.escalate_to, "Short notice for invitees", text, "short")
        _record_notes(state, fx, now)
    return Invitations(emails=[*emails, *fx.emails], count=len(emails), short=shortfall)


def _record_notes(state: CaseState, fx: Effects, now: datetime) -> None:
    for event, text in fx.notes:
        state.record(now, event, text)


def prepare_invitations(state: CaseState, now: datetime) -> list[OutgoingEmail]:
    emails, unreachable = invitation_emails(state, now)
    if unreachable:
        state.record(
            now,
            "warning",
            f"{len(unreachable)} invitee(s) have no email: invite them by phone or post",
        )
    return emails


def invitations_sent(state: CaseState, now: datetime, count: int, short: str = "") -> None:
    state.invitations_sent_sequence = state.booking_sequence
    state.record(
        now,
        SystemEvent.INVITATIONS_SENT,
        f"Invitations sent to {count} recipient(s)" + (f", short notice: {short}" if short else ""),
        data={"invitations": count},
    )
    satisfy(state, SystemEvent.INVITATIONS_SENT, now)


# --- start and the UI ------------------------------------------------------------------------


def start(state: CaseState, now: datetime) -> None:
    """Record the start of a case, saying if it was registered after its strategy discussion."""
    late = state.start.strategy_discussion < now and _day(now) > state.strategy_day
    days = state.calendar.working_days_between(state.strategy_day, _day(now)) if late else 0
    suffix = f" (registered on working day {days})" if late else ""
    state.record(now, "case_started", f"Case opened{suffix}")


# The start notice's key: one per case, so however often it is asked for it is sent once.
START_NOTICE_KEY = "start"


def start_notice(state: CaseState, now: datetime) -> Effects:
    """000 action 3: the conference service hears of the strategy discussion on the day.

    Call right after :func:`start`; the notice, its roles and the likelihood are recorded on
    the case's start entry.

    "The Social Worker attending the Strategy Discussion at which a Section 47 is initiated
    must contact the CP Conference Service ... on the day of the Strategy Discussion and notify
    them of the decision and give a view on the likelihood that an ICPC will be required. This
    will allow the CPCS to identify and plan for any capacity problems."

    The conference service is, in every procedure, whoever may book the conference there (the
    roles granted ``book_conference``): the CP Conference Service, QARSS business support, the
    ISU, the conference business support, the safeguarding unit.
    """
    fx = Effects(key=START_NOTICE_KEY)
    likelihood = state.start.icpc_likelihood
    bookers = state.procedure.roles_for(DecisionKind.BOOK_CONFERENCE)
    text = (
        f"A strategy discussion on {when(state.start.strategy_discussion)} initiated a"
        f" section 47 enquiry. The social worker's view: an ICPC is {likelihood}.\n\n"
        "This is notice to plan for capacity; the need for the ICPC is confirmed or"
        " withdrawn separately."
    )
    flag(state, fx, bookers, f"Section 47 strategy discussion: ICPC {likelihood}", text)
    # Kept with the case's start, where the record also finds its first due dates.
    opened = next(e for e in reversed(state.timeline) if e.event == "case_started")
    opened.data.update(notified=fx.notified, likelihood=str(likelihood))
    for event, note in fx.notes:
        state.record(now, event, note)
    return fx


def stage_details(state: CaseState, now: datetime) -> str:
    """Plain words for the Temporal UI's current details."""
    lines = [f"Stage: {state.stage.replace('_', ' ')}", f"ICPC deadline: {when(state.deadline)}"]
    nxt = state.next_milestone()
    if nxt and nxt.planned.due and state.stage not in FINAL_STAGES:
        status = nxt.status(now).replace("_", " ")
        lines.append(f"Next: {nxt.planned.title} — due {when(nxt.planned.due)} ({status})")
    awaiting = state.awaiting_roles()
    if awaiting:
        lines.append(f"Waiting for: {roles_text(state.procedure, awaiting)}")
    if state.stage == Stage.AWAITING_DELAY_DECISION and state.delay:
        lines.append(f"Delay requested to {state.delay.proposed_date:%d %B %Y}")
    if state.withdrawal_requested and state.is_open:
        lines.append("Withdrawal requested: waiting for agreement")
    if state.invitations_held_sequence == state.booking_sequence and state.booking:
        lines.append("Invitations held back: too little notice; rebook the conference")
    return "\n".join(lines)


def record_summary(state: CaseState, now: datetime) -> CaseSummary:
    """The case as it stands, for the case record's lists (no names, no addresses); the plan's
    summary starts from it once the plan holds the child's path."""
    plan_follows = state.outcome == Outcome.CHILD_PROTECTION_PLAN
    closed_at = None if plan_follows else state.withdrawn_at or state.closed_at or state.held_at
    reasons = {
        Stage.WITHDRAWN: "ICPC withdrawn",
        Stage.CLOSED: f"stood down: {state.stand_down_reason}",
        Stage.HELD: "no plan at the ICPC",
    }
    return CaseSummary(
        case_id=state.case_id,
        case_reference=state.start.case_reference,
        family_reference=state.start.family_reference,
        procedure_id=state.procedure.id,
        stream=Stream.CASE,
        stage=state.stage,
        is_open=state.is_open or plan_follows,
        strategy_discussion=state.start.strategy_discussion,
        icpc_deadline=state.deadline,
        deadline=state.deadline if state.is_open else None,
        icpc_held_at=state.held_at,
        outcome=state.outcome,
        closed_at=closed_at,
        closed_reason=None if closed_at is None else reasons.get(state.stage),
        **progress(state, now),
    )
