"""How a case reads from outside: its start in the timeline (and the conference service told),
the Temporal UI's current details, and its summary in the case record."""

from __future__ import annotations

from datetime import datetime

from domain.case_record import CaseSummary, Stream, progress
from domain.case_state import FINAL_STAGES, CaseState, Stage
from domain.decisions import Outcome
from domain.notices import when
from domain.path import Effects, flag
from domain.path import day_of as _day
from domain.scoping import allocations
from domain.vocabulary import DecisionKind
from domain.wording import roles_text


def start(state: CaseState, now: datetime) -> None:
    """Record the start of a case, saying if it was registered after its strategy discussion."""
    late = state.start.strategy_discussion < now and _day(now) > state.strategy_day
    days = state.calendar.working_days_between(state.strategy_day, _day(now)) if late else 0
    suffix = f" (registered on working day {days})" if late else ""
    state.record(now, "case_started", f"Case opened{suffix}")


# The start notice's key: one per case, so however often it is asked for it is sent once.
START_NOTICE_KEY = "start"


def start_notice(state: CaseState, now: datetime) -> Effects:
    """000 action 3: the conference service hears of the strategy discussion on the day.

    Call right after :func:`start`; the notice, its roles and the likelihood are recorded on
    the case's start entry.

    "The Social Worker attending the Strategy Discussion at which a Section 47 is initiated
    must contact the CP Conference Service ... on the day of the Strategy Discussion and notify
    them of the decision and give a view on the likelihood that an ICPC will be required. This
    will allow the CPCS to identify and plan for any capacity problems."

    The conference service is, in every procedure, whoever may book the conference there (the
    roles granted ``book_conference``): the CP Conference Service, QARSS business support, the
    ISU, the conference business support, the safeguarding unit.
    """
    fx = Effects(key=START_NOTICE_KEY)
    likelihood = state.start.icpc_likelihood
    bookers = state.procedure.roles_for(DecisionKind.BOOK_CONFERENCE)
    text = (
        f"A strategy discussion on {when(state.start.strategy_discussion)} initiated a"
        f" section 47 enquiry. The social worker's view: an ICPC is {likelihood}.\n\n"
        "This is notice to plan for capacity; the need for the ICPC is confirmed or"
        " withdrawn separately."
    )
    flag(state, fx, bookers, f"Section 47 strategy discussion: ICPC {likelihood}", text)
    repeat_oversight_notice(state, fx)
    # Kept with the case's start, where the record also finds its first due dates.
    opened = next(e for e in reversed(state.timeline) if e.event == "case_started")
    opened.data.update(notified=fx.notified, likelihood=str(likelihood))
    for event, note in fx.notes:
        state.record(now, event, note)
    return fx


def repeat_oversight_notice(state: CaseState, fx: Effects) -> None:
    """004: "if a decision has been made to take a case back to conference within 12 months of
    the end of the previous child protection plan the Service Manager for your team must provide
    oversight to that decision on the child's file": the case waits for it, so they are asked."""
    rule = state.procedure.repeat_plan
    if rule is None or not state.needs_repeat_oversight or state.start.previous_plan_ended is None:
        return
    text = (
        f"A previous child protection plan ended on {state.start.previous_plan_ended:%d %B %Y},"
        f" within {rule.within_months} months of this strategy discussion. Your oversight of the"
        " decision to take the case back to conference is needed before the ICPC proceeds:"
        " record it (record_repeat_plan_oversight)."
    )
    flag(state, fx, [rule.oversight_role], "Repeat plan: your oversight is needed", text, "r")


def stage_details(state: CaseState, now: datetime) -> str:
    """Plain words for the Temporal UI's current details."""
    lines = [f"Stage: {state.stage.replace('_', ' ')}", f"ICPC deadline: {when(state.deadline)}"]
    nxt = state.next_milestone()
    if nxt and nxt.planned.due and state.stage not in FINAL_STAGES:
        status = nxt.status(now).replace("_", " ")
        lines.append(f"Next: {nxt.planned.title} — due {when(nxt.planned.due)} ({status})")
    awaiting = state.awaiting_roles()
    if awaiting:
        lines.append(f"Waiting for: {roles_text(state.procedure, awaiting)}")
    if state.stage == Stage.AWAITING_DELAY_DECISION and state.delay:
        lines.append(f"Delay requested to {state.delay.proposed_date:%d %B %Y}")
    if state.withdrawal_requested and state.is_open:
        lines.append("Withdrawal requested: waiting for agreement")
    if state.invitations_held_sequence == state.booking_sequence and state.booking:
        lines.append("Invitations held back: too little notice; rebook the conference")
    return "\n".join(lines)


def record_summary(state: CaseState, now: datetime) -> CaseSummary:
    """The case as it stands, for the case record's lists (no names, no addresses: its team,
    area and the ids of the people allocated to it); the plan's summary starts from it once the
    plan holds the child's path."""
    plan_follows = state.outcome == Outcome.CHILD_PROTECTION_PLAN
    closed_at = None if plan_follows else state.withdrawn_at or state.closed_at or state.held_at
    reasons = {
        Stage.WITHDRAWN: "ICPC withdrawn",
        Stage.CLOSED: f"stood down: {state.stand_down_reason}",
        Stage.HELD: "no plan at the ICPC",
    }
    return CaseSummary(
        case_id=state.case_id,
        case_reference=state.start.case_reference,
        family_reference=state.start.family_reference,
        procedure_id=state.procedure.id,
        stream=Stream.CASE,
        stage=state.stage,
        is_open=state.is_open or plan_follows,
        strategy_discussion=state.start.strategy_discussion,
        icpc_deadline=state.deadline,
        deadline=state.deadline if state.is_open else None,
        icpc_held_at=state.held_at,
        outcome=state.outcome,
        closed_at=closed_at,
        closed_reason=None if closed_at is None else reasons.get(state.stage),
        team=state.start.team,
        area=state.start.area,
        allocated=allocations(state.start.contacts),
        **progress(state, now),
    )
