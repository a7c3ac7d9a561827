"""The capacity forecast: conferences expected each week for the next four weeks, against
what the service can hold (000 action 3: the likelihood given at the strategy discussion "will
allow the CPCS to identify and plan for any capacity problems").

Weeks run Monday to Sunday; the first is the week of the as-at day, counted from that day.

What each open case adds, in the week of its date:

- an ICPC **booked** for a date from the as-at day on: 1, on the booked date;
- an ICPC not booked yet: on its due date (working day 15), or the date an approved delay
  allows; already past due, in the first week. It counts 1 once the need is confirmed (a
  confirmation or a convening sheet), else the weight of the social worker's likelihood;
- a review conference booked: 1 on its date; not booked: 1 on its due date (past due: the
  first week). Reviews are statutory while the plan lasts, so they count whole.

**The likelihood weights** are the share of the authority's own settled cases (an ICPC held,
or the case withdrawn or stood down for good) given that likelihood at the start that went on
to an ICPC, once at least :data:`MIN_SETTLED` cases with that likelihood were settled in the
last six months (:data:`SETTLED_WITHIN`): the social worker's word is only as good as its track
record, and the record has it. Until then, defaults that read the three words plainly: likely
0.8 (much more often than not), possible 0.5 (even), unlikely 0.2 (seldom, not never: an
"unlikely" case that is then confirmed counts whole). Nationally about 31% of section 47
enquiries lead to an ICPC (72,100 ICPCs from 230,590 enquiries in 2024-25, DfE C4), so many
enquiries should be marked unlikely; a forecast built on the defaults errs towards too many
conferences, the safer side for planning. Each weight says where it came from.

A procedure may declare ``[capacity]`` (chairs and rooms a week, the lower counts,
:class:`domain.procedure.Capacity`); the total has a capacity only when every procedure in it
declares one. A booked date already passed with no conference recorded is a data-quality
exception, not a forecast.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel

from domain.procedure import Procedure
from domain.reports.facts import CASE_EVENTS, REVIEW_EVENTS, icpc_facts, plan_facts, review_due
from domain.reports.history import CaseHistory, Unplaced, london_day, unplaced_by_reason
from domain.reports.tables import csv_text
from domain.reports.workdays import Calendars

DEFAULT_WEIGHTS = {"likely": 0.8, "possible": 0.5, "unlikely": 0.2}
MIN_SETTLED = 30
SETTLED_WITHIN = timedelta(days=182)  # about six months: recent practice, enough cases
WEEKS = 4
# The events this report reads (the record's query loads no others).
READS = CASE_EVENTS | REVIEW_EVENTS


class Weight(BaseModel):
    likelihood: str
    weight: float
    source: str  # "default" or "record: N of M settled cases went to an ICPC"


class WeekForecast(BaseModel):
    week_start: date  # a Monday
    week_end: date  # its Sunday
    icpc_booked: int = 0
    icpc_expected: float = 0.0  # not booked yet, weighted
    reviews_booked: int = 0
    reviews_due: int = 0  # not booked yet
    expected: float = 0.0  # all of the above
    capacity: int | None = None  # conferences the service can hold that week, if declared
    headroom: float | None = None  # capacity less expected (negative: over capacity)


class CapacityForecast(BaseModel):
    as_of: date
    weights: list[Weight]
    total: list[WeekForecast]
    by_procedure: dict[str, list[WeekForecast]]
    unplaced: list[Unplaced]

    @property
    def unplaced_by_reason(self) -> dict[str, int]:
        return unplaced_by_reason(self.unplaced)

    def rows(self) -> list[dict[str, Any]]:
        rows = [{"procedure": "all", **w.model_dump()} for w in self.total]
        for procedure, weeks in self.by_procedure.items():
            rows += [{"procedure": procedure, **w.model_dump()} for w in weeks]
        return rows

    def to_csv(self) -> str:
        return csv_text(COLUMNS, self.rows())


COLUMNS = ["procedure", *WeekForecast.model_fields]


def likelihood_weights(
    histories: Iterable[CaseHistory], since: date | None = None
) -> dict[str, Weight]:
    """Each likelihood's weight: the record's own conversion once enough cases are settled
    (an ICPC held, or the case withdrawn or stood down for good, on or after ``since``)."""
    settled: dict[str, list[bool]] = {key: [] for key in DEFAULT_WEIGHTS}
    for history in histories:
        if history.icpc_held_at is not None:
            went, on = True, london_day(history.icpc_held_at)
        elif history.stage in ("withdrawn", "closed") and history.closed_at is not None:
            went, on = False, london_day(history.closed_at)
        else:
            continue
        likelihood = history.likelihood or "likely"
        if likelihood in settled and (since is None or on >= since):
            settled[likelihood].append(went)
    weights = {}
    for likelihood, outcomes in settled.items():
        if len(outcomes) >= MIN_SETTLED:
            held = sum(outcomes)
            weights[likelihood] = Weight(
                likelihood=likelihood,
                weight=round(held / len(outcomes), 3),
                source=f"record: {held} of {len(outcomes)} settled cases went to an ICPC",
            )
        else:
            weights[likelihood] = Weight(
                likelihood=likelihood,
                weight=DEFAULT_WEIGHTS[likelihood],
                source=f"default (only {len(outcomes)} settled cases; {MIN_SETTLED} needed)",
            )
    return weights


def capacity_forecast(
    histories: Iterable[CaseHistory],
    procedures: Mapping[str, Procedure],
    today: date,
    weeks: int = WEEKS,
    settled_within: timedelta = SETTLED_WITHIN,
) -> CapacityForecast:
    """Conferences expected each week of the ``weeks`` from the week of ``today``; the
    likelihood weights from the cases settled in the ``settled_within`` before today."""
    histories = list(histories)
    weights = likelihood_weights(histories, today - settled_within)
    first = today - timedelta(days=today.weekday())
    ends = first + timedelta(weeks=weeks)
    calendars = Calendars(procedures)
    counts: dict[str, list[WeekForecast]] = {}
    unplaced: list[Unplaced] = []

    def week(procedure_id: str, day: date) -> WeekForecast | None:
        day = max(day, today)  # past due: in the first week
        if day >= ends:
            return None
        weeks_of = counts.setdefault(procedure_id, _weeks(first, weeks))
        return weeks_of[(day - first).days // 7]

    def not_placed(history: CaseHistory, reason: str) -> None:
        unplaced.append(
            Unplaced(case_id=history.case_id, case_reference=history.case_reference, reason=reason)
        )

    for history in histories:
        if not history.is_open or history.strategy_day > today:
            continue
        if history.icpc_held_at is None:
            facts = icpc_facts(history)
            if facts.problems:
                for problem in facts.problems:
                    not_placed(history, problem)
                continue
            if facts.booking is not None:
                if facts.booking < today:
                    not_placed(history, "ICPC booked date passed with no conference recorded")
                elif (slot := week(history.procedure_id, facts.booking)) is not None:
                    slot.icpc_booked += 1
                continue
            delay = facts.approved_delay
            expected = delay.proposed if delay and delay.proposed else facts.deadline_day
            assert expected is not None  # no deadline is a problem, handled above
            confirmed = facts.confirmed is not None
            weight = 1.0 if confirmed else weights[_likelihood(history)].weight
            if (slot := week(history.procedure_id, expected)) is not None:
                slot.icpc_expected += weight
            continue
        if not history.plan_events:
            continue
        plan = plan_facts(history.plan_events)
        review = plan.current
        if review is None:
            continue
        if review.booked_day is not None:
            if review.booked_day < today:
                not_placed(history, f"review {review.number} booked date passed with none recorded")
            elif (slot := week(history.procedure_id, review.booked_day)) is not None:
                slot.reviews_booked += 1
            continue
        index = calendars.get(history.procedure_id)
        procedure = procedures.get(history.procedure_id)
        due = review_due(review, plan, london_day(history.icpc_held_at), procedure, index)
        if due is None:
            not_placed(history, f"review {review.number} has no due date recorded")
        elif (slot := week(history.procedure_id, due)) is not None:
            slot.reviews_due += 1

    by_procedure = {}
    for procedure_id, forecast in sorted(counts.items()):
        declared = procedures.get(procedure_id)
        capacity = (
            declared.capacity.conferences_per_week if declared and declared.capacity else None
        )
        by_procedure[procedure_id] = [_finish(w, capacity) for w in forecast]
    total = _weeks(first, weeks)
    capacities = [forecast[0].capacity for forecast in by_procedure.values()]
    whole = (
        sum(c for c in capacities if c is not None)
        if all(c is not None for c in capacities) and capacities
        else None
    )
    for i, slot in enumerate(total):
        for forecast in by_procedure.values():
            slot.icpc_booked += forecast[i].icpc_booked
            slot.icpc_expected += forecast[i].icpc_expected
            slot.reviews_booked += forecast[i].reviews_booked
            slot.reviews_due += forecast[i].reviews_due
        total[i] = _finish(slot, whole)
    return CapacityForecast(
        as_of=today,
        weights=[weights[k] for k in DEFAULT_WEIGHTS],
        total=total,
        by_procedure=by_procedure,
        unplaced=unplaced,
    )


def _likelihood(history: CaseHistory) -> str:
    value = history.likelihood
    return value if value in DEFAULT_WEIGHTS else "likely"


def _weeks(first: date, weeks: int) -> list[WeekForecast]:
    return [
        WeekForecast(
            week_start=first + timedelta(weeks=n), week_end=first + timedelta(weeks=n, days=6)
        )
        for n in range(weeks)
    ]


def _finish(week: WeekForecast, capacity: int | None) -> WeekForecast:
    expected = round(
        week.icpc_booked + week.icpc_expected + week.reviews_booked + week.reviews_due, 2
    )
    return week.model_copy(
        update={
            "icpc_expected": round(week.icpc_expected, 2),
            "expected": expected,
            "capacity": capacity,
            "headroom": None if capacity is None else round(capacity - expected, 2),
        }
    )
