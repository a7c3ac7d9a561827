"""The seam between the ICPC and the child protection plan that may follow it.

When a conference makes a plan, the case workflow calls ``start_plan_workflow`` as its last
step. Until the plan workflow exists this records nothing and returns None.
"""

from __future__ import annotations

from domain.case_state import CaseState


async def start_plan_workflow(state: CaseState) -> str | None:
    return None
