"""What both paths (the ICPC case and the plan after it) are made of: milestones and a timeline.

A milestone is a planned due date and what has happened to it (met, reminded, escalated); the
timeline is every decision and system event in order. Both paths hold lists of each.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from domain.calendar import past_limit
from domain.decisions import Decider
from domain.planner import PlannedMilestone


class MilestoneStatus(StrEnum):
    WAITING = "waiting"  # its anchor is not known yet
    PENDING = "pending"  # due in the future, not met
    OVERDUE = "overdue"  # past due, not met
    MET = "met"
    MET_LATE = "met_late"


class MilestoneState(BaseModel):
    planned: PlannedMilestone
    met_at: AwareDatetime | None = None
    reminded: bool = False
    escalated: bool = False

    @property
    def id(self) -> str:
        return self.planned.id

    def status(self, now: datetime) -> MilestoneStatus:
        due = self.planned.due
        if self.met_at is not None:
            late = due is not None and self._after(self.met_at, due)
            return MilestoneStatus.MET_LATE if late else MilestoneStatus.MET
        if due is None:
            return MilestoneStatus.WAITING
        return MilestoneStatus.OVERDUE if self._after(now, due) else MilestoneStatus.PENDING

    def _after(self, at: datetime, due: datetime) -> bool:
        """A statutory limit is its whole day (domain.calendar.past_limit); a step, its instant."""
        return past_limit(at, due) if self.planned.statutory else at > due


def merge_milestones(
    current: list[MilestoneState], planned: list[PlannedMilestone]
) -> list[MilestoneState]:
    """New due dates over the old states: what was met stays met; a milestone whose due date
    moved starts afresh (it may be reminded and escalated again)."""
    previous = {m.id: m for m in current}
    merged = []
    for p in planned:
        old = previous.get(p.id)
        if old is not None and (old.met_at is not None or old.planned.due == p.due):
            merged.append(old.model_copy(update={"planned": p}))
        else:
            merged.append(MilestoneState(planned=p))
    return merged


class TimelineEntry(BaseModel):
    at: AwareDatetime
    event: str  # a decision kind, or: case_started, reminder, escalation, overdue, refused, ...
    by: Decider | None = None  # None: the system
    summary: str
    reason: str = ""
    # Structured details for the record: the roles a reminder, escalation or notice went to,
    # and the dates a decision set (Effects.data: "booking", "delay", "conference", "review"...).
    data: dict[str, Any] = Field(default_factory=dict)


class Timeline(BaseModel):
    """What both paths' states keep alike: every decision and system event, in order.

    ``timeline`` holds the entries from position ``timeline_start`` on. A plan run that hands
    over to the next (continue-as-new) forgets what the case record already holds, so the state
    it carries does not grow with the years; positions, and the keys made from them, go on
    counting from the whole timeline's start."""

    timeline: list[TimelineEntry] = Field(default_factory=list)
    timeline_start: int = 0  # entries before this position are in the case record only

    @property
    def timeline_length(self) -> int:
        """How many entries the whole timeline has had (held here or recorded only)."""
        return self.timeline_start + len(self.timeline)

    def numbered(self, since: int = 0) -> Iterator[tuple[int, TimelineEntry]]:
        """(position, entry) for the entries held here, from position ``since`` on."""
        for index, entry in enumerate(self.timeline):
            if self.timeline_start + index >= since:
                yield self.timeline_start + index, entry

    def forget_before(self, position: int) -> None:
        """Drop the entries before ``position`` (the case record holds them)."""
        drop = max(0, min(position - self.timeline_start, len(self.timeline)))
        del self.timeline[:drop]
        self.timeline_start += drop

    def record(
        self,
        at: datetime,
        event: str,
        summary: str,
        by: Decider | None = None,
        reason: str = "",
        data: dict[str, Any] | None = None,
    ) -> None:
        self.timeline.append(
            TimelineEntry(
                at=at, event=event, by=by, summary=summary, reason=reason, data=data or {}
            )
        )
