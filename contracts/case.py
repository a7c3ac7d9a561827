"""What callers (CLI, web form, tests) need to talk to a case workflow: names and payloads.

Kept free of workflow code so the faces can import it without loading the workflows.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from contracts import search_attributes as sa
from domain.calendar import LONDON
from domain.case_rules import CaseDecision
from domain.decisions import CaseStart
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
    day = strategy.astimezone(LONDON).date()
    return f"icpc-{procedure_id}-{case_reference}-{day:%Y%m%d}"


def initial_search_attributes(case: CaseInput) -> TypedSearchAttributes:
    """Set at start, so a case is findable before its first task runs."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(sa.PROCEDURE, case.procedure.id),
            SearchAttributePair(sa.CASE_REFERENCE, case.start.case_reference),
            SearchAttributePair(sa.FAMILY_REFERENCE, case.start.family_reference),
            SearchAttributePair(sa.STAGE, "starting"),
        ]
    )
