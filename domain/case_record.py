"""What the case record keeps for good: each path's events and one summary per case.

Temporal forgets a closed workflow after the namespace's retention; the record does not. These
are the plain shapes the workflows hand to the record activity and the faces read back. Every
event is keyed by the case, its stream (the ICPC case or the plan after it) and its position in
that stream's timeline, so writing the same event twice (a retried activity, a replay) is a
no-op. No names, dates of birth or addresses: references, roles, dates and the summaries and
reasons the timeline already holds.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from domain.decisions import Decider


class Stream(StrEnum):
    CASE = "case"  # strategy discussion to the ICPC
    PLAN = "plan"  # the child protection plan after it: core groups, reviews


class RecordedEvent(BaseModel):
    """One timeline entry of one stream, at its position (0, 1, 2 ... in that stream)."""

    position: int = Field(ge=0)
    at: AwareDatetime
    event: str  # a decision kind, or a system event: case_started, reminder, overdue ...
    by: Decider | None = None  # None: the system
    summary: str
    reason: str = ""
    # Structured details where a report needs them (due dates planned, working days late ...).
    data: dict[str, Any] = Field(default_factory=dict)


class CaseSummary(BaseModel):
    """The case as it stands, for fast lists and queries; rewritten with each batch."""

    case_id: str  # the case's workflow id (the plan's is this plus "-plan")
    case_reference: str
    family_reference: str
    procedure_id: str
    stream: Stream  # which workflow holds the child's path now
    stage: str
    is_open: bool
    strategy_discussion: AwareDatetime
    icpc_deadline: AwareDatetime
    deadline: AwareDatetime | None = None  # the next statutory limit (ICPC, then each review)
    next_due: AwareDatetime | None = None
    next_milestone: str | None = None
    awaiting_role: str | None = None
    out_of_timescale: bool = False
    escalated: bool = False
    icpc_held_at: AwareDatetime | None = None
    outcome: str | None = None
    closed_at: AwareDatetime | None = None
    closed_reason: str | None = None
    team: str | None = None


class RecordBatch(BaseModel):
    """What one call of the record activity writes: new events of one stream, and the summary."""

    case_id: str
    stream: Stream
    events: list[RecordedEvent] = Field(default_factory=list)
    summary: CaseSummary | None = None
