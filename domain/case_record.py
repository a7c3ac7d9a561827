"""What the case record keeps for good: each path's events and one summary per case.

Temporal forgets a closed workflow after the namespace's retention; the record does not. These
are the plain shapes the workflows hand to the record activity and the faces read back. Every
event is keyed by the case, its stream (the ICPC case or the plan after it) and its position in
that stream's timeline, so writing the same event twice (a retried activity, a replay) is a
no-op. No names, dates of birth or addresses: references, roles, dates and the summaries and
reasons the timeline already holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from pydantic import AwareDatetime, BaseModel, Field

from domain.calendar import LONDON, WorkingDayTable
from domain.decisions import Decider
from domain.milestones import MilestoneState, Timeline, TimelineEntry


class Stream(StrEnum):
    CASE = "case"  # strategy discussion to the ICPC
    PLAN = "plan"  # the child protection plan after it: core groups, reviews
    # Entries about the case made outside its workflows: Heads of Service's reviews of its
    # strategy-to-ICPC decision (000 action 16). Their own stream, because the workflows own
    # the positions of theirs. Not the audit trail of who saw and did what (records/audit.py).
    REVIEW = "review"


# The streams a path (a workflow: a table of decisions, domain.path) writes: each has its own
# page and its own workflow. The review stream is written by the record alone.
PATH_STREAMS: tuple[Stream, ...] = (Stream.CASE, Stream.PLAN)


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
    # Its email keeps failing and waits for the mail server (IcpcDeliveryFailing in Temporal).
    email_failing: bool = False
    icpc_held_at: AwareDatetime | None = None
    outcome: str | None = None
    closed_at: AwareDatetime | None = None
    closed_reason: str | None = None
    team: str | None = None
    area: str | None = None
    # Who the case is allocated to now, by role (person ids): the case record keeps them in
    # ``case_allocations``, for scoping (domain.scoping); not a column of the summary.
    allocated: dict[str, str] = Field(default_factory=dict)


class RecordBatch(BaseModel):
    """What one call of the record activity writes: new events of one stream, and the summary."""

    case_id: str
    stream: Stream
    events: list[RecordedEvent] = Field(default_factory=list)
    summary: CaseSummary | None = None


# --- what a summary says -----------------------------------------------------------------------


class _Progress(Protocol):
    """Where a path stands (the case's and the plan's states both say it)."""

    @property
    def is_open(self) -> bool: ...

    def next_milestone(self) -> MilestoneState | None: ...

    def awaiting_roles(self) -> list[str]: ...

    def out_of_timescale(self, now: datetime) -> bool: ...

    def escalated(self) -> bool: ...


def progress(state: _Progress, now: datetime) -> dict[str, Any]:
    """The summary fields every path fills the same way: what is next, whose turn, how late."""
    nxt = state.next_milestone() if state.is_open else None
    awaiting = state.awaiting_roles()
    return {
        "next_due": nxt.planned.due if nxt else None,
        "next_milestone": nxt.id if nxt else None,
        "awaiting_role": awaiting[0] if awaiting else None,
        "out_of_timescale": state.out_of_timescale(now),
        "escalated": state.escalated(),
    }


# --- what a batch holds: the path's new timeline entries, with what changed in its milestones --


class MilestoneMark(BaseModel):
    """What the record last saw of one milestone: when due, when met, whether escalated."""

    due: AwareDatetime | None = None
    met_at: AwareDatetime | None = None
    escalated: bool = False


Marks = dict[str, MilestoneMark]


def milestone_marks(milestones: list[MilestoneState]) -> Marks:
    return {
        m.id: MilestoneMark(due=m.planned.due, met_at=m.met_at, escalated=m.escalated)
        for m in milestones
    }


def new_events(
    entries: Iterable[tuple[int, TimelineEntry]],
    milestones: list[MilestoneState],
    seen: Marks,
    calendar: WorkingDayTable,
) -> list[RecordedEvent]:
    """The timeline's new entries (position, entry: ``Timeline.numbered``), as record events.

    What changed in the milestones since the record last looked (``seen``) rides on the last
    new event, the one whose effects caused it: due dates planned or recomputed (``due``),
    milestones met and by how many working days late (``met``), milestones missed (``missed``).
    """
    events = [_as_event(position, entry) for position, entry in entries]
    if not events:
        return events
    due: dict[str, str | None] = {}
    met: dict[str, dict[str, Any]] = {}
    missed: list[str] = []
    for m in milestones:
        before = seen.get(m.id)
        if before is None or before.due != m.planned.due:
            due[m.id] = m.planned.due.isoformat() if m.planned.due else None
        if m.met_at is not None and (before is None or before.met_at is None):
            met[m.id] = _met(m, calendar)
        if m.escalated and m.met_at is None and (before is None or not before.escalated):
            missed.append(m.id)
    data = events[-1].data
    if due:
        data["due"] = due
    if met:
        data["met"] = met
    if missed:
        data["missed"] = missed
    return events


def _met(m: MilestoneState, calendar: WorkingDayTable) -> dict[str, Any]:
    assert m.met_at is not None
    due = m.planned.due
    late: int | None = 0
    if due is not None and m.met_at > due:
        try:
            late = calendar.working_days_between(
                due.astimezone(LONDON).date(), m.met_at.astimezone(LONDON).date()
            )
        except ValueError:  # beyond the path's frozen calendar: not known here
            late = None
    return {
        "at": m.met_at.isoformat(),
        "due": due.isoformat() if due else None,
        "working_days_late": late,
    }


def complete_timeline(recorded: list[RecordedEvent], live: Timeline | None) -> list[RecordedEvent]:
    """A path's whole timeline as the faces show it: what the record holds, then any entries
    the running workflow has that the record has not written yet (it writes a moment later).
    A path whose workflow Temporal has deleted is the record alone."""
    if live is None:
        return list(recorded)
    return [*recorded, *(_as_event(p, e) for p, e in live.numbered(len(recorded)))]


def _as_event(position: int, entry: TimelineEntry) -> RecordedEvent:
    return RecordedEvent(
        position=position,
        at=entry.at,
        event=entry.event,
        by=entry.by,
        summary=entry.summary,
        reason=entry.reason,
        data=dict(entry.data),
    )
