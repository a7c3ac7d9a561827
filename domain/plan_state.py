"""The state of a child protection plan after the ICPC: plain data the plan workflow carries.

The plan runs in review cycles. Cycle N works towards review conference N: it counts from the
last conference actually held (the ICPC for cycle 1), and the review falls due on the last
working day on or before the same date ``first_within_months`` (cycle 1) or
``then_every_months`` (later cycles) calendar months on, as Working Together sets it, or, for a
procedure that counts days (001: "3 months (90 days)"), ``first_within_days`` or
``then_every_days`` calendar days on.

Everything here is serialisable: the whole state travels through continue-as-new at each
review, the timeline with it. The ICPC case state rides along as ``case`` (its contacts,
procedure and frozen working-day table are what the plan needs), so the email helpers in
:mod:`domain.notices` serve the plan unchanged.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, Field

from domain.calendar import (
    LONDON,
    WorkingDayTable,
    add_calendar_months,
    london_instant,
    past_limit,
)
from domain.case_state import CaseState
from domain.decisions import Booking, Decider
from domain.milestones import MilestoneState, Timeline, merge_milestones
from domain.planner import PlannedMilestone, Schedule
from domain.procedure import Phase, Procedure, ReviewInterval
from domain.vocabulary import Anchor, DecisionKind

REVIEW_MILESTONE_ID = "review_conference"
# Working days before a review falls due that its reminder goes out (two weeks).
REVIEW_REMIND_WORKING_DAYS = 10


class PlanStage(StrEnum):
    PLANNING = "planning"  # a new cycle's due dates are being computed
    AWAITING_REVIEW_BOOKING = "awaiting_review_booking"
    AWAITING_MOVE_APPROVAL = "awaiting_move_approval"
    REVIEW_BOOKED = "review_booked"
    ENDED = "ended"


class Approval(BaseModel):
    by: Decider
    at: AwareDatetime


class MoveRequest(BaseModel):
    """A request to hold the review on another date, and the agreements collected so far."""

    requested_by: Decider
    requested_at: AwareDatetime
    booking: Booking
    reason: str
    out_of_timescale: bool
    # Every role whose agreement the move needs (the procedure's list for its kind of move).
    required_roles: list[str]
    approvals: list[Approval] = Field(default_factory=list)

    def agreed_roles(self) -> list[str]:
        """The requester's own role counts as agreed; then each approver's."""
        agreed = [self.requested_by.role, *(a.by.role for a in self.approvals)]
        return [r for r in self.required_roles if r in agreed]

    def missing_roles(self) -> list[str]:
        agreed = set(self.agreed_roles())
        return [r for r in self.required_roles if r not in agreed]


class ConferenceHeld(BaseModel):
    """One conference in the plan's life: 0 is the ICPC, N the Nth review."""

    number: int
    held_at: AwareDatetime
    due: AwareDatetime | None = None  # None for the ICPC (its limit lives in the case)
    out_of_timescale: bool = False
    outcome: str


class PlanState(Timeline):
    plan_id: str
    case: CaseState  # the ICPC as it ended: contacts, procedure, calendar, its own timeline
    cycle: int = 1  # the number of the review this cycle works towards
    last_held_at: AwareDatetime  # the conference this cycle counts from
    needs_planning: bool = True  # a new cycle: due dates and calendar not computed yet
    runs: int = 1  # how many workflow runs (continue-as-new) this plan has had
    milestones: list[MilestoneState] = Field(default_factory=list)
    review_due: AwareDatetime | None = None
    review_booking: Booking | None = None
    review_booked_at: AwareDatetime | None = None
    out_of_timescale_approved: bool = False  # this cycle's booking was agreed out of timescale
    move: MoveRequest | None = None
    moves: int = 0  # moves requested so far (keeps notice keys unique)
    conferences: list[ConferenceHeld] = Field(default_factory=list)
    core_groups: int = 0
    signed_off_for: int | None = None  # the conference number whose plan is signed off
    record_shared_for: int | None = None
    attendance_list_for: int | None = None  # the review whose attendance list went out
    ended_at: AwareDatetime | None = None
    end_reason: str | None = None

    @classmethod
    def begin(cls, plan_id: str, case: CaseState) -> PlanState:
        """The plan made at the ICPC; its due dates come from the first planning step."""
        assert case.held_at is not None and case.outcome is not None
        icpc = ConferenceHeld(number=0, held_at=case.held_at, outcome=case.outcome)
        return cls(plan_id=plan_id, case=case, last_held_at=case.held_at, conferences=[icpc])

    # --- derived views -------------------------------------------------------------------

    @property
    def procedure(self) -> Procedure:
        return self.case.procedure

    @property
    def calendar(self) -> WorkingDayTable:
        return self.case.calendar

    @property
    def case_reference(self) -> str:
        return self.case.start.case_reference

    @property
    def statutory_due(self) -> datetime | None:
        """The statutory limit this path works towards now: this cycle's review."""
        return self.review_due

    @property
    def icpc_held_at(self) -> datetime:
        return self.conferences[0].held_at

    @property
    def conference_number(self) -> int:
        """The number of the last conference held (0: the ICPC)."""
        return self.conferences[-1].number

    @property
    def stage(self) -> PlanStage:
        if self.ended_at is not None:
            return PlanStage.ENDED
        if self.needs_planning:
            return PlanStage.PLANNING
        if self.move is not None:
            return PlanStage.AWAITING_MOVE_APPROVAL
        if self.review_booking is None:
            return PlanStage.AWAITING_REVIEW_BOOKING
        return PlanStage.REVIEW_BOOKED

    @property
    def is_open(self) -> bool:
        return self.ended_at is None

    def review_interval(self) -> ReviewInterval:
        """How long this cycle may last: ``[reviews]``'s first interval, then the later one."""
        reviews = self.procedure.reviews
        return reviews.first if self.cycle == 1 else reviews.then

    def due_after(self, held_at: datetime, interval: ReviewInterval) -> datetime:
        """The last working day on or before ``interval`` (calendar months, or calendar days)
        after ``held_at``."""
        held_day = held_at.astimezone(LONDON).date()
        if interval.days is not None:
            limit = held_day + timedelta(days=interval.days)
        else:
            assert interval.months is not None  # the model guarantees exactly one unit
            limit = add_calendar_months(held_day, interval.months)
        day = self.calendar.previous_working_day(limit)
        return london_instant(day, self.procedure.end_of_day)

    def within_timescale(self, day: date) -> bool:
        assert self.review_due is not None
        return not past_limit(day, self.review_due)

    def milestone(self, milestone_id: str) -> MilestoneState:
        return next(m for m in self.milestones if m.id == milestone_id)

    def next_milestone(self) -> MilestoneState | None:
        open_ = [m for m in self.milestones if m.met_at is None and m.planned.due is not None]
        return min(open_, key=lambda m: m.planned.due or self.last_held_at, default=None)

    def awaiting_roles(self) -> list[str]:
        """Whose decision the plan waits on now, most pressing first."""
        stage = self.stage
        if stage in (PlanStage.ENDED, PlanStage.PLANNING):
            return []
        if self.move is not None:
            return self.move.missing_roles()
        if self.review_booking is None:
            return self.procedure.roles_for(DecisionKind.BOOK_REVIEW)
        nxt = self.next_milestone()
        return [nxt.planned.responsible] if nxt else []

    def out_of_timescale(self, now: datetime) -> bool:
        """This cycle's review is booked, or (not yet held) still waited for, past its limit."""
        if self.review_due is None or not self.is_open:
            return False
        if self.review_booking is not None and not self.within_timescale(
            self.review_booking.starts_at.astimezone(LONDON).date()
        ):
            return True
        return past_limit(now, self.review_due)

    def escalated(self) -> bool:
        return any(m.escalated for m in self.milestones)

    def anchors(self) -> dict[Anchor, datetime]:
        known = self.case.anchors()
        known[Anchor.CONFERENCE_HELD] = self.icpc_held_at
        known[Anchor.PLAN_STARTED] = self.last_held_at
        if self.review_booking is not None:
            known[Anchor.REVIEW_DATE] = self.review_booking.starts_at
        return known

    # --- changes -------------------------------------------------------------------------

    def apply_schedule(self, schedule: Schedule, calendar: WorkingDayTable | None = None) -> None:
        """Take the plan's due dates (and a fresh working-day table at a new cycle).

        Keeps what was met, and a milestone whose due date did not move; a moved one may remind
        again. The review conference's own milestone follows ``[reviews]``, not the planner.
        """
        if calendar is not None:
            self.case = self.case.model_copy(update={"calendar": calendar})
        self.review_due = self.due_after(self.last_held_at, self.review_interval())
        planned = [
            m
            for m in schedule.milestones
            if m.phase in (Phase.PLAN, Phase.REVIEW) and not _is_review_itself(m)
        ]
        planned.append(self._review_milestone(schedule))
        self.milestones = merge_milestones(self.milestones, planned)
        self.needs_planning = False

    def _review_milestone(self, schedule: Schedule) -> PlannedMilestone:
        assert self.review_due is not None
        proc = self.procedure
        given = next((m for m in schedule.milestones if _is_review_itself(m)), None)
        bookers = proc.roles_for(DecisionKind.BOOK_REVIEW) or proc.roles_for(
            DecisionKind.HOLD_REVIEW
        )
        escalate = proc.reviews.move_out_of_timescale or bookers
        interval = self.review_interval()
        remind_day = self.calendar.add_working_days(
            self.review_due.astimezone(LONDON).date(), -REVIEW_REMIND_WORKING_DAYS
        )
        return PlannedMilestone(
            id=given.id if given else REVIEW_MILESTONE_ID,
            title=(
                f"Review conference {self.cycle} held within {interval.text} of the last conference"
            ),
            phase=Phase.REVIEW,
            anchor=Anchor.PLAN_STARTED,
            responsible=given.responsible if given else (bookers or [proc.roles[0].id])[0],
            remind=given.remind if given else bookers,
            escalate_to=given.escalate_to if given else escalate,
            satisfied_by=[DecisionKind.HOLD_REVIEW.value],
            statutory=True,
            due=self.review_due,
            remind_at=london_instant(remind_day, proc.start_of_day),
        )

    def begin_cycle(self, held_at: datetime, next_review: Booking | None) -> None:
        """The review was held and the plan continues: the next cycle counts from it."""
        self.cycle += 1
        self.last_held_at = held_at
        self.review_due = None
        self.review_booking = next_review
        self.review_booked_at = held_at if next_review else None
        self.out_of_timescale_approved = False
        self.move = None
        # Milestones of the ICPC itself (core group, sign-off...) stay until met; the rest
        # belong to the cycle that just ended.
        self.milestones = [m for m in self.milestones if m.planned.anchor == Anchor.CONFERENCE_HELD]
        self.needs_planning = True


def _is_review_itself(m: PlannedMilestone) -> bool:
    """A procedure milestone for holding the review: its due date follows ``[reviews]``."""
    return m.phase == Phase.REVIEW and DecisionKind.HOLD_REVIEW.value in m.satisfied_by
