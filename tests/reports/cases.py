"""Hand-made case histories for the report tests, in the words the decision rules record.

Every reference and user here is invented. Each builder call appends the event the case or plan
path records for that decision, with the summary it writes and the dates it keeps in its data
(``domain.case_rules``, ``domain.plan_rules``), so the reports read them as they read the
record. A ``Case(..., worded=True)`` records its decisions as they were recorded before the
decisions kept their dates in their data: the summary's wording alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from domain.calendar import LONDON, london_instant
from domain.case_record import RecordedEvent
from domain.decisions import Decider
from domain.notices import when
from domain.reports import CaseHistory
from procedures import get_procedure

BCT = "bct-management-note"
CALENDAR = get_procedure(BCT).calendar


def at(day: date, hour: int = 12, minute: int = 0) -> datetime:
    return london_instant(day, time(hour, minute))


def by(role: str) -> Decider:
    return Decider(user=f"user-{role.replace('_', '-')}", role=role)


@dataclass
class Case:
    """One case's path, built decision by decision."""

    reference: str
    strategy_day: date
    area: str | None = "north"
    team: str | None = "north-1"
    procedure_id: str = BCT
    likelihood: str = "likely"
    events: list[RecordedEvent] = field(default_factory=list)
    plan_events: list[RecordedEvent] = field(default_factory=list)
    review_events: list[RecordedEvent] = field(default_factory=list)
    stage: str = "awaiting_confirmation"
    held_at: datetime | None = None
    outcome: str | None = None
    closed_at: datetime | None = None
    worded: bool = False  # the wording alone, as recorded before decisions kept their dates

    def __post_init__(self) -> None:
        self.strategy = at(self.strategy_day, 10)

    @property
    def deadline_day(self) -> date:
        return CALENDAR.add_working_days(self.strategy_day, 15)

    def _add(
        self,
        when_: datetime,
        event: str,
        summary: str,
        role: str | None = None,
        reason: str = "",
        data: dict[str, Any] | None = None,
        plan: bool = False,
    ) -> Case:
        stream = self.plan_events if plan else self.events
        if self.worded and event != "case_started":
            data = None
        stream.append(
            RecordedEvent(
                position=len(stream),
                at=when_,
                event=event,
                by=by(role) if role else None,
                summary=summary,
                reason=reason,
                data=data or {},
            )
        )
        return self

    # --- the ICPC --------------------------------------------------------------------------

    def started(self, day: date | None = None) -> Case:
        registered = at(day, 9) if day else at(self.strategy_day, 11)
        late = ""
        if day and day > self.strategy_day:
            late = f" (registered on working day {CALENDAR.working_days_between(self.strategy_day, day)})"
        return self._add(
            registered, "case_started", f"Case opened{late}", data={"likelihood": self.likelihood}
        )

    def confirmed(self, day: date) -> Case:
        self.stage = "awaiting_booking"
        return self._add(at(day), "confirm_icpc", "ICPC confirmed", "social_worker")

    def sheet(self, day: date) -> Case:
        return self._add(
            at(day, 13),
            "receive_convening_sheet",
            "Convening sheet received with 2 invitees",
            "cp_conference_service",
        )

    def withdrawn(
        self, day: date, reason: str = "Risk managed through a child in need plan"
    ) -> Case:
        self.stage = "withdrawn"
        self.closed_at = at(day, 15)
        data = {"withdrawal": {"status": "withdrawn"}}
        return self._add(
            self.closed_at, "withdraw_icpc", "ICPC withdrawn", "social_worker", reason, data
        )

    def withdrawal_requested(self, day: date, reason: str = "Family moved away") -> Case:
        """A withdrawal after booking that waits for the chair's agreement (004)."""
        summary = "Withdrawal requested; the conference stays booked until a chair agrees"
        data = {"withdrawal": {"status": "requested"}}
        return self._add(at(day, 14), "withdraw_icpc", summary, "team_manager", reason, data)

    def booked(self, made: date, for_day: date, kind: str = "book_conference") -> Case:
        self.stage = "booked"
        verb = "rebooked" if kind == "rebook_conference" else "booked"
        summary = f"Conference {verb} for {when(at(for_day, 10))} (hybrid)"
        data = {"booking": {"starts_at": at(for_day, 10).isoformat(), "format": "hybrid"}}
        return self._add(at(made, 15), kind, summary, "cp_conference_service", data=data)

    def stood_down(self, day: date, reason: str = "Chair taken ill") -> Case:
        self.stage = "stood_down"
        summary = "Conference stood down: Conference cannot go ahead on the booked date"
        return self._add(at(day, 12), "stand_down", summary, "cp_conference_service", reason)

    def delay(
        self,
        day: date,
        to: date,
        reason: str,
        decision: str | None = "approve_delay",
        comment: str = "Agreed: the safety plan manages the risk",
        late_by_day: int | None = None,  # the day requests are due by, when this one is late
    ) -> Case:
        working_day = CALENDAR.working_days_between(self.strategy_day, day)
        summary = f"Delay requested to {to:%d %B %Y}"
        if late_by_day is not None:
            summary += f" (late: working day {working_day}, due by day {late_by_day})"
        asked = {
            "proposed_date": to.isoformat(),
            "late": late_by_day is not None,
            "working_day": working_day,
            "request_by_working_day": late_by_day,
        }
        self._add(at(day, 9), "request_delay", summary, "team_manager", reason, {"delay": asked})
        if decision:
            verdict = "approved" if decision == "approve_delay" else "rejected"
            decided = {"delay": {"proposed_date": to.isoformat(), "status": verdict}}
            self._add(
                at(day, 11), decision, f"Delay {verdict}", "area_head_of_service", comment, decided
            )
        return self

    def held(self, day: date, plan: bool = True, hour: int = 10) -> Case:
        self.held_at = at(day, hour)
        self.outcome = "child_protection_plan" if plan else "no_plan"
        self.stage = "held"
        if not plan:
            self.closed_at = self.held_at
        words = "a child protection plan" if plan else "no plan"
        summary = f"Conference held on {when(self.held_at)}: {words}"
        data = {"conference": {"held_at": self.held_at.isoformat(), "outcome": self.outcome}}
        return self._add(
            at(day, 16), "hold_conference", summary, "cp_conference_service", data=data
        )

    # --- the plan ------------------------------------------------------------------------

    def review_cycle(self, number: int, due: date, on: date) -> Case:
        if number == 1:
            self._add(at(on, 17), "plan_started", "Child protection plan started", plan=True)
        summary = (
            f"Review {number} falls due by {when(at(due, 17))} (3 months after the conference)"
        )
        data = {"review": {"number": number, "due": at(due, 17).isoformat()}}
        return self._add(at(on, 17), "review_cycle", summary, data=data, plan=True)

    def book_review(self, number: int, made: date, for_day: date) -> Case:
        summary = f"Review {number} booked for {when(at(for_day, 10))}"
        booked = at(for_day, 10).isoformat()
        data = {"review": {"number": number, "booked_for": booked, "to_consider_ending": False}}
        return self._add(
            at(made, 17), "book_review", summary, "cp_conference_service", data=data, plan=True
        )

    def move_review(
        self, number: int, made: date, to: date, reason: str, agreed: bool = True
    ) -> Case:
        summary = (
            f"Move of review {number} to {when(at(to, 10))} requested (OUT OF TIMESCALE);"
            " needs the agreement of an area head of service"
        )
        move = {"to": at(to, 10).isoformat(), "out_of_timescale": True, "took_effect": False}
        asked = {"review": {"number": number}, "move": move}
        self._add(
            at(made, 11),
            "request_review_move",
            summary,
            "cp_conference_service",
            reason,
            asked,
            plan=True,
        )
        if agreed:
            summary = (
                "An area head of service agreed to the move; review"
                f" {number} moved to {when(at(to, 10))} (out of timescale, agreed)"
            )
            moved = {
                "review": {"number": number, "booked_for": move["to"]},
                "move": {**move, "took_effect": True},
            }
            self._add(
                at(made, 14),
                "approve_review_move",
                summary,
                "area_head_of_service",
                "Agreed: no chair within timescale",
                moved,
                plan=True,
            )
        return self

    def hold_review(self, number: int, day: date, late: bool = False, ends: bool = False) -> Case:
        summary = f"Review {number} held on {when(at(day, 10))}" + (
            " (out of timescale)" if late else ""
        )
        summary += ": the plan ends" if ends else ": the plan continues"
        if ends:
            self.closed_at = at(day, 16)
            self.stage = "ended"
        held = {
            "number": number,
            "held_at": at(day, 10).isoformat(),
            "out_of_timescale": late,
            "plan_ends": ends,
        }
        return self._add(
            at(day, 16),
            "hold_review",
            summary,
            "cp_conference_service",
            data={"review": held},
            plan=True,
        )

    # --- as the record holds it ----------------------------------------------------------

    def history(self) -> CaseHistory:
        return CaseHistory(
            case_id=f"icpc-{self.procedure_id}-{self.reference}-{self.strategy_day:%Y%m%d}",
            case_reference=self.reference,
            procedure_id=self.procedure_id,
            strategy_discussion=self.strategy,
            icpc_deadline=london_instant(self.deadline_day, time(17)),
            team=self.team,
            area=self.area,
            stage=self.stage,
            is_open=self.closed_at is None,
            icpc_held_at=self.held_at,
            outcome=self.outcome,
            closed_at=self.closed_at,
            events=list(self.events),
            plan_events=list(self.plan_events),
            review_events=list(self.review_events),
        )


def london(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=LONDON)
