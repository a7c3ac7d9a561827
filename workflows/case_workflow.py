"""One child's path from strategy discussion to ICPC, as a durable workflow.

A thin shell: decisions (signals and validated updates) and the clock go to the case rules in
``domain.case_rules``; this class only carries out what they ask (plan, send mail, wait, tell
the Temporal UI) and holds no rule of its own.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.planning import PlanRequest, PlanResult
    from domain import case_rules
    from domain.case_rules import Effects, Refusal
    from domain.case_state import CaseState
    from domain.decisions import Outcome
    from workflows import search_attributes as sa
    from workflows.case_contract import (
        CASE_WORKFLOW,
        DECIDE_SIGNAL,
        DECIDE_UPDATE,
        STATE_QUERY,
        CaseInput,
        CaseResult,
        DecisionRequest,
        DecisionResult,
    )
    from workflows.mail_delivery import MailDelivery
    from workflows.plan_seam import start_plan_workflow

PLAN_TIMEOUT = timedelta(seconds=30)


@workflow.defn(name=CASE_WORKFLOW)
class IcpcCaseWorkflow:
    @workflow.init
    def __init__(self, case: CaseInput) -> None:
        self._input = case
        self._state: CaseState | None = None
        self._effects: list[Effects] = []
        self._early_signals: list[DecisionRequest] = []
        self._woken = False
        self._mail = MailDelivery(self._delivery_changed)

    # --- the run -------------------------------------------------------------------------

    @workflow.run
    async def run(self, case: CaseInput) -> CaseResult:
        planned = await self._plan(with_calendar=True)
        assert planned.calendar is not None
        state = CaseState(
            case_id=workflow.info().workflow_id,
            start=case.start,
            procedure=case.procedure,
            calendar=planned.calendar,
        )
        state.apply_schedule(planned.schedule)
        case_rules.start(state, workflow.now())
        self._state = state
        for early in self._early_signals:
            self._take_signal(early)
        self._early_signals.clear()

        while True:
            self._effects.append(case_rules.on_clock(state, workflow.now()))
            await self._carry_out_effects()
            if not state.is_open:
                break
            self._publish()
            await self._wait_for_next_event()

        self._publish()
        await workflow.wait_condition(workflow.all_handlers_finished)
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

    async def _wait_for_next_event(self) -> None:
        state = self._require_state()
        wake = case_rules.next_wakeup(state)
        self._woken = False
        if wake is None:
            await workflow.wait_condition(lambda: self._woken)
            return
        at, name = wake
        delay = max(at - workflow.now(), timedelta(seconds=1))
        with contextlib.suppress(TimeoutError):  # the timer fired: time for the next event
            await workflow.wait_condition(lambda: self._woken, timeout=delay, timeout_summary=name)

    async def _carry_out_effects(self) -> None:
        """Run queued effects in order, including those that arrive while this runs."""
        state = self._require_state()
        while self._effects:
            effects = self._effects.pop(0)
            if effects.replan:
                planned = await self._plan(with_calendar=False)
                state.apply_schedule(planned.schedule)
                # A new due date may already be past (a late booking): handle it now.
                self._effects.append(case_rules.on_clock(state, workflow.now()))
            await self._mail.send(effects.emails)
            if case_rules.invitations_due(state):
                emails = case_rules.prepare_invitations(state, workflow.now())
                await self._mail.send(emails)
                case_rules.invitations_sent(state, workflow.now(), len(emails))

    async def _plan(self, *, with_calendar: bool) -> PlanResult:
        state = self._state
        anchors = state.anchors() if state else {}
        return await workflow.execute_activity(
            "plan_case",
            PlanRequest(
                procedure=self._input.procedure,
                strategy_discussion=self._input.start.strategy_discussion,
                anchors=anchors,
                with_calendar=with_calendar,
            ),
            result_type=PlanResult,
            start_to_close_timeout=PLAN_TIMEOUT,
            summary="Compute due dates",
        )

    def _delivery_changed(self, failing: bool) -> None:
        if failing:
            self._require_state().record(
                workflow.now(), "delivery_failing", "Email keeps failing; retrying"
            )
        self._publish()

    # --- decisions -----------------------------------------------------------------------

    @workflow.signal(name=DECIDE_SIGNAL)
    def decide_signal(self, request: DecisionRequest) -> None:
        """Fire and forget: works while no worker runs; a refusal is kept in the timeline."""
        if self._state is None:
            self._early_signals.append(request)
            return
        self._take_signal(request)

    def _take_signal(self, request: DecisionRequest) -> None:
        state = self._require_state()
        now = workflow.now()
        try:
            self._queue(case_rules.apply(state, request.decision, now))
        except Refusal as refusal:
            state.record(
                now,
                "refused",
                f"Refused {request.decision.kind}: {refusal}",
                by=request.decision.decided_by,
            )
            self._woken = True

    @workflow.update(name=DECIDE_UPDATE)
    async def decide(self, request: DecisionRequest) -> DecisionResult:
        # In the first moments of a case (before its due dates are planned) the validator
        # cannot check yet, so the check happens here; any other time it already passed.
        await workflow.wait_condition(lambda: self._state is not None)
        state = self._require_state()
        try:
            effects = case_rules.apply(state, request.decision, workflow.now())
        except Refusal as refusal:
            raise refused(refusal) from None
        self._queue(effects)
        return DecisionResult(accepted=True, summary=effects.summary, stage=state.stage)

    @decide.validator
    def _validate_decision(self, request: DecisionRequest) -> None:
        """Refuse before anything is written to history: a refused update leaves no trace."""
        if self._state is None:
            return
        try:
            case_rules.check(self._state, request.decision, workflow.now())
        except Refusal as refusal:
            raise refused(refusal) from None

    def _queue(self, effects: Effects) -> None:
        self._effects.append(effects)
        self._woken = True

    # --- what the outside sees ------------------------------------------------------------

    @workflow.query(name=STATE_QUERY)
    def state(self) -> CaseState:
        return self._require_state()

    def _publish(self) -> None:
        """Search attributes and current details, so a stuck case reads plainly in the UI."""
        state = self._require_state()
        now = workflow.now()
        workflow.set_current_details(case_rules.stage_details(state, now))
        nxt = state.next_milestone()
        awaiting = state.awaiting_roles()
        workflow.upsert_search_attributes(
            [
                sa.STAGE.value_set(state.stage.value),
                sa.DEADLINE.value_set(state.deadline),
                sa.NEXT_DUE.value_set(nxt.planned.due)
                if nxt and nxt.planned.due and state.is_open
                else sa.NEXT_DUE.value_unset(),
                sa.NEXT_MILESTONE.value_set(nxt.id)
                if nxt and state.is_open
                else sa.NEXT_MILESTONE.value_unset(),
                sa.AWAITING_ROLE.value_set(awaiting[0])
                if awaiting
                else sa.AWAITING_ROLE.value_unset(),
                sa.OUT_OF_TIMESCALE.value_set(state.out_of_timescale(now)),
                sa.ESCALATED.value_set(state.escalated()),
                sa.DELIVERY_FAILING.value_set(self._mail.failing),
            ]
        )

    def _require_state(self) -> CaseState:
        if self._state is None:
            raise Refusal("The case is still being set up; try again in a moment.")
        return self._state


def refused(refusal: Refusal) -> ApplicationError:
    """A refusal the caller of an update sees as its plain reason."""
    return ApplicationError(str(refusal), type="DecisionRefused", non_retryable=True)


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
