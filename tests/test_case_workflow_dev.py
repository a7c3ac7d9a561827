"""The case workflow against the Temporal dev server: validated updates and search attributes.

The time-skipping server does not skip time while an update is in flight, so updates are
tested here, in real time. Every name, address and reference is invented.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionDescription, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from contracts import search_attributes as sa
from contracts.case import DECIDE_UPDATE, DecisionRequest, DecisionResult
from domain.calendar import LONDON, london_instant
from domain.case_rules import CaseDecision
from domain.case_state import Stage
from tests.case_helpers import (
    RunningCase,
    contacts_for,
    decision,
    invitees,
    procedure,
    start_running_case,
    unique,
)
from tests.conftest import MailCatcher
from workers.main import build_worker

BCT = "bct-management-note"


@pytest.fixture
async def worker(dev_env: WorkflowEnvironment, smtp_server: MailCatcher) -> AsyncIterator[Worker]:
    async with build_worker(dev_env.client, task_queue=unique("dev-cases")) as w:
        yield w


async def open_case(
    env: WorkflowEnvironment, worker: Worker, strategy: datetime | None = None
) -> RunningCase:
    proc = procedure(BCT)
    if strategy is None:
        strategy = datetime.now(LONDON) - timedelta(minutes=10)
    return await start_running_case(env, proc, strategy, worker.task_queue, unique("DEV"))


async def update(case: RunningCase, d: CaseDecision) -> DecisionResult:
    result: DecisionResult = await case.handle.execute_update(
        DECIDE_UPDATE, DecisionRequest(decision=d), result_type=DecisionResult
    )
    return result


async def updates_accepted(case: RunningCase) -> int:
    history = await case.handle.fetch_history()
    accepted = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    return sum(1 for e in history.events if e.event_type == accepted)


async def listed(
    env: WorkflowEnvironment,
    reference: str,
    ready: Callable[[WorkflowExecutionDescription], bool],
) -> WorkflowExecutionDescription:
    """The case as the Temporal UI finds it by reference, once visibility has caught up."""
    query = f"{sa.CASE_REFERENCE.name} = '{reference}'"
    for _ in range(100):
        found = [w async for w in env.client.list_workflows(query)]
        if found:
            desc = await env.client.get_workflow_handle(found[0].id).describe()
            if ready(desc):
                assert len(found) == 1
                return desc
        await asyncio.sleep(0.1)
    raise AssertionError(f"no case listed for {query} in the expected state")


def attributes(desc: WorkflowExecutionDescription) -> dict[str, Any]:
    return {key.name: desc.typed_search_attributes.get(key) for key in sa.ALL}


async def test_an_accepted_update_returns_the_summary(
    dev_env: WorkflowEnvironment, worker: Worker
) -> None:
    case = await open_case(dev_env, worker)
    result = await update(case, decision(case.proc, "confirm_icpc", reason="Risk confirmed"))
    assert result == DecisionResult(
        accepted=True, summary="ICPC confirmed", stage=Stage.AWAITING_BOOKING
    )
    state = await case.state()
    assert state.timeline[-1].reason == "Risk confirmed"
    assert await updates_accepted(case) == 1
    await case.clean_up()


async def test_a_refused_update_gives_the_plain_reason_and_leaves_no_trace(
    dev_env: WorkflowEnvironment, worker: Worker
) -> None:
    case = await open_case(dev_env, worker)
    history_before = len((await case.handle.fetch_history()).events)
    cases = [
        (
            decision(case.proc, "approve_delay", reason="Agreed"),
            "No delay has been requested, so there is nothing to approve or reject.",
        ),
        (
            decision(case.proc, "approve_delay", role="social_worker", reason="Agreed"),
            "A social worker may not approve a delay in this procedure; only an area head of"
            " service may.",
        ),
    ]
    for refused, reason in cases:
        with pytest.raises(WorkflowUpdateFailedError) as failure:
            await update(case, refused)
        cause = failure.value.cause
        assert isinstance(cause, ApplicationError)
        assert cause.message == reason
        assert cause.type == "DecisionRefused"
    # Booking after the limit, once confirmed: refused with the statutory reason.
    await update(case, decision(case.proc, "confirm_icpc"))
    state = await case.state()
    late_day = state.calendar.add_working_days(state.strategy_day, 16)
    late = decision(
        case.proc,
        "book_conference",
        booking={
            "starts_at": london_instant(late_day, time(10, 0)),
            "format": "virtual",
            "chair": "Chair A",
        },
    )
    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await update(case, late)
    assert "is after the statutory limit" in str(failure.value.cause)
    history = await case.handle.fetch_history()
    kinds = [e.event_type for e in history.events]
    # Only the confirmation reached history: accepted, then completed. No trace of the others.
    assert kinds.count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED) == 1
    assert kinds.count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED) == 1
    assert EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ADMITTED not in kinds
    assert EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_REJECTED not in kinds
    assert len(history.events) > history_before  # the accepted update did write history
    state = await case.state()
    assert [e.event for e in state.timeline] == ["case_started", "confirm_icpc"]
    await case.clean_up()


async def test_search_attributes_find_cases_and_hold_no_personal_data(
    dev_env: WorkflowEnvironment, worker: Worker
) -> None:
    case = await open_case(dev_env, worker)
    reference = case.start.case_reference
    desc = await listed(
        dev_env, reference, lambda d: d.typed_search_attributes.get(sa.STAGE) != "starting"
    )
    state = await case.state()
    values = attributes(desc)
    assert values["IcpcProcedure"] == BCT
    assert values["IcpcCaseReference"] == reference
    assert values["IcpcFamilyReference"] == case.start.family_reference
    assert values["IcpcStage"] == Stage.AWAITING_CONFIRMATION
    assert values["IcpcDeadline"] == state.deadline
    assert values["IcpcAwaitingRole"] == "social_worker"
    assert values["IcpcNextMilestone"] == "confirm_or_withdraw"
    assert values["IcpcOutOfTimescale"] is False
    assert values["IcpcEscalated"] is False
    assert values["IcpcDeliveryFailing"] is False

    await update(case, decision(case.proc, "confirm_icpc"))
    await update(case, decision(case.proc, "receive_convening_sheet", invitees=invitees(2)))
    desc = await listed(
        dev_env,
        reference,
        lambda d: d.typed_search_attributes.get(sa.NEXT_MILESTONE) == "invitations_sent",
    )
    values = attributes(desc)
    assert values["IcpcStage"] == Stage.AWAITING_BOOKING
    assert values["IcpcAwaitingRole"] == "cp_conference_service"

    # Nothing personal in the id, the summary or any search attribute.
    state = await case.state()
    people = [(i.name, i.email) for i in state.invitees or []]
    people += [(c.name, c.email) for c in contacts_for(case.proc)]
    personal = [text for pair in people for text in pair if text]
    assert len(personal) > 4
    visible = [
        desc.id,
        str(await desc.static_summary()),
        str(await desc.static_details()),
        *(str(v) for v in values.values()),
        str(desc.raw_description.workflow_execution_info.search_attributes),
    ]
    for text in personal:
        assert not any(text in v for v in visible), text
    await case.clean_up()


async def test_late_and_out_of_timescale_cases_show_in_their_search_attributes(
    dev_env: WorkflowEnvironment, worker: Worker
) -> None:
    proc = procedure(BCT)
    today = datetime.now(LONDON).date()
    late = await open_case(
        dev_env, worker, london_instant(proc.calendar.add_working_days(today, -10), time(9, 0))
    )
    desc = await listed(
        dev_env,
        late.start.case_reference,
        lambda d: d.typed_search_attributes.get(sa.ESCALATED) is True,
    )
    assert desc.typed_search_attributes.get(sa.OUT_OF_TIMESCALE) is False
    expired = await open_case(
        dev_env, worker, london_instant(proc.calendar.add_working_days(today, -17), time(9, 0))
    )
    desc = await listed(
        dev_env,
        expired.start.case_reference,
        lambda d: d.typed_search_attributes.get(sa.OUT_OF_TIMESCALE) is True,
    )
    assert desc.typed_search_attributes.get(sa.ESCALATED) is True
    found = [
        w.id
        async for w in dev_env.client.list_workflows(
            f"IcpcOutOfTimescale = true AND {sa.CASE_REFERENCE.name} IN"
            f" ('{late.start.case_reference}', '{expired.start.case_reference}')"
        )
    ]
    assert found == [expired.handle.id]
    for case in (late, expired):
        await case.clean_up()
