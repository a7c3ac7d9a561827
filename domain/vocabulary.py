"""The fixed words procedures are written in: anchors, decisions and system events.

A procedure file may use only these; adding a word here is a code change with tests.
"""

from __future__ import annotations

from enum import StrEnum


class Anchor(StrEnum):
    """What a milestone counts from. Only the strategy discussion is known at the start."""

    STRATEGY_DISCUSSION = "strategy_discussion"
    CONVENING_SHEET_RECEIVED = "convening_sheet_received"
    CONFERENCE_BOOKED = "conference_booked"  # the moment the booking was made
    CONFERENCE_DATE = "conference_date"  # the date and time the conference is booked for
    CONFERENCE_HELD = "conference_held"  # the ICPC actually held
    PLAN_STARTED = "plan_started"  # the conference that made (or last reviewed) the plan
    REVIEW_DATE = "review_date"  # the date a review conference is booked for


class DecisionKind(StrEnum):
    """Every decision a person can take on a case, through the web form, CLI or API."""

    CONFIRM_ICPC = "confirm_icpc"
    WITHDRAW_ICPC = "withdraw_icpc"
    RECEIVE_CONVENING_SHEET = "receive_convening_sheet"
    BOOK_CONFERENCE = "book_conference"
    SHARE_REPORT = "share_report"
    REQUEST_POLICE_CHECKS = "request_police_checks"
    REQUEST_DELAY = "request_delay"
    APPROVE_DELAY = "approve_delay"
    REJECT_DELAY = "reject_delay"
    REPORT_CAPACITY_PROBLEM = "report_capacity_problem"
    STAND_DOWN = "stand_down"
    REBOOK_CONFERENCE = "rebook_conference"
    HOLD_CONFERENCE = "hold_conference"
    REASSIGN_WORKER = "reassign_worker"
    RECORD_REPEAT_PLAN_OVERSIGHT = "record_repeat_plan_oversight"
    ADVISE_CONFERENCE_SPLIT = "advise_conference_split"
    # Holding a conference whose invitations did not go out with notice (000, 001 [holding]).
    APPROVE_WITHOUT_INVITATIONS = "approve_without_invitations"
    # A step a procedure times or assigns and names as a milestone, recorded as done (001 steps
    # 1-7, 003's safety screening, 004's booking confirmation): which step is in the decision.
    RECORD_STEP = "record_step"
    # After the ICPC (the child protection plan workflow).
    HOLD_CORE_GROUP = "hold_core_group"
    SIGN_OFF_PLAN = "sign_off_plan"
    SHARE_CONFERENCE_RECORD = "share_conference_record"
    SEND_REVIEW_ATTENDANCE_LIST = "send_review_attendance_list"
    BOOK_REVIEW = "book_review"
    REQUEST_REVIEW_MOVE = "request_review_move"
    APPROVE_REVIEW_MOVE = "approve_review_move"
    HOLD_REVIEW = "hold_review"
    END_PLAN = "end_plan"


class SystemEvent(StrEnum):
    """Things the product itself does that can satisfy a milestone."""

    INVITATIONS_SENT = "invitations_sent"


# Plain-string sets, because ``"x" in SomeEnum`` raises on Python 3.11.
DECISION_KINDS: frozenset[str] = frozenset(k.value for k in DecisionKind)
SYSTEM_EVENTS: frozenset[str] = frozenset(e.value for e in SystemEvent)
# What a milestone's ``satisfied_by`` may name.
SATISFIERS: frozenset[str] = DECISION_KINDS | SYSTEM_EVENTS
