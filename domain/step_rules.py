"""One decision for the many small steps the procedures time or assign: ``record_step``.

The seeds name steps that need no data of their own, only that they were done, by whom and
when: 001's strategy meeting form (step 1), the s47 enquiry recorded (step 2), the family told
and advocacy considered (step 4), the ISRO screening assigned and done (steps 5 and 7), the s47
authorised (step 6); 003's Duty PO safety screening and choice of hybrid or virtual; 004's
booking confirmation email. Each is a milestone in the procedure file (due date, reminders,
escalation, ``satisfied_by = ["record_step"]``) and this one row records any of them: the
decision names the step, the step's ``responsible`` role records it, a step with ``choices``
needs one of them, and the roles in its ``inform`` are told. A new step is a procedure file
change, not a code change.
"""

from __future__ import annotations

from datetime import datetime

from domain.decisions import RecordStep
from domain.milestones import MilestoneState
from domain.notices import booking_lines, when
from domain.path import DecisionRule, Effects, PathState, Refusal, flag
from domain.procedure import Milestone, Phase, Procedure
from domain.wording import capitalised, role_title, roles_text, with_article


def _has_steps(procedure: Procedure) -> str | None:
    if not procedure.steps():
        return "This procedure names no steps to record."
    return None


def _open_steps(state: PathState, role: str) -> list[MilestoneState]:
    steps = {m.id for m in state.procedure.steps()}
    return [
        m
        for m in state.milestones
        if m.id in steps and m.met_at is None and m.planned.responsible == role
    ]


def _any_step_left(state: PathState, role: str) -> str | None:
    if not _open_steps(state, role):
        title = with_article(role_title(state.procedure, role))
        return f"No step for {title} is left to record."
    return None


def _check_step(state: PathState, d: RecordStep, now: datetime) -> None:
    proc = state.procedure
    step = next((m for m in proc.steps() if m.id == d.step), None)
    if step is None:
        names = ", ".join(m.id for m in proc.steps())
        raise Refusal(f"'{d.step}' is not a step this procedure records (it names: {names}).")
    held = next((m for m in state.milestones if m.id == d.step), None)
    if held is None:
        raise Refusal(f"The step '{step.title}' does not belong to this part of the case.")
    if held.met_at is not None:
        raise Refusal(f"'{step.title}' was already recorded on {when(held.met_at)}.")
    if held.planned.waiting_on is not None:
        raise Refusal(
            f"'{step.title}' comes after the {held.planned.waiting_on.replace('_', ' ')};"
            " it cannot be recorded yet."
        )
    if d.decided_by.role != step.responsible:
        who = capitalised(with_article(role_title(proc, d.decided_by.role)))
        raise Refusal(
            f"{who} may not record '{step.title}'; it is for"
            f" {roles_text(proc, [step.responsible])}."
        )
    if step.choices and d.choice not in step.choices:
        raise Refusal(f"'{step.title}' needs a choice: {' or '.join(step.choices)}.")
    if not step.choices and d.choice:
        raise Refusal(f"'{step.title}' takes no choice.")


def _step(state: PathState, d: RecordStep) -> Milestone:
    return state.procedure.milestone(d.step)


def _record_step(state: PathState, d: RecordStep, now: datetime, fx: Effects) -> str:
    step = _step(state, d)
    done = f"{step.title}: done" + (f" ({d.choice.replace('_', ' ')})" if d.choice else "")
    if step.inform:
        text = done + (f"\n\n{d.reason}" if d.reason else "")
        booking = state.case.booking
        if step.phase == Phase.ICPC and booking is not None:  # 004: "to confirm the booking"
            text += f"\n\nThe conference:\n{booking_lines(booking)}"
        flag(state, fx, step.inform, step.title, text, "s")
    return done


RECORD_STEP: DecisionRule[PathState, RecordStep] = DecisionRule(
    RecordStep,
    "record a step of the procedure as done",
    _record_step,
    open_when=_any_step_left,
    check=_check_step,
    in_procedure=_has_steps,
    meets=lambda d, milestone_id: milestone_id == d.step,
)
