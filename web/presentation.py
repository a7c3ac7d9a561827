"""How a path's state reads on a page: working days left, coloured tags, role titles.

Role titles: a heading, a table cell or a label uses the procedure's own title ("CP Conference
Service (business support)"); running text uses :mod:`domain.wording` ("as a CP conference
service (business support)").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup

from contracts.paths import PathState
from domain.calendar import LONDON, WorkingDayCalendar, past_limit
from domain.case_state import CaseState, Stage
from domain.milestones import MilestoneState, MilestoneStatus
from domain.plan_state import PlanStage
from domain.procedure import Procedure
from domain.wording import capitalised, role_title
from web.timeline_chart import Delay, Milestone, case_chart

STAGE_TAGS: dict[str, str] = {
    PlanStage.AWAITING_MOVE_APPROVAL: "orange",
    PlanStage.REVIEW_BOOKED: "green",
    PlanStage.ENDED: "grey",
    Stage.AWAITING_DELAY_DECISION: "orange",
    Stage.AWAITING_REPEAT_OVERSIGHT: "orange",
    Stage.STOOD_DOWN: "orange",
    Stage.BOOKED: "green",
    Stage.HELD: "green",
    Stage.WITHDRAWN: "grey",
    Stage.CLOSED: "grey",
}

MILESTONE_TAGS = {
    MilestoneStatus.MET: ("Met", "green"),
    MilestoneStatus.MET_LATE: ("Met late", "orange"),
    MilestoneStatus.OVERDUE: ("Late", "red"),
    MilestoneStatus.PENDING: ("Waiting", "blue"),
    MilestoneStatus.WAITING: ("Not scheduled yet", "grey"),
}


@dataclass(frozen=True)
class DaysLeft:
    days: int | None  # working days from today to the deadline; negative once past
    past: bool

    @property
    def text(self) -> str:
        if self.days is None:
            return "Unknown"
        if self.past:
            late = max(-self.days, 0)
            if late == 0:
                return "Past deadline today"
            return f"Past deadline by {late} working day{'s' if late != 1 else ''}"
        if self.days == 0:
            return "Due today"
        return f"{self.days} working day{'s' if self.days != 1 else ''} left"


def days_left(state: PathState, now: datetime) -> DaysLeft | None:
    """Working days to the path's statutory due date (the ICPC's limit, the plan's next
    review), counted with the case's own frozen calendar."""
    due = state.statutory_due
    if due is None:
        return None
    today = now.astimezone(LONDON).date()
    day = due.astimezone(LONDON).date()
    try:
        days = state.calendar.working_days_between(today, day)
    except ValueError:  # outside the case's frozen calendar: the procedure's own calendar
        days = state.procedure.calendar.working_days_between(today, day)
    return DaysLeft(days, past_limit(now, due))


def days_left_by_calendar(
    calendar: WorkingDayCalendar | None, due: datetime | None, now: datetime
) -> DaysLeft | None:
    """Days left with a procedure's calendar, for a path that did not answer its query."""
    if calendar is None or due is None:
        return None
    days = calendar.working_days_between(
        now.astimezone(LONDON).date(), due.astimezone(LONDON).date()
    )
    return DaysLeft(days, past_limit(now, due))


def role_label(procedure: Procedure, role: str | None) -> str:
    """A role as the procedure titles it, for headings, labels and table cells."""
    if not role:
        return ""
    declared = next((r for r in procedure.roles if r.id == role), None)
    return declared.title if declared is not None else capitalised(role.replace("_", " "))


def role_in_sentence(procedures: Mapping[str, Procedure], role: str) -> str:
    """A role in running text when no case says which procedure: the first installed
    procedure that declares it, else its id in words."""
    for procedure in procedures.values():
        if any(r.id == role for r in procedure.roles):
            return role_title(procedure, role)
    return role.replace("_", " ")


def milestone_rows(state: PathState, now: datetime) -> list[tuple[MilestoneState, str, str, str]]:
    """Each milestone with its status tag (text, colour) and who is responsible."""
    return [
        (m, *MILESTONE_TAGS[m.status(now)], role_label(state.procedure, m.planned.responsible))
        for m in state.milestones
    ]


def case_timeline_chart(state: PathState, now: datetime) -> Markup | None:
    """The case page's picture: its milestones, the statutory limit and any delay (the ICPC
    case only; the plan has no statutory limit of this kind)."""
    if not isinstance(state, CaseState):
        return None
    milestones = [
        Milestone(m.planned.title, m.planned.due, m.met_at, MILESTONE_TAGS[m.status(now)][0])
        for m in state.milestones
    ]
    delay = Delay(state.delay.proposed_date, state.delay.status.value) if state.delay else None
    return case_chart(state.start.strategy_discussion, state.deadline, milestones, delay, now)
