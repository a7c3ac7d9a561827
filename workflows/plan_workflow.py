"""One child's protection plan after the ICPC, as a durable workflow: one run per review cycle.

A thin shell like the case workflow: decisions and the clock go to the plan's table of
decisions (``domain.plan_rules.PLAN_PATH``) through the shared :class:`DecisionLoop`. When a
review is held and the plan continues, the run hands its state to a new run with
continue-as-new, so a plan that lasts years keeps each history short; the timeline the case
record already holds (the plan's and the ICPC's) stays behind, so the carried state does not
grow with the years either.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from activities.planning import PlanRequest, PlanResult, plan_case
    from contracts import search_attributes as sa
    from contracts.case import DecisionResult, ProcedureRef, shared_procedure
    from contracts.payload_keys import Unreadable
    from contracts.plan import (
        DECIDE_SIGNAL,
        DECIDE_UPDATE,
        PLAN_WORKFLOW,
        STATE_QUERY,
        PlanDecisionRequest,
        PlanInput,
        PlanRunResult,
    )
    from domain import plan_rules
    from domain.path import Effects
    from domain.plan_rules import PLAN_PATH
    from domain.plan_state import PlanState
    from workflows.case_workflow import (
        PLAN_TIMEOUT,
        PROCEDURE_BY_REFERENCE_PATCH,
        plan_by_reference,
    )
    from workflows.decision_loop import DecisionLoop
    from workflows.visibility import path_attributes

BETWEEN_CYCLES = "The plan is moving on to its next review cycle; try again in a moment."
# Since this patch a run hands over only the timeline entries the case record has not written.
CARRY_UNRECORDED_PATCH = "plan-carries-unrecorded-timeline"


def search_attributes(
    state: PlanState, now: datetime, delivery_failing: bool
) -> list[SearchAttributeUpdate[Any]]:
    """``IcpcDeadline`` holds the statutory limit of the review this cycle works towards."""
    deadline = state.review_due if state.is_open else None
    return path_attributes(sa.PLAN_STAGE, state, deadline, now, delivery_failing)


@workflow.defn(name=PLAN_WORKFLOW)
class IcpcPlanWorkflow:
    @workflow.init
    def __init__(self, plan: PlanInput) -> None:
        self._loop: DecisionLoop[PlanState] = DecisionLoop(
            PLAN_PATH,
            details=plan_rules.stage_details,
            search_attributes=search_attributes,
            summary=plan_rules.record_summary,
            pause_reason=BETWEEN_CYCLES,
            paused=lambda state: state.needs_planning,
        )
        self._loop.state = plan.state  # queries answer while the cycle is planned
        self._loop.early = list(plan.pending)
        self._reference: ProcedureRef | None = None  # the plans by reference (since: patched)
        self._whole = False  # a worker did not have this version: plans send it whole

    # --- the run -------------------------------------------------------------------------

    @workflow.run
    async def run(self, plan: PlanInput) -> PlanRunResult:
        state = self._loop.require_state()
        if workflow.patched(PROCEDURE_BY_REFERENCE_PATCH):
            self._reference = ProcedureRef.of(state.procedure)
            # One copy in memory for every plan (and case) under this version of it.
            state.case.procedure = shared_procedure(state.procedure, self._reference.sha256)
        if state.needs_planning:
            planned = await self._plan(state, with_calendar=True)
            state.apply_schedule(planned.schedule, planned.calendar)
            plan_rules.start(state, workflow.now())
        self._loop.begin(state)
        self._loop.start_recording(plan.recorded)

        def keep_going() -> bool:
            # A long cycle (many decisions, mail retries) starts a fresh history too.
            return (
                state.is_open
                and not state.needs_planning
                and not workflow.info().is_continue_as_new_suggested()
            )

        await self._loop.run(self._carry_out, keep_going)

        self._loop.handing_over = state.is_open
        self._loop.publish()
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._loop.all_recorded()
        if state.is_open:
            state.runs += 1
            if self._loop.recording and workflow.patched(CARRY_UNRECORDED_PATCH):
                # The record holds the timeline so far, the ICPC's too: the next run carries
                # only what it has not written, so the state does not grow with the years.
                state.forget_before(self._loop.recorded)
                state.case.forget_before(state.case.timeline_length)
            workflow.continue_as_new(
                PlanInput(state=state, pending=self._loop.early, recorded=self._loop.recorded)
            )
        return PlanRunResult(
            plan_id=state.plan_id,
            case_id=state.case.case_id,
            stage=state.stage,
            reviews_held=len(state.conferences) - 1,
            ended_at=state.ended_at,
            end_reason=state.end_reason,
        )

    async def _carry_out(self, effects: Effects) -> None:
        state = self._loop.require_state()
        if effects.replan and not state.needs_planning:
            planned = await self._plan(state, with_calendar=False)
            state.apply_schedule(planned.schedule)
            # A new due date may already be past: handle it now.
            self._loop.add(PLAN_PATH.on_clock(state, workflow.now()))
        await self._loop.mail.send(effects.emails)

    async def _plan(self, state: PlanState, *, with_calendar: bool) -> PlanResult:
        """Due dates from the planning activity; at a new cycle, a fresh working-day table
        reaching from the last conference held past the next review."""
        whole = self._reference is None or self._whole
        request = PlanRequest(
            procedure=state.procedure if whole else None,
            procedure_ref=None if whole else self._reference,
            strategy_discussion=state.case.start.strategy_discussion,
            anchors=state.anchors(),
            with_calendar=with_calendar,
            calendar_from=state.last_held_at,
        )
        summary = f"Compute due dates for review {state.cycle}"
        if self._reference is None:  # runs from before procedures travelled by reference
            result: PlanResult = await workflow.execute_activity(
                plan_case, request, start_to_close_timeout=PLAN_TIMEOUT, summary=summary
            )
            return result
        result, went_whole = await plan_by_reference(request, state.procedure, summary)
        self._whole = self._whole or went_whole
        return result

    # --- decisions and what the outside sees ------------------------------------------------

    @workflow.signal(name=DECIDE_SIGNAL)
    def decide_signal(self, request: PlanDecisionRequest | Unreadable) -> None:
        """Fire and forget; a refusal is kept in the timeline. Signals that arrive while a run
        sets up or hands over to the next are kept and taken by the run that follows."""
        self._loop.on_signal(request)

    @workflow.update(name=DECIDE_UPDATE)
    async def decide(self, request: PlanDecisionRequest | Unreadable) -> DecisionResult:
        return await self._loop.on_update(request, stage=lambda state: state.stage)

    @decide.validator
    def _validate_decision(self, request: PlanDecisionRequest | Unreadable) -> None:
        self._loop.validate(request)

    @workflow.query(name=STATE_QUERY)
    def state(self) -> PlanState:
        return self._loop.require_state()
