"""A year of invented cases, driven through the product's own rules into record batches
(``icpc simulate`` writes them to the case record).

A year's strategy discussions with a realistic mix of decisions and delays, for trying the
reports (``icpc report ...``, the web form's Reports page) without a year of real work. Each
case is driven through the product's own decision rules, the same ones the workflows run
(:data:`domain.case_rules.CASE_PATH`, :data:`domain.plan_rules.PLAN_PATH`, the planner and the
milestone clock), and its timeline is written to the case record as the workflows' record
activity writes it (:func:`domain.case_record.new_events`). It does **not** go through
Temporal: a year of timers on the time-skipping server would take far longer than the few
seconds this takes, and the reports read the record, not Temporal. So no workflow runs for a
simulated case (``icpc show`` reads it from the record alone), and no email is sent.

Everything is invented: references ``SIM-<year>-<n>``, staff as role labels with
``.invalid`` addresses, areas north, south, east and west. Every simulated case is marked by
its family reference, ``SIMF-<n>`` (:data:`SIMULATED_FAMILY`): ``icpc simulate`` refuses a
record holding any case without the mark, so invented cases never mix with real ones. The same seed gives the same cases.
The world stops at the as-at day (``--as-of``, default today): decisions due after it are not
taken, so the cases open then stay open, as they would be.

The mix (per case, from the seed): likelihood at the strategy discussion likely 60%, possible
25%, unlikely 15%; an ICPC needed in 85%, 55%, 20% of those; registered one to three working
days late 5%; the need confirmed on working days 1-5 (8% later); the conference booked for
working days 10-15, or (15%) later with a delay requested by the team manager and approved by
the head of service (one in eight first rejected, then booked within timescale if it still
can be); 6% stood down and rebooked; 2% withdrawn after booking; a plan at 75% of
conferences; reviews booked before they fall due, 8% moved out of timescale with the
agreement the procedure asks; 70% of reviews continue the plan; 3% of plans end early.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from domain import case_invitations, case_rules, case_views, plan_rules
from domain.calendar import LONDON, WorkingDayTable, london_instant
from domain.case_record import (
    CaseSummary,
    Marks,
    RecordBatch,
    RecordedEvent,
    Stream,
    milestone_marks,
    new_events,
)
from domain.case_state import CaseState
from domain.decisions import CaseStart, Contact, Likelihood
from domain.path import Effects, Path, PathState, Refusal
from domain.plan_state import PlanState
from domain.planner import plan
from domain.procedure import Procedure
from domain.vocabulary import DecisionKind

AREAS = ("north", "south", "east", "west")
TEAMS_PER_AREA = 3
DEFAULT_PROCEDURE = "bct-management-note"

LIKELIHOOD_MIX = (
    (Likelihood.LIKELY, 0.60),
    (Likelihood.POSSIBLE, 0.25),
    (Likelihood.UNLIKELY, 0.15),
)
NEEDED = {Likelihood.LIKELY: 0.85, Likelihood.POSSIBLE: 0.55, Likelihood.UNLIKELY: 0.20}
DELAY_REASONS = (
    "Section 47 enquiries not complete: police checks outstanding",
    "Parent in hospital and unable to attend within timescale",
    "No chair available on day 14 or 15",
    "Key agency reports (health) not available in time",
    "Family interpreter not available before day 15",
)
WITHDRAW_REASONS = (
    "Section 47 enquiry concluded: risk managed through a child in need plan",
    "Concerns not substantiated by the enquiry",
    "Family moved out of the authority's area",
)
MOVE_REASONS = (
    "Chair unavailable on the agreed date; no other chair within timescale",
    "Conference room lost to an ICPC; no slot before the due date",
    "Parent's court hearing on the only date within timescale",
)


SIMULATED_FAMILY = "SIMF-"  # the family reference's prefix: the mark of a simulated case


# --- the inputs: what each simulated case is meant to do ----------------------------------------


@dataclass
class ReviewScript:
    """One review conference of a plan: when it is held relative to its due date."""

    working_days_before_due: int  # 0 or more: held that many working days before it falls due
    late_by: int = 0  # more than 0: moved out of timescale, held that many working days late
    plan_ends: bool = False  # the plan ends at this review


@dataclass
class CaseScript:
    """One simulated case, as drawn from the seed: the simulation's input for it."""

    number: int
    reference: str
    procedure_id: str
    area: str
    team: str
    strategy: datetime
    likelihood: Likelihood
    registered_late: int  # working days after the strategy discussion it is registered
    needed: bool
    withdraw_day: int  # working day the need is withdrawn (when not needed)
    confirm_day: int
    sheet_day: int
    target_day: int  # the working day the conference is first booked for
    delay_reason: str | None  # target after day 15: the delay asked for, and why
    delay_first_rejected: bool
    stand_down: bool  # the first booking is stood down and rebooked
    rebook_after: int  # working days after the first target the rebooked date falls
    withdrawn_after_booking: bool
    plan: bool  # the conference makes a child protection plan
    reviews: list[ReviewScript]
    plan_ended_early_in_cycle: int | None  # the plan ends (looked after) during this cycle


@dataclass
class SimulatedCase:
    """What the simulation did with one script (for checks against the record)."""

    script: CaseScript
    case_id: str
    strategy_day: date
    deadline_day: date
    held_day: date | None = None
    withdrawn_day: date | None = None
    delay_approved: bool = False
    review_days: list[tuple[int, date, date]] = field(default_factory=list)  # (n, due, held)
    review_dues: dict[int, date] = field(default_factory=dict)  # n -> due, planned so far
    plan_ended_day: date | None = None
    decided_day: date | None = None  # the need first confirmed, or withdrawn
    booked_day: date | None = None  # at the as-at day: the open ICPC's booked date
    review_booked_day: date | None = None  # at the as-at day: the open plan's next review
    batches: list[RecordBatch] = field(default_factory=list)


@dataclass
class Simulation:
    year: int
    seed: int
    as_of: datetime
    cases: list[SimulatedCase]

    @property
    def batches(self) -> list[RecordBatch]:
        return [batch for case in self.cases for batch in case.batches]


def _choose(rng: random.Random, mix: Sequence[tuple[Any, float]]) -> Any:
    pick, total = rng.random(), 0.0
    for value, share in mix:
        total += share
        if pick < total:
            return value
    return mix[-1][0]


def scripts(
    count: int,
    year: int,
    seed: int,
    procedures: Sequence[Procedure],
    as_of: datetime,
    prefix: str = "SIM",
) -> list[CaseScript]:
    """``count`` cases with strategy discussions spread over the year (to the as-at day)."""
    first = date(year, 1, 1)
    last = min(date(year, 12, 31), as_of.astimezone(LONDON).date() - timedelta(days=1))
    if last < first:
        raise ValueError(f"{year} has not begun by {as_of.date().isoformat()}")
    span = (last - first).days + 1
    drawn = []
    for n in range(1, count + 1):
        rng = random.Random(f"{seed}/{n}")
        day = first + timedelta(days=rng.randrange(span))
        if day.weekday() >= 5 and rng.random() > 0.1:  # weekends: a few out-of-hours ones
            day -= timedelta(days=day.weekday() - 4)
        at = london_instant(day, time(rng.randrange(9, 17), rng.choice((0, 15, 30, 45))))
        likelihood = _choose(rng, LIKELIHOOD_MIX)
        area = rng.choice(AREAS)
        late = rng.random() < 0.15
        confirm = rng.randint(1, 5) if rng.random() > 0.08 else rng.randint(6, 7)
        sheet = min(confirm + rng.randint(0, 2), 9)
        on_time = rng.choice((10, 11, 12, 13, 13, 14, 14, 14, 15, 15, 15, 15))
        reviews = []
        for _ in range(4):
            reviews.append(
                ReviewScript(
                    working_days_before_due=rng.randint(0, 12),
                    late_by=rng.randint(2, 10) if rng.random() < 0.08 else 0,
                    plan_ends=rng.random() < 0.30,
                )
            )
        drawn.append(
            CaseScript(
                number=n,
                reference=f"{prefix}-{year}-{n:05d}",
                procedure_id=procedures[n % len(procedures)].id,
                area=area,
                team=f"{area}-{rng.randint(1, TEAMS_PER_AREA)}",
                strategy=at,
                likelihood=likelihood,
                registered_late=rng.randint(1, 3) if rng.random() < 0.05 else 0,
                needed=rng.random() < NEEDED[likelihood],
                withdraw_day=rng.randint(2, 5),
                confirm_day=confirm,
                sheet_day=sheet,
                target_day=rng.randint(16, 24) if late else max(on_time, sheet + 5),
                delay_reason=rng.choice(DELAY_REASONS) if late else None,
                delay_first_rejected=late and rng.random() < 0.125,
                stand_down=rng.random() < 0.06,
                rebook_after=rng.randint(1, 3),
                withdrawn_after_booking=rng.random() < 0.02,
                plan=rng.random() < 0.75,
                reviews=reviews,
                plan_ended_early_in_cycle=rng.randint(1, 3) if rng.random() < 0.03 else None,
            )
        )
    return drawn


# --- driving one case through the rules ---------------------------------------------------------


def _contacts(procedure: Procedure) -> list[Contact]:
    return [
        Contact(
            role=role.id,
            name=f"Simulated {role.title.lower()}"[:200],
            email=f"{role.id.replace('_', '.')}@staff.simulated.invalid",
            user=f"sim-{role.id.replace('_', '-')}",
        )
        for role in procedure.roles
        if not role.mailbox
    ]


class _Stream:
    """One path's timeline on its way to the record: its events and the marks last seen."""

    def __init__(self, case_id: str, stream: Stream) -> None:
        self.case_id, self.stream = case_id, stream
        self.recorded = 0
        self.marks: Marks = {}
        self.events: list[RecordedEvent] = []
        self.summary: CaseSummary | None = None

    def take(self, state: Any) -> None:
        """What the record activity would write now (the timeline's new entries)."""
        if state.timeline_length > self.recorded:
            self.events += new_events(
                state.numbered(self.recorded), state.milestones, self.marks, state.calendar
            )
            self.recorded, self.marks = state.timeline_length, milestone_marks(state.milestones)

    def batch(self) -> RecordBatch:
        return RecordBatch(
            case_id=self.case_id, stream=self.stream, events=self.events, summary=self.summary
        )


class _Driver:
    """Runs one script against the rules, with the milestone clock ticking between decisions."""

    def __init__(
        self,
        script: CaseScript,
        procedure: Procedure,
        calendar: WorkingDayTable,
        as_of: datetime,
    ) -> None:
        self.s, self.proc, self.calendar, self.as_of = script, procedure, calendar, as_of
        self.day0 = script.strategy.astimezone(LONDON).date()
        start = CaseStart(
            procedure_id=procedure.id,
            case_reference=script.reference,
            family_reference=f"{SIMULATED_FAMILY}{script.number:05d}",
            strategy_discussion=script.strategy,
            icpc_likelihood=script.likelihood,
            contacts=_contacts(procedure),
            team=script.team,
            area=script.area,
        )
        # Imported here: the command line's parser imports this module, and contracts brings
        # in Temporal's SDK, which a command line that only talks to the service never needs.
        from contracts.case import case_workflow_id

        case_id = case_workflow_id(procedure.id, script.reference, script.strategy)
        self.state = CaseState(case_id=case_id, start=start, procedure=procedure, calendar=calendar)
        self.state.apply_schedule(plan(procedure, script.strategy))
        self.out = SimulatedCase(
            script=script,
            case_id=case_id,
            strategy_day=self.day0,
            deadline_day=self.state.deadline.astimezone(LONDON).date(),
        )
        self.case_stream = _Stream(case_id, Stream.CASE)
        self.plan_state: PlanState | None = None
        self.plan_stream = _Stream(case_id, Stream.PLAN)  # the record keys both by the case

    # --- time -------------------------------------------------------------------------------

    def day(self, n: int) -> date:
        return self.calendar.add_working_days(self.day0, n)

    def at(self, n: int, hour: int, minute: int = 0) -> datetime:
        return london_instant(self.day(n), time(hour, minute))

    def tick(self, path: Path[Any], state: PathState, until: datetime) -> None:
        """Fire every reminder and escalation due up to ``until``, as the timers would."""
        while (wake := path.next_wakeup(state)) is not None and wake[0] <= until:
            path.on_clock(state, wake[0])
            if state is self.state:
                self.after(Effects(), wake[0])

    def open(self, when: datetime) -> bool:
        """Whether the world has reached ``when`` (decisions after the as-at day are not taken)."""
        return when <= self.as_of

    # --- the ICPC ----------------------------------------------------------------------------

    def decide(self, kind: str, when: datetime, role: str | None = None, **fields: Any) -> bool:
        """Take a decision on the case at ``when`` (after the clock catches up); False if the
        world ends first. A refusal is a fault of the simulation: it stops with the reason."""
        if not self.open(when):
            return False
        self.tick(case_rules.CASE_PATH, self.state, when)
        decider = role or self.proc.roles_for(DecisionKind(kind))[0]
        d = case_rules.CASE_DECISION.validate_python(
            {"kind": kind, "decided_by": {"user": f"sim-{decider}", "role": decider}, **fields}
        )
        try:
            fx = case_rules.apply(self.state, d, when)
        except Refusal as refusal:
            raise RuntimeError(f"{self.s.reference}: {kind} refused: {refusal}") from None
        self.after(fx, when)
        return True

    def after(self, fx: Effects, now: datetime) -> None:
        """What the case workflow carries out after a decision: re-plan, invitations, record."""
        state = self.state
        if fx.replan:
            state.apply_schedule(plan(self.proc, state.start.strategy_discussion, state.anchors()))
            case_rules.on_clock(state, now)
        if case_invitations.invitations_due(state):
            sent = case_invitations.send_invitations(state, now)
            if case_invitations.invitations_due(state):
                case_invitations.invitations_sent(state, now, sent.count, sent.short)
        self.case_stream.take(state)

    def booking(self, n: int, hour: int = 10) -> dict[str, Any]:
        return {
            "booking": {
                "starts_at": self.at(n, hour),
                "format": "hybrid",
                "venue": "Conference room (simulated)",
                "chair": "Simulated chair",
            }
        }

    def delay(self, n: int, when: datetime, approve: bool = True) -> bool:
        """Ask for a delay to working day ``n``, and have it approved (or rejected); True once
        approved."""
        asked: dict[str, Any] = {
            "reason": self.s.delay_reason or DELAY_REASONS[0],
            "proposed_date": self.day(n),
            "safety_plan": "Interim safety plan in place",
        }
        approver = self.proc.roles_for(DecisionKind.APPROVE_DELAY)[0]
        if not self.decide("request_delay", when, **asked):
            return False
        kind, comment = (
            ("approve_delay", "Agreed: the interim safety plan manages the risk until then")
            if approve
            else ("reject_delay", "Rejected: hold the conference within timescale")
        )
        decided = self.decide(kind, when + timedelta(hours=1), approver, reason=comment)
        self.out.delay_approved = self.out.delay_approved or (decided and approve)
        return decided and approve

    def run(self) -> SimulatedCase:
        s = self.s
        if s.registered_late:
            registered = self.at(s.registered_late, 9, 30)
        else:
            registered = s.strategy + timedelta(minutes=45)
        case_views.start(self.state, registered)
        self.after(case_views.start_notice(self.state, registered), registered)
        self.tick(case_rules.CASE_PATH, self.state, registered)
        self.after(Effects(), registered)
        first = s.registered_late  # nothing is decided before the case is registered
        if not s.needed:
            when = self.at(max(s.withdraw_day, first), 15)
            reason = WITHDRAW_REASONS[s.number % len(WITHDRAW_REASONS)]
            if self.decide("withdraw_icpc", when, reason=reason):
                self.out.withdrawn_day = when.astimezone(LONDON).date()
        elif self._icpc(first) and s.plan:
            self._plan()
        return self.finish()

    def _icpc(self, first: int) -> bool:
        """Confirm, book (with a delay when late), perhaps stand down and rebook, hold: True
        once held."""
        s = self.s
        confirm = max(s.confirm_day, first)
        book_on = max(s.sheet_day, confirm)
        invitee = {
            "name": "Invitee (simulated)",
            "role_or_relationship": "Parent",
            "email": "invitee@family.simulated.invalid",
            "telephone": "00000 000000",
            "postal_address": "Simulated address",
        }
        if not (
            self.decide("confirm_icpc", self.at(confirm, 11))
            and self.decide("receive_convening_sheet", self.at(book_on, 14), invitees=[invitee])
        ):
            return False
        # At least five working days' notice (001 step 8 refuses less).
        target = max(s.target_day, book_on + 5)
        if target > 15:
            asked_at = self.at(book_on, 9, 30)
            if not self.delay(target, asked_at, approve=not s.delay_first_rejected):
                if not self.open(asked_at + timedelta(hours=2)):
                    return False
                # Rejected: within timescale if it still can be, else a second request.
                target = 15 if book_on + 5 <= 15 else target
                if target > 15 and not self.delay(target, self.at(book_on, 13)):
                    return False
        if not self.decide("book_conference", self.at(book_on, 15, 30), **self.booking(target)):
            return False
        if s.withdrawn_after_booking:
            self._withdraw(self.at(target - 2, 12))
            return False
        if s.stand_down:
            rebooked = self._stand_down_and_rebook(target)
            if rebooked is None:
                return False
            target = rebooked
        outcome = "child_protection_plan" if s.plan else "no_plan"
        if not self.decide("hold_conference", self.at(target, 16, 30), outcome=outcome):
            return False
        assert self.state.held_at is not None
        self.out.held_day = self.state.held_at.astimezone(LONDON).date()
        return True

    def _withdraw(self, when: datetime) -> None:
        """Withdraw a booked ICPC; where the procedure asks for someone's agreement (004: the
        CP chair), they withdraw it too."""
        if not self.decide("withdraw_icpc", when, reason=WITHDRAW_REASONS[0]):
            return
        reason = self.proc.no_longer_needed
        if self.state.withdrawal_requested and reason is not None and reason.permission_from:
            later = when + timedelta(hours=1)
            self.decide("withdraw_icpc", later, reason.permission_from, reason=WITHDRAW_REASONS[0])
        if self.state.withdrawn_at is not None:
            self.out.withdrawn_day = self.state.withdrawn_at.astimezone(LONDON).date()

    def _stand_down_and_rebook(self, target: int) -> int | None:
        """Stand the conference down two working days before, and rebook it a few days on
        (with a delay approved first when that is past day 15); the new target."""
        when = self.at(target - 2, 12)
        usable = [
            r.id for r in self.proc.stand_down_reasons if not r.ends_case and not r.permission_from
        ]
        reason = usable[0] if usable else "cannot_go_ahead"
        if not self.decide("stand_down", when, stand_down_reason=reason, reason="Chair taken ill"):
            return None
        target = max(target + self.s.rebook_after, target - 2 + 5)
        approved = self.state.approved_delay
        covered = approved is not None and approved.proposed_date >= self.day(target)
        if target > 15 and not covered and not self.delay(target, when + timedelta(hours=2)):
            return None
        rebook_at = when + timedelta(hours=4)
        if not self.decide("rebook_conference", rebook_at, **self.booking(target)):
            return None
        return target

    # --- the plan after it --------------------------------------------------------------------

    def _plan(self) -> None:
        from contracts.plan import plan_workflow_id  # as case_workflow_id, above

        state = self.state
        plan_state = PlanState.begin(plan_workflow_id(state.case_id), state)
        self.plan_state = plan_state
        assert state.held_at is not None
        now = state.held_at + timedelta(hours=6)
        for number, review in enumerate(self.s.reviews, start=1):
            if not self.open(now):
                return
            self._plan_cycle(plan_state, now)
            due = plan_state.review_due
            assert due is not None
            due_day = due.astimezone(LONDON).date()
            self.out.review_dues[number] = due_day
            if self.s.plan_ended_early_in_cycle == number:
                ends = now + timedelta(days=30)
                self.plan_decide(
                    "end_plan",
                    ends,
                    end_reason="looked_after",
                    reason="The child became looked after",
                )
                if plan_state.ended_at is not None:
                    self.out.plan_ended_day = ends.astimezone(LONDON).date()
                return
            held_day = self.calendar.add_working_days(
                self.calendar.previous_working_day(due_day), -review.working_days_before_due
            )
            if not self.plan_decide(
                "book_review", now + timedelta(hours=1), **self._review_booking(held_day)
            ):
                return
            if review.late_by:
                # Asked for a few working days before the date first booked.
                asked_on = self.calendar.add_working_days(held_day, -3)
                held_day = self.calendar.add_working_days(due_day, review.late_by)
                when = london_instant(asked_on, time(11))
                moved = self.plan_decide(
                    "request_review_move",
                    max(when, now + timedelta(hours=2)),
                    reason=MOVE_REASONS[self.s.number % len(MOVE_REASONS)],
                    **self._review_booking(held_day),
                )
                if not moved:
                    return
                while plan_state.move is not None:
                    role = plan_state.move.missing_roles()[0]
                    if not self.plan_decide(
                        "approve_review_move",
                        max(when, now + timedelta(hours=2)) + timedelta(hours=2),
                        role,
                        reason="Agreed: no safe way to hold it within timescale",
                    ):
                        return
            held_at = london_instant(held_day, time(16, 30))
            outcome = "plan_ends" if review.plan_ends else "plan_continues"
            if not self.plan_decide("hold_review", held_at, outcome=outcome):
                return
            self.out.review_days.append((number, due_day, held_day))
            if review.plan_ends:
                self.out.plan_ended_day = held_day
                return
            now = held_at + timedelta(hours=1)

    def _review_booking(self, day: date) -> dict[str, Any]:
        return {
            "booking": {
                "starts_at": london_instant(day, time(10)),
                "format": "hybrid",
                "venue": "Conference room (simulated)",
                "chair": "Simulated chair",
            }
        }

    def _plan_cycle(self, plan_state: PlanState, now: datetime) -> None:
        """A new review cycle, as the plan workflow plans it at each run."""
        if plan_state.needs_planning:
            schedule = plan(
                self.proc, plan_state.case.start.strategy_discussion, plan_state.anchors()
            )
            plan_state.apply_schedule(schedule, self.calendar)
            plan_rules.start(plan_state, now)
            self.plan_stream.take(plan_state)

    def plan_decide(
        self, kind: str, when: datetime, role: str | None = None, **fields: Any
    ) -> bool:
        plan_state = self.plan_state
        assert plan_state is not None
        if not self.open(when):
            return False
        self.tick(plan_rules.PLAN_PATH, plan_state, when)
        decider = role or self.proc.roles_for(DecisionKind(kind))[0]
        d = plan_rules.PLAN_DECISION.validate_python(
            {"kind": kind, "decided_by": {"user": f"sim-{decider}", "role": decider}, **fields}
        )
        try:
            fx = plan_rules.apply(plan_state, d, when)
        except Refusal as refusal:
            raise RuntimeError(f"{self.s.reference}: {kind} refused: {refusal}") from None
        if fx.replan and not plan_state.needs_planning:
            schedule = plan(
                self.proc, plan_state.case.start.strategy_discussion, plan_state.anchors()
            )
            plan_state.apply_schedule(schedule)
            plan_rules.on_clock(plan_state, when)
        self.plan_stream.take(plan_state)
        if plan_state.needs_planning and plan_state.is_open:
            self._plan_cycle(plan_state, when)
        return True

    def finish(self) -> SimulatedCase:
        """The world stops at the as-at day: the clock catches up, the summaries are written."""
        state, out = self.state, self.out
        decided = [at for at in (state.confirmed_at, state.withdrawn_at) if at is not None]
        out.decided_day = min(decided).astimezone(LONDON).date() if decided else None
        if state.is_open and state.booking is not None:
            out.booked_day = state.booking.starts_at.astimezone(LONDON).date()
        plan_state = self.plan_state
        if plan_state is not None and plan_state.is_open and plan_state.review_booking:
            out.review_booked_day = plan_state.review_booking.starts_at.astimezone(LONDON).date()
        self.tick(case_rules.CASE_PATH, self.state, self.as_of)
        self.case_stream.take(self.state)
        self.case_stream.summary = case_views.record_summary(self.state, self.as_of)
        self.out.batches.append(self.case_stream.batch())
        if self.plan_state is not None:
            self.tick(plan_rules.PLAN_PATH, self.plan_state, self.as_of)
            self.plan_stream.take(self.plan_state)
            self.plan_stream.summary = plan_rules.record_summary(self.plan_state, self.as_of)
            self.out.batches.append(self.plan_stream.batch())
        return self.out


def simulate(
    count: int,
    year: int,
    seed: int,
    procedures: Sequence[Procedure],
    as_of: datetime,
    progress: Callable[[int], None] | None = None,
    prefix: str = "SIM",
) -> Simulation:
    """Draw ``count`` cases and run each through the rules; nothing is written yet."""
    by_id = {p.id: p for p in procedures}
    first = date(year, 1, 1) - timedelta(days=31)
    last = as_of.astimezone(LONDON).date() + timedelta(days=550)
    # One frozen working-day table per procedure for every case: the planning activity makes
    # one per case over a shorter span; the days in it are the same.
    calendars = {p.id: WorkingDayTable.from_calendar(p.calendar, first, last) for p in procedures}
    cases = []
    for script in scripts(count, year, seed, procedures, as_of, prefix):
        procedure = by_id[script.procedure_id]
        cases.append(_Driver(script, procedure, calendars[procedure.id], as_of).run())
        if progress is not None:
            progress(len(cases))
    return Simulation(year=year, seed=seed, as_of=as_of, cases=cases)
