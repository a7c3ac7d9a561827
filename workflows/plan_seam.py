"""The seam between the ICPC and the child protection plan that may follow it.

When a conference makes a plan, the case workflow calls ``start_plan_workflow`` as its last
step. It starts the plan as a child workflow that outlives its parent
(``ParentClosePolicy.ABANDON``): the case closes with its result, the plan runs on for as long
as it lasts, and the Temporal UI links the two. See ``docs/after-the-icpc.md``.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.workflow import ParentClosePolicy

from contracts import search_attributes as sa
from contracts.plan import (
    PLAN_STAGE_AT_START,
    PLAN_WORKFLOW,
    PlanInput,
    plan_workflow_id,
)
from domain.case_state import CaseState
from domain.plan_state import PlanState

# Cases that ended before the plan workflow existed replay without starting one.
PATCH_ID = "start-plan-workflow"


async def start_plan_workflow(state: CaseState) -> str | None:
    if not workflow.patched(PATCH_ID):
        return None
    plan_id = plan_workflow_id(state.case_id)
    await workflow.start_child_workflow(
        PLAN_WORKFLOW,
        PlanInput(state=PlanState.begin(plan_id, state)),
        id=plan_id,
        task_queue=workflow.info().task_queue,
        parent_close_policy=ParentClosePolicy.ABANDON,
        search_attributes=plan_search_attributes(state),
        static_summary=f"Child protection plan {state.start.case_reference} ({state.procedure.id})",
    )
    return plan_id


def plan_search_attributes(state: CaseState) -> TypedSearchAttributes:
    """Set at start, so a plan is findable before its first task runs."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(sa.PROCEDURE, state.procedure.id),
            SearchAttributePair(sa.CASE_REFERENCE, state.start.case_reference),
            SearchAttributePair(sa.FAMILY_REFERENCE, state.start.family_reference),
            SearchAttributePair(sa.STAGE, PLAN_STAGE_AT_START),
            SearchAttributePair(sa.PLAN_STAGE, "planning"),
        ]
    )
