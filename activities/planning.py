"""The planning activity: due dates and the working-day table, computed outside workflow code.

Its result is kept in the workflow's history, so a new bank holiday in a later release of the
holidays data never changes the replay of a case that is already running.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.calendar import LONDON, WorkingDayTable
from domain.planner import PlanningError, Schedule, plan
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
    """Plan the case; input it cannot plan fails at once, never retried (retrying would give
    the same answer forever)."""
    try:
        return compute_plan(request, activity.info().current_attempt_scheduled_time)
    except (PlanningError, OverflowError) as error:
        raise ApplicationError(
            f"{str(error)[:1].upper()}{str(error)[1:]}.", type="CannotPlan", non_retryable=True
        ) from None


def compute_plan(request: PlanRequest, now: datetime) -> PlanResult:
    """The schedule, and the frozen calendar when asked. The calendar reaches from a month
    before the strategy discussion (or ``calendar_from``) to well past the later of it and
    ``now`` (when the activity was scheduled, in the workflow's time), so a case registered
    late can still count every day it lives through."""
    schedule = plan(request.procedure, request.strategy_discussion, request.anchors)
    calendar = None
    if request.with_calendar:
        origin: datetime = request.calendar_from or request.strategy_discussion
        day = origin.astimezone(LONDON).date()
        last = max(day, now.astimezone(LONDON).date()) + CALENDAR_AFTER
        calendar = WorkingDayTable.from_calendar(
            request.procedure.calendar, day - CALENDAR_BEFORE, last
        )
    return PlanResult(schedule=schedule, calendar=calendar)
