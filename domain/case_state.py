"""The state of one child's case before the ICPC: plain data the workflow holds and queries show.

Everything here is serialisable (it travels in queries and continue-as-new) and derived views
(stage, next milestone, whose decision is awaited) are computed, not stored.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from domain.calendar import LONDON, WorkingDayTable, add_calendar_months, past_limit
from domain.decisions import Booking, CaseStart, Decider, Invitee, Outcome
from domain.milestones import MilestoneState, Timeline, merge_milestones
from domain.planner import Schedule
from domain.procedure import ICPC_DEADLINE_ID, Phase, Procedure
from domain.vocabulary import Anchor, DecisionKind


class Stage(StrEnum):
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    AWAITING_BOOKING = "awaiting_booking"
    AWAITING_CONVENING_SHEET = "awaiting_convening_sheet"
    AWAITING_DELAY_DECISION = "awaiting_delay_decision"
    AWAITING_REPEAT_OVERSIGHT = "awaiting_repeat_plan_oversight"
    STOOD_DOWN = "stood_down"
    BOOKED = "booked"
    WITHDRAWN = "withdrawn"
    CLOSED = "closed"
    HELD = "held"


FINAL_STAGES = frozenset({Stage.WITHDRAWN, Stage.CLOSED, Stage.HELD})


class DelayStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class DelayRequest(BaseModel):
    requested_by: Decider
    requested_at: AwareDatetime
    reason: str
    proposed_date: date
    safety_plan: str
    status: DelayStatus = DelayStatus.PENDING
    decided_by: Decider | None = None
    decided_at: AwareDatetime | None = None
    comments: str = ""
    # Made after the day the procedure asks requests by (001 step 13: "By day 8").
    late: bool = False
    working_day: int | None = None  # the working day it was made on


class WithdrawalRequest(BaseModel):
    """A withdrawal after booking, waiting for the agreement the procedure names (004)."""

    requested_by: Decider
    requested_at: AwareDatetime
    reason: str


class UninvitedApproval(BaseModel):
    """Approval to hold a booked conference whose invitations did not go out with the
    procedure's notice (000, 001: ``[holding]``), with its reason; for one booking only."""

    approved_by: Decider
    approved_at: AwareDatetime
    reason: str
    booking_sequence: int


class CaseState(Timeline):
    case_id: str
    start: CaseStart
    procedure: Procedure
    calendar: WorkingDayTable
    milestones: list[MilestoneState] = Field(default_factory=list)
    confirmed_at: AwareDatetime | None = None
    invitees: list[Invitee] | None = None
    sheet_received_at: AwareDatetime | None = None
    booking: Booking | None = None
    booked_at: AwareDatetime | None = None
    booking_sequence: int = 0  # raised at each booking; keeps one calendar uid per case
    invitations_sent_sequence: int | None = None
    stand_down_reason: str | None = None
    # Every delay requested, in order; the current one last. A request after an approval is a
    # new request needing its own decision: the earlier ones stay as they were decided.
    delays: list[DelayRequest] = Field(default_factory=list)
    withdrawal_requested: WithdrawalRequest | None = None
    # The booking whose invitations were held back for too little notice (not sent).
    invitations_held_sequence: int | None = None
    repeat_oversight_at: AwareDatetime | None = None
    report_shared_at: AwareDatetime | None = None
    police_checks_requested_at: AwareDatetime | None = None
    withdrawn_at: AwareDatetime | None = None
    closed_at: AwareDatetime | None = None
    held_at: AwareDatetime | None = None
    outcome: Outcome | None = None
    # Issue 22's rules against doing steps in another order (domain.case_rules): False for
    # cases started before them, which replay as they ran (case_workflow.ORDER_RULES_PATCH).
    order_rules: bool = True
    # 000 action 10: the school mailbox this booking's invitations went to (the education
    # safeguarding mailbox in school holidays), so a cancellation goes to the same place; off
    # for cases started before (case_workflow.CANCEL_WHERE_INVITED_PATCH).
    cancel_where_invited: bool = True
    schools_invited_via: str | None = None
    # 003: the method the step the procedure names chose (the Duty PO's screening: "hybrid"
    # or "virtual"); the booking's format follows it and the invitations wait for it.
    conference_method: str | None = None
    uninvited_approval: UninvitedApproval | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_delay_before(cls, data: Any) -> Any:
        """States saved before delays were a list held one ``delay``: it becomes the list."""
        if isinstance(data, dict) and "delay" in data:
            data = dict(data)
            old = data.pop("delay")
            if "delays" not in data:
                data["delays"] = [] if old is None else [old]
        return data

    # --- derived views -------------------------------------------------------------------

    @property
    def delay(self) -> DelayRequest | None:
        """The current delay request (the latest), whatever was decided on it."""
        return self.delays[-1] if self.delays else None

    @property
    def approved_delay(self) -> DelayRequest | None:
        """The latest approved delay: the one a late booking or conference may rely on."""
        return next((d for d in reversed(self.delays) if d.status == DelayStatus.APPROVED), None)

    @property
    def stage(self) -> Stage:
        if self.withdrawn_at:
            return Stage.WITHDRAWN
        if self.held_at:
            return Stage.HELD
        if self.closed_at:
            return Stage.CLOSED
        if self.delay and self.delay.status == DelayStatus.PENDING:
            return Stage.AWAITING_DELAY_DECISION
        if self.needs_repeat_oversight:
            return Stage.AWAITING_REPEAT_OVERSIGHT
        if self.confirmed_at is None:
            return Stage.AWAITING_CONFIRMATION
        if self.booking is None:
            return Stage.STOOD_DOWN if self.stand_down_reason else Stage.AWAITING_BOOKING
        if self.invitees is None:
            return Stage.AWAITING_CONVENING_SHEET
        return Stage.BOOKED

    @property
    def is_open(self) -> bool:
        return self.stage not in FINAL_STAGES

    @property
    def needs_repeat_oversight(self) -> bool:
        rule = self.procedure.repeat_plan
        ended = self.start.previous_plan_ended
        if rule is None or ended is None or self.repeat_oversight_at is not None:
            return False
        if ended >= self.strategy_day:  # refused at start; never counted on (9999-12-31)
            return True
        return add_calendar_months(ended, rule.within_months) >= self.strategy_day

    @property
    def method_pending(self) -> bool:
        """The procedure's method step (003's safety screening) has not chosen yet."""
        return (
            self.order_rules
            and self.procedure.booking.format_from_step is not None
            and self.conference_method is None
        )

    @property
    def strategy_day(self) -> date:
        return self.start.strategy_discussion.astimezone(LONDON).date()

    @property
    def case(self) -> CaseState:
        """The ICPC case this path belongs to: itself (the plan's ``case`` is the ICPC case)."""
        return self

    @property
    def statutory_due(self) -> datetime | None:
        """The statutory limit this path works towards now: the ICPC's 15 working days."""
        return self.deadline

    @property
    def deadline(self) -> datetime:
        due = self.milestone(ICPC_DEADLINE_ID).planned.due
        assert due is not None  # anchored on the strategy discussion, always known
        return due

    def milestone(self, milestone_id: str) -> MilestoneState:
        return next(m for m in self.milestones if m.id == milestone_id)

    def icpc_milestones(self) -> list[MilestoneState]:
        return [m for m in self.milestones if m.planned.phase == Phase.ICPC]

    def next_milestone(self) -> MilestoneState | None:
        """The soonest unmet ICPC milestone with a known due date."""
        open_ = [m for m in self.icpc_milestones() if m.met_at is None and m.planned.due]
        return min(open_, key=lambda m: m.planned.due or self.deadline, default=None)

    def awaiting_roles(self) -> list[str]:
        """Whose decision the case waits on now, most pressing first."""
        stage = self.stage
        if stage in FINAL_STAGES:
            return []
        if stage == Stage.AWAITING_DELAY_DECISION:
            return self.procedure.roles_for(DecisionKind.APPROVE_DELAY)
        if stage == Stage.AWAITING_REPEAT_OVERSIGHT and self.procedure.repeat_plan:
            return [self.procedure.repeat_plan.oversight_role]
        reason = self.procedure.no_longer_needed
        if self.withdrawal_requested and reason and reason.permission_from:
            return [reason.permission_from]
        nxt = self.next_milestone()
        return [nxt.planned.responsible] if nxt else []

    def out_of_timescale(self, now: datetime) -> bool:
        """Booked, held, or (not yet held) still waiting past the statutory limit's day."""
        if self.booking is not None and past_limit(self.booking.starts_at, self.deadline):
            return True
        return past_limit(self.held_at or now, self.deadline)

    def escalated(self) -> bool:
        return any(m.escalated for m in self.milestones)

    def anchors(self) -> dict[Anchor, datetime]:
        known: dict[Anchor, datetime] = {Anchor.STRATEGY_DISCUSSION: self.start.strategy_discussion}
        if self.sheet_received_at:
            known[Anchor.CONVENING_SHEET_RECEIVED] = self.sheet_received_at
        if self.booking and self.booked_at:
            known[Anchor.CONFERENCE_BOOKED] = self.booked_at
            known[Anchor.CONFERENCE_DATE] = self.booking.starts_at
        if self.held_at:
            known[Anchor.CONFERENCE_HELD] = self.held_at
        return known

    # --- changes -------------------------------------------------------------------------

    def apply_schedule(self, schedule: Schedule) -> None:
        """Take new due dates, keeping what was met; a moved due date may remind again."""
        self.milestones = merge_milestones(self.milestones, schedule.milestones)
