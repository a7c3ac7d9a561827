"""The planning activity: due dates and the working-day table, computed outside workflow code.

Its result is kept in the workflow's history, so a new bank holiday in a later release of the
holidays data never changes the replay of a case that is already running.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel
from temporalio import activity

from domain.calendar import LONDON, WorkingDayTable
from domain.planner import Schedule, plan
from domain.procedure import Procedure
from domain.vocabulary import Anchor

# How far the frozen calendar reaches: past any plausible delay, and a review cycle after it.
CALENDAR_BEFORE = timedelta(days=31)
CALENDAR_AFTER = timedelta(days=550)


class PlanRequest(BaseModel):
    procedure: Procedure
    strategy_discussion: AwareDatetime
    anchors: dict[Anchor, AwareDatetime] = {}
    # The calendar is only built when asked (the first plan, or a new review cycle).
    with_calendar: bool = False
    calendar_from: AwareDatetime | None = None


class PlanResult(BaseModel):
    schedule: Schedule
    calendar: WorkingDayTable | None = None


@activity.defn(name="plan_case")
async def plan_case(request: PlanRequest) -> PlanResult:
    schedule = plan(request.procedure, request.strategy_discussion, request.anchors)
    calendar = None
    if request.with_calendar:
        origin: datetime = request.calendar_from or request.strategy_discussion
        day = origin.astimezone(LONDON).date()
        calendar = WorkingDayTable.from_calendar(
            request.procedure.calendar, day - CALENDAR_BEFORE, day + CALENDAR_AFTER
        )
    return PlanResult(schedule=schedule, calendar=calendar)
