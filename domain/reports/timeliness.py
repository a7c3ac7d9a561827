"""Timeliness, counted the way the DfE counts it: ICPCs within 15 working days, reviews in time.

**ICPCs.** For a period: the ICPCs held in it (by the London date they were held), how many
were held within 15 working days of the strategy discussion, the median working days (with the
25th and 75th percentiles), and the bands. Day 0 is the strategy discussion's own date and a
conference on working day 15 is within (:mod:`domain.calendar`), counted with the authority's
calendar from the case's procedure (weekends, bank holidays and the authority's closures).

The bands are those of the DfE's "Characteristics of children in need" release, table C4
("Section 47s and Initial Child Protection Conferences by local authority"), as published for
the reporting year 2025: duration between the start of the section 47 enquiry and the ICPC of
0-10, 11-15, 16-20 and 21+ working days, with the 25th percentile, median and 75th percentile
(explore-education-statistics.service.gov.uk, data set "C4 Section 47s and Initial Child
Protection Conferences by local authority", 2013 to 2025). Earlier releases and the issue
mention 21-25 and 26+; the current data set publishes one 21+ band, so that is what is used,
and the 0-15 share (81.4% nationally in 2024-25) is the sum of the first two. The DfE counts
from the section 47's actual start date; the procedures make that the strategy discussion's
date (000 action 2: "The date of the Strategy Meeting and the date of initiating the Section 47
Tracker should both be the same"; 003: the strategy discussion's date is "used to calculate
the timescales ... for DfE returns"), so this counts from the strategy discussion. Like the
DfE, a conference dated before its start is left out of the durations (here: listed as a
data-quality exception). Percentiles use the inclusive method (``statistics.quantiles``).

An ICPC withdrawn (the need not confirmed) or stood down for good is not held, so never late:
it is counted apart, as withdrawn in the period.

**Reviews.** Review conferences held in the period, and how many were held by their due date:
the first within 3 months of the ICPC, later ones within 6 months of the conference before
(Working Together), or as the procedure counts them (001: 90 and 181 days): the due date the
plan recorded when the review cycle began.

Split by procedure, area and team where the case carries them ("(not recorded)" otherwise).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, Field

from domain.calendar import past_limit
from domain.procedure import STATUTORY_WORKING_DAYS, Procedure
from domain.reports.facts import (
    ICPC_OUTCOME_EVENTS,
    REVIEW_EVENTS,
    IcpcFacts,
    icpc_facts,
    plan_facts,
    review_due,
)
from domain.reports.history import CaseHistory, Period, Unplaced, london_day, unplaced_by_reason
from domain.reports.tables import csv_text, percent
from domain.reports.workdays import Calendars, unknown_procedure

# (label, first working day, last working day or None for open-ended), as DfE table C4.
BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0-10", 0, 10),
    ("11-15", 11, 15),
    ("16-20", 16, 20),
    ("21+", 21, None),
)
# England, reporting year 2024-25 (DfE C4, 2025): 58,670 of 72,090 ICPCs within 15 working days.
NATIONAL_PERCENT_WITHIN_15 = 81.4
NATIONAL_SOURCE = (
    "DfE, Characteristics of children in need: reporting year 2025, table C4 (England)"
)
SPLITS = ("procedure", "area", "team")
# The events this report reads (the record's query loads no others).
READS = ICPC_OUTCOME_EVENTS | REVIEW_EVENTS
NOT_RECORDED = "(not recorded)"


class IcpcFigures(BaseModel):
    held: int = 0
    within_15: int = 0
    percent_within_15: float | None = None
    median_working_days: float | None = None
    p25_working_days: float | None = None
    p75_working_days: float | None = None
    bands: dict[str, int] = Field(default_factory=lambda: {label: 0 for label, *_ in BANDS})
    late_with_approved_delay: int = 0
    late_without_approval: int = 0


class ReviewFigures(BaseModel):
    held: int = 0
    within_timescale: int = 0
    percent_within_timescale: float | None = None
    first_held: int = 0  # first reviews (3 months after the ICPC)
    first_within: int = 0
    later_held: int = 0  # later reviews (6 months after the conference before)
    later_within: int = 0


class MonthFigures(BaseModel):
    """One month of the period, for a chart against the 15-working-day line."""

    month: str  # YYYY-MM
    label: str
    held: int
    within_15: int
    percent_within_15: float | None


class TimelinessReport(BaseModel):
    period: Period
    icpc: IcpcFigures
    icpc_by: dict[str, dict[str, IcpcFigures]]  # procedure / area / team -> value -> figures
    icpc_by_month: list[MonthFigures]
    withdrawn: int  # ICPCs withdrawn or stood down for good in the period: not late
    reviews: ReviewFigures
    reviews_by: dict[str, dict[str, ReviewFigures]]
    national_percent_within_15: float = NATIONAL_PERCENT_WITHIN_15
    national_source: str = NATIONAL_SOURCE
    unplaced: list[Unplaced]

    @property
    def unplaced_by_reason(self) -> dict[str, int]:
        return unplaced_by_reason(self.unplaced)

    def rows(self) -> list[dict[str, Any]]:
        """One row for the whole, then one per procedure, area and team: ICPCs and reviews."""
        rows = [_row("all", "all", self.icpc, self.reviews)]
        for split in SPLITS:
            icpc, reviews = self.icpc_by.get(split, {}), self.reviews_by.get(split, {})
            for value in sorted(set(icpc) | set(reviews)):
                rows.append(_row(split, value, icpc.get(value, IcpcFigures()), reviews.get(value)))
        return rows

    def to_csv(self) -> str:
        return csv_text(COLUMNS, self.rows())


COLUMNS = [
    "scope",
    "value",
    "icpc_held",
    "icpc_within_15",
    "icpc_percent_within_15",
    "median_working_days",
    "p25_working_days",
    "p75_working_days",
    *(f"band_{label}" for label, *_ in BANDS),
    "late_with_approved_delay",
    "late_without_approval",
    "reviews_held",
    "reviews_within_timescale",
    "reviews_percent_within_timescale",
]


def _row(
    scope: str, value: str, icpc: IcpcFigures, reviews: ReviewFigures | None
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "scope": scope,
        "value": value,
        "icpc_held": icpc.held,
        "icpc_within_15": icpc.within_15,
        "icpc_percent_within_15": icpc.percent_within_15,
        "median_working_days": icpc.median_working_days,
        "p25_working_days": icpc.p25_working_days,
        "p75_working_days": icpc.p75_working_days,
        "late_with_approved_delay": icpc.late_with_approved_delay,
        "late_without_approval": icpc.late_without_approval,
    }
    row.update({f"band_{label}": icpc.bands[label] for label, *_ in BANDS})
    reviews = reviews or ReviewFigures()
    row.update(
        reviews_held=reviews.held,
        reviews_within_timescale=reviews.within_timescale,
        reviews_percent_within_timescale=reviews.percent_within_timescale,
    )
    return row


# --- counting ----------------------------------------------------------------------------------


class _Icpcs:
    def __init__(self) -> None:
        self.days: list[int] = []
        self.approved_late = 0
        self.unapproved_late = 0

    def add(self, working_days: int, facts: IcpcFacts) -> None:
        self.days.append(working_days)
        if working_days > STATUTORY_WORKING_DAYS:
            approved = facts.approved_delay
            covered = approved is not None and (
                approved.proposed is None
                or facts.held_day is None
                or facts.held_day <= approved.proposed
            )
            if covered:
                self.approved_late += 1
            else:
                self.unapproved_late += 1

    def figures(self) -> IcpcFigures:
        days = self.days
        within = sum(1 for d in days if d <= STATUTORY_WORKING_DAYS)
        bands = {
            label: sum(1 for d in days if low <= d and (high is None or d <= high))
            for label, low, high in BANDS
        }
        p25, median, p75 = _quartiles(days)
        return IcpcFigures(
            held=len(days),
            within_15=within,
            percent_within_15=percent(within, len(days)),
            median_working_days=median,
            p25_working_days=p25,
            p75_working_days=p75,
            bands=bands,
            late_with_approved_delay=self.approved_late,
            late_without_approval=self.unapproved_late,
        )


def _quartiles(days: Sequence[int]) -> tuple[float | None, float | None, float | None]:
    if not days:
        return None, None, None
    if len(days) == 1:
        return float(days[0]), float(days[0]), float(days[0])
    p25, median, p75 = statistics.quantiles(days, n=4, method="inclusive")
    return float(p25), float(median), float(p75)


class _Reviews:
    def __init__(self) -> None:
        self.first_held = self.first_within = self.later_held = self.later_within = 0

    def add(self, number: int, within: bool) -> None:
        if number == 1:
            self.first_held += 1
            self.first_within += within
        else:
            self.later_held += 1
            self.later_within += within

    def figures(self) -> ReviewFigures:
        held = self.first_held + self.later_held
        within = self.first_within + self.later_within
        return ReviewFigures(
            held=held,
            within_timescale=within,
            percent_within_timescale=percent(within, held),
            first_held=self.first_held,
            first_within=self.first_within,
            later_held=self.later_held,
            later_within=self.later_within,
        )


def _keys(history: CaseHistory) -> dict[str, str]:
    return {
        "procedure": history.procedure_id,
        "area": history.area or NOT_RECORDED,
        "team": history.team or NOT_RECORDED,
    }


def timeliness(
    histories: Iterable[CaseHistory], period: Period, procedures: Mapping[str, Procedure]
) -> TimelinessReport:
    """The timeliness KPI for ``period``: ICPCs and review conferences held in it."""
    calendars = Calendars(procedures)
    everything, withdrawn = _Icpcs(), 0
    icpc_by: dict[str, dict[str, _Icpcs]] = {split: {} for split in SPLITS}
    months = {(m.start.year, m.start.month): (m, _Icpcs()) for m in period.months()}
    all_reviews = _Reviews()
    reviews_by: dict[str, dict[str, _Reviews]] = {split: {} for split in SPLITS}
    unplaced: list[Unplaced] = []

    def not_placed(history: CaseHistory, reason: str) -> None:
        unplaced.append(
            Unplaced(case_id=history.case_id, case_reference=history.case_reference, reason=reason)
        )

    first, last = period.start, period.end
    for history in histories:
        index = calendars.get(history.procedure_id)
        keys = _keys(history)
        held = london_day(history.icpc_held_at) if history.icpc_held_at else None
        closed = london_day(history.closed_at) if history.closed_at else None
        # Only a case with something in the period is read closely (most are not, in a month).
        if (
            (held is not None and first <= held <= last)
            or first <= history.strategy_day <= last
            or (held is None and closed is not None and first <= closed <= last)
        ):
            facts = icpc_facts(history)
            held_here = period.contains(facts.held_day)
            if facts.problems and (held_here or period.contains(facts.strategy_day)):
                for problem in facts.problems:
                    not_placed(history, problem)
            elif held_here:
                if index is None:
                    not_placed(history, unknown_procedure(history.procedure_id))
                else:
                    assert facts.held_day is not None
                    days = index.between(facts.strategy_day, facts.held_day)
                    month = months[(facts.held_day.year, facts.held_day.month)][1]
                    for counter in (
                        everything,
                        month,
                        *(icpc_by[split].setdefault(keys[split], _Icpcs()) for split in SPLITS),
                    ):
                        counter.add(days, facts)
            if period.contains(facts.withdrawn_day or facts.closed_day):
                withdrawn += 1
        if not history.plan_events:
            continue
        plan = plan_facts(history.plan_events)
        procedure = procedures.get(history.procedure_id)
        for review in plan.reviews:
            if review.held_day is None or not first <= review.held_day <= last:
                continue
            due = review_due(review, plan, held, procedure, index)
            if review.booked_day is None:
                not_placed(history, f"review {review.number} held but no booking recorded")
            elif due is None:
                not_placed(history, f"review {review.number} held with no due date recorded")
            else:
                within = not past_limit(review.held_day, due)
                all_reviews.add(review.number, within)
                for split in SPLITS:
                    reviews_by[split].setdefault(keys[split], _Reviews()).add(review.number, within)

    return TimelinessReport(
        period=period,
        icpc=everything.figures(),
        icpc_by={s: {k: v.figures() for k, v in sorted(by.items())} for s, by in icpc_by.items()},
        icpc_by_month=[
            MonthFigures(
                month=f"{key[0]:04d}-{key[1]:02d}",
                label=month.label,
                held=(f := counter.figures()).held,
                within_15=f.within_15,
                percent_within_15=f.percent_within_15,
            )
            for key, (month, counter) in months.items()
        ],
        withdrawn=withdrawn,
        reviews=all_reviews.figures(),
        reviews_by={
            s: {k: v.figures() for k, v in sorted(by.items())} for s, by in reviews_by.items()
        },
        unplaced=unplaced,
    )
