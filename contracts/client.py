"""Talking to a child's case from outside: start, decide, read, list.

The one client the faces use (the command line, the web form, tests). A decision is routed to
the path whose table takes it (:mod:`contracts.paths`), never by looking at an id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from contracts import search_attributes as sa
from contracts.case import (
    CASE_WORKFLOW,
    DECIDE_SIGNAL,
    DECIDE_UPDATE,
    STATE_QUERY,
    TASK_QUEUE,
    CaseInput,
    DecisionResult,
    case_workflow_id,
    initial_search_attributes,
)
from contracts.paths import PATHS, path_for
from contracts.payload_keys import WorkersCannotRead
from domain.calendar import LONDON
from domain.case_record import Stream
from domain.case_start import check_start
from domain.case_state import CaseState
from domain.decisions import CaseStart, DecisionBase
from domain.plan_state import PlanState
from domain.procedure import Procedure
from domain.reasons import blank_reason_message
from domain.scoping import CaseScope, scope_of_start


@dataclass(frozen=True)
class Started:
    case_id: str
    created: bool  # False: the case already existed and was left as it is


async def start_case(
    client: Client,
    start: CaseStart,
    procedure: Procedure,
    task_queue: str = TASK_QUEUE,
    *,
    now: datetime | None = None,
) -> Started:
    """Start one case; starting the same case twice never creates a second one.

    The start is checked first (:func:`domain.case_start.check_start`, at ``now``, default
    the clock): a start that must not start a case raises ``StartRefused`` and starts none.
    """
    check_start(start, procedure, now or datetime.now(UTC))
    case_id = case_workflow_id(procedure.id, start.case_reference, start.strategy_discussion)
    case = CaseInput.by_reference(start, procedure)  # the procedure by its content hash
    try:
        await client.start_workflow(
            CASE_WORKFLOW,
            case,
            id=case_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            search_attributes=initial_search_attributes(case),
            static_summary=f"ICPC case {start.case_reference} ({procedure.id})",
            static_details=(
                f"Procedure: {procedure.title}\nCase reference: {start.case_reference}\n"
                f"Family reference: {start.family_reference}"
            ),
        )
    except WorkflowAlreadyStartedError:
        return Started(case_id, created=False)
    return Started(case_id, created=True)


@dataclass(frozen=True)
class DecisionOutcome:
    accepted: bool
    message: str
    stage: str | None = None


async def send_decision(
    client: Client,
    case_id: str,
    decision: DecisionBase,
    *,
    stream: Stream | None = None,
    as_signal: bool = False,
) -> DecisionOutcome:
    """Send a decision to the path that takes it, as a validated update (the answer comes
    back) or as a signal. ``stream`` picks the path for a decision both take (reassign). A
    reason with nothing visible in it is refused here, unsent (:mod:`domain.reasons`)."""
    blank = blank_reason_message(decision)
    if blank:  # every face's decisions pass here: nothing is sent
        return DecisionOutcome(False, blank)
    contract = path_for(decision.kind, stream)  # type: ignore[attr-defined]
    handle = client.get_workflow_handle(contract.workflow_id(case_id))
    request = contract.request(decision=decision)
    try:
        if as_signal:
            await handle.signal(DECIDE_SIGNAL, request)
            return DecisionOutcome(True, "sent as a signal; `icpc show` tells whether it was taken")
        result = await handle.execute_update(DECIDE_UPDATE, request, result_type=DecisionResult)
    except WorkersCannotRead as error:  # nothing was sent: the workers could not read it
        return DecisionOutcome(False, str(error))
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND or "already completed" not in error.message:
            raise
        return DecisionOutcome(False, await closed_sentence(client, contract.stream, case_id))
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        return DecisionOutcome(False, str(getattr(cause, "message", None) or cause or error))
    return DecisionOutcome(True, result.summary, result.stage)


# How a path's last stage reads in "This case is closed (withdrawn on 3 December 2026)".
CLOSED_AS = {
    "withdrawn": "withdrawn",
    "closed": "stood down",
    "held": "ICPC held",
    "ended": "ended",
}


async def closed_sentence(client: Client, stream: Stream, case_id: str) -> str:
    """Why a closed path takes no decision, in plain words, instead of Temporal's "workflow
    execution already completed": how it closed (its last stage) and on which day."""
    contract = PATHS[stream]
    try:
        described = await client.get_workflow_handle(contract.workflow_id(case_id)).describe()
    except RPCError:
        return f"This {contract.noun} is closed: it takes no more decisions."
    stage = described.typed_search_attributes.get(
        sa.PLAN_STAGE if stream == Stream.PLAN else sa.STAGE
    )
    if described.status == WorkflowExecutionStatus.TERMINATED:
        how = "stopped by support staff"
    elif described.status == WorkflowExecutionStatus.COMPLETED:
        how = CLOSED_AS.get(stage or "", "closed")
    else:
        status = described.status.name.lower().replace("_", " ") if described.status else ""
        how = f"ended: {status}" if status else "ended"
    at = described.close_time.astimezone(LONDON) if described.close_time else None
    day = f" on {at.day} {at:%B %Y}" if at is not None else ""
    return f"This {contract.noun} is closed ({how}{day}): it takes no more decisions."


async def read_path(client: Client, case_id: str, stream: Stream) -> CaseState | PlanState:
    """The state of one path of the case (the ICPC case, or the plan after it)."""
    contract = PATHS[stream]
    handle = client.get_workflow_handle(contract.workflow_id(case_id))
    state: CaseState | PlanState = await handle.query(STATE_QUERY, result_type=contract.state)
    return state


async def read_case(client: Client, case_id: str) -> CaseState:
    state = await read_path(client, case_id, Stream.CASE)
    assert isinstance(state, CaseState)
    return state


async def read_scope(client: Client, case_id: str) -> CaseScope:
    """Who the case belongs to, from its workflow: for the moment after a start, before the
    case record has the case (the faces read the record's ``RecordStore.scope`` first). The
    case as it stands; while it is still being set up, the case it was started with."""
    try:
        state = await read_case(client, case_id)
    except WorkflowQueryFailedError:
        handle = client.get_workflow_handle(case_id)
        async for event in handle.fetch_history_events():
            attributes = event.workflow_execution_started_event_attributes
            [case] = await client.data_converter.decode(
                attributes.input.payloads, type_hints=[CaseInput]
            )
            return scope_of_start(case.start)
        raise LookupError(f"case '{case_id}' has no history") from None
    return scope_of_start(state.start)


async def find_case_ids(client: Client, case: str, limit: int = 10) -> list[str]:
    """A workflow id as given, or the running cases with that case reference (a child may
    have two, from two strategy discussions), newest first; with none running, the newest
    that ran."""
    if case.startswith("icpc-"):
        return [case]
    query = f"{sa.CASE_REFERENCE.name} = '{_quote(case)}' AND WorkflowType = '{CASE_WORKFLOW}'"
    running = f"{query} AND ExecutionStatus = 'Running'"
    ids = [w.id async for w in client.list_workflows(running, limit=limit)]
    return ids or [w.id async for w in client.list_workflows(query, limit=1)]


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


@dataclass(frozen=True)
class CaseRow:
    case_id: str
    status: str
    case_reference: str | None
    stage: str | None
    deadline: datetime | None
    next_due: datetime | None
    awaiting_role: str | None
    out_of_timescale: bool | None
    escalated: bool | None


async def list_cases(client: Client, query: str | None = None, limit: int = 200) -> list[CaseRow]:
    query = query or f"WorkflowType = '{CASE_WORKFLOW}'"
    rows = []
    async for w in client.list_workflows(query, limit=limit):
        attrs = w.typed_search_attributes
        rows.append(
            CaseRow(
                case_id=w.id,
                status=w.status.name if w.status else "UNKNOWN",
                case_reference=attrs.get(sa.CASE_REFERENCE),
                stage=attrs.get(sa.STAGE),
                deadline=attrs.get(sa.DEADLINE),
                next_due=attrs.get(sa.NEXT_DUE),
                awaiting_role=attrs.get(sa.AWAITING_ROLE),
                out_of_timescale=attrs.get(sa.OUT_OF_TIMESCALE),
                escalated=attrs.get(sa.ESCALATED),
            )
        )
    return rows
