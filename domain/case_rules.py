"""The case rules: given the state and a decision (or the clock), what changes and what must happen.

``check`` refuses a decision with a plain reason and changes nothing: the workflow's update
validators call it, so a refused update leaves no trace in history. ``apply`` checks again,
changes the state and returns the effects (emails to send, a re-plan, the end of the case) for
the workflow to carry out. No I/O, no clock: ``now`` is always passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from domain.calendar import LONDON
from domain.case_state import (
    FINAL_STAGES,
    CaseState,
    DelayRequest,
    DelayStatus,
    MilestoneState,
    Stage,
)
from domain.decisions import (
    ApproveDelay,
    BookConference,
    Booking,
    CaseDecision,
    ConfirmIcpc,
    HoldConference,
    Outcome,
    ReassignWorker,
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
from domain.notices import flag_email, invitation_emails, milestone_email, when
from domain.outbox import CalendarMethod, EmailPurpose, OutgoingEmail
from domain.procedure import Enforcement
from domain.vocabulary import DecisionKind, SystemEvent
from domain.wording import capitalised, role_title, roles_text, with_article

DECISION_TITLES: dict[DecisionKind, str] = {
    DecisionKind.CONFIRM_ICPC: "confirm the ICPC",
    DecisionKind.WITHDRAW_ICPC: "withdraw the ICPC",
    DecisionKind.RECEIVE_CONVENING_SHEET: "record the convening sheet",
    DecisionKind.BOOK_CONFERENCE: "book the conference",
    DecisionKind.SHARE_REPORT: "record the report as shared with the family",
    DecisionKind.REQUEST_POLICE_CHECKS: "request police checks",
    DecisionKind.REQUEST_DELAY: "request a delay",
    DecisionKind.APPROVE_DELAY: "approve a delay",
    DecisionKind.REJECT_DELAY: "reject a delay",
    DecisionKind.REPORT_CAPACITY_PROBLEM: "report a capacity problem",
    DecisionKind.STAND_DOWN: "stand the conference down",
    DecisionKind.REBOOK_CONFERENCE: "rebook the conference",
    DecisionKind.HOLD_CONFERENCE: "record the conference as held",
    DecisionKind.REASSIGN_WORKER: "reassign a worker",
    DecisionKind.RECORD_REPEAT_PLAN_OVERSIGHT: "record oversight of a repeat plan",
}


class Refusal(ValueError):
    """A decision that does not fit the case; the message is the plain reason."""


@dataclass
class Effects:
    emails: list[OutgoingEmail] = field(default_factory=list)
    replan: bool = False
    ended: bool = False
    summary: str = ""  # an accepted decision, in plain words (as its timeline entry says)

    def add(self, email: OutgoingEmail | None) -> None:
        if email is not None:
            self.emails.append(email)


def _day(at: datetime) -> date:
    return at.astimezone(LONDON).date()


# --- checks ---------------------------------------------------------------------------------


def check(state: CaseState, decision: CaseDecision, now: datetime) -> None:
    """Raise :class:`Refusal` if ``decision`` does not fit the case now; change nothing."""
    kind = decision.kind
    title = DECISION_TITLES[kind]
    role = decision.decided_by.role
    if kind == DecisionKind.RECORD_REPEAT_PLAN_OVERSIGHT and state.procedure.repeat_plan is None:
        raise Refusal("This procedure has no repeat-plan oversight step.")
    if not state.procedure.may_decide(role, kind):
        allowed = state.procedure.roles_for(kind)
        raise Refusal(
            f"{capitalised(with_article(role_title(state.procedure, role)))} may not {title} in this"
            f" procedure; only {roles_text(state.procedure, allowed)} may."
        )
    if state.stage in FINAL_STAGES:
        raise Refusal(f"The case is {state.stage.replace('_', ' ')}; it takes no more decisions.")
    _CHECKS[type(decision)](state, decision, now)  # type: ignore[operator]


def _check_confirm(state: CaseState, d: ConfirmIcpc, now: datetime) -> None:
    if state.confirmed_at:
        raise Refusal(f"The ICPC was already confirmed on {when(state.confirmed_at)}.")


def _check_withdraw(state: CaseState, d: WithdrawIcpc, now: datetime) -> None:
    return None


def _check_sheet(state: CaseState, d: ReceiveConveningSheet, now: datetime) -> None:
    if state.invitations_sent_sequence is not None:
        raise Refusal("Invitations have already gone out for this conference.")
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


def _check_booking(state: CaseState, booking: Booking, now: datetime) -> None:
    if state.needs_repeat_oversight and state.procedure.repeat_plan:
        oversight = roles_text(state.procedure, [state.procedure.repeat_plan.oversight_role])
        raise Refusal(
            "A previous child protection plan ended within"
            f" {state.procedure.repeat_plan.within_months} months: {oversight}'s recorded"
            " oversight is needed before the ICPC proceeds."
        )
    if state.confirmed_at is None:
        raise Refusal("The need for an ICPC has not been confirmed yet.")
    if state.procedure.booking.requires_convening_sheet and state.invitees is None:
        raise Refusal("This procedure books a conference only once the convening sheet is in.")
    if booking.starts_at <= now:
        raise Refusal(f"{when(booking.starts_at)} is in the past.")
    day = _day(booking.starts_at)
    if not state.calendar.is_working_day(day):
        raise Refusal(f"{day:%A %d %B %Y} is not a working day for this authority.")
    deadline = _day(state.deadline)
    if day > deadline:
        delay = state.delay
        if delay is None or delay.status != DelayStatus.APPROVED:
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


def _check_book(state: CaseState, d: BookConference, now: datetime) -> None:
    if state.booking is not None:
        raise Refusal("The conference is already booked; stand it down to rebook it.")
    if state.stand_down_reason is not None:
        raise Refusal("The conference was stood down; rebook it instead.")
    _check_booking(state, d.booking, now)


def _check_rebook(state: CaseState, d: RebookConference, now: datetime) -> None:
    if state.stand_down_reason is None or state.booking is not None:
        raise Refusal("Only a conference that was stood down can be rebooked.")
    _check_booking(state, d.booking, now)


def _check_share_report(state: CaseState, d: ShareReport, now: datetime) -> None:
    if state.booking is None:
        raise Refusal("There is no conference booked to share a report for.")


def _check_police(state: CaseState, d: RequestPoliceChecks, now: datetime) -> None:
    if state.police_checks_requested_at:
        raise Refusal(
            f"Police checks were already requested on {when(state.police_checks_requested_at)}."
        )


def _check_request_delay(state: CaseState, d: RequestDelay, now: datetime) -> None:
    if state.delay and state.delay.status == DelayStatus.PENDING:
        raise Refusal("A delay is already waiting for a decision.")
    if d.proposed_date <= _day(state.deadline):
        raise Refusal(
            f"{d.proposed_date:%d %B %Y} is within the statutory limit"
            f" ({_day(state.deadline):%d %B %Y}); no delay is needed."
        )
    if d.proposed_date <= _day(now):
        raise Refusal(f"The proposed date {d.proposed_date:%d %B %Y} is not in the future.")


def _check_delay_decision(state: CaseState, d: ApproveDelay | RejectDelay, now: datetime) -> None:
    if state.delay is None or state.delay.status != DelayStatus.PENDING:
        raise Refusal("No delay has been requested, so there is nothing to approve or reject.")
    if state.delay.requested_by.user == d.decided_by.user:
        raise Refusal("You requested this delay; someone else must decide on it.")


def _check_capacity(state: CaseState, d: ReportCapacityProblem, now: datetime) -> None:
    known = [c.id for c in state.procedure.capacity_escalations]
    if d.problem not in known:
        raise Refusal(
            f"'{d.problem}' is not a capacity problem this procedure names"
            f" (it names: {', '.join(known) or 'none'})."
        )


def _check_stand_down(state: CaseState, d: StandDown, now: datetime) -> None:
    if state.booking is None:
        raise Refusal("There is no booked conference to stand down.")
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


def _check_hold(state: CaseState, d: HoldConference, now: datetime) -> None:
    if state.booking is None:
        raise Refusal("No conference is booked, so none can be recorded as held.")
    held = d.held_at or state.booking.starts_at
    if _day(held) < _day(state.booking.starts_at) or held > now:
        raise Refusal(
            f"The conference is booked for {when(state.booking.starts_at)}; it cannot be"
            " recorded as held before then."
        )


def _check_reassign(state: CaseState, d: ReassignWorker, now: datetime) -> None:
    declared = {r.id for r in state.procedure.roles}
    if d.contact.role not in declared:
        raise Refusal(f"'{d.contact.role}' is not a role in this procedure.")


def _check_oversight(state: CaseState, d: RecordRepeatPlanOversight, now: datetime) -> None:
    if not state.needs_repeat_oversight:
        raise Refusal("This case does not need repeat-plan oversight (or it is recorded already).")


_CHECKS = {
    ConfirmIcpc: _check_confirm,
    WithdrawIcpc: _check_withdraw,
    ReceiveConveningSheet: _check_sheet,
    BookConference: _check_book,
    ShareReport: _check_share_report,
    RequestPoliceChecks: _check_police,
    RequestDelay: _check_request_delay,
    ApproveDelay: _check_delay_decision,
    RejectDelay: _check_delay_decision,
    ReportCapacityProblem: _check_capacity,
    StandDown: _check_stand_down,
    RebookConference: _check_rebook,
    HoldConference: _check_hold,
    ReassignWorker: _check_reassign,
    RecordRepeatPlanOversight: _check_oversight,
}


# --- applying decisions ---------------------------------------------------------------------


def apply(state: CaseState, decision: CaseDecision, now: datetime) -> Effects:
    """Check, then apply ``decision``: update the state, record it, return what must happen."""
    check(state, decision, now)
    effects = Effects()
    mark = len(state.timeline)
    summary = _apply(state, decision, now, effects)
    # Notes the decision raised (no address for a role, dates to avoid) follow it, at its time.
    notes = [n.model_copy(update={"at": now}) for n in state.timeline[mark:]]
    del state.timeline[mark:]
    state.record(now, decision.kind, summary, by=decision.decided_by, reason=decision.reason)
    state.timeline += notes
    effects.summary = summary
    _satisfy(state, decision.kind, now)
    if state.stage in FINAL_STAGES:
        effects.ended = True
    return effects


def _apply(state: CaseState, d: CaseDecision, now: datetime, fx: Effects) -> str:
    key = str(len(state.timeline))  # stable per decision: the timeline only grows
    match d:
        case ConfirmIcpc():
            state.confirmed_at = now
            return "ICPC confirmed"
        case WithdrawIcpc():
            _cancel_invitations(state, now, fx)
            state.withdrawn_at = now
            return "ICPC withdrawn"
        case ReceiveConveningSheet():
            state.invitees = list(d.invitees)
            state.sheet_received_at = now
            state.confirmed_at = state.confirmed_at or now  # a sheet says an ICPC is needed
            fx.replan = True
            return f"Convening sheet received with {len(d.invitees)} invitees"
        case BookConference() | RebookConference():
            state.booking = d.booking
            state.booked_at = now
            state.booking_sequence += 1
            state.stand_down_reason = None
            fx.replan = True
            _flag_booking(state, d.booking, now, fx, key)
            verb = "rebooked" if isinstance(d, RebookConference) else "booked"
            return f"Conference {verb} for {when(d.booking.starts_at)} ({d.booking.format})"
        case ShareReport():
            state.report_shared_at = now
            return "Report shared with the family"
        case RequestPoliceChecks():
            state.police_checks_requested_at = now
            return "Police checks requested"
        case RequestDelay():
            state.delay = DelayRequest(
                requested_by=d.decided_by,
                requested_at=now,
                reason=d.reason,
                proposed_date=d.proposed_date,
                safety_plan=d.safety_plan,
            )
            approvers = state.procedure.roles_for(DecisionKind.APPROVE_DELAY)
            text = (
                f"A delay to {d.proposed_date:%d %B %Y} has been requested and needs your"
                f" decision.\n\nReason: {d.reason}\nSafety plan: {d.safety_plan}"
            )
            _flag(state, fx, approvers, "Delay requested: your decision is needed", text, key)
            return f"Delay requested to {d.proposed_date:%d %B %Y}"
        case ApproveDelay() | RejectDelay():
            assert state.delay is not None
            approved = isinstance(d, ApproveDelay)
            state.delay = state.delay.model_copy(
                update={
                    "status": DelayStatus.APPROVED if approved else DelayStatus.REJECTED,
                    "decided_by": d.decided_by,
                    "decided_at": now,
                    "comments": d.reason,
                }
            )
            verdict = "approved" if approved else "rejected"
            requester = [state.delay.requested_by.role]
            text = f"The delay to {state.delay.proposed_date:%d %B %Y} was {verdict}.\n\n{d.reason}"
            _flag(state, fx, requester, f"Delay {verdict}", text, key)
            return f"Delay {verdict}"
        case ReportCapacityProblem():
            problem = next(c for c in state.procedure.capacity_escalations if c.id == d.problem)
            text = f"Capacity problem reported: {problem.title}.\n\n{d.reason}"
            _flag(state, fx, problem.escalate_to, f"Escalation: {problem.title}", text, key)
            return f"Capacity problem: {problem.title}"
        case StandDown():
            reason = state.procedure.stand_down_reason(d.stand_down_reason)
            _cancel_invitations(state, now, fx)
            state.booking = None
            state.invitations_sent_sequence = None
            state.stand_down_reason = d.stand_down_reason
            if reason is not None and reason.ends_case:
                state.closed_at = now
            fx.replan = True
            return f"Conference stood down: {reason.title if reason else d.stand_down_reason}"
        case HoldConference():
            assert state.booking is not None
            state.held_at = d.held_at or state.booking.starts_at
            state.outcome = d.outcome
            fx.replan = True
            plan = (
                "a child protection plan"
                if d.outcome == Outcome.CHILD_PROTECTION_PLAN
                else "no plan"
            )
            return f"Conference held on {when(state.held_at)}: {plan}"
        case ReassignWorker():
            others = [c for c in state.start.contacts if c.role != d.contact.role]
            state.start = state.start.model_copy(update={"contacts": [*others, d.contact]})
            return f"{state.procedure.role(d.contact.role).title} reassigned"
        case RecordRepeatPlanOversight():
            state.repeat_oversight_at = now
            return "Repeat-plan oversight recorded"
    raise AssertionError(f"unhandled decision {d.kind}")  # pragma: no cover


def _flag(state: CaseState, fx: Effects, roles: list[str], topic: str, text: str, key: str) -> None:
    email, missing = flag_email(state, roles, topic, text, key)
    fx.add(email)
    _note_missing(state, missing, topic)


def _note_missing(state: CaseState, missing: list[str], topic: str) -> None:
    if missing and state.timeline:
        at = state.timeline[-1].at
        roles = ", ".join(missing)
        state.record(at, "no_address", f"No address for {roles}: '{topic}' not emailed to them")


def _flag_booking(state: CaseState, booking: Booking, now: datetime, fx: Effects, key: str) -> None:
    notice = state.procedure.invitation_notice
    if notice and notice.enforcement == Enforcement.FLAG:
        shortfall = _notice_shortfall(state, booking, now)
        if shortfall:
            _flag(state, fx, notice.escalate_to, "Short notice for invitees", shortfall, key + "a")
    preferred = state.procedure.booking.preferred_working_days
    if preferred:
        day = state.calendar.working_days_between(state.strategy_day, _day(booking.starts_at))
        if day not in preferred:
            text = (
                f"The conference is booked on working day {day}; the procedure asks for day"
                f" {' or '.join(str(p) for p in preferred)}."
            )
            roles = state.procedure.booking.flag_outside_preferred_to
            _flag(state, fx, roles, "Conference booked outside the preferred days", text, key + "b")
    avoid = [i for i in state.invitees or [] if _day(booking.starts_at) in i.dates_to_avoid]
    if avoid:
        state.record(now, "warning", f"{len(avoid)} invitee(s) asked to avoid this date")


def _cancel_invitations(state: CaseState, now: datetime, fx: Effects) -> None:
    if state.invitations_sent_sequence is not None and state.booking is not None:
        emails, _ = invitation_emails(state, now, CalendarMethod.CANCEL)
        fx.emails += emails


def _satisfy(state: CaseState, satisfier: str, now: datetime) -> None:
    for m in state.milestones:
        if m.met_at is None and satisfier in m.planned.satisfied_by:
            m.met_at = now


# --- invitations ----------------------------------------------------------------------------


def invitations_due(state: CaseState) -> bool:
    """Both the booking and the invite list are in, and this booking's invitations are not out."""
    return (
        state.is_open
        and state.booking is not None
        and state.invitees is not None
        and state.invitations_sent_sequence != state.booking_sequence
    )


def prepare_invitations(state: CaseState, now: datetime) -> list[OutgoingEmail]:
    emails, unreachable = invitation_emails(state, now)
    if unreachable:
        state.record(
            now,
            "warning",
            f"{len(unreachable)} invitee(s) have no email: invite them by phone or post",
        )
    return emails


def invitations_sent(state: CaseState, now: datetime, count: int) -> None:
    state.invitations_sent_sequence = state.booking_sequence
    state.record(now, SystemEvent.INVITATIONS_SENT, f"Invitations sent to {count} recipient(s)")
    _satisfy(state, SystemEvent.INVITATIONS_SENT, now)


# --- the clock ------------------------------------------------------------------------------


def next_wakeup(state: CaseState) -> tuple[datetime, str] | None:
    """The next instant a reminder or escalation falls due, and a plain name for its timer."""
    if not state.is_open:
        return None
    candidates: list[tuple[datetime, str]] = []
    for m in state.icpc_milestones():
        if m.met_at is not None or m.planned.due is None:
            continue
        if not m.reminded and m.planned.remind_at is not None:
            candidates.append((m.planned.remind_at, f"Reminder: {m.planned.title}"))
        if not m.escalated:
            candidates.append((m.planned.due, f"Due: {m.planned.title}"))
    return min(candidates, default=None)


def on_clock(state: CaseState, now: datetime) -> Effects:
    """Send every reminder and escalation that has fallen due, each once.

    A case registered late sees several milestones already past: each is marked overdue and
    escalated once, and its reminder (now pointless) is skipped.
    """
    fx = Effects()
    if not state.is_open:
        return fx
    for m in state.icpc_milestones():
        due = m.planned.due
        if m.met_at is not None or due is None:
            continue
        if due <= now and not m.escalated:
            m.escalated = m.reminded = True
            state.record(now, "overdue", f"Overdue: {m.planned.title}")
            _milestone_mail(state, m, EmailPurpose.ESCALATION, fx)
        elif (
            not m.reminded and m.planned.remind_at is not None and m.planned.remind_at <= now < due
        ):
            m.reminded = True
            state.record(now, "reminder", f"Reminder sent: {m.planned.title}")
            _milestone_mail(state, m, EmailPurpose.REMINDER, fx)
    return fx


def _milestone_mail(
    state: CaseState, m: MilestoneState, purpose: EmailPurpose, fx: Effects
) -> None:
    email, missing = milestone_email(state, m, purpose)
    fx.add(email)
    _note_missing(state, missing, m.planned.title)


def start(state: CaseState, now: datetime) -> None:
    """Record the start of a case, saying if it was registered after its strategy discussion."""
    late = state.start.strategy_discussion < now and _day(now) > state.strategy_day
    days = state.calendar.working_days_between(state.strategy_day, _day(now)) if late else 0
    suffix = f" (registered on working day {days})" if late else ""
    state.record(now, "case_started", f"Case opened{suffix}")


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
    return "\n".join(lines)


def available_decisions(state: CaseState, role: str) -> list[DecisionKind]:
    """The decisions ``role`` may take on this case in its current state (for forms and menus).

    A cheap, payload-free view of :func:`check`: a decision listed here may still be refused
    for what it says (a date after the limit, say), and the workflow's reason is shown then.
    """
    if state.stage in FINAL_STAGES:
        return []
    pending_delay = state.delay is not None and state.delay.status == DelayStatus.PENDING
    allowed_now: dict[DecisionKind, bool] = {
        DecisionKind.CONFIRM_ICPC: state.confirmed_at is None,
        DecisionKind.WITHDRAW_ICPC: True,
        DecisionKind.RECEIVE_CONVENING_SHEET: state.invitations_sent_sequence is None,
        DecisionKind.BOOK_CONFERENCE: state.booking is None and state.stand_down_reason is None,
        DecisionKind.SHARE_REPORT: state.booking is not None,
        DecisionKind.REQUEST_POLICE_CHECKS: state.police_checks_requested_at is None,
        DecisionKind.REQUEST_DELAY: not pending_delay,
        DecisionKind.APPROVE_DELAY: pending_delay,
        DecisionKind.REJECT_DELAY: pending_delay,
        DecisionKind.REPORT_CAPACITY_PROBLEM: bool(state.procedure.capacity_escalations),
        DecisionKind.STAND_DOWN: state.booking is not None,
        DecisionKind.REBOOK_CONFERENCE: state.booking is None
        and state.stand_down_reason is not None,
        DecisionKind.HOLD_CONFERENCE: state.booking is not None,
        DecisionKind.REASSIGN_WORKER: True,
        DecisionKind.RECORD_REPEAT_PLAN_OVERSIGHT: state.needs_repeat_oversight,
    }
    return [
        kind for kind, ok in allowed_now.items() if ok and state.procedure.may_decide(role, kind)
    ]
