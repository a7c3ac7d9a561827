"""Turns a procedure and the anchors known so far into concrete due instants.

Pure: the same procedure, anchors and holiday data always give the same schedule. The
workflow never calls this directly; an activity does, so the result is kept in history.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta

from pydantic import AwareDatetime, BaseModel

from domain.calendar import LONDON, WorkingDayCounting, add_calendar_months, london_instant
from domain.procedure import Milestone, Phase, Procedure
from domain.vocabulary import Anchor

# The strategy discussions the planner counts from. A date outside is a typing mistake
# (9999-12-20, 1900-01-01), and would run the working-day calendar, or Python's own dates,
# out of range; the faces refuse far narrower windows before a case starts (domain.case_start).
PLANNABLE_FROM = date(2000, 1, 1)
PLANNABLE_TO = date(2099, 12, 31)
# The last minute of a day: when a step due "on the day" of a meeting after working hours is due.
END_OF_THE_DAY = time(23, 59)


class PlanningError(ValueError):
    """A case the planner cannot plan (a date out of range); the message says why, plainly."""


def check_plannable(day: date) -> None:
    """Raise :class:`PlanningError` for a strategy discussion outside the planner's range."""
    if not PLANNABLE_FROM <= day <= PLANNABLE_TO:
        raise PlanningError(
            f"a strategy discussion on {day.isoformat()} cannot be planned: only dates from"
            f" {PLANNABLE_FROM.isoformat()} to {PLANNABLE_TO.isoformat()} can"
        )


class PlannedMilestone(BaseModel):
    id: str
    title: str
    phase: Phase
    anchor: Anchor
    responsible: str
    remind: list[str]
    escalate_to: list[str]
    satisfied_by: list[str]
    statutory: bool
    # Known once the anchor is: the instant (Europe/London, with its UTC offset).
    due: AwareDatetime | None = None
    # The working-day number counted from the strategy discussion (day 0), before the ICPC.
    working_day: int | None = None
    remind_at: AwareDatetime | None = None
    # The anchor this milestone still waits for, when it is not known yet.
    waiting_on: Anchor | None = None


class Schedule(BaseModel):
    procedure: str
    strategy_discussion: AwareDatetime
    day_zero: str
    milestones: list[PlannedMilestone]

    def get(self, milestone_id: str) -> PlannedMilestone:
        return next(m for m in self.milestones if m.id == milestone_id)


def due_instant(procedure: Procedure, milestone: Milestone, anchor_at: datetime) -> datetime:
    """When ``milestone`` falls due, counted from its anchor's instant."""
    cal = procedure.calendar
    at: time = milestone.time or procedure.end_of_day
    base = anchor_at.astimezone(LONDON)
    if milestone.hours is not None:
        return working_hours_from(cal, base, milestone.hours)
    if milestone.working_days is not None:
        due = london_instant(cal.add_working_days(base.date(), milestone.working_days), at)
        return _not_before_the_meeting(due, base) if milestone.working_days == 0 else due
    if milestone.days is not None:
        due = london_instant(base.date() + timedelta(days=milestone.days), at)
        return _not_before_the_meeting(due, base) if milestone.days == 0 else due
    assert milestone.months is not None  # the model guarantees exactly one offset
    # "Within N months": the last working day on or before the same date N months on.
    day = cal.previous_working_day(add_calendar_months(base.date(), milestone.months))
    return london_instant(day, at)


def with_notice(
    procedure: Procedure, milestone: Milestone, due: datetime, known: Mapping[Anchor, datetime]
) -> datetime:
    """The earlier of ``due`` and the notice the milestone needs before a later anchor, once
    that anchor is known (a booking or a rebooking plans again)."""
    notice = milestone.notice_before
    before = known.get(notice.anchor) if notice is not None else None
    if notice is None or before is None:
        return due
    day = procedure.calendar.add_working_days(
        before.astimezone(LONDON).date(), -notice.working_days
    )
    return min(due, london_instant(day, milestone.time or procedure.end_of_day))


def working_hours_from(cal: WorkingDayCounting, base: datetime, hours: int) -> datetime:
    """``hours`` counted in working time from ``base`` (negative: before it).

    Each whole 24 hours is a working day at the same London wall-clock time, so "within 48
    hours" of Friday 14:00 is Tuesday 14:00 and "24 hours before" a Monday 10:00 conference is
    Friday 10:00; weekends, bank holidays and closures are skipped, and a clock change keeps
    the wall-clock time. Hours left over move the time of day, a working day further when
    they cross midnight. A due time that would fall on a day off (an anchor on one, with less
    than a day to count) moves to the next working day (the previous, counting back)."""
    local = base.astimezone(LONDON)
    sign = 1 if hours >= 0 else -1
    days, rest = divmod(abs(hours), 24)
    clock = local.replace(tzinfo=None) - datetime.combine(local.date(), time())
    clock += timedelta(hours=sign * rest)
    day_over, clock = divmod(clock, timedelta(days=1))  # -1, 0 or 1: it crossed midnight
    day = cal.add_working_days(local.date(), sign * days + day_over)
    if not cal.is_working_day(day):
        day = cal.next_working_day(day) if sign > 0 else cal.previous_working_day(day)
    return london_instant(day, (datetime.min + clock).time())


def _not_before_the_meeting(due: datetime, anchor_at: datetime) -> datetime:
    """A step due "on the day" of its anchor is never due before it: after a meeting held at
    18:00 (later than the end of the working day) it is due by the end of that day."""
    if due > anchor_at:
        return due
    return max(london_instant(anchor_at.date(), END_OF_THE_DAY), anchor_at)


def reminder_instant(procedure: Procedure, milestone: Milestone, due: datetime) -> datetime | None:
    if not milestone.remind:
        return None
    cal = procedure.calendar
    day = cal.add_working_days(due.date(), -milestone.remind_working_days_before)
    remind_at = london_instant(day, procedure.start_of_day)
    return remind_at if remind_at < due else None


def plan(
    procedure: Procedure,
    strategy_discussion: datetime,
    anchors: Mapping[Anchor, datetime] | None = None,
) -> Schedule:
    """The case's schedule; milestones whose anchor is not yet known wait on it."""
    if strategy_discussion.tzinfo is None:
        raise ValueError("strategy_discussion must carry its time zone")
    # A naive anchor would be read in the host's own zone, so the same case would plan
    # differently on two machines.
    naive = [str(anchor) for anchor, at in (anchors or {}).items() if at.tzinfo is None]
    if naive:
        raise ValueError(f"anchors must carry their time zone: {', '.join(naive)}")
    strategy_day = strategy_discussion.astimezone(LONDON).date()
    check_plannable(strategy_day)
    known: dict[Anchor, datetime] = {Anchor.STRATEGY_DISCUSSION: strategy_discussion}
    known.update(anchors or {})
    try:
        milestones = _plan_milestones(procedure, strategy_day, known)
    except OverflowError:
        raise PlanningError(
            "a due date of this case falls outside the dates that can be counted"
        ) from None
    return Schedule(
        procedure=procedure.id,
        strategy_discussion=strategy_discussion,
        day_zero=strategy_day.isoformat(),  # the discussion's own date, whatever day it is
        milestones=milestones,
    )


def _plan_milestones(
    procedure: Procedure, strategy_day: date, known: Mapping[Anchor, datetime]
) -> list[PlannedMilestone]:
    cal = procedure.calendar
    planned = []
    for m in procedure.milestones:
        common = dict(
            id=m.id,
            title=m.title,
            phase=m.phase,
            anchor=m.anchor,
            responsible=m.responsible,
            remind=m.remind,
            escalate_to=m.escalate_to,
            satisfied_by=m.satisfied_by,
            statutory=m.statutory,
        )
        anchor_at = known.get(m.anchor)
        if anchor_at is None:
            planned.append(PlannedMilestone(**common, waiting_on=m.anchor))
            continue
        due = with_notice(procedure, m, due_instant(procedure, m, anchor_at), known)
        working_day = (
            cal.working_days_between(strategy_day, due.date()) if m.phase == Phase.ICPC else None
        )
        planned.append(
            PlannedMilestone(
                **common,
                due=due,
                working_day=working_day,
                remind_at=reminder_instant(procedure, m, due),
            )
        )
    return planned
