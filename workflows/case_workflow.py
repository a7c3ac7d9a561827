"""One child's path from strategy discussion to ICPC, as a durable workflow.

A thin shell: decisions (signals and validated updates) and the clock go to the case's table of
decisions (``domain.case_rules.CASE_PATH``) through the shared :class:`DecisionLoop`; this class
only adds what is the case's own: planning its due dates, sending invitations once both the
booking and the invite list are in, and starting the plan workflow when a plan is made.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.planning import UNKNOWN_PROCEDURE, PlanRequest, PlanResult, plan_case
    from contracts import search_attributes as sa
    from contracts.case import (
        CASE_WORKFLOW,
        DECIDE_SIGNAL,
        DECIDE_UPDATE,
        STATE_QUERY,
        CaseInput,
        CaseResult,
        DecisionRequest,
        DecisionResult,
        ProcedureRef,
        shared_procedure,
    )
    from contracts.payload_keys import Unreadable
    from domain import case_invitations, case_views
    from domain.case_rules import CASE_PATH
    from domain.case_state import CaseState
    from domain.decisions import Outcome
    from domain.path import Effects
    from domain.procedure import Procedure
    from workflows.decision_loop import DecisionLoop
    from workflows.plan_seam import start_plan_workflow
    from workflows.visibility import path_attributes

PLAN_TIMEOUT = timedelta(seconds=30)
# Cases that sent invitations before notice was checked at sending replay the old way.
NOTICE_PATCH = "notice-at-invitations"
# Cases started before the conference service was told at start (000 action 3) replay without.
START_NOTICE_PATCH = "start-notice"
# Cases started before procedures travelled by reference (id and content hash) replay sending
# the whole procedure in every plan; since, the first plan brings it into history once.
PROCEDURE_BY_REFERENCE_PATCH = "procedure-by-reference"
# Cases started before issue 22's order rules (a withdrawal after a stand-down, holding without
# invitations, 003's method before invitations) replay with the rules they ran under.
ORDER_RULES_PATCH = "order-rules-issue-22"
# 000 action 10: a cancellation goes to the school mailbox its invitation went to.
CANCEL_WHERE_INVITED_PATCH = "cancel-where-invited-issue-22"


async def plan_by_reference(
    request: PlanRequest, procedure: Procedure | None, summary: str
) -> tuple[PlanResult, bool]:
    """The planning activity, and whether the procedure had to go whole. A request by
    reference that reaches a worker without that version of the procedure
    (``UnknownProcedureVersion``) is sent again with the whole procedure the workflow holds: a
    file edited mid-case never changes a running case (and its later plans go whole at once)."""
    try:
        result: PlanResult = await workflow.execute_activity(
            plan_case, request, start_to_close_timeout=PLAN_TIMEOUT, summary=summary
        )
        return result, False
    except ActivityError as error:
        cause = error.cause
        unknown = isinstance(cause, ApplicationError) and cause.type == UNKNOWN_PROCEDURE
        if not unknown or procedure is None or request.procedure is not None:
            raise
    whole = request.model_copy(update={"procedure": procedure, "procedure_ref": None})
    result = await workflow.execute_activity(
        plan_case, whole, start_to_close_timeout=PLAN_TIMEOUT, summary=summary
    )
    return result, True


def search_attributes(
    state: CaseState, now: datetime, delivery_failing: bool
) -> list[SearchAttributeUpdate[Any]]:
    return path_attributes(sa.STAGE, state, state.deadline, now, delivery_failing)


@workflow.defn(name=CASE_WORKFLOW)
class IcpcCaseWorkflow:
    @workflow.init
    def __init__(self, case: CaseInput) -> None:
        self._input = case
        # Known from the input (cases started before), or from the first plan.
        self._procedure: Procedure | None = case.procedure
        self._by_reference = False
        self._reference: ProcedureRef | None = None
        self._whole = False  # a worker did not have this version: plans send it whole
        self._loop: DecisionLoop[CaseState] = DecisionLoop(
            CASE_PATH,
            details=case_views.stage_details,
            search_attributes=search_attributes,
            summary=case_views.record_summary,
        )

    # --- the run -------------------------------------------------------------------------

    @workflow.run
    async def run(self, case: CaseInput) -> CaseResult:
        self._by_reference = workflow.patched(PROCEDURE_BY_REFERENCE_PATCH)
        if self._by_reference:
            self._reference = case.procedure_ref
        elif self._procedure is None:  # only this release starts a case by reference
            raise ApplicationError("A case by reference needs the release that started it.")
        planned = await self._plan(None, with_calendar=True)
        assert planned.calendar is not None
        if self._procedure is None:
            self._procedure = planned.procedure  # the one copy in this case's history
        assert self._procedure is not None
        if self._reference is not None:  # one copy in memory for every case under it
            self._procedure = shared_procedure(self._procedure, self._reference.sha256)
        state = CaseState(
            case_id=workflow.info().workflow_id,
            start=case.start,
            procedure=self._procedure,
            calendar=planned.calendar,
        )
        state.order_rules = workflow.patched(ORDER_RULES_PATCH)
        state.cancel_where_invited = workflow.patched(CANCEL_WHERE_INVITED_PATCH)
        state.apply_schedule(planned.schedule)
        case_views.start(state, workflow.now())
        if workflow.patched(START_NOTICE_PATCH):
            self._loop.add(case_views.start_notice(state, workflow.now()))
        self._loop.begin(state)
        self._loop.start_recording()
        await self._loop.run(self._carry_out, keep_going=lambda: state.is_open)

        self._loop.publish()
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._loop.all_recorded()  # what the last handlers wrote too
        plan_id = None
        if state.outcome == Outcome.CHILD_PROTECTION_PLAN:
            plan_id = await start_plan_workflow(state)
        return CaseResult(
            case_id=state.case_id,
            stage=state.stage,
            outcome=state.outcome,
            held_at=state.held_at,
            plan_workflow_id=plan_id,
        )

    async def _carry_out(self, effects: Effects) -> None:
        state = self._loop.require_state()
        if effects.replan:
            planned = await self._plan(state, with_calendar=False)
            state.apply_schedule(planned.schedule)
            # A new due date may already be past (a late booking): handle it now.
            self._loop.add(CASE_PATH.on_clock(state, workflow.now()))
        await self._loop.mail.send(effects.emails)
        if case_invitations.invitations_due(state):
            if not workflow.patched(NOTICE_PATCH):
                emails = case_invitations.prepare_invitations(state, workflow.now())
                await self._loop.mail.send(emails)
                case_invitations.invitations_sent(state, workflow.now(), len(emails))
                return
            # Notice is checked as they go: held back (refused) or sent with a flag.
            out = case_invitations.send_invitations(state, workflow.now())
            await self._loop.mail.send(out.emails)
            if case_invitations.invitations_due(state):
                case_invitations.invitations_sent(state, workflow.now(), out.count, out.short)

    async def _plan(self, state: CaseState | None, *, with_calendar: bool) -> PlanResult:
        """By reference (the procedure's id and hash), the first plan asking for the procedure
        when the input did not carry it; before, with the whole procedure each time."""
        whole = not self._by_reference or self._whole
        request = PlanRequest(
            procedure=self._procedure if whole else None,
            procedure_ref=None if whole else self._reference,
            strategy_discussion=self._input.start.strategy_discussion,
            anchors=state.anchors() if state else {},
            with_calendar=with_calendar,
            with_procedure=self._procedure is None,
        )
        if not self._by_reference:
            result: PlanResult = await workflow.execute_activity(
                plan_case, request, start_to_close_timeout=PLAN_TIMEOUT, summary="Compute due dates"
            )
            return result
        result, went_whole = await plan_by_reference(request, self._procedure, "Compute due dates")
        self._whole = self._whole or went_whole
        return result

    # --- decisions and what the outside sees ------------------------------------------------

    @workflow.signal(name=DECIDE_SIGNAL)
    def decide_signal(self, request: DecisionRequest | Unreadable) -> None:
        """Fire and forget: works while no worker runs; a refusal is kept in the timeline."""
        self._loop.on_signal(request)

    @workflow.update(name=DECIDE_UPDATE)
    async def decide(self, request: DecisionRequest | Unreadable) -> DecisionResult:
        return await self._loop.on_update(request, stage=lambda state: state.stage)

    @decide.validator
    def _validate_decision(self, request: DecisionRequest | Unreadable) -> None:
        self._loop.validate(request)

    @workflow.query(name=STATE_QUERY)
    def state(self) -> CaseState:
        return self._loop.require_state()
