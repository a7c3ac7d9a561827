"""The ICPC case as a table of decisions: strategy discussion to the conference.

Each row of :data:`CASE_PATH` holds one decision's payload, title, when it is open, its check
and its effect; the machine in :mod:`domain.path` does the rest (who may, refusals, milestones
met, the timeline, the clock). The case's invitations are in :mod:`domain.case_invitations`,
how it reads from outside (its start, the Temporal UI's details, the record's summary) in
:mod:`domain.case_views`. No I/O, no clock: ``now`` is always passed in.

To add a decision: its payload model in :mod:`domain.decisions`, its kind in
:mod:`domain.vocabulary`, one row below, one entry in the web form's table, and the procedure
files that grant it to a role.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from domain.calendar import past_limit
from domain.case_invitations import cancel_invitations, notice_shortfall
from domain.case_record import Stream
from domain.case_state import (
    FINAL_STAGES,
    CaseState,
    DelayRequest,
    DelayStatus,
    UninvitedApproval,
    WithdrawalRequest,
)
from domain.decisions import (
    AdviseConferenceSplit,
    ApproveDelay,
    ApproveWithoutInvitations,
    BookConference,
    Booking,
    ConferenceFormat,
    ConfirmIcpc,
    DecisionBase,
    HoldConference,
    Outcome,
    RebookConference,
    ReceiveConveningSheet,
    RecordRepeatPlanOversight,
    RecordStep,
    RejectDelay,
    ReportCapacityProblem,
    RequestDelay,
    RequestPoliceChecks,
    ShareReport,
    StandDown,
    WithdrawIcpc,
)
from domain.milestones import MilestoneState
from domain.notices import FOR_INFORMATION, when
from domain.path import DecisionRule, Effects, Path, Refusal, flag, refuse_if
from domain.path import day_of as _day
from domain.procedure import Enforcement, Milestone, Procedure
from domain.shared_rules import REASSIGN_WORKER
from domain.step_rules import RECORD_STEP
from domain.vocabulary import DecisionKind
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


def _withdrawn_conference(state: CaseState) -> str | None:
    """The conference a withdrawal now calls off, in words: the booked one, or (since the
    order rules) one booked and then stood down; None while none was ever booked."""
    if state.booking is not None:
        return f"the ICPC booked for {when(state.booking.starts_at)}"
    if state.order_rules and state.booking_sequence > 0:
        reason = state.procedure.stand_down_reason(state.stand_down_reason or "")
        why = reason.title if reason else state.stand_down_reason
        return f"the ICPC that was booked and then stood down ({why})"
    return None


def _withdrawal_permission(state: CaseState) -> str | None:
    """Whose agreement withdrawing needs now: once the conference is booked (004: even if it
    was stood down since), the permission the procedure's "no longer needed" stand-down asks
    for (004: the CP chair)."""
    reason = state.procedure.no_longer_needed
    if _withdrawn_conference(state) is None or reason is None:
        return None
    return reason.permission_from


def _withdraw(state: CaseState, d: WithdrawIcpc, now: datetime, fx: Effects) -> str:
    """004: the social worker makes "contact with the allocated CP Chair to discuss and agree
    the meeting to no longer go ahead": after booking, a withdrawal by anyone else waits for
    that agreement, which the agreeing role records by withdrawing too."""
    needed = _withdrawal_permission(state)
    conference = _withdrawn_conference(state)
    if needed and conference is not None and d.decided_by.role != needed:
        state.withdrawal_requested = WithdrawalRequest(
            requested_by=d.decided_by, requested_at=now, reason=d.reason
        )
        who = roles_text(state.procedure, [needed])
        asker = with_article(role_title(state.procedure, d.decided_by.role))
        text = (
            f"{capitalised(asker)} asks to withdraw {conference}."
            f" It goes ahead unless {who} agrees: record the withdrawal (withdraw_icpc) to agree,"
            f" with your reasons.\n\nReason given: {d.reason}"
        )
        flag(state, fx, [needed], "Withdrawal requested: your agreement is needed", text, "w")
        fx.data["withdrawal"] = {"status": "requested"}
        still = "booked" if state.booking is not None else "open"
        return f"Withdrawal requested; the conference stays {still} until {who} agrees"
    requested = state.withdrawal_requested
    cancel_invitations(state, now, fx)
    state.withdrawn_at = now
    fx.data["withdrawal"] = {"status": "withdrawn"}
    if conference is None:
        return "ICPC withdrawn"
    reason = state.procedure.no_longer_needed
    roles = list(reason.notify) if reason else []
    if requested is not None:
        roles.append(requested.requested_by.role)
    if roles:
        text = (
            f"{capitalised(conference)} will not go ahead: it has been"
            f" withdrawn.\n\nReason: {d.reason}"
        )
        flag(state, fx, list(dict.fromkeys(roles)), "ICPC cancelled: withdrawn", text, "c")
    ending = (
        "the booked conference is cancelled"
        if state.booking is not None
        else "the conference stood down will not be rebooked"
    )
    if needed:
        agreed = f" with {with_article(role_title(state.procedure, needed))}'s agreement"
        if requested is not None:
            agreed += f" (requested by {requested.requested_by.user})"
        return f"ICPC withdrawn{agreed}; {ending}"
    return f"ICPC withdrawn; {ending}"


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
    if past_limit(day, deadline):
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
        shortfall = notice_shortfall(state, booking, now)
        if shortfall:
            raise Refusal(shortfall)
    wrong_format = _format_refused(state, booking)
    if wrong_format:
        raise Refusal(wrong_format)


def _method_step(state: CaseState) -> Milestone | None:
    """003: the step that decides how the conference is held (the Duty PO's safety screening
    deciding "hybrid" or "virtual"), under the order rules."""
    step_id = state.procedure.booking.format_from_step
    return state.procedure.milestone(step_id) if step_id and state.order_rules else None


def _format_refused(state: CaseState, booking: Booking) -> str | None:
    """A booking in a format the method step did not choose (or cannot choose)."""
    step = _method_step(state)
    if step is None:
        return None
    chosen = state.conference_method
    allowed = [chosen] if chosen else step.choices
    if booking.format.value in allowed:
        return None
    decider = roles_text(state.procedure, [step.responsible])
    refused = f"it cannot be booked as {booking.format.value.replace('_', ' ')}."
    if chosen:
        return (
            f"{capitalised(decider)} decided the conference is {chosen} ({step.title}); {refused}"
        )
    return (
        f"The conference is {' or '.join(allowed)}, as {decider} decides ({step.title}); {refused}"
    )


def _book(
    state: CaseState, d: BookConference | RebookConference, now: datetime, fx: Effects
) -> str:
    state.booking = d.booking
    state.booked_at = now
    state.booking_sequence += 1
    state.stand_down_reason = None
    fx.replan = True
    _flag_booking(state, d.booking, now, fx)
    fx.data["booking"] = {
        "starts_at": d.booking.starts_at.isoformat(),
        "format": d.booking.format.value,
    }
    verb = "rebooked" if isinstance(d, RebookConference) else "booked"
    return f"Conference {verb} for {when(d.booking.starts_at)} ({d.booking.format})"


def _flag_booking(state: CaseState, booking: Booking, now: datetime, fx: Effects) -> None:
    notice = state.procedure.invitation_notice
    if notice and notice.enforcement == Enforcement.FLAG:
        shortfall = notice_shortfall(state, booking, now)
        if shortfall:
            flag(state, fx, notice.escalate_to, "Short notice for invitees", shortfall, "a")
    preferred = state.procedure.booking.preferred_working_days
    if preferred:
        day = state.calendar.working_days_between(state.strategy_day, _day(booking.starts_at))
        if day not in preferred:
            text = (
                f"The conference is booked on {state.procedure.working_day_text(day)}; the"
                f" procedure asks for {state.procedure.own_days_text(preferred)}."
            )
            roles = state.procedure.booking.flag_outside_preferred_to
            flag(state, fx, roles, "Conference booked outside the preferred days", text, "b")
    avoid = [i for i in state.invitees or [] if _day(booking.starts_at) in i.dates_to_avoid]
    if avoid:
        fx.note("warning", f"{len(avoid)} invitee(s) asked to avoid this date")


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
    if not past_limit(d.proposed_date, state.deadline):
        raise Refusal(
            f"{d.proposed_date:%d %B %Y} is within the statutory limit"
            f" ({_day(state.deadline):%d %B %Y}); no delay is needed."
        )
    if d.proposed_date > state.calendar.last:
        # A conference on it could never be booked or held: the case counts no further.
        raise Refusal(
            f"{d.proposed_date:%d %B %Y} is too far ahead: this case counts working days to"
            f" {state.calendar.last:%d %B %Y}."
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
    days = state.procedure
    due_by = days.own_days_text([by_day]) if by_day is not None else ""
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
        f"This request is late: made on {days.working_day_text(working_day)}; the"
        f" procedure asks for it by {due_by}.\n\n"
        if late
        else ""
    )
    earlier = (
        f"It is a new request: the delay approved to {standing.proposed_date:%d %B %Y} stands"
        " until this one is decided.\n\n"
        if standing is not None
        else ""
    )
    details = f"{lateness}{earlier}Reason: {d.reason}\nSafety plan: {d.safety_plan}"
    asked = f"A delay to {d.proposed_date:%d %B %Y} has been requested and needs your decision."
    flag(state, fx, approvers, "Delay requested: your decision is needed", f"{asked}\n\n{details}")
    # Those told who may not decide are told so, not asked (000 action 7: "copy in").
    info = (
        f"A delay to {d.proposed_date:%d %B %Y} has been requested; it is for"
        f" {roles_text(state.procedure, approvers)} to decide. {FOR_INFORMATION}\n\n{details}"
    )
    copied = [r for r in dict.fromkeys(rule.request_copy_to) if r not in approvers]
    if copied:
        flag(state, fx, copied, "Delay requested: copied for information", info, "i")
    fx.data["delay"] = {
        "proposed_date": d.proposed_date.isoformat(),
        "late": late,
        "working_day": working_day,
        "request_by_working_day": by_day,
    }
    summary = f"Delay requested to {d.proposed_date:%d %B %Y}"
    if late:
        if rule.late_request_escalate_to:
            flag(state, fx, rule.late_request_escalate_to, "Late delay request", info, "l")
        summary += f" (late: working day {working_day}, due by {due_by})"
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
    fx.data["delay"] = {"proposed_date": decided.proposed_date.isoformat(), "status": verdict}
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
    cancel_invitations(state, now, fx)
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
        if not reason.ends_case:  # 004: "Social Worker will be advised of last date to hold"
            text += f"\n\n{_last_date_to_hold(state)}"
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
    uninvited = _held_without_invitations(state)
    if uninvited:
        raise Refusal(uninvited)


def _invitations_missing(state: CaseState) -> str | None:
    """Why the booking's invitations are not out, or None when they went out (with the notice
    the procedure refuses less than: the sending checks it)."""
    if state.booking is None or state.invitations_sent_sequence == state.booking_sequence:
        return None
    if state.invitations_held_sequence == state.booking_sequence:
        return "were held back for too little notice"
    if state.invitees is None:
        return "have not gone out: the convening sheet is not in"
    return "have not gone out"


def _uninvited_approved(state: CaseState) -> bool:
    approval = state.uninvited_approval
    return approval is not None and approval.booking_sequence == state.booking_sequence


def _held_without_invitations(state: CaseState) -> str | None:
    """000 action 10 ("Invitations to the conference will be sent out ... within 2 days of
    receipt of the convening sheet") and 001 step 8 ("no ICPC can be convened without giving
    parents and other professionals at least 5 days' notice"): a conference is held once its
    invitations went out with notice, or with the approval the procedure names."""
    if not (state.order_rules and state.procedure.holding.requires_invitations):
        return None
    missing = _invitations_missing(state)
    if missing is None or _uninvited_approved(state):
        return None
    approvers = state.procedure.roles_for(DecisionKind.APPROVE_WITHOUT_INVITATIONS)
    if not approvers:
        return (
            f"The invitations for this conference {missing}, and this procedure holds no"
            " conference without them: stand it down and rebook it on a date that gives the"
            " notice."
        )
    return (
        f"The invitations for this conference {missing}: recording it as held needs"
        f" {roles_text(state.procedure, approvers)}'s approval, with the reason, first"
        " (approve_without_invitations)."
    )


def _may_approve_uninvited(state: CaseState, role: str) -> str | None:
    if state.booking is None:
        return "No conference is booked."
    if _invitations_missing(state) is None:
        return "The invitations for this conference went out; no approval is needed."
    if _uninvited_approved(state):
        return "Holding this conference without its invitations is already approved."
    return None


def _holds_with_invitations(procedure: Procedure) -> str | None:
    if not procedure.holding.requires_invitations:
        return "This procedure does not ask for the invitations before a conference is held."
    return None


def _approve_uninvited(
    state: CaseState, d: ApproveWithoutInvitations, now: datetime, fx: Effects
) -> str:
    missing = _invitations_missing(state)
    state.uninvited_approval = UninvitedApproval(
        approved_by=d.decided_by,
        approved_at=now,
        reason=d.reason,
        booking_sequence=state.booking_sequence,
    )
    approver = with_article(role_title(state.procedure, d.decided_by.role))
    text = (
        f"{capitalised(approver)} approved holding the conference although its invitations"
        f" {missing}.\n\nReason: {d.reason}"
    )
    holders = state.procedure.roles_for(DecisionKind.HOLD_CONFERENCE)
    flag(state, fx, holders, "Conference may be held without its invitations", text, "u")
    return f"Holding the conference approved although its invitations {missing}"


def _held_late_without_approval(state: CaseState, held: datetime) -> str | None:
    """A conference held after the statutory limit needs an approved delay that covers its
    date (the approval the procedure names, with the request's reason and safety plan)."""
    day, deadline = _day(held), _day(state.deadline)
    if not past_limit(day, deadline):
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
    fx.data["conference"] = {"held_at": state.held_at.isoformat(), "outcome": d.outcome.value}
    plan = "a child protection plan" if d.outcome == Outcome.CHILD_PROTECTION_PLAN else "no plan"
    summary = f"Conference held on {when(state.held_at)}: {plan}"
    uninvited = state.uninvited_approval
    if (
        state.order_rules
        and _invitations_missing(state)
        and uninvited
        and _uninvited_approved(state)
    ):
        summary += (
            f"; without its invitations, approved by {uninvited.approved_by.user}"
            f" ({role_title(state.procedure, uninvited.approved_by.role)}). Reason:"
            f" {uninvited.reason}"
        )
    approved = state.approved_delay
    if past_limit(state.held_at, state.deadline) and approved is not None:
        assert approved.decided_by is not None
        reason = d.reason or approved.reason
        summary += (
            f"; after the statutory limit, within the delay to"
            f" {approved.proposed_date:%d %B %Y} approved by {approved.decided_by.user}"
            f" ({role_title(state.procedure, approved.decided_by.role)}). Reason: {reason}"
        )
    return summary


# --- repeat plans (004) -------------------------------------------------------------------------


def _last_date_to_hold(state: CaseState) -> str:
    """The last day a rebooked conference may be held: the statutory limit, or the date an
    approved delay allows."""
    approved = state.approved_delay
    if approved is not None and past_limit(approved.proposed_date, state.deadline):
        return (
            f"Last date to hold the conference: {approved.proposed_date:%A %d %B %Y} (the delay"
            " approved)."
        )
    return (
        f"Last date to hold the conference: {_day(state.deadline):%A %d %B %Y} (working day 15,"
        " the statutory limit); later needs a delay approved first."
    )


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


# --- the procedure's steps, and the one that decides the method (003) -------------------------


def _record_case_step(state: CaseState, d: RecordStep, now: datetime, fx: Effects) -> str:
    """Any step of the procedure (domain.step_rules); the method step also sets the booking's
    format: 003 "Send the invites for either a hybrid or virtual meeting" on the method the
    Duty PO decided, whether the booking came before the screening or after it."""
    done = RECORD_STEP.apply(state, d, now, fx)
    step = _method_step(state)
    if step is None or d.step != step.id:
        return done
    state.conference_method = d.choice
    booking = state.booking
    if booking is not None and booking.format.value != d.choice:
        state.booking = booking.model_copy(update={"format": ConferenceFormat(d.choice)})
        done += f"; the conference booked as {booking.format} is now {d.choice}"
    return done


CASE_RECORD_STEP: DecisionRule[CaseState, RecordStep] = DecisionRule(
    RecordStep,
    RECORD_STEP.title,
    _record_case_step,
    open_when=RECORD_STEP.open_when,
    check=RECORD_STEP.check,
    in_procedure=RECORD_STEP.in_procedure,
    meets=RECORD_STEP.meets,
)


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
        Rule(
            ApproveWithoutInvitations,
            "approve holding the conference without its invitations",
            _approve_uninvited,
            open_when=_may_approve_uninvited,
            in_procedure=_holds_with_invitations,
        ),
        REASSIGN_WORKER,
        CASE_RECORD_STEP,  # the procedure's own timed steps (domain/step_rules.py)
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
    mail_key=lambda state: str(state.timeline_length),  # stable: the timeline only grows
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
