"""What a case may start with: checked once, before any case starts, by every face alike.

``icpc start``, ``icpc import`` and the client's ``start_case`` all call :func:`check_start`,
so a start refused at one is refused, with the same words, at the others. Pure: ``now`` is
passed in. Kept apart from :class:`domain.decisions.CaseStart`'s own validation on purpose:
``CaseStart`` is read back from every running case's history, and a rule that depends on the
time of day must never stop an old case from loading.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from domain.calendar import LONDON
from domain.decisions import CaseStart
from domain.planner import PLANNABLE_FROM, PLANNABLE_TO, PlanningError, check_plannable
from domain.procedure import Procedure

# How long after its strategy discussion a case may still be started. Registering a few
# days late is ordinary (each milestone already missed is escalated once, at start); a
# discussion more than three months old had its 15 working days long ago and belongs in the
# authority's case management system, not a new countdown.
MAX_START_DELAY = timedelta(days=90)


class StartRefused(ValueError):
    """A case start that must not start a case; the message is the plain reason."""


def _when(at: datetime) -> str:
    return at.astimezone(LONDON).strftime("%A %d %B %Y at %H:%M")


def check_start(start: CaseStart, procedure: Procedure, now: datetime) -> None:
    """Raise :class:`StartRefused` if ``start`` must not start a case at ``now``."""
    if start.procedure_id != procedure.id:
        raise StartRefused(
            f"the case names procedure '{start.procedure_id}' but was given '{procedure.id}'"
        )
    if not start.section_47_initiated:
        # 000 action 2: "The countdown for holding an ICPC within timescale begins from the
        # Strategy Meeting/Discussion at which a Section 47 is initiated."
        raise StartRefused(
            "an ICPC follows a section 47 enquiry: a strategy discussion that initiated no"
            " section 47 enquiry starts no ICPC case (start one if a later discussion does)"
        )
    at = start.strategy_discussion
    try:
        day = at.astimezone(LONDON).date()
    except OverflowError:  # an offset that takes it past Python's own first or last date
        raise StartRefused(
            f"a strategy discussion at {at.isoformat()} cannot be planned: only dates from"
            f" {PLANNABLE_FROM.isoformat()} to {PLANNABLE_TO.isoformat()} can"
        ) from None
    try:
        check_plannable(day)
    except PlanningError as error:
        raise StartRefused(str(error)) from None
    ended = start.previous_plan_ended
    if ended is not None and ended > day:
        # 004: the case goes "back to conference within 12 months of the end of the previous
        # child protection plan": a plan that ended later than this discussion is a mistake.
        raise StartRefused(
            f"the previous child protection plan ended on {ended.isoformat()}, after the"
            f" strategy discussion ({day.isoformat()}): give the date it ended, on or before"
            " the discussion"
        )
    if at > now:
        # 000 action 1: "Strategy Meetings should not be recorded as open before they happen".
        raise StartRefused(
            f"the strategy discussion ({_when(at)}) is later than now ({_when(now)}, UK time):"
            " a strategy discussion is recorded once it has happened"
        )
    if now - at > MAX_START_DELAY:
        raise StartRefused(
            f"the strategy discussion ({_when(at)}) is more than {MAX_START_DELAY.days} days"
            f" ago: a case can be started up to {MAX_START_DELAY.days} days after its strategy"
            " discussion"
        )


def with_recorded_plans(
    start: CaseStart, procedure: Procedure, recorded: Iterable[datetime]
) -> CaseStart:
    """004: "if a decision has been made to take a case back to conference within 12 months of
    the end of the previous child protection plan the Service Manager for your team must
    provide oversight": the previous plan's end is the latest the record holds for the child
    (or the family) on or before the strategy day, unless the one typed at start is later.
    The typed value can only add: the later end is the one nearer the strategy discussion,
    so the oversight is asked whenever either of them falls within the months."""
    if procedure.repeat_plan is None:
        return start
    day = start.strategy_discussion.astimezone(LONDON).date()
    ended = [at.astimezone(LONDON).date() for at in recorded]
    typed = [start.previous_plan_ended] if start.previous_plan_ended is not None else []
    latest = max([d for d in ended if d <= day] + typed, default=None)
    if latest == start.previous_plan_ended:
        return start
    return start.model_copy(update={"previous_plan_ended": latest})
