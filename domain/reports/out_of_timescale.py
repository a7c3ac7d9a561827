"""The monthly out-of-timescale lists: every ICPC and every review conference held late, or
still not held past its due date, with the reason recorded and who agreed to it.

001 step 16: "a list of all out of timescales ICPCs will be collated ... and the reason
identified. This list will be shared by the Ops Manager (CP) to all relevant Area Managers on
a monthly basis"; step 20: the same for review conferences (RCPC). The two lists are kept
apart.

For a month, as at its last day (or today, for the month under way):

- a conference **held late**: held in the month after its due date (the ICPC's working day 15;
  a review's due date as the plan recorded it);
- a conference **not held**: due before the as-at day, not held by then, and the case neither
  withdrawn nor stood down for good by then (a withdrawn ICPC is not late: it is not needed).
  A case overdue for months is listed each month until it is held.

Each row carries the reason recorded for the delay (the request's reason), its status, the
approver (sign-in id and role) and their comment: for an ICPC the delay request and its
approval (000 actions 7-8, 001 steps 13-14), for a review the move out of timescale and the
agreements it needed (001 step 19). Lateness is in working days after the due date, by the
authority's calendar. The record is read as it stood on the as-at day: a delay asked for, or a
conference held, after it does not change that month's list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel

from domain.calendar import past_limit
from domain.procedure import Procedure
from domain.reports.facts import (
    ICPC_OUTCOME_EVENTS,
    REVIEW_EVENTS,
    DelayFacts,
    IcpcFacts,
    PlanFacts,
    ReviewFacts,
    icpc_facts,
    plan_facts,
    review_due,
    who,
)
from domain.reports.history import (
    CaseHistory,
    Period,
    Unplaced,
    london_day,
    unplaced_by_reason,
)
from domain.reports.tables import csv_text
from domain.reports.workdays import Calendars, WorkingDayIndex, unknown_procedure

NOT_RECORDED = "(not recorded)"
# The events this report reads (the record's query loads no others): the start (registered
# late), how the ICPC went, and the reviews.
READS = frozenset({"case_started"}) | ICPC_OUTCOME_EVENTS | REVIEW_EVENTS


class LateConference(BaseModel):
    conference: Literal["ICPC", "RCPC"]
    case_id: str
    case_reference: str
    procedure_id: str
    area: str
    team: str
    review_number: int | None = None  # RCPC: 1 is the first review after the ICPC
    strategy_discussion: date
    due: date
    booked: date | None = None  # the date booked now, if any
    held: date | None = None  # held in the month (held late); None: not held by the as-at day
    status: Literal["held late", "not held"]
    working_days_late: int
    reason: str = ""  # the reason recorded for going out of timescale ("" when none was)
    approval: Literal["approved", "rejected", "pending", "none"] = "none"
    approver: str = ""  # who approved or rejected it: sign-in id (role); several with "; "
    approver_comment: str = ""
    registered_working_day: int | None = None  # ICPC: the case was registered late, on this day


class OutOfTimescaleReport(BaseModel):
    month: Period
    as_of: date
    icpc: list[LateConference]
    rcpc: list[LateConference]
    unplaced: list[Unplaced]

    @property
    def unplaced_by_reason(self) -> dict[str, int]:
        return unplaced_by_reason(self.unplaced)

    @property
    def areas(self) -> list[str]:
        return sorted({row.area for row in [*self.icpc, *self.rcpc]})

    def for_area(self, area: str) -> OutOfTimescaleReport:
        """The lists one area's managers receive (unplaced cases: those of the area)."""
        return self.model_copy(
            update={
                "icpc": [r for r in self.icpc if r.area == area],
                "rcpc": [r for r in self.rcpc if r.area == area],
            }
        )

    def icpc_csv(self) -> str:
        return csv_text(ICPC_COLUMNS, (r.model_dump() for r in self.icpc))

    def rcpc_csv(self) -> str:
        return csv_text(RCPC_COLUMNS, (r.model_dump() for r in self.rcpc))


ICPC_COLUMNS = [
    "case_reference",
    "procedure_id",
    "area",
    "team",
    "strategy_discussion",
    "due",
    "booked",
    "held",
    "status",
    "working_days_late",
    "reason",
    "approval",
    "approver",
    "approver_comment",
    "registered_working_day",
]
RCPC_COLUMNS = [
    "case_reference",
    "procedure_id",
    "area",
    "team",
    "review_number",
    "due",
    "booked",
    "held",
    "status",
    "working_days_late",
    "reason",
    "approval",
    "approver",
    "approver_comment",
]


def out_of_timescale(
    histories: Iterable[CaseHistory],
    month: Period,
    procedures: Mapping[str, Procedure],
    today: date,
) -> OutOfTimescaleReport:
    """The month's two lists, as at the month's last day (or ``today`` if sooner)."""
    as_of = min(month.end, today)
    calendars = Calendars(procedures)
    icpc: list[LateConference] = []
    rcpc: list[LateConference] = []
    unplaced: list[Unplaced] = []
    for history in histories:
        if history.strategy_day > as_of:
            continue
        index = calendars.get(history.procedure_id)
        held = london_day(history.icpc_held_at) if history.icpc_held_at else None
        common = _common(history)
        if held is None or held >= month.start:  # held before the month: not in its ICPC list
            facts = icpc_facts(history)
            late = _icpc_late(facts, month, as_of)
            if facts.problems:
                if late or month.contains(facts.strategy_day) or month.contains(facts.held_day):
                    unplaced += [_unplaced(history, problem) for problem in facts.problems]
            elif late and index is None:
                unplaced.append(_unplaced(history, unknown_procedure(history.procedure_id)))
            elif late and index is not None:
                icpc.append(_icpc_row(facts, late, as_of, index, common))
        if not history.plan_events:
            continue
        plan = plan_facts(history.plan_events)
        procedure = procedures.get(history.procedure_id)
        for review in plan.reviews:
            due = review_due(review, plan, held, procedure, index)
            status = _review_late(review, plan, due, month, as_of)
            if status is None:
                continue
            if due is None or index is None:
                reason = f"review {review.number} has no due date recorded"
                unplaced.append(_unplaced(history, reason))
                continue
            rcpc.append(_review_row(review, due, status, as_of, index, common))
    return OutOfTimescaleReport(
        month=month,
        as_of=as_of,
        icpc=sorted(icpc, key=_order),
        rcpc=sorted(rcpc, key=_order),
        unplaced=unplaced,
    )


def _common(history: CaseHistory) -> dict[str, Any]:
    return {
        "case_id": history.case_id,
        "case_reference": history.case_reference,
        "procedure_id": history.procedure_id,
        "area": history.area or NOT_RECORDED,
        "team": history.team or NOT_RECORDED,
        "strategy_discussion": history.strategy_day,
    }


def _order(row: LateConference) -> tuple[str, int, str, int]:
    """By area (each area's managers read their own), the latest first, then reference."""
    return (row.area, -row.working_days_late, row.case_reference, row.review_number or 0)


def _unplaced(history: CaseHistory, reason: str) -> Unplaced:
    return Unplaced(case_id=history.case_id, case_reference=history.case_reference, reason=reason)


# --- the ICPC -----------------------------------------------------------------------------------


def _icpc_late(facts: IcpcFacts, month: Period, as_of: date) -> str | None:
    due = facts.deadline_day
    if due is None:
        return None
    if month.contains(facts.held_day) and facts.held_by(as_of):
        assert facts.held_day is not None
        return "held late" if past_limit(facts.held_day, due) else None
    if facts.held_by(as_of) or facts.ended_by(as_of):
        return None
    return "not held" if past_limit(as_of, due) else None


def _icpc_row(
    facts: IcpcFacts, status: str, as_of: date, index: WorkingDayIndex, common: dict[str, Any]
) -> LateConference:
    assert facts.deadline_day is not None
    held = facts.held_day if status == "held late" else None
    late = index.between(facts.deadline_day, held or as_of)
    delays = [d for d in facts.delays if london_day(d.requested.at) <= as_of]
    chosen = _delay_as_of(delays, as_of)
    fields: dict[str, Any] = {}
    if chosen is not None:
        decided = chosen.decision if _decided_by(chosen, as_of) else None
        fields = {
            "reason": chosen.requested.reason,
            "approval": chosen.status if decided else "pending",
            "approver": who(decided.by) if decided else "",
            "approver_comment": decided.reason if decided else "",
        }
    registered_day = facts.registered_day
    registered = index.between(facts.strategy_day, registered_day) if registered_day else None
    return LateConference(
        conference="ICPC",
        due=facts.deadline_day,
        booked=facts.booking,
        held=held,
        status=status,
        working_days_late=late,
        registered_working_day=registered,
        **common,
        **fields,
    )


def _decided_by(delay: DelayFacts, as_of: date) -> bool:
    return delay.decision is not None and london_day(delay.decision.at) <= as_of


def _delay_as_of(delays: list[DelayFacts], as_of: date) -> DelayFacts | None:
    """The delay that speaks for the case: the latest approved by then, else the latest asked."""
    approved = [d for d in delays if d.status == "approved" and _decided_by(d, as_of)]
    return approved[-1] if approved else (delays[-1] if delays else None)


# --- review conferences ------------------------------------------------------------------------


def _review_late(
    review: ReviewFacts, plan: PlanFacts, due: date | None, month: Period, as_of: date
) -> str | None:
    held = review.held_day if review.held_day is not None and review.held_day <= as_of else None
    if held is not None:
        if not month.contains(held):
            return None
        return (
            "held late"
            if (due is None and review.marked_out_of_timescale)
            or (due is not None and past_limit(held, due))
            else None
        )
    if plan.ended_day is not None and plan.ended_day <= as_of:
        return None
    return "not held" if due is not None and past_limit(as_of, due) else None


def _review_row(
    review: ReviewFacts,
    due: date,
    status: str,
    as_of: date,
    index: WorkingDayIndex,
    common: dict[str, Any],
) -> LateConference:
    held = review.held_day if status == "held late" else None
    moves = [m for m in review.moves if m.out_of_timescale and london_day(m.requested.at) <= as_of]
    fields: dict[str, Any] = {}
    if moves:
        move = next((m for m in reversed(moves) if m.took_effect), moves[-1])
        agreed = [a for a in move.agreements if london_day(a.at) <= as_of]
        effective = move.took_effect and (
            not move.agreements or len(agreed) == len(move.agreements)
        )
        fields = {
            "reason": move.requested.reason,
            "approval": "approved" if effective else "pending",
            "approver": "; ".join(who(a.by) for a in agreed),
            "approver_comment": "; ".join(a.reason for a in agreed if a.reason),
        }
    return LateConference(
        conference="RCPC",
        review_number=review.number,
        due=due,
        booked=review.booked_day,
        held=held,
        status=status,
        working_days_late=index.between(due, held or as_of),
        **common,
        **fields,
    )
