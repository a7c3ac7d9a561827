"""The decisions taken on a child protection plan after the ICPC: plain, validated data.

Same shape as the case decisions in :mod:`domain.decisions` (a ``kind`` discriminator, who
decided, a free-text reason), so the command line and the web form can send either kind to
the workflow that holds the child's path at the time.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime

from domain.decisions import Booking, DecisionBase, RequiredText
from domain.vocabulary import DecisionKind


class ReviewOutcome(StrEnum):
    PLAN_CONTINUES = "plan_continues"  # the next review cycle starts from this conference
    PLAN_ENDS = "plan_ends"  # the child no longer needs a child protection plan


class PlanEndReason(StrEnum):
    LOOKED_AFTER = "looked_after"  # the child became looked after
    MOVED_AUTHORITY = "moved_authority"  # the child moved to another authority


class HoldCoreGroup(DecisionBase):
    kind: Literal[DecisionKind.HOLD_CORE_GROUP] = DecisionKind.HOLD_CORE_GROUP
    held_at: AwareDatetime | None = None  # defaults to when the decision is taken


class SignOffPlan(DecisionBase):
    kind: Literal[DecisionKind.SIGN_OFF_PLAN] = DecisionKind.SIGN_OFF_PLAN


class ShareConferenceRecord(DecisionBase):
    kind: Literal[DecisionKind.SHARE_CONFERENCE_RECORD] = DecisionKind.SHARE_CONFERENCE_RECORD


class SendReviewAttendanceList(DecisionBase):
    kind: Literal[DecisionKind.SEND_REVIEW_ATTENDANCE_LIST] = (
        DecisionKind.SEND_REVIEW_ATTENDANCE_LIST
    )


class BookReview(DecisionBase):
    """The review conference's date (usually agreed at the last conference)."""

    kind: Literal[DecisionKind.BOOK_REVIEW] = DecisionKind.BOOK_REVIEW
    booking: Booking
    # 000 action 12: booked earlier than the procedure allows only because the core group feel
    # ending the plan can be considered (the reason says so).
    to_consider_ending: bool = False


class RequestReviewMove(DecisionBase):
    """Ask to hold the review on another date; it moves once every agreement needed is in."""

    kind: Literal[DecisionKind.REQUEST_REVIEW_MOVE] = DecisionKind.REQUEST_REVIEW_MOVE
    booking: Booking
    reason: RequiredText
    to_consider_ending: bool = False  # as for booking: an earlier date to consider ending


class ApproveReviewMove(DecisionBase):
    kind: Literal[DecisionKind.APPROVE_REVIEW_MOVE] = DecisionKind.APPROVE_REVIEW_MOVE


class HoldReview(DecisionBase):
    kind: Literal[DecisionKind.HOLD_REVIEW] = DecisionKind.HOLD_REVIEW
    outcome: ReviewOutcome
    held_at: AwareDatetime | None = None  # defaults to the booked start
    # The next review's date when the conference agreed it (plan continues only).
    next_review: Booking | None = None


class EndPlan(DecisionBase):
    """The plan ends outside a review: the child is looked after or moved authority."""

    kind: Literal[DecisionKind.END_PLAN] = DecisionKind.END_PLAN
    end_reason: PlanEndReason
    reason: RequiredText
