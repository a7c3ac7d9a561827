"""What callers (CLI, web form, tests) need to talk to a case workflow: names and payloads.

Kept free of workflow code so starters and the web form can import it without the sandbox.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel

from domain.case_state import CaseState
from domain.decisions import CaseDecision, CaseStart
from domain.procedure import Procedure

TASK_QUEUE = "icpc-cases"
CASE_WORKFLOW = "IcpcCase"
DECIDE = "decide"  # the signal and the update share this name's meaning
DECIDE_SIGNAL = "decide_signal"
DECIDE_UPDATE = "decide"
STATE_QUERY = "state"


class CaseInput(BaseModel):
    """The start input: the case, and the procedure in force when it started."""

    start: CaseStart
    procedure: Procedure


class DecisionRequest(BaseModel):
    decision: CaseDecision


class DecisionResult(BaseModel):
    accepted: bool
    summary: str
    stage: str


class CaseResult(BaseModel):
    case_id: str
    stage: str
    outcome: str | None
    held_at: AwareDatetime | None
    plan_workflow_id: str | None = None


def case_workflow_id(procedure_id: str, case_reference: str, strategy: datetime) -> str:
    """One id per child per strategy discussion: no name, no date of birth, no address."""
    from domain.calendar import LONDON

    day = strategy.astimezone(LONDON).date()
    return f"icpc-{procedure_id}-{case_reference}-{day:%Y%m%d}"


CaseView = CaseState  # the state query returns the whole case state
