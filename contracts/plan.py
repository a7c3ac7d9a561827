"""What callers (CLI, web form, tests) need to talk to a plan workflow: names and payloads.

The plan workflow answers to the same signal, update and query names as the case workflow, so
a client sends a decision the same way to whichever workflow holds the child's path now.
Kept free of workflow code so the faces can import it without loading the workflows.
"""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, Field

from contracts.case import (
    DECIDE_SIGNAL,
    DECIDE_UPDATE,
    STATE_QUERY,
    TASK_QUEUE,
    DecisionResult,
)
from contracts.payload_keys import Unreadable
from domain.plan_rules import PlanDecision
from domain.plan_state import PlanState

PLAN_WORKFLOW = "IcpcPlan"
PLAN_STAGE_AT_START = "child_protection_plan"  # IcpcStage of every plan workflow

__all__ = [
    "DECIDE_SIGNAL",
    "DECIDE_UPDATE",
    "PLAN_STAGE_AT_START",
    "PLAN_WORKFLOW",
    "STATE_QUERY",
    "TASK_QUEUE",
    "DecisionResult",
    "PlanDecisionRequest",
    "PlanInput",
    "PlanRunResult",
    "plan_workflow_id",
]


class PlanDecisionRequest(BaseModel):
    decision: PlanDecision


class PlanInput(BaseModel):
    """Each run's input: the plan state carried at continue-as-new (its timeline only from
    ``recorded`` on: the case record holds the rest), and decisions signalled while one run
    was handing over to the next."""

    state: PlanState
    # An unreadable signal that arrives between runs is carried too, and recorded by the next.
    pending: list[PlanDecisionRequest | Unreadable] = Field(default_factory=list)
    recorded: int = 0  # timeline entries already written to the case record


class PlanRunResult(BaseModel):
    """What the plan workflow returns when the plan ends."""

    plan_id: str
    case_id: str
    stage: str
    reviews_held: int
    ended_at: AwareDatetime | None
    end_reason: str | None


def plan_workflow_id(case_id: str) -> str:
    """The plan's id follows its case's (which carries no name, date of birth or address)."""
    return f"{case_id}-plan"
