"""The plan rules: given the plan's state and a decision (or the clock), what changes and what
must happen. The child protection plan's counterpart of :mod:`domain.case_rules`.

``check`` refuses a decision with a plain reason and changes nothing (the workflow's update
validator calls it); ``apply`` checks again, changes the state and returns the effects: emails,
a re-plan, the start of the next review cycle, or the end of the plan. No I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from domain.calendar import LONDON
from domain.case_rules import Effects, Refusal
from domain.case_state import MilestoneState
from domain.decisions import Booking, ReassignWorker
from domain.notices import flag_email, milestone_email, when
from domain.outbox import EmailPurpose
from domain.plan_decisions import (
    ApproveReviewMove,
    BookReview,
    EndPlan,
    HoldCoreGroup,
    HoldReview,
    PlanDecision,
    PlanEndReason,
    RequestReviewMove,
    ReviewOutcome,
    SendReviewAttendanceList,
    ShareConferenceRecord,
    SignOffPlan,
)
from domain.plan_state import REVIEW_MILESTONE_ID, Approval, ConferenceHeld, MoveRequest, PlanState
from domain.vocabulary import DecisionKind
from domain.wording import capitalised, role_title, roles_text, with_article

DECISION_TITLES: dict[DecisionKind, str] = {
    DecisionKind.HOLD_CORE_GROUP: "record a core group meeting",
    DecisionKind.SIGN_OFF_PLAN: "sign off the plan",
    DecisionKind.SHARE_CONFERENCE_RECORD: "record the conference record as shared",
    DecisionKind.SEND_REVIEW_ATTENDANCE_LIST: "record the review attendance list as sent",
    DecisionKind.BOOK_REVIEW: "book the review conference",
    DecisionKind.REQUEST_REVIEW_MOVE: "request a move of the review conference",
    DecisionKind.APPROVE_REVIEW_MOVE: "agree to a move of the review conference",
    DecisionKind.HOLD_REVIEW: "record the review conference as held",
    DecisionKind.END_PLAN: "end the plan",
    DecisionKind.REASSIGN_WORKER: "reassign a worker",
}

END_REASONS = {
    PlanEndReason.LOOKED_AFTER: "the child became looked after",
    PlanEndReason.MOVED_AUTHORITY: "the child moved to another authority",
}


@dataclass
class PlanEffects(Effects):
    """The case's effects, plus: a review was held and the plan goes on to its next cycle."""

    next_cycle: bool = False
    # (topic, roles) of notices nobody could be emailed about: recorded in the timeline.
    unaddressed: list[tuple[str, str]] = field(default_factory=list)


def _day(at: datetime) -> date:
    return at.astimezone(LONDON).date()


# --- checks ---------------------------------------------------------------------------------


def check(state: PlanState, decision: PlanDecision, now: datetime) -> None:
    """Raise :class:`Refusal` if ``decision`` does not fit the plan now; change nothing."""
    kind = decision.kind
    role = decision.decided_by.role
    if not state.procedure.may_decide(role, kind):
        allowed = state.procedure.roles_for(kind)
        raise Refusal(
            f"{capitalised(with_article(role_title(state.procedure, role)))} may not {DECISION_TITLES[kind]} in this"
            f" procedure; only {roles_text(state.procedure, allowed)} may."
        )
    if not state.is_open:
        raise Refusal("The child protection plan has ended; it takes no more decisions.")
    if state.needs_planning:
        raise Refusal("The plan's next review cycle is being set up; try again in a moment.")
    try:
        _CHECKS[type(decision)](state, decision, now)  # type: ignore[operator]
    except ValueError as error:  # a date beyond the frozen calendar
        if isinstance(error, Refusal):
            raise
        raise Refusal(f"That date is too far ahead to check: {error}.") from None


def _check_core_group(state: PlanState, d: HoldCoreGroup, now: datetime) -> None:
    held = d.held_at or now
    if held > now:
        raise Refusal("A core group cannot be recorded as held in the future.")
    if held < state.icpc_held_at:
        raise Refusal(
            f"The plan started at the ICPC on {when(state.icpc_held_at)}; a core group"
            " cannot be recorded before then."
        )


def _check_sign_off(state: PlanState, d: SignOffPlan, now: datetime) -> None:
    if state.signed_off_for == state.conference_number:
        raise Refusal("The plan from the last conference is already signed off.")


def _check_record(state: PlanState, d: ShareConferenceRecord, now: datetime) -> None:
    if state.record_shared_for == state.conference_number:
        raise Refusal("The record of the last conference is already shared.")


def _check_attendance(state: PlanState, d: SendReviewAttendanceList, now: datetime) -> None:
    if state.review_booking is None:
        raise Refusal("No review conference is booked yet, so there is no attendance list to send.")
    if state.attendance_list_for == state.cycle:
        raise Refusal("The attendance list for this review has already been sent.")


def _check_date(state: PlanState, booking: Booking, now: datetime) -> None:
    if booking.starts_at <= now:
        raise Refusal(f"{when(booking.starts_at)} is in the past.")
    day = _day(booking.starts_at)
    if not state.calendar.is_working_day(day):
        raise Refusal(f"{day:%A %d %B %Y} is not a working day for this authority.")


def _check_book(state: PlanState, d: BookReview, now: datetime) -> None:
    if state.review_booking is not None:
        raise Refusal(
            f"Review {state.cycle} is already booked for {when(state.review_booking.starts_at)};"
            " request a move to change it."
        )
    _check_date(state, d.booking, now)
    if not state.within_timescale(_day(d.booking.starts_at)):
        raise Refusal(_out_of_timescale_reason(state, d.booking.starts_at))


def _out_of_timescale_reason(state: PlanState, at: datetime) -> str:
    assert state.review_due is not None
    approvers = state.procedure.reviews.move_out_of_timescale
    return (
        f"{when(at)} is after review {state.cycle} falls due ({when(state.review_due)})."
        " Holding it out of timescale needs the recorded agreement of"
        f" {roles_text(state.procedure, approvers, 'and')}: request a move with the reason."
    )


def _check_request_move(state: PlanState, d: RequestReviewMove, now: datetime) -> None:
    _check_date(state, d.booking, now)
    within = state.within_timescale(_day(d.booking.starts_at))
    current = state.review_booking
    if current is None and within:
        raise Refusal("No review is booked yet, and that date is within timescale: book it.")
    if current is not None and current.starts_at == d.booking.starts_at:
        raise Refusal(f"The review is already booked for {when(current.starts_at)}.")
    if not within and not state.procedure.reviews.move_out_of_timescale:
        raise Refusal(
            "This procedure names nobody who may agree to hold a review out of timescale."
        )


def _check_approve(state: PlanState, d: ApproveReviewMove, now: datetime) -> None:
    move = state.move
    if move is None:
        raise Refusal("No move of the review conference has been requested.")
    if d.decided_by.user == move.requested_by.user:
        raise Refusal("You requested this move; someone else must agree to it.")
    role = d.decided_by.role
    kind = "out of timescale" if move.out_of_timescale else "within timescale"
    if role not in move.required_roles:
        raise Refusal(
            f"This move ({kind}) needs the agreement of"
            f" {roles_text(state.procedure, move.required_roles, 'and')};"
            f" {with_article(role_title(state.procedure, role))}'s is not asked for."
        )
    if role in move.agreed_roles():
        raise Refusal(
            f"{capitalised(with_article(role_title(state.procedure, role)))} has already agreed to this move."
        )


def _check_hold_review(state: PlanState, d: HoldReview, now: datetime) -> None:
    booking = state.review_booking
    if booking is None:
        raise Refusal("No review conference is booked, so none can be recorded as held.")
    held = d.held_at or booking.starts_at
    if _day(held) < _day(booking.starts_at) or held > now:
        raise Refusal(
            f"Review {state.cycle} is booked for {when(booking.starts_at)}; it cannot be"
            " recorded as held before then."
        )
    if not state.within_timescale(_day(held)):
        approved = state.out_of_timescale_approved and _day(held) <= _day(booking.starts_at)
        if not approved:
            assert state.review_due is not None
            approvers = state.procedure.reviews.move_out_of_timescale
            missing = (
                state.move.missing_roles()
                if state.move is not None and state.move.out_of_timescale
                else approvers
            )
            raise Refusal(
                f"Review {state.cycle} fell due by {when(state.review_due)}; holding it on"
                f" {when(held)} is out of timescale and needs the recorded agreement of"
                f" {roles_text(state.procedure, approvers, 'and')}. Still missing:"
                f" {roles_text(state.procedure, missing, 'and')}."
            )
    if d.next_review is not None:
        if d.outcome != ReviewOutcome.PLAN_CONTINUES:
            raise Refusal("The plan ends at this review, so no next review can be booked.")
        nxt = d.next_review.starts_at
        if nxt <= held:
            raise Refusal(f"The next review ({when(nxt)}) must come after this one.")
        if not state.calendar.is_working_day(_day(nxt)):
            raise Refusal(f"{_day(nxt):%A %d %B %Y} is not a working day for this authority.")
        limit = state.due_after(held, state.procedure.reviews.then_every_months)
        if _day(nxt) > _day(limit):
            raise Refusal(
                f"The next review ({when(nxt)}) would be after it falls due ({when(limit)});"
                " book it within timescale."
            )


def _check_end_plan(state: PlanState, d: EndPlan, now: datetime) -> None:
    return None


def _check_reassign(state: PlanState, d: ReassignWorker, now: datetime) -> None:
    declared = {r.id for r in state.procedure.roles}
    if d.contact.role not in declared:
        raise Refusal(f"'{d.contact.role}' is not a role in this procedure.")


_CHECKS = {
    HoldCoreGroup: _check_core_group,
    SignOffPlan: _check_sign_off,
    ShareConferenceRecord: _check_record,
    SendReviewAttendanceList: _check_attendance,
    BookReview: _check_book,
    RequestReviewMove: _check_request_move,
    ApproveReviewMove: _check_approve,
    HoldReview: _check_hold_review,
    EndPlan: _check_end_plan,
    ReassignWorker: _check_reassign,
}


# --- applying decisions ---------------------------------------------------------------------


def apply(state: PlanState, decision: PlanDecision, now: datetime) -> PlanEffects:
    """Check, then apply ``decision``: update the state, record it, return what must happen."""
    check(state, decision, now)
    fx = PlanEffects()
    at = (decision.held_at or now) if isinstance(decision, HoldCoreGroup) else now
    _satisfy(state, decision.kind, at)
    summary = _apply(state, decision, now, fx)
    state.record(now, decision.kind, summary, by=decision.decided_by, reason=decision.reason)
    for topic, missing in fx.unaddressed:
        state.record(now, "no_address", f"No address for {missing}: '{topic}' not emailed")
    fx.ended = not state.is_open
    return fx


def _apply(state: PlanState, d: PlanDecision, now: datetime, fx: PlanEffects) -> str:
    key = f"plan/{state.cycle}/{len(state.timeline)}"  # stable: the timeline only grows
    match d:
        case HoldCoreGroup():
            state.core_groups += 1
            return f"Core group {state.core_groups} held on {when(d.held_at or now)}"
        case SignOffPlan():
            state.signed_off_for = state.conference_number
            return "Child protection plan signed off"
        case ShareConferenceRecord():
            state.record_shared_for = state.conference_number
            return "Conference record shared with conference members"
        case SendReviewAttendanceList():
            state.attendance_list_for = state.cycle
            return f"Attendance list for review {state.cycle} sent to business support"
        case BookReview():
            state.review_booking = d.booking
            state.review_booked_at = now
            fx.replan = True
            return f"Review {state.cycle} booked for {when(d.booking.starts_at)}"
        case RequestReviewMove():
            return _request_move(state, d, now, fx, key)
        case ApproveReviewMove():
            assert state.move is not None
            move = state.move
            state.move = move.model_copy(
                update={"approvals": [*move.approvals, Approval(by=d.decided_by, at=now)]}
            )
            agreed = f"{capitalised(with_article(role_title(state.procedure, d.decided_by.role)))} agreed to the move"
            if state.move.missing_roles():
                still = roles_text(state.procedure, state.move.missing_roles(), "and")
                return f"{agreed}; still needed: {still}"
            return f"{agreed}; {_move_takes_effect(state, now, fx, key)}"
        case HoldReview():
            return _hold_review(state, d, now, fx)
        case EndPlan():
            state.ended_at = now
            state.end_reason = d.end_reason
            _end_notice(state, fx, END_REASONS[d.end_reason], key)
            return f"Plan ended: {END_REASONS[d.end_reason]}"
        case ReassignWorker():
            start = state.case.start
            others = [c for c in start.contacts if c.role != d.contact.role]
            new_start = start.model_copy(update={"contacts": [*others, d.contact]})
            state.case = state.case.model_copy(update={"start": new_start})
            return f"{state.procedure.role(d.contact.role).title} reassigned"
    raise AssertionError(f"unhandled decision {d.kind}")  # pragma: no cover


def _request_move(
    state: PlanState, d: RequestReviewMove, now: datetime, fx: PlanEffects, key: str
) -> str:
    within = state.within_timescale(_day(d.booking.starts_at))
    reviews = state.procedure.reviews
    superseded = state.move is not None
    state.moves += 1
    state.move = MoveRequest(
        requested_by=d.decided_by,
        requested_at=now,
        booking=d.booking,
        reason=d.reason,
        out_of_timescale=not within,
        required_roles=list(
            reviews.move_within_timescale if within else reviews.move_out_of_timescale
        ),
    )
    kind = "within timescale" if within else "OUT OF TIMESCALE"
    lead = f"Move of review {state.cycle} to {when(d.booking.starts_at)} requested ({kind})"
    if superseded:
        lead += "; the earlier request lapses"
    missing = state.move.missing_roles()
    if not missing:
        return f"{lead}; {_move_takes_effect(state, now, fx, key)}"
    assert state.review_due is not None
    text = (
        f"Review conference {state.cycle} is asked to move to {when(d.booking.starts_at)}"
        f" ({kind}; it falls due by {when(state.review_due)}).\n\nReason: {d.reason}\n\n"
        f"Your agreement is needed (decision: approve_review_move). Agreement is needed from"
        f" {roles_text(state.procedure, state.move.required_roles, 'and')}."
    )
    _flag(state, fx, missing, f"Review move: your agreement is needed ({kind})", text, key)
    return f"{lead}; needs the agreement of {roles_text(state.procedure, missing, 'and')}"


def _move_takes_effect(state: PlanState, now: datetime, fx: PlanEffects, key: str) -> str:
    move = state.move
    assert move is not None
    state.review_booking = move.booking
    state.review_booked_at = now
    state.out_of_timescale_approved = move.out_of_timescale
    state.move = None
    fx.replan = True
    if move.out_of_timescale:
        # The approvers know already: no escalation when the statutory limit passes.
        for m in state.milestones:
            if m.id == REVIEW_MILESTONE_ID:
                m.escalated = m.reminded = True
    kind = "out of timescale, agreed" if move.out_of_timescale else "within timescale"
    text = (
        f"Review conference {state.cycle} has moved to {when(move.booking.starts_at)}"
        f" ({kind}).\n\nReason: {move.reason}"
    )
    roles = list(
        dict.fromkeys(
            [
                move.requested_by.role,
                *move.required_roles,
                *state.procedure.roles_for(DecisionKind.BOOK_REVIEW),
            ]
        )
    )
    _flag(state, fx, roles, f"Review conference moved ({kind})", text, key + "m")
    return f"review {state.cycle} moved to {when(move.booking.starts_at)} ({kind})"


def _hold_review(state: PlanState, d: HoldReview, now: datetime, fx: PlanEffects) -> str:
    booking = state.review_booking
    assert booking is not None and state.review_due is not None
    held = d.held_at or booking.starts_at
    late = not state.within_timescale(_day(held))
    state.conferences.append(
        ConferenceHeld(
            number=state.cycle,
            held_at=held,
            due=state.review_due,
            out_of_timescale=late,
            outcome=d.outcome,
        )
    )
    summary = f"Review {state.cycle} held on {when(held)}" + (" (out of timescale)" if late else "")
    if state.move is not None:
        state.move = None
        summary += "; the pending move request lapses"
    if d.outcome == ReviewOutcome.PLAN_ENDS:
        state.ended_at = now
        state.end_reason = "review"
        return f"{summary}: the plan ends"
    state.begin_cycle(held, d.next_review)
    fx.next_cycle = True
    nxt = (
        f"; review {state.cycle} booked for {when(d.next_review.starts_at)}"
        if d.next_review
        else ""
    )
    return f"{summary}: the plan continues{nxt}"


def _end_notice(state: PlanState, fx: PlanEffects, why: str, key: str) -> None:
    roles = state.procedure.roles_for(DecisionKind.BOOK_REVIEW)
    booked = (
        f" Review {state.cycle} booked for {when(state.review_booking.starts_at)} is no longer"
        " needed."
        if state.review_booking
        else ""
    )
    text = f"The child protection plan has ended: {why}.{booked}"
    _flag(state, fx, roles, "Child protection plan ended", text, key + "e")


def _flag(
    state: PlanState, fx: PlanEffects, roles: list[str], topic: str, text: str, key: str
) -> None:
    email, missing = flag_email(state.case, roles, topic, text, key)
    fx.add(email)
    if missing:
        fx.unaddressed.append((topic, ", ".join(missing)))


def _satisfy(state: PlanState, satisfier: str, at: datetime) -> None:
    for m in state.milestones:
        if m.met_at is None and satisfier in m.planned.satisfied_by:
            m.met_at = at


# --- the clock ------------------------------------------------------------------------------


def next_wakeup(state: PlanState) -> tuple[datetime, str] | None:
    """The next instant a reminder or escalation falls due, and a plain name for its timer."""
    if not state.is_open or state.needs_planning:
        return None
    candidates: list[tuple[datetime, str]] = []
    for m in state.milestones:
        if m.met_at is not None or m.planned.due is None:
            continue
        if not m.reminded and m.planned.remind_at is not None:
            candidates.append((m.planned.remind_at, f"Reminder: {m.planned.title}"))
        if not m.escalated:
            candidates.append((m.planned.due, f"Due: {m.planned.title}"))
    return min(candidates, default=None)


def on_clock(state: PlanState, now: datetime) -> PlanEffects:
    """Send every reminder and escalation that has fallen due, each once."""
    fx = PlanEffects()
    if not state.is_open or state.needs_planning:
        return fx
    for m in state.milestones:
        due = m.planned.due
        if m.met_at is not None or due is None:
            continue
        if due <= now and not m.escalated:
            m.escalated = m.reminded = True
            state.record(now, "overdue", f"Overdue: {m.planned.title}")
            _milestone_mail(state, m, EmailPurpose.ESCALATION, fx, now)
        elif (
            not m.reminded and m.planned.remind_at is not None and m.planned.remind_at <= now < due
        ):
            m.reminded = True
            state.record(now, "reminder", f"Reminder sent: {m.planned.title}")
            _milestone_mail(state, m, EmailPurpose.REMINDER, fx, now)
    return fx


def _milestone_mail(
    state: PlanState, m: MilestoneState, purpose: EmailPurpose, fx: PlanEffects, now: datetime
) -> None:
    email, missing = milestone_email(state.case, m, purpose)
    fx.add(email)
    if missing:
        state.record(now, "no_address", f"No address for {', '.join(missing)}: '{m.planned.title}'")


def start(state: PlanState, now: datetime) -> None:
    """Record the start of a run: the plan itself, or the next review cycle."""
    if state.cycle == 1 and state.runs == 1:
        state.record(
            now,
            "plan_started",
            f"Child protection plan started at the ICPC on {when(state.icpc_held_at)}",
        )
    assert state.review_due is not None
    state.record(
        now,
        "review_cycle",
        f"Review {state.cycle} falls due by {when(state.review_due)}"
        f" ({state.months_to_review()} months after the conference on {when(state.last_held_at)})",
    )


def stage_details(state: PlanState, now: datetime) -> str:
    """Plain words for the Temporal UI's current details."""
    lines = [f"Plan stage: {state.stage.replace('_', ' ')}", f"Review: {state.cycle}"]
    if state.review_due is not None and state.is_open:
        lines.append(f"Review due by: {when(state.review_due)}")
    if state.review_booking is not None and state.is_open:
        lines.append(f"Review booked for: {when(state.review_booking.starts_at)}")
    if state.move is not None:
        lines.append(f"Move requested to {when(state.move.booking.starts_at)}")
    nxt = state.next_milestone()
    if nxt and nxt.planned.due and state.is_open:
        status = nxt.status(now).replace("_", " ")
        lines.append(f"Next: {nxt.planned.title} — due {when(nxt.planned.due)} ({status})")
    awaiting = state.awaiting_roles()
    if awaiting:
        lines.append(f"Waiting for: {roles_text(state.procedure, awaiting)}")
    return "\n".join(lines)


def available_decisions(state: PlanState, role: str) -> list[DecisionKind]:
    """The decisions ``role`` may take on this plan now (a cheap view of :func:`check`)."""
    if not state.is_open or state.needs_planning:
        return []
    booked = state.review_booking is not None
    move = state.move
    allowed_now: dict[DecisionKind, bool] = {
        DecisionKind.HOLD_CORE_GROUP: True,
        DecisionKind.SIGN_OFF_PLAN: state.signed_off_for != state.conference_number,
        DecisionKind.SHARE_CONFERENCE_RECORD: state.record_shared_for != state.conference_number,
        DecisionKind.SEND_REVIEW_ATTENDANCE_LIST: booked
        and state.attendance_list_for != state.cycle,
        DecisionKind.BOOK_REVIEW: not booked,
        DecisionKind.REQUEST_REVIEW_MOVE: True,
        DecisionKind.APPROVE_REVIEW_MOVE: move is not None and role in move.missing_roles(),
        DecisionKind.HOLD_REVIEW: booked,
        DecisionKind.END_PLAN: True,
        DecisionKind.REASSIGN_WORKER: True,
    }
    return [k for k, ok in allowed_now.items() if ok and state.procedure.may_decide(role, k)]
