"""The durable half of the decision machine, composed into both workflows.

Holds what the case and the plan workflows did alike: the queue of effects the rules asked for,
waking on a decision or on the next milestone's timer, keeping signals that arrive before the
path is ready, validating and applying decisions from updates, and telling the Temporal UI the
path's stage (current details and search attributes). Each workflow keeps only its own steps:
planning due dates, invitations, the plan's next cycle.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.record import record_case_events
    from contracts import metrics
    from contracts.case import DecisionResult
    from contracts.payload_keys import Unreadable
    from domain.case_record import (
        CaseSummary,
        Marks,
        RecordBatch,
        Stream,
        milestone_marks,
        new_events,
    )
    from domain.outbox import EmailPurpose, OutgoingEmail
    from domain.path import Effects, Path, PathState, Refusal
    from workflows import trace_context
    from workflows.mail_delivery import MailDelivery

# Paths started before the case record existed replay without writing to it.
RECORD_PATCH = "case-record"
# Paths waiting before they woke when the statutory limit's day ends (to say they are out of
# timescale, domain.calendar.past_limit) replay without that timer.
TIMESCALE_TURN_PATCH = "issue22-timescale-day-turn"
RECORD_TIMEOUT = timedelta(seconds=30)
# No attempt limit: a database that is down is retried, slower and slower, until it is back.
RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5)
)

S = TypeVar("S", bound=PathState)


class DecisionLoop(Generic[S]):
    def __init__(
        self,
        path: Path[S],
        *,
        details: Callable[[S, datetime], str],
        search_attributes: Callable[[S, datetime, bool], list[SearchAttributeUpdate[Any]]],
        summary: Callable[[S, datetime], CaseSummary],
        pause_reason: str = "",
        paused: Callable[[S], bool] = lambda state: False,
    ) -> None:
        self.path = path
        self.state: S | None = None  # set once known; decisions wait until ``ready``
        self.ready = False  # the path's due dates are planned: decisions can be checked
        self.handing_over = False  # this run is about to continue as new
        self.early: list[Any] = []  # signals that came before the path was ready
        self.mail = MailDelivery(self._delivery_changed, waiting=self._queued_emails)
        self._details = details
        self._search_attributes = search_attributes
        self._paused = paused
        self._pause_reason = pause_reason
        self._summary = summary
        # Each with the tracing context of what queued it (the decision's trace; off: None).
        self._effects: list[tuple[Effects, trace_context.Captured]] = []
        self._woken = False
        self._busy = False  # carrying out effects: the record waits for the path to settle
        self._recording = False
        self.recorded = 0  # timeline entries already in the case record
        self._marks: Marks = {}
        self._counted_late = False  # this case's out-of-timescale is counted (metrics)

    # --- the run -------------------------------------------------------------------------

    def begin(self, state: S) -> None:
        """The path is planned: take the signals that waited for it."""
        self.state = state
        self.ready = True
        if self.path.stream == Stream.CASE:
            self._count(metrics.CASES_STARTED)
        for early in self.early:
            self.take_signal(early)
        self.early.clear()

    async def run(
        self, carry_out: Callable[[Effects], Awaitable[None]], keep_going: Callable[[], bool]
    ) -> None:
        """Tick the clock, carry out what is queued, wait for the next event; until done."""
        state = self.require_state()
        while True:
            self.add(self.path.on_clock(state, workflow.now()))
            self._busy = True
            while self._effects:  # including effects queued while these run
                effects, traced = self._effects.pop(0)
                with trace_context.restored(traced):  # its emails in its decision's trace
                    await carry_out(effects)
                for email in effects.emails:
                    if email.purpose == EmailPurpose.ESCALATION:
                        self._count(metrics.ESCALATIONS_SENT)
            self._busy = False
            if not keep_going():
                break
            self.publish()
            await self._wait_for_next_event()

    def add(self, effects: Effects) -> None:
        """Queue effects to carry out in this round (a re-plan's escalations, say)."""
        self._effects.append((effects, trace_context.capture()))

    async def _wait_for_next_event(self) -> None:
        state = self.require_state()
        if workflow.patched(TIMESCALE_TURN_PATCH):
            wake = self.path.next_wakeup_with_timescale(state, workflow.now())
        else:
            wake = self.path.next_wakeup(state)
        self._woken = False
        if wake is None:
            await workflow.wait_condition(lambda: self._woken)
            return
        at, name = wake
        delay = max(at - workflow.now(), timedelta(seconds=1))
        with contextlib.suppress(TimeoutError):  # the timer fired: time for the next event
            await workflow.wait_condition(lambda: self._woken, timeout=delay, timeout_summary=name)

    # --- the case record ------------------------------------------------------------------

    def start_recording(self, recorded: int = 0) -> None:
        """Write this path's events to the case record from now on (``recorded`` of its
        timeline entries are there already), in the background: a database that is down
        delays the record, never the case."""
        if not workflow.patched(RECORD_PATCH):
            return
        self._recording = True
        self.recorded = recorded
        asyncio.create_task(self._record_forever())  # noqa: RUF006 - lives as long as the run

    async def _record_forever(self) -> None:
        state = self.require_state()
        while True:
            await workflow.wait_condition(
                lambda: state.timeline_length > self.recorded and self._settled()
            )
            upto = state.timeline_length
            marks = milestone_marks(state.milestones)
            batch = RecordBatch(
                case_id=state.case.case_id,
                stream=self.path.stream,
                events=new_events(
                    state.numbered(self.recorded),
                    state.milestones,
                    self._marks,
                    state.calendar,
                ),
                summary=self._summary(state, workflow.now()).model_copy(
                    update={"email_failing": self.mail.failing}
                ),
            )
            await workflow.execute_activity(
                record_case_events,
                batch,
                start_to_close_timeout=RECORD_TIMEOUT,
                retry_policy=RECORD_RETRY,
                summary=f"Record {len(batch.events)} event(s)",
            )
            self.recorded, self._marks = upto, marks

    def _settled(self) -> bool:
        """No decision's effects are still being carried out (a re-plan, say), or the mail is
        paused between rounds with no re-plan waiting (the record then says email failing)."""
        if self.mail.paused:
            return not any(effects.replan for effects, _ in self._effects)
        return not self._busy and not self._effects

    @property
    def recording(self) -> bool:
        """Whether this run writes its path to the case record (since: ``RECORD_PATCH``)."""
        return self._recording

    async def all_recorded(self) -> None:
        """Wait until the record holds every timeline entry (before the run ends)."""
        if self._recording:
            state = self.require_state()
            await workflow.wait_condition(lambda: self.recorded >= state.timeline_length)

    # --- decisions -----------------------------------------------------------------------

    def on_signal(self, request: Any) -> None:
        """Fire and forget: kept until the path is ready; a refusal goes in the timeline."""
        if not self.ready or self.between_runs():
            self.early.append(request)
            return
        self.take_signal(request)

    def take_signal(self, request: Any) -> None:
        state = self.require_state()
        now = workflow.now()
        if isinstance(request, Unreadable):  # a key the workers lack, or not sealed at all
            self._count(metrics.DECISIONS, kind=unreadable_kind(request), result="refused")
            state.record(now, request.timeline_event, request.timeline_text)
            self._woken = True
            return
        try:
            self._queue(self.path.apply(state, request.decision, now))
            self._count_decision(request, accepted=True)
        except Refusal as refusal:
            self._count_decision(request, accepted=False)
            state.record(
                now,
                "refused",
                f"Refused {request.decision.kind}: {refusal}",
                by=request.decision.decided_by,
            )
            self._woken = True

    async def on_update(self, request: Any, stage: Callable[[S], str]) -> DecisionResult:
        if isinstance(request, Unreadable):  # the validator refuses it; never accepted
            raise refused(Refusal(request.refusal_text))
        # While the path is being planned the validator cannot check yet: the check is here.
        await workflow.wait_condition(lambda: self.ready)
        state = self.require_state()
        try:
            effects = self.path.apply(state, request.decision, workflow.now())
        except Refusal as refusal:
            self._count_decision(request, accepted=False)
            raise refused(refusal) from None
        self._count_decision(request, accepted=True)
        self._queue(effects)
        return DecisionResult(accepted=True, summary=effects.summary, stage=stage(state))

    def validate(self, request: Any) -> None:
        """Refuse before anything is written to history: a refused update leaves no trace."""
        if isinstance(request, Unreadable):  # a key the workers lack, or not sealed at all
            self._count(metrics.DECISIONS, kind=unreadable_kind(request), result="refused")
            raise refused(Refusal(request.refusal_text))
        if self.between_runs():
            self._count_decision(request, accepted=False)
            raise refused(Refusal(self._pause_reason))
        if not self.ready:
            return
        try:
            self.path.check(self.require_state(), request.decision, workflow.now())
        except Refusal as refusal:
            self._count_decision(request, accepted=False)
            raise refused(refusal) from None

    def between_runs(self) -> bool:
        """The path is handing over to its next run (the plan's next review cycle)."""
        state = self.state
        return self.handing_over or (self.ready and state is not None and self._paused(state))

    def _queue(self, effects: Effects) -> None:
        self._effects.append((effects, trace_context.capture()))
        self._woken = True
        if effects.emails:
            self.mail.wake()  # a paused batch must not hold this decision's email back

    def _queued_emails(self) -> list[OutgoingEmail]:
        """The emails of effects not carried out yet (the mail goes out ahead of them)."""
        return [email for effects, _ in self._effects for email in effects.emails]

    # --- what the outside sees ------------------------------------------------------------

    def publish(self) -> None:
        """Current details and search attributes, so a stuck path reads plainly in the UI."""
        state = self.require_state()
        now = workflow.now()
        workflow.set_current_details(self._details(state, now))
        workflow.upsert_search_attributes(self._search_attributes(state, now, self.mail.failing))
        if (
            self.path.stream == Stream.CASE
            and not self._counted_late
            and self._summary(state, now).out_of_timescale
        ):
            self._counted_late = True
            self._count(metrics.CASES_OUT_OF_TIMESCALE)

    def _delivery_changed(self, failing: bool) -> None:
        if failing:
            self.require_state().record(
                workflow.now(), "delivery_failing", "Email keeps failing; retrying"
            )
        elif self.mail.backs_off:  # and the record learns it is no longer failing
            self.require_state().record(
                workflow.now(), "delivery_restored", "Email is going out again"
            )
        self.publish()

    # --- metrics (the SDK's meter: nothing is emitted while replaying, nothing is in history) -

    def _count(self, name: str, **labels: str) -> None:
        state = self.state
        procedure = state.procedure.id if state is not None else "unknown"
        counter = workflow.metric_meter().create_counter(name, "ICPC " + name.replace("_", " "))
        counter.add(1, {"procedure": procedure, **labels})

    def _count_decision(self, request: Any, *, accepted: bool) -> None:
        kind = str(request.decision.kind)
        self._count(metrics.DECISIONS, kind=kind, result="accepted" if accepted else "refused")

    def require_state(self) -> S:
        if self.state is None:
            raise Refusal("The case is still being set up; try again in a moment.")
        return self.state


def refused(refusal: Refusal) -> ApplicationError:
    """A refusal the caller of an update sees as its plain reason."""
    return ApplicationError(str(refusal), type="DecisionRefused", non_retryable=True)


def unreadable_kind(request: Unreadable) -> str:
    """The decisions counter's kind for a placeholder: not sealed by the service, or sealed
    with a key the workers lack."""
    return "plaintext" if request.not_sealed else "unreadable"
