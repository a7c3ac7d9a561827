"""A local authority's ICPC procedure, described as data and validated on load.

Each ``procedures/*.toml`` file becomes one :class:`Procedure`. Loading refuses a bad file
with a :class:`ProcedureError` that names the file and the field, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import re
from datetime import date
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from domain.calendar import Nation, WorkingDayCalendar
from domain.decisions import ConferenceFormat
from domain.vocabulary import (
    DECISION_KINDS,
    SATISFIERS,
    SYSTEM_EVENTS,
    Anchor,
    DecisionKind,
)

SNAKE_ID = r"^[a-z][a-z0-9_]*$"
PROCEDURE_ID = r"^[a-z0-9][a-z0-9-]*$"
ICPC_DEADLINE_ID = "icpc_deadline"
STATUTORY_WORKING_DAYS = 15

SnakeId = Annotated[str, Field(pattern=SNAKE_ID, min_length=1, max_length=64)]
NonNegative = Annotated[int, Field(ge=0)]


class Phase(StrEnum):
    """Which workflow holds a milestone: the case before the ICPC, or the plan after it."""

    ICPC = "icpc"
    PLAN = "plan"
    REVIEW = "review"


class Enforcement(StrEnum):
    REFUSE = "refuse"  # the booking is refused
    FLAG = "flag"  # the booking goes ahead and the named roles are told


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Role(Strict):
    id: SnakeId
    title: str = Field(min_length=1)
    # A shared mailbox for the role (a team inbox); people's own addresses come from the case.
    mailbox: str | None = None


class NoticeBefore(Strict):
    """A second bound on a milestone: it is also due ``working_days`` working days before
    another anchor, at the milestone's time, once that anchor is known; the earlier due wins
    (004: police checks need seven working days' notice before the conference itself)."""

    anchor: Anchor
    working_days: NonNegative
    source: str = ""


class Milestone(Strict):
    id: SnakeId
    title: str = Field(min_length=1)
    phase: Phase = Phase.ICPC
    anchor: Anchor
    # Exactly one offset: working days (negative: before the anchor), calendar days,
    # calendar months (review conferences) or hours ("24 hours before the conference").
    working_days: int | None = None
    days: int | None = None
    months: int | None = None
    hours: int | None = None
    # Europe/London wall-clock time the step is due by; default: the procedure's end of day.
    time: dt.time | None = None
    responsible: SnakeId
    remind: list[SnakeId] = Field(default_factory=list)
    remind_working_days_before: NonNegative = 1
    escalate_to: list[SnakeId] = Field(default_factory=list)
    satisfied_by: list[str] = Field(min_length=1)
    statutory: bool = False
    # A step recorded with ``record_step``: what the recorder must choose from (003: the Duty PO
    # decides "hybrid" or "virtual"), and who is told when it is recorded (003: "Inform Child
    # Protection Conferencing Service"; 004: the booking confirmation email).
    choices: list[SnakeId] = Field(default_factory=list)
    inform: list[SnakeId] = Field(default_factory=list)
    notice_before: NoticeBefore | None = None
    # Where the document says this, in its own words and numbering.
    source: str = ""

    @model_validator(mode="after")
    def _one_offset(self) -> Self:
        given = [
            name
            for name in ("working_days", "days", "months", "hours")
            if getattr(self, name) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of working_days, days, months or hours"
                f" (got {', '.join(given) or 'none'})"
            )
        unknown = [s for s in self.satisfied_by if s not in SATISFIERS]
        if unknown:
            raise ValueError(
                f"satisfied_by names {', '.join(unknown)}, which is not a decision or event"
                f" (known: {', '.join(sorted(SATISFIERS))})"
            )
        return self


class InvitationNotice(Strict):
    """How much notice invitees must get between the invitations and the conference."""

    working_days: NonNegative | None = None
    days: NonNegative | None = None
    enforcement: Enforcement = Enforcement.FLAG
    escalate_to: list[SnakeId] = Field(default_factory=list)
    source: str = ""

    @model_validator(mode="after")
    def _one_unit(self) -> Self:
        if (self.working_days is None) == (self.days is None):
            raise ValueError("give exactly one of working_days or days")
        return self


class StandDownReason(Strict):
    id: SnakeId
    title: str = Field(min_length=1)
    # True when the conference is no longer needed: the case ends instead of rebooking.
    ends_case: bool = False
    # A role whose permission the stand-down needs (004: a safeguarding manager). For the reason
    # that ends the case, it is also the permission a withdrawal after booking needs (004: the
    # social worker agrees with the CP chair "the meeting to no longer go ahead").
    permission_from: SnakeId | None = None
    # Who is told when the conference is cancelled this way (004: the chair, clerk and unit).
    notify: list[SnakeId] = Field(default_factory=list)
    source: str = ""


class Delays(Strict):
    """Requests to hold the ICPC after the statutory limit: when they are due, who is told."""

    # The working day (counted from the strategy discussion) a request is due by (001 step 13:
    # "at the earliest opportunity ... By day 8"); a later request is recorded as late.
    request_by_working_day: NonNegative | None = None
    # Who is told of a late request, besides those who decide it.
    late_request_escalate_to: list[SnakeId] = Field(default_factory=list)
    # Copied in on every request (000 action 7: "They should copy in the Head of Service
    # Safeguarding"), and on every decision with its rationale (001 step 14: the Ops Manager).
    request_copy_to: list[SnakeId] = Field(default_factory=list)
    decision_copy_to: list[SnakeId] = Field(default_factory=list)
    source: str = ""

    @model_validator(mode="after")
    def _late_needs_a_day(self) -> Self:
        if self.late_request_escalate_to and self.request_by_working_day is None:
            raise ValueError(
                "late_request_escalate_to is given but request_by_working_day is not:"
                " a request can only be late after a day the procedure names"
            )
        return self


class HolidayPeriod(Strict):
    name: str = Field(min_length=1)
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class SchoolHolidays(Strict):
    """During these periods, invitations for schools go to one mailbox instead (000)."""

    school_invitations_to: str = Field(min_length=3)
    method: str = ""
    periods: list[HolidayPeriod] = Field(default_factory=list)
    source: str = ""

    def covers(self, day: date) -> HolidayPeriod | None:
        return next((p for p in self.periods if p.start <= day <= p.end), None)


class CapacityEscalation(Strict):
    id: SnakeId
    title: str = Field(min_length=1)
    escalate_to: list[SnakeId] = Field(min_length=1)
    source: str = ""


class Booking(Strict):
    # Working days (counted from the strategy discussion) the conference should be booked on.
    preferred_working_days: list[NonNegative] = Field(default_factory=list)
    # Roles told when a booking falls outside the preferred days.
    flag_outside_preferred_to: list[SnakeId] = Field(default_factory=list)
    # 003: "a conference cannot and will not be booked until [the convening sheet] is received".
    requires_convening_sheet: bool = False
    # 003: the step (a record_step milestone whose choices are conference formats) that decides
    # how the conference is held; a booking in another format is refused, a booking made
    # before it takes the format it chooses, and the invitations wait for it.
    format_from_step: SnakeId | None = None
    source: str = ""


class Holding(Strict):
    """What recording the conference as held needs (000, 001)."""

    # The booking's invitations went out (with the notice [invitation_notice] asks, where a
    # shorter one is refused); otherwise holding needs the approval, with a reason, of the
    # roles decisions.approve_without_invitations names (none: it is never held without).
    requires_invitations: bool = False
    source: str = ""


class ConveningSheet(Strict):
    require_email: bool = False
    require_telephone: bool = False
    require_postal_address: bool = False
    source: str = ""


class RepeatPlan(Strict):
    """A case back at conference within N months of a plan ending needs oversight (004)."""

    within_months: Annotated[int, Field(gt=0)]
    oversight_role: SnakeId
    source: str = ""


class Told(Strict):
    """People a procedure says are told when a decision is taken (000 action 5: the CP
    Conference Service when the need is confirmed or withdrawn), copied for information."""

    on: DecisionKind
    roles: list[SnakeId] = Field(min_length=1)
    # What the document asks to go with it (002: "information around advocacy for children").
    note: str = ""
    source: str = ""


Positive = Annotated[int, Field(gt=0)]


class ReviewInterval(Strict):
    """How long a review cycle may last: calendar months, or calendar days (001: "90 days")."""

    months: Positive | None = None
    days: Positive | None = None

    @property
    def text(self) -> str:
        return f"{self.months} months" if self.months is not None else f"{self.days} days"


class Reviews(Strict):
    # Review 1 within this of the ICPC, later reviews within that of the last conference held:
    # exactly one of months or days each (no unit at all: Working Together's 3 and 6 months).
    first_within_months: Positive | None = None
    first_within_days: Positive | None = None
    then_every_months: Positive | None = None
    then_every_days: Positive | None = None
    # 000 action 12: a review is not booked earlier than this many working days before it
    # falls due (None: no such rule), unless the core group asks for it to consider ending.
    earliest_working_days_before_due: NonNegative | None = None
    # Who must agree to move a review that stays within timescale, and one that does not.
    move_within_timescale: list[SnakeId] = Field(default_factory=list)
    move_out_of_timescale: list[SnakeId] = Field(default_factory=list)
    # Told when a move within timescale takes effect, besides those who agreed (001 step 18).
    notify_moves_within_timescale: list[SnakeId] = Field(default_factory=list)
    source: str = ""

    @model_validator(mode="before")
    @classmethod
    def _working_together_by_default(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            for which, months in (("first_within", 3), ("then_every", 6)):
                if data.get(f"{which}_months") is None and data.get(f"{which}_days") is None:
                    data[f"{which}_months"] = months
        return data

    @model_validator(mode="after")
    def _one_unit_each(self) -> Self:
        for which in ("first_within", "then_every"):
            if (getattr(self, f"{which}_months") is None) == (
                getattr(self, f"{which}_days") is None
            ):
                raise ValueError(f"give exactly one of {which}_months or {which}_days")
        return self

    @property
    def first(self) -> ReviewInterval:
        return ReviewInterval(months=self.first_within_months, days=self.first_within_days)

    @property
    def then(self) -> ReviewInterval:
        return ReviewInterval(months=self.then_every_months, days=self.then_every_days)


class Capacity(Strict):
    """How many conferences the service can hold a week (the capacity forecast's line).

    000 action 3: the likelihood given at the strategy discussion "will allow the CPCS to
    identify and plan for any capacity problems". A file declares what limits it: the chairs
    (CP chairs, ISROs, POs) and the rooms (000 action 14: a suitable venue). The forecast takes
    the lower of the figures given. Optional: no seed document gives a figure, so no installed
    procedure declares one; an authority adds its own.
    """

    chairs_per_week: Positive | None = None  # conferences the chairs can hold a week
    rooms_per_week: Positive | None = None  # conference room slots a week
    source: str = ""

    @model_validator(mode="after")
    def _a_figure(self) -> Self:
        if self.chairs_per_week is None and self.rooms_per_week is None:
            raise ValueError("give chairs_per_week, rooms_per_week or both")
        return self

    @property
    def conferences_per_week(self) -> int:
        """What the service can hold a week: the lower of the figures given."""
        given = [n for n in (self.chairs_per_week, self.rooms_per_week) if n is not None]
        return min(given)


class Procedure(Strict):
    id: Annotated[str, Field(pattern=PROCEDURE_ID)]
    title: str = Field(min_length=1)
    authority: str = Field(min_length=1)
    source_document: str = Field(min_length=1)
    nation: Nation = Nation.ENGLAND
    # How the document numbers its days, and how that was translated (day 0 = strategy).
    day_numbering: str = ""
    # The document's "Day N" is our working day N - day_number_offset: 001 numbers the strategy
    # meeting itself "Day 1" (offset 1). Messages give a document's days in its own numbering.
    day_number_offset: Annotated[int, Field(ge=0, le=1)] = 0
    start_of_day: dt.time = dt.time(9, 0)
    end_of_day: dt.time = dt.time(17, 0)
    closure_days: list[date] = Field(default_factory=list)
    roles: list[Role] = Field(min_length=1)
    decisions: dict[DecisionKind, list[SnakeId]]
    milestones: list[Milestone] = Field(min_length=1)
    invitation_notice: InvitationNotice | None = None
    stand_down_reasons: list[StandDownReason] = Field(default_factory=list)
    delays: Delays = Field(default_factory=Delays)
    school_holidays: SchoolHolidays | None = None
    capacity_escalations: list[CapacityEscalation] = Field(default_factory=list)
    booking: Booking = Field(default_factory=Booking)
    convening_sheet: ConveningSheet = Field(default_factory=ConveningSheet)
    holding: Holding = Field(default_factory=Holding)
    repeat_plan: RepeatPlan | None = None
    reviews: Reviews = Field(default_factory=Reviews)
    capacity: Capacity | None = None
    told: list[Told] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _no_duplicates("roles", [r.id for r in self.roles])
        _no_duplicates("milestones", [m.id for m in self.milestones])
        _no_duplicates("stand_down_reasons", [r.id for r in self.stand_down_reasons])
        _no_duplicates("capacity_escalations", [c.id for c in self.capacity_escalations])
        declared = {r.id for r in self.roles}
        for where, role in self._role_references():
            if role not in declared:
                raise ValueError(
                    f"{where}: role '{role}' is not declared in [[roles]]"
                    f" (declared: {', '.join(sorted(declared))})"
                )
        for m in self.milestones:
            takeable = [s for s in m.satisfied_by if s in SYSTEM_EVENTS or self._has_decider(s)]
            if not takeable:
                raise ValueError(
                    f"milestones.{m.id}.satisfied_by: no role may take"
                    f" {', '.join(m.satisfied_by)}, so nothing can ever satisfy it"
                )
        for m in self.milestones:
            if (m.choices or m.inform) and DecisionKind.RECORD_STEP.value not in m.satisfied_by:
                raise ValueError(
                    f"milestones.{m.id}: choices and inform are for a step satisfied by record_step"
                )
            recorders = self.roles_for(DecisionKind.RECORD_STEP)
            if DecisionKind.RECORD_STEP.value in m.satisfied_by and m.responsible not in recorders:
                raise ValueError(
                    f"milestones.{m.id}: a step is recorded (record_step) by the role responsible"
                    f" for it, so decisions.record_step must list '{m.responsible}'"
                )
        self._method_step_is_a_choice_of_formats()
        if self.decisions.get(DecisionKind.APPROVE_WITHOUT_INVITATIONS) and not (
            self.holding.requires_invitations
        ):
            raise ValueError(
                "decisions.approve_without_invitations: approving a conference held without"
                " invitations needs [holding] requires_invitations = true"
            )
        deadline = next((m for m in self.milestones if m.id == ICPC_DEADLINE_ID), None)
        if deadline is None:
            raise ValueError(f"milestones: a milestone with id '{ICPC_DEADLINE_ID}' is required")
        if (
            deadline.anchor != Anchor.STRATEGY_DISCUSSION
            or deadline.working_days != STATUTORY_WORKING_DAYS
        ):
            raise ValueError(
                f"milestones.{ICPC_DEADLINE_ID}: must be {STATUTORY_WORKING_DAYS} working days"
                " after the strategy_discussion (the statutory limit)"
            )
        return self

    def _method_step_is_a_choice_of_formats(self) -> None:
        step_id = self.booking.format_from_step
        if step_id is None:
            return
        where = "booking.format_from_step"
        step = next((m for m in self.steps() if m.id == step_id), None)
        if step is None:
            raise ValueError(f"{where}: '{step_id}' is not a milestone recorded with record_step")
        formats = {f.value for f in ConferenceFormat}
        if not step.choices or not set(step.choices) <= formats:
            raise ValueError(
                f"{where}: the step '{step_id}' must choose among conference formats"
                f" ({', '.join(sorted(formats))}); its choices are {step.choices or 'none'}"
            )

    def _has_decider(self, satisfier: str) -> bool:
        return satisfier in DECISION_KINDS and bool(self.decisions.get(DecisionKind(satisfier)))

    def _role_references(self) -> list[tuple[str, str]]:
        refs: list[tuple[str, str]] = []
        for kind, roles in self.decisions.items():
            refs += [(f"decisions.{kind}", r) for r in roles]
        for m in self.milestones:
            refs.append((f"milestones.{m.id}.responsible", m.responsible))
            refs += [(f"milestones.{m.id}.remind", r) for r in m.remind]
            refs += [(f"milestones.{m.id}.escalate_to", r) for r in m.escalate_to]
            refs += [(f"milestones.{m.id}.inform", r) for r in m.inform]
        if self.invitation_notice:
            refs += [
                ("invitation_notice.escalate_to", r) for r in self.invitation_notice.escalate_to
            ]
        for s in self.stand_down_reasons:
            if s.permission_from:
                refs.append((f"stand_down_reasons.{s.id}.permission_from", s.permission_from))
            refs += [(f"stand_down_reasons.{s.id}.notify", r) for r in s.notify]
        refs += [
            ("delays.late_request_escalate_to", r) for r in self.delays.late_request_escalate_to
        ]
        refs += [("delays.request_copy_to", r) for r in self.delays.request_copy_to]
        refs += [("delays.decision_copy_to", r) for r in self.delays.decision_copy_to]
        for c in self.capacity_escalations:
            refs += [(f"capacity_escalations.{c.id}.escalate_to", r) for r in c.escalate_to]
        refs += [
            ("booking.flag_outside_preferred_to", r) for r in self.booking.flag_outside_preferred_to
        ]
        if self.repeat_plan:
            refs.append(("repeat_plan.oversight_role", self.repeat_plan.oversight_role))
        for t in self.told:
            refs += [(f"told.{t.on}.roles", r) for r in t.roles]
        refs += [("reviews.move_within_timescale", r) for r in self.reviews.move_within_timescale]
        refs += [("reviews.move_out_of_timescale", r) for r in self.reviews.move_out_of_timescale]
        refs += [
            ("reviews.notify_moves_within_timescale", r)
            for r in self.reviews.notify_moves_within_timescale
        ]
        return refs

    # --- lookups -------------------------------------------------------------------------

    @cached_property
    def calendar(self) -> WorkingDayCalendar:
        return WorkingDayCalendar(self.nation, self.closure_days)

    def role(self, role_id: str) -> Role:
        return next(r for r in self.roles if r.id == role_id)

    def milestone(self, milestone_id: str) -> Milestone:
        return next(m for m in self.milestones if m.id == milestone_id)

    def steps(self) -> list[Milestone]:
        """The milestones recorded with ``record_step``, in the file's order."""
        return [m for m in self.milestones if DecisionKind.RECORD_STEP.value in m.satisfied_by]

    def roles_for(self, decision: DecisionKind) -> list[str]:
        return list(self.decisions.get(decision, []))

    def may_decide(self, role_id: str, decision: DecisionKind) -> bool:
        return role_id in self.decisions.get(decision, [])

    def working_day_text(self, day: int) -> str:
        """Our working day ``day``, with the document's own number for it where it differs."""
        if not self.day_number_offset:
            return f"working day {day}"
        return f"working day {day} (the procedure's day {day + self.day_number_offset})"

    def own_days_text(self, days: list[int]) -> str:
        """Days the document names (``days`` in our working days) as the document numbers them:
        001's "day 14 or day 15" (our working days 13 and 14)."""
        own = " or ".join(str(d + self.day_number_offset) for d in days)
        if not self.day_number_offset:
            return f"day {own}"
        ours = " and ".join(str(d) for d in days)
        plural = "s" if len(days) > 1 else ""
        return f"the procedure's day {own} (working day{plural} {ours})"

    def told_on(self, kind: DecisionKind) -> list[Told]:
        return [t for t in self.told if t.on == kind]

    def stand_down_reason(self, reason_id: str) -> StandDownReason | None:
        return next((r for r in self.stand_down_reasons if r.id == reason_id), None)

    @property
    def no_longer_needed(self) -> StandDownReason | None:
        """The stand-down reason that ends the case: its permission and whom it tells hold for
        a withdrawal once the conference is booked (004)."""
        return next((r for r in self.stand_down_reasons if r.ends_case), None)


def _no_duplicates(field: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise ValueError(f"{field}: id '{i}' is used more than once")
        seen.add(i)


class ProcedureError(Exception):
    """A procedure file that cannot be used; the message names the file and the field."""


def _field_path(loc: tuple[int | str, ...], data: Any) -> str:
    """``milestones.2.anchor`` as ``milestones.sheet.anchor``: a listed item by its id."""
    parts: list[str] = []
    node = data
    for part in loc:
        item = None
        if isinstance(part, int) and isinstance(node, list) and 0 <= part < len(node):
            item = node[part]
        elif isinstance(part, str) and isinstance(node, dict):
            item = node.get(part)
        item_id = item.get("id") if isinstance(item, dict) else None
        use_id = isinstance(part, int) and isinstance(item_id, str) and re.match(SNAKE_ID, item_id)
        parts.append(str(item_id) if use_id else str(part))
        node = item
    return ".".join(parts)


def _describe(error: ValidationError, data: Any = None) -> str:
    lines = []
    for e in error.errors():
        loc = _field_path(e["loc"], data)
        msg = re.sub(r"^Value error, ", "", e["msg"])
        # A check across the whole file names its own field ("milestones.x.responsible: ...").
        lines.append(f"  {loc}: {msg}" if loc else f"  {msg}")
    return "\n".join(lines)


def parse_procedure(data: dict[str, Any], origin: str) -> Procedure:
    try:
        return Procedure.model_validate(data)
    except ValidationError as error:
        raise ProcedureError(f"{origin}: invalid procedure\n{_describe(error, data)}") from None
