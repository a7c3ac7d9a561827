"""Which workflow holds which path of a child's case, so faces ask instead of forking.

A child's case has two paths: the ICPC case (workflow id = the case id) and, when the
conference makes a plan, the plan after it (``<case id>-plan``). Each path names its table of
decisions, its workflow type, its request payload and its state; a decision goes to the path
whose table takes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from contracts.case import CASE_WORKFLOW, DecisionRequest
from contracts.plan import PLAN_WORKFLOW, PlanDecisionRequest, plan_workflow_id
from domain.case_record import Stream
from domain.case_rules import CASE_PATH
from domain.case_state import CaseState
from domain.path import Path
from domain.plan_rules import PLAN_PATH
from domain.plan_state import PlanState

PathState = CaseState | PlanState


@dataclass(frozen=True)
class PathContract:
    stream: Stream
    noun: str  # "case", "plan": in plain words on pages and messages
    path: Path[Any]
    workflow_type: str
    request: type[BaseModel]  # the update and signal payload: {"decision": ...}
    state: type[BaseModel]  # what the state query returns
    _workflow_id: Callable[[str], str]

    def workflow_id(self, case_id: str) -> str:
        return self._workflow_id(case_id)

    def takes(self, kind: str) -> bool:
        return self.path.takes(kind)


CASE = PathContract(
    Stream.CASE, "case", CASE_PATH, CASE_WORKFLOW, DecisionRequest, CaseState, lambda c: c
)
PLAN = PathContract(
    Stream.PLAN,
    "plan",
    PLAN_PATH,
    PLAN_WORKFLOW,
    PlanDecisionRequest,
    PlanState,
    plan_workflow_id,
)
PATHS: dict[Stream, PathContract] = {CASE.stream: CASE, PLAN.stream: PLAN}
BY_WORKFLOW_TYPE: dict[str, PathContract] = {p.workflow_type: p for p in PATHS.values()}


def path_for(kind: str, prefer: Stream | None = None) -> PathContract:
    """The path whose table takes ``kind``. A decision both take (reassigning a worker) goes
    to ``prefer``, or to the case when none is given."""
    takers = [p for p in PATHS.values() if p.takes(kind)]
    if not takers:
        raise LookupError(f"'{kind}' is not a decision")
    for p in takers:
        if p.stream == prefer:
            return p
    return takers[0]


def contract_of(state: PathState) -> PathContract:
    return PLAN if isinstance(state, PlanState) else CASE
