"""The child protection plan after the ICPC as a table of decisions: core groups, reviews.

Each row of :data:`PLAN_PATH` holds one decision's payload, title, when it is open, its check
and its effect; the machine in :mod:`domain.path` does the rest, as for the case. A review held
with the plan continuing starts the next cycle (``Effects.next_cycle``); the plan's end is the
end of its path. No I/O, no clock: ``now`` is always passed in.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from domain.case_record import CaseSummary, Stream, progress
from domain.case_views import record_summary as case_record_summary
from domain.decisions import Booking, DecisionBase
from domain.milestones import MilestoneState
from domain.notices import when
from domain.path import DecisionRule, Effects, Path, Refusal, flag, refuse_if
from domain.path import day_of as _day
from domain.plan_decisions import (
    ApproveReviewMove,
    BookReview,
    EndPlan,
    HoldCoreGroup,
    HoldReview,
    PlanEndReason,
    RequestReviewMove,
    ReviewOutcome,
    SendReviewAttendanceList,
    ShareConferenceRecord,
    SignOffPlan,
)
from domain.plan_state import REVIEW_MILESTONE_ID, Approval, ConferenceHeld, MoveRequest, PlanState
from domain.shared_rules import REASSIGN_WORKER
from domain.vocabulary import DecisionKind
from domain.wording import capitalised, role_title, roles_text, with_article

__all__ = ["PLAN_DECISION", "PLAN_PATH", "Effects", "PlanDecision", "Refusal"]

END_REASONS = {
    PlanEndReason.LOOKED_AFTER: "the child became looked after",
    PlanEndReason.MOVED_AUTHORITY: "the child moved to another authority",
}


# --- core groups, sign-off, the conference record ----------------------------------------------


def _check_core_group(state: PlanState, d: HoldCoreGroup, now: datetime) -> None:
    held = d.held_at or now
    if held > now:
        raise Refusal("A core group cannot be recorded as held in the future.")
    if held < state.icpc_held_at:
        raise Refusal(
            f"The plan started at the ICPC on {when(state.icpc_held_at)}; a core group"
            " cannot be recorded before then."
        )


def _hold_core_group(state: PlanState, d: HoldCoreGroup, now: datetime, fx: Effects) -> str:
    state.core_groups += 1
    held = d.held_at or now
    fx.data["core_group"] = {"number": state.core_groups, "held_at": held.isoformat()}
    return f"Core group {state.core_groups} held on {when(held)}"


def _core_group_met_at(d: HoldCoreGroup, now: datetime) -> datetime:
    return d.held_at or now


def _sign_off(state: PlanState, d: SignOffPlan, now: datetime, fx: Effects) -> str:
    state.signed_off_for = state.conference_number
    return "Child protection plan signed off"


def _share_record(state: PlanState, d: ShareConferenceRecord, now: datetime, fx: Effects) -> str:
    state.record_shared_for = state.conference_number
    return "Conference record shared with conference members"


def _attendance_due(state: PlanState, role: str) -> str | None:
    if state.review_booking is None:
        return "No review conference is booked yet, so there is no attendance list to send."
    if state.attendance_list_for == state.cycle:
        return "The attendance list for this review has already been sent."
    return None


def _send_attendance(
    state: PlanState, d: SendReviewAttendanceList, now: datetime, fx: Effects
) -> str:
    state.attendance_list_for = state.cycle
    return f"Attendance list for review {state.cycle} sent to business support"


# --- booking and moving the review -------------------------------------------------------------


def _check_date(state: PlanState, booking: Booking, now: datetime) -> None:
    if booking.starts_at <= now:
        raise Refusal(f"{when(booking.starts_at)} is in the past.")
    day = _day(booking.starts_at)
    if not state.calendar.is_working_day(day):
        raise Refusal(f"{day:%A %d %B %Y} is not a working day for this authority.")


def _review_not_booked(state: PlanState, role: str) -> str | None:
    if state.review_booking is not None:
        return (
            f"Review {state.cycle} is already booked for {when(state.review_booking.starts_at)};"
            " request a move to change it."
        )
    return None


def _check_book(state: PlanState, d: BookReview, now: datetime) -> None:
    _check_date(state, d.booking, now)
    if not state.within_timescale(_day(d.booking.starts_at)):
        raise Refusal(_out_of_timescale_reason(state, d.booking.starts_at))
    assert state.review_due is not None
    _not_too_early(state, d.booking.starts_at, state.review_due, d.to_consider_ending, d.reason)


def _not_too_early(
    state: PlanState, at: datetime, due: datetime, to_consider_ending: bool, reason: str
) -> None:
    """000 action 12: reviews are not booked early in anticipation of expected progress; only
    when the core group feel ending the plan can be considered may one be asked for sooner."""
    earliest = state.procedure.reviews.earliest_working_days_before_due
    if earliest is None:
        return
    if to_consider_ending:
        if not reason.strip():
            raise Refusal(
                "A review brought forward to consider ending the plan needs the reason: what"
                " progress the core group has seen."
            )
        return
    first = state.calendar.add_working_days(_day(due), -earliest)
    if _day(at) < first:
        raise Refusal(
            f"Review conferences are not booked early in anticipation of expected progress:"
            f" this review falls due by {when(due)}, so it may be booked from {first:%d %B %Y}"
            f" ({earliest} working days before). If the core group feel ending the plan can be"
            " considered, say so (to consider ending the plan) with the reason."
        )


def _book(state: PlanState, d: BookReview, now: datetime, fx: Effects) -> str:
    state.review_booking = d.booking
    state.review_booked_at = now
    fx.replan = True
    fx.data["review"] = {
        "number": state.cycle,
        "booked_for": d.booking.starts_at.isoformat(),
        "to_consider_ending": d.to_consider_ending,
    }
    early = " (early, to consider ending the plan)" if d.to_consider_ending else ""
    return f"Review {state.cycle} booked for {when(d.booking.starts_at)}{early}"


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
    assert state.review_due is not None
    _not_too_early(state, d.booking.starts_at, state.review_due, d.to_consider_ending, d.reason)


def _move_requested(state: PlanState, role: str) -> str | None:
    move = state.move
    if move is None:
        return "No move of the review conference has been requested."
    kind = "out of timescale" if move.out_of_timescale else "within timescale"
    if role not in move.required_roles:
        return (
            f"This move ({kind}) needs the agreement of"
            f" {roles_text(state.procedure, move.required_roles, 'and')};"
            f" {with_article(role_title(state.procedure, role))}'s is not asked for."
        )
    if role in move.agreed_roles():
        title = capitalised(with_article(role_title(state.procedure, role)))
        return f"{title} has already agreed to this move."
    return None


def _move_requester(state: PlanState) -> tuple[str, str] | None:
    if state.move is None:
        return None
    return state.move.requested_by.user, "You requested this move; someone else must agree to it."


def _approve_move(state: PlanState, d: ApproveReviewMove, now: datetime, fx: Effects) -> str:
    assert state.move is not None
    move = state.move
    state.move = move.model_copy(
        update={"approvals": [*move.approvals, Approval(by=d.decided_by, at=now)]}
    )
    fx.data["review"] = {"number": state.cycle}
    fx.data["move"] = _move_data(state.move)
    who = capitalised(with_article(role_title(state.procedure, d.decided_by.role)))
    agreed = f"{who} agreed to the move"
    if state.move.missing_roles():
        still = roles_text(state.procedure, state.move.missing_roles(), "and")
        return f"{agreed}; still needed: {still}"
    return f"{agreed}; {_move_takes_effect(state, now, fx)}"


def _request_move(state: PlanState, d: RequestReviewMove, now: datetime, fx: Effects) -> str:
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
    fx.data["review"] = {"number": state.cycle}
    fx.data["move"] = _move_data(state.move)
    kind = "within timescale" if within else "OUT OF TIMESCALE"
    lead = f"Move of review {state.cycle} to {when(d.booking.starts_at)} requested ({kind})"
    if superseded:
        lead += "; the earlier request lapses"
    missing = state.move.missing_roles()
    if not missing:
        return f"{lead}; {_move_takes_effect(state, now, fx)}"
    assert state.review_due is not None
    text = (
        f"Review conference {state.cycle} is asked to move to {when(d.booking.starts_at)}"
        f" ({kind}; it falls due by {when(state.review_due)}).\n\nReason: {d.reason}\n\n"
        f"Your agreement is needed (decision: approve_review_move). Agreement is needed from"
        f" {roles_text(state.procedure, state.move.required_roles, 'and')}."
    )
    flag(state, fx, missing, f"Review move: your agreement is needed ({kind})", text)
    return f"{lead}; needs the agreement of {roles_text(state.procedure, missing, 'and')}"


def _move_data(move: MoveRequest) -> dict[str, Any]:
    """A move as its decisions' data keep it (``took_effect`` once it has)."""
    return {
        "to": move.booking.starts_at.isoformat(),
        "out_of_timescale": move.out_of_timescale,
        "took_effect": False,
    }


def _move_takes_effect(state: PlanState, now: datetime, fx: Effects) -> str:
    move = state.move
    assert move is not None
    fx.data["review"] = {"number": state.cycle, "booked_for": move.booking.starts_at.isoformat()}
    fx.data["move"] = {**_move_data(move), "took_effect": True}
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
    # 001 step 18: a move within timescale is notified to the Area Manager and Ops Manager.
    told = [] if move.out_of_timescale else state.procedure.reviews.notify_moves_within_timescale
    roles = list(
        dict.fromkeys(
            [
                move.requested_by.role,
                *move.required_roles,
                *state.procedure.roles_for(DecisionKind.BOOK_REVIEW),
                *told,
            ]
        )
    )
    flag(state, fx, roles, f"Review conference moved ({kind})", text, "m")
    return f"review {state.cycle} moved to {when(move.booking.starts_at)} ({kind})"


# --- holding the review, ending the plan ------------------------------------------------------


def _check_hold_review(state: PlanState, d: HoldReview, now: datetime) -> None:
    booking = state.review_booking
    assert booking is not None  # open only while a review is booked
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
        limit = state.due_after(held, state.procedure.reviews.then)
        if _day(nxt) > _day(limit):
            raise Refusal(
                f"The next review ({when(nxt)}) would be after it falls due ({when(limit)});"
                " book it within timescale."
            )
        _not_too_early(state, nxt, limit, False, "")


def _hold_review(state: PlanState, d: HoldReview, now: datetime, fx: Effects) -> str:
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
    fx.data["review"] = {
        "number": state.cycle,
        "held_at": held.isoformat(),
        "due": state.review_due.isoformat(),
        "out_of_timescale": late,
        "plan_ends": d.outcome == ReviewOutcome.PLAN_ENDS,
    }
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
    if d.next_review:
        fx.data["next_review"] = {
            "number": state.cycle,
            "booked_for": d.next_review.starts_at.isoformat(),
        }
    nxt = (
        f"; review {state.cycle} booked for {when(d.next_review.starts_at)}"
        if d.next_review
        else ""
    )
    return f"{summary}: the plan continues{nxt}"


def _end_plan(state: PlanState, d: EndPlan, now: datetime, fx: Effects) -> str:
    state.ended_at = now
    state.end_reason = d.end_reason
    _end_notice(state, fx, END_REASONS[d.end_reason])
    return f"Plan ended: {END_REASONS[d.end_reason]}"


def _end_notice(state: PlanState, fx: Effects, why: str) -> None:
    roles = state.procedure.roles_for(DecisionKind.BOOK_REVIEW)
    booked = (
        f" Review {state.cycle} booked for {when(state.review_booking.starts_at)} is no longer"
        " needed."
        if state.review_booking
        else ""
    )
    text = f"The child protection plan has ended: {why}.{booked}"
    flag(state, fx, roles, "Child protection plan ended", text, "e")


# --- the table ---------------------------------------------------------------------------------


def _closed(state: PlanState) -> str | None:
    if not state.is_open:
        return "The child protection plan has ended; it takes no more decisions."
    if state.needs_planning:
        return "The plan's next review cycle is being set up; try again in a moment."
    return None


def _watched(state: PlanState) -> list[MilestoneState]:
    """The clock chases every milestone of this cycle, once it is planned."""
    return state.milestones if state.is_open and not state.needs_planning else []


Rule = DecisionRule[PlanState, Any]

PLAN_PATH: Path[PlanState] = Path(
    Stream.PLAN,
    [
        Rule(
            HoldCoreGroup,
            "record a core group meeting",
            _hold_core_group,
            check=_check_core_group,
            met_at=_core_group_met_at,
        ),
        Rule(
            SignOffPlan,
            "sign off the plan",
            _sign_off,
            open_when=refuse_if(
                lambda s: s.signed_off_for == s.conference_number,
                "The plan from the last conference is already signed off.",
            ),
        ),
        Rule(
            ShareConferenceRecord,
            "record the conference record as shared",
            _share_record,
            open_when=refuse_if(
                lambda s: s.record_shared_for == s.conference_number,
                "The record of the last conference is already shared.",
            ),
        ),
        Rule(
            SendReviewAttendanceList,
            "record the review attendance list as sent",
            _send_attendance,
            open_when=_attendance_due,
        ),
        Rule(
            BookReview,
            "book the review conference",
            _book,
            open_when=_review_not_booked,
            check=_check_book,
        ),
        Rule(
            RequestReviewMove,
            "request a move of the review conference",
            _request_move,
            check=_check_request_move,
        ),
        Rule(
            ApproveReviewMove,
            "agree to a move of the review conference",
            _approve_move,
            open_when=_move_requested,
            forbidden_to=_move_requester,
        ),
        Rule(
            HoldReview,
            "record the review conference as held",
            _hold_review,
            open_when=refuse_if(
                lambda s: s.review_booking is None,
                "No review conference is booked, so none can be recorded as held.",
            ),
            check=_check_hold_review,
        ),
        Rule(EndPlan, "end the plan", _end_plan),
        REASSIGN_WORKER,
    ],
    closed=_closed,
    watched=_watched,
    mail_key=lambda state: f"plan/{state.cycle}/{state.timeline_length}",  # only grows
)

# The decisions a plan takes, parsed by kind: built from the table, never listed by hand.
if TYPE_CHECKING:
    PlanDecision = DecisionBase
else:
    PlanDecision = PLAN_PATH.union
PLAN_DECISION = PLAN_PATH.adapter

check = PLAN_PATH.check
apply = PLAN_PATH.apply
available_decisions = PLAN_PATH.available
next_wakeup = PLAN_PATH.next_wakeup
on_clock = PLAN_PATH.on_clock


# --- start and the UI --------------------------------------------------------------------------


def start(state: PlanState, now: datetime) -> None:
    """Record the start of a run: the plan itself, or the next review cycle."""
    if state.cycle == 1 and state.runs == 1:
        state.record(
            now,
            "plan_started",
            f"Child protection plan started at the ICPC on {when(state.icpc_held_at)}",
            data={"conference": {"held_at": state.icpc_held_at.isoformat()}},
        )
    assert state.review_due is not None
    state.record(
        now,
        "review_cycle",
        f"Review {state.cycle} falls due by {when(state.review_due)}"
        f" ({state.review_interval().text} after the conference on {when(state.last_held_at)})",
        data={
            "review": {
                "number": state.cycle,
                "due": state.review_due.isoformat(),
                "after": state.last_held_at.isoformat(),
            }
        },
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


def record_summary(state: PlanState, now: datetime) -> CaseSummary:
    """The child's path as it stands once the plan holds it: the ICPC's summary, moved on."""
    return case_record_summary(state.case, now).model_copy(
        update={
            "stream": Stream.PLAN,
            "stage": state.stage,
            "is_open": state.is_open,
            "deadline": state.review_due if state.is_open else None,
            "closed_at": state.ended_at,
            "closed_reason": f"plan ended: {state.end_reason}" if state.ended_at else None,
            **progress(state, now),
        }
    )
