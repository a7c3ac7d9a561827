"""One child's protection plan after the ICPC, as a durable workflow: one run per review cycle.

A thin shell like the case workflow: decisions (signals and validated updates) and the clock go
to the plan rules in ``domain.plan_rules``; this class carries out what they ask (plan, send
mail, wait, tell the Temporal UI). When a review is held and the plan continues, the run hands
the whole state (timeline included) to a new run with continue-as-new, so a plan that lasts
years keeps each history short.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.planning import PlanRequest, PlanResult
    from domain import plan_rules
    from domain.case_rules import Refusal
    from domain.plan_rules import PlanEffects
    from domain.plan_state import PlanState
    from workflows import search_attributes as sa
    from workflows.case_contract import DecisionResult
    from workflows.case_workflow import PLAN_TIMEOUT
    from workflows.mail_delivery import MailDelivery
    from workflows.plan_contract import (
        DECIDE_SIGNAL,
        DECIDE_UPDATE,
        PLAN_WORKFLOW,
        STATE_QUERY,
        PlanDecisionRequest,
        PlanInput,
        PlanRunResult,
    )


@workflow.defn(name=PLAN_WORKFLOW)
class IcpcPlanWorkflow:
    @workflow.init
    def __init__(self, plan: PlanInput) -> None:
        self._state: PlanState = plan.state
        self._ready = False  # this run's due dates are planned
        self._handing_over = False  # this run is about to continue as new
        self._early_signals: list[PlanDecisionRequest] = list(plan.pending)
        self._effects: list[PlanEffects] = []
        self._woken = False
        self._mail = MailDelivery(self._delivery_changed)

    # --- the run -------------------------------------------------------------------------

    @workflow.run
    async def run(self, plan: PlanInput) -> PlanRunResult:
        state = self._state
        if state.needs_planning:
            planned = await self._plan(with_calendar=True)
            state.apply_schedule(planned.schedule, planned.calendar)
            plan_rules.start(state, workflow.now())
        self._ready = True
        for early in self._early_signals:
            self._take_signal(early)
        self._early_signals.clear()

        while True:
            self._effects.append(plan_rules.on_clock(state, workflow.now()))
            await self._carry_out_effects()
            if not state.is_open or state.needs_planning:
                break
            if workflow.info().is_continue_as_new_suggested():
                break  # a long cycle (many decisions, mail retries): start a fresh history
            self._publish()
            await self._wait_for_next_event()

        self._handing_over = state.is_open
        self._publish()
        await workflow.wait_condition(workflow.all_handlers_finished)
        if state.is_open:
            state.runs += 1
            workflow.continue_as_new(PlanInput(state=state, pending=self._early_signals))
        return PlanRunResult(
            plan_id=state.plan_id,
            case_id=state.case.case_id,
            stage=state.stage,
            reviews_held=len(state.conferences) - 1,
            ended_at=state.ended_at,
            end_reason=state.end_reason,
        )

    async def _wait_for_next_event(self) -> None:
        wake = plan_rules.next_wakeup(self._state)
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
        state = self._state
        while self._effects:
            effects = self._effects.pop(0)
            if effects.replan and not state.needs_planning:
                planned = await self._plan(with_calendar=False)
                state.apply_schedule(planned.schedule)
                # A new due date may already be past: handle it now.
                self._effects.append(plan_rules.on_clock(state, workflow.now()))
            await self._mail.send(effects.emails)

    async def _plan(self, *, with_calendar: bool) -> PlanResult:
        """Due dates from the planning activity; at a new cycle, a fresh working-day table
        reaching from the last conference held past the next review."""
        state = self._state
        result: PlanResult = await workflow.execute_activity(
            "plan_case",
            PlanRequest(
                procedure=state.procedure,
                strategy_discussion=state.case.start.strategy_discussion,
                anchors=state.anchors(),
                with_calendar=with_calendar,
                calendar_from=state.last_held_at,
            ),
            result_type=PlanResult,
            start_to_close_timeout=PLAN_TIMEOUT,
            summary=f"Compute due dates for review {state.cycle}",
        )
        return result

    def _delivery_changed(self, failing: bool) -> None:
        if failing:
            self._state.record(workflow.now(), "delivery_failing", "Email keeps failing; retrying")
        self._publish()

    # --- decisions -----------------------------------------------------------------------

    @workflow.signal(name=DECIDE_SIGNAL)
    def decide_signal(self, request: PlanDecisionRequest) -> None:
        """Fire and forget; a refusal is kept in the timeline. Signals that arrive while a run
        sets up or hands over to the next are kept and taken by the run that follows."""
        if not self._ready or self._between_runs():
            self._early_signals.append(request)
            return
        self._take_signal(request)

    def _take_signal(self, request: PlanDecisionRequest) -> None:
        state = self._state
        now = workflow.now()
        try:
            self._queue(plan_rules.apply(state, request.decision, now))
        except Refusal as refusal:
            state.record(
                now,
                "refused",
                f"Refused {request.decision.kind}: {refusal}",
                by=request.decision.decided_by,
            )
            self._woken = True

    @workflow.update(name=DECIDE_UPDATE)
    async def decide(self, request: PlanDecisionRequest) -> DecisionResult:
        # While this run plans its cycle the validator cannot check yet: the check is here.
        await workflow.wait_condition(lambda: self._ready)
        state = self._state
        try:
            self._queue(plan_rules.apply(state, request.decision, workflow.now()))
        except Refusal as refusal:
            raise refused(refusal) from None
        entry = next(t for t in reversed(state.timeline) if t.event == request.decision.kind)
        return DecisionResult(accepted=True, summary=entry.summary, stage=state.stage)

    @decide.validator
    def _validate_decision(self, request: PlanDecisionRequest) -> None:
        """Refuse before anything is written to history: a refused update leaves no trace."""
        if self._between_runs():
            raise refused(
                Refusal("The plan is moving on to its next review cycle; try again in a moment.")
            )
        if not self._ready:
            return
        try:
            plan_rules.check(self._state, request.decision, workflow.now())
        except Refusal as refusal:
            raise refused(refusal) from None

    def _between_runs(self) -> bool:
        """A review was held (or history grew long): this run is handing over to the next."""
        return self._handing_over or (self._ready and self._state.needs_planning)

    def _queue(self, effects: PlanEffects) -> None:
        self._effects.append(effects)
        self._woken = True

    # --- what the outside sees ------------------------------------------------------------

    @workflow.query(name=STATE_QUERY)
    def state(self) -> PlanState:
        return self._state

    def _publish(self) -> None:
        """Search attributes and current details, so a stuck plan reads plainly in the UI.

        ``IcpcDeadline`` holds the statutory limit of the review this cycle works towards.
        """
        state = self._state
        now = workflow.now()
        workflow.set_current_details(plan_rules.stage_details(state, now))
        nxt = state.next_milestone()
        awaiting = state.awaiting_roles()
        open_ = state.is_open
        workflow.upsert_search_attributes(
            [
                sa.PLAN_STAGE.value_set(state.stage.value),
                sa.DEADLINE.value_set(state.review_due)
                if state.review_due and open_
                else sa.DEADLINE.value_unset(),
                sa.NEXT_DUE.value_set(nxt.planned.due)
                if nxt and nxt.planned.due and open_
                else sa.NEXT_DUE.value_unset(),
                sa.NEXT_MILESTONE.value_set(nxt.id)
                if nxt and open_
                else sa.NEXT_MILESTONE.value_unset(),
                sa.AWAITING_ROLE.value_set(awaiting[0])
                if awaiting
                else sa.AWAITING_ROLE.value_unset(),
                sa.OUT_OF_TIMESCALE.value_set(state.out_of_timescale(now)),
                sa.ESCALATED.value_set(state.escalated()),
                sa.DELIVERY_FAILING.value_set(self._mail.failing),
            ]
        )


def refused(refusal: Refusal) -> ApplicationError:
    """A refusal the caller of an update sees as its plain reason."""
    return ApplicationError(str(refusal), type="DecisionRefused", non_retryable=True)
