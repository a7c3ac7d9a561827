"""The bi-monthly audit of strategy-to-ICPC decisions, and the record of each review.

000 action 16: "escalation decisions from Strategy Meeting to ICPC will be routinely audited
(bi-monthly) by area Heads of Service and the Head of Service Safeguarding and the learning
disseminated and used to inform practice".

**The sample.** For a window (two calendar months, normally), per area: the cases whose
strategy-to-ICPC decision was taken in the window, that is the first of: the ICPC confirmed
(``confirm_icpc``), withdrawn or asked to be withdrawn (``withdraw_icpc``), or the convening
sheet received (which confirms the need too). From each area's cases, ``size`` are drawn at
random, reproducibly: the generator is seeded with the text ``"<area>|<first day>|<last
day>"`` (Python's ``random.Random`` seeds a string through SHA-512, so the same area and
window give the same sample on any machine and any run), over the cases in a fixed order
(decision time, then case id). Each sampled decision comes with who took it, in which role,
when, the reason they gave, where the case went next (ICPC held, with or without a plan;
withdrawn; still open) and any reviews already recorded. A case with no area recorded cannot be
given to an area's Head of Service: it is listed as not placed.

**The review.** A Head of Service's review of one decision (reviewer, the date, the finding)
is recorded in the case record as an ``audit_review`` event of the case's ``review`` stream
(``Stream.REVIEW``): a stream of its own, because the case's workflows own the positions of
theirs. It is not the product's audit trail of who saw and did what (``records/audit.py``). Recording the same
review again (same reviewer, date and finding) writes nothing: its key is in the event's data.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from domain.case_record import RecordedEvent
from domain.decisions import Decider
from domain.reports.facts import CASE_EVENTS, icpc_facts, who
from domain.reports.history import (
    CaseHistory,
    Event,
    Period,
    Unplaced,
    london_day,
    unplaced_by_reason,
)
from domain.reports.tables import csv_text

AUDIT_REVIEW_EVENT = "audit_review"
DEFAULT_SAMPLE_SIZE = 10
# The events this report reads (the record's query loads no others; review entries always).
READS = CASE_EVENTS
DECISION_WORDS = {
    "confirm_icpc": "ICPC confirmed",
    "withdraw_icpc": "ICPC withdrawn",
    "receive_convening_sheet": "convening sheet received (ICPC confirmed)",
}


class RecordedReview(BaseModel):
    reviewer: str  # sign-in id (role)
    reviewed_on: date
    finding: str


class AuditDecision(BaseModel):
    case_id: str
    case_reference: str
    procedure_id: str
    area: str
    team: str | None
    strategy_discussion: date
    decision: str  # confirm_icpc, withdraw_icpc or receive_convening_sheet
    decision_words: str
    decided_at: datetime
    decided_by: str  # sign-in id (role)
    reason: str  # as the decider gave it ("" when none was given)
    then: str  # where the case went: held (plan / no plan), withdrawn, still open
    reviews: list[RecordedReview]


class AuditSample(BaseModel):
    window: Period
    size: int  # the most drawn per area
    population: dict[str, int]  # area -> decisions taken in the window
    seeds: dict[str, str]  # area -> the seed text its draw used
    by_area: dict[str, list[AuditDecision]]
    unplaced: list[Unplaced]

    @property
    def unplaced_by_reason(self) -> dict[str, int]:
        return unplaced_by_reason(self.unplaced)

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                **d.model_dump(exclude={"reviews"}),
                "decided_at": d.decided_at.isoformat(),
                "reviews": " | ".join(
                    f"{r.reviewed_on.isoformat()} {r.reviewer}: {r.finding}" for r in d.reviews
                ),
            }
            for decisions in self.by_area.values()
            for d in decisions
        ]

    def to_csv(self) -> str:
        return csv_text(COLUMNS, self.rows())


COLUMNS = [
    "area",
    "case_reference",
    "procedure_id",
    "team",
    "strategy_discussion",
    "decision_words",
    "decided_at",
    "decided_by",
    "reason",
    "then",
    "reviews",
]


def seed_text(area: str, window: Period) -> str:
    return f"{area}|{window.start.isoformat()}|{window.end.isoformat()}"


def audit_sample(
    histories: Iterable[CaseHistory], window: Period, size: int = DEFAULT_SAMPLE_SIZE
) -> AuditSample:
    """A reproducible random sample of each area's strategy-to-ICPC decisions in ``window``."""
    if size < 1:
        raise ValueError("the sample size is at least 1")
    candidates: dict[str, list[AuditDecision]] = {}
    unplaced: list[Unplaced] = []
    for history in histories:
        facts = icpc_facts(history)
        decision = facts.decision
        if decision is None or not window.contains(london_day(decision.at)):
            continue
        if not history.area:
            unplaced.append(
                Unplaced(
                    case_id=history.case_id,
                    case_reference=history.case_reference,
                    reason="no area recorded: the sample is drawn per area",
                )
            )
            continue
        candidates.setdefault(history.area, []).append(
            AuditDecision(
                case_id=history.case_id,
                case_reference=history.case_reference,
                procedure_id=history.procedure_id,
                area=history.area,
                team=history.team,
                strategy_discussion=facts.strategy_day,
                decision=decision.event,
                decision_words=DECISION_WORDS.get(decision.event, decision.event),
                decided_at=decision.at,
                decided_by=who(decision.by),
                reason=decision.reason,
                then=_then(history, facts.held_day, facts.withdrawn_day or facts.closed_day),
                reviews=recorded_reviews(history.review_events),
            )
        )
    by_area, seeds = {}, {}
    for area in sorted(candidates):
        pool = sorted(candidates[area], key=lambda d: (d.decided_at, d.case_id))
        seeds[area] = seed_text(area, window)
        drawn = random.Random(seeds[area]).sample(pool, min(size, len(pool)))
        by_area[area] = sorted(drawn, key=lambda d: (d.decided_at, d.case_id))
    return AuditSample(
        window=window,
        size=size,
        population={area: len(pool) for area, pool in sorted(candidates.items())},
        seeds=seeds,
        by_area=by_area,
        unplaced=unplaced,
    )


def _then(history: CaseHistory, held: date | None, ended: date | None) -> str:
    if held is not None:
        plan = (
            "a child protection plan" if history.outcome == "child_protection_plan" else "no plan"
        )
        return f"ICPC held on {held.isoformat()}: {plan}"
    if ended is not None:
        return f"{history.stage.replace('_', ' ')} on {ended.isoformat()}"
    return "still open"


def recorded_reviews(events: Iterable[Event]) -> list[RecordedReview]:
    return [
        RecordedReview(
            reviewer=who(e.by),
            reviewed_on=date.fromisoformat(str(e.data.get("reviewed_on") or london_day(e.at))),
            finding=e.reason,
        )
        for e in events
        if e.event == AUDIT_REVIEW_EVENT
    ]


def audit_review(
    reviewer: Decider, reviewed_on: date, finding: str, now: datetime
) -> tuple[RecordedEvent, str]:
    """The event that records one review of a case's decision, and its idempotency key.

    Its position is a placeholder: the record gives it the next one of the review stream.
    """
    finding = finding.strip()
    if not finding:
        raise ValueError("a review needs its finding")
    if len(finding) > 4000:
        raise ValueError("a finding is at most 4,000 characters")
    if reviewed_on > london_day(now):
        raise ValueError(f"the review date {reviewed_on.isoformat()} is in the future")
    digest = hashlib.sha256(finding.encode("utf-8")).hexdigest()[:32]
    key = f"{AUDIT_REVIEW_EVENT}/{reviewer.user}/{reviewed_on.isoformat()}/{digest}"
    event = RecordedEvent(
        position=0,
        at=now,
        event=AUDIT_REVIEW_EVENT,
        by=reviewer,
        summary=(
            f"Strategy-to-ICPC decision reviewed on {reviewed_on:%d %B %Y} by {reviewer.user}"
            " (000 action 16)"
        ),
        reason=finding,
        data={"reviewed_on": reviewed_on.isoformat(), "key": key},
    )
    return event, key
