"""A decision sealed with a key the workers do not hold (issue 15, item 5).

Against the Temporal dev server, with a real worker (the product's ``build_worker``) whose
client holds one key, and clients holding another:

- the case records the unreadable decision in its timeline and carries on: queries and
  updates keep answering, an unreadable update is refused with a plain reason, and its history
  has no failed workflow task;
- a client built by ``runtime.connection.connect`` refuses to send (start, signal, update) when
  the workers polling the task queue do not list its key id, in one line naming
  ICPC_PAYLOAD_KEY_FILE and the key id, and sends when they do (or when no worker polls).

Every name and reference is invented.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import os
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.record import record_store
from contracts.case import (
    DECIDE_SIGNAL,
    DECIDE_UPDATE,
    STATE_QUERY,
    TASK_QUEUE,
    DecisionRequest,
    DecisionResult,
)
from contracts.client import read_case, send_decision, start_case
from contracts.payload_keys import WorkersCannotRead
from contracts.plan import PlanDecisionRequest
from domain.calendar import LONDON
from domain.case_state import CaseState
from runtime.connection import connect
from runtime.encryption import EncryptionCodec, PayloadKeyError, WorkerCodec, key_id
from runtime.payload_readers import CheckReaders, PayloadReaders, key_ids_in
from tests.case_helpers import (
    case_start,
    decision,
    icpc,
    person_token,
    procedure,
    recent_working_day,
    settle,
    unique,
)
from tests.conftest import MailCatcher
from tests.service_helpers import serving
from tests.test_plan_rules import book
from tests.test_plan_workflow import start_plan, working_days_before_due
from workers.main import build_worker

BCT = "bct-management-note"
WORKERS_KEY, OLD_KEY, STRANGERS_KEY = os.urandom(32), os.urandom(32), os.urandom(32)


def client_with(env: WorkflowEnvironment, codec: EncryptionCodec) -> Client:
    """A client on the dev server sealing with ``codec``, without the readers check (as an
    older release's client, or one that sent while no worker polled)."""
    config = env.client.config()
    config["data_converter"] = dataclasses.replace(pydantic_data_converter, payload_codec=codec)
    return Client(**config)


@pytest.fixture
async def worker(dev_env: WorkflowEnvironment, smtp_server: MailCatcher) -> AsyncIterator[Worker]:
    """The product's worker, its client holding the workers' key (and an old one)."""
    workers_client = client_with(dev_env, WorkerCodec(WORKERS_KEY, [OLD_KEY]))
    async with build_worker(workers_client, task_queue=unique("keys")) as w:
        yield w


async def start(client: Client, task_queue: str) -> str:
    proc = procedure(BCT)
    strategy = datetime.now(LONDON) - timedelta(minutes=10)
    started = await start_case(
        client, case_start(proc, strategy, reference=unique("KEY")), proc, task_queue
    )
    return started.case_id


async def state_when(client: Client, case_id: str, ready: object, tries: int = 150) -> CaseState:
    for _ in range(tries):
        try:
            state = await read_case(client, case_id)
        except Exception:  # still being set up
            state = None
        if state is not None and ready(state):  # type: ignore[operator]
            return state
        await asyncio.sleep(0.1)
    raise AssertionError("the case did not reach the expected state in time")


async def failed_tasks(client: Client, case_id: str) -> int:
    history = await client.get_workflow_handle(case_id).fetch_history()
    failed = EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    return sum(1 for e in history.events if e.event_type == failed)


# --- item 1: the case reads what it can, records what it cannot, and carries on --------------


async def test_an_unreadable_signal_is_recorded_and_the_case_carries_on(
    dev_env: WorkflowEnvironment, worker: Worker
) -> None:
    ours = client_with(dev_env, EncryptionCodec(WORKERS_KEY))
    stranger = client_with(dev_env, EncryptionCodec(STRANGERS_KEY))
    case_id = await start(ours, worker.task_queue)
    await state_when(ours, case_id, lambda s: bool(s.timeline))
    proc = procedure(BCT)

    foreign = DecisionRequest(decision=decision(proc, "confirm_icpc", reason="Risk confirmed"))
    await stranger.get_workflow_handle(case_id).signal(DECIDE_SIGNAL, foreign)
    state = await state_when(
        ours, case_id, lambda s: any(e.event == "unreadable" for e in s.timeline)
    )
    [entry] = [e for e in state.timeline if e.event == "unreadable"]
    strangers_id = key_id(STRANGERS_KEY).decode()
    assert entry.summary == (
        f"A decision arrived that this service cannot read (key id {strangers_id});"
        " ask the sender to send it again"
    )
    assert state.stage == "awaiting_confirmation", "the unreadable decision changed nothing"

    # Updates still answer: the stranger's is refused with a plain reason, ours is taken.
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await stranger.get_workflow_handle(case_id).execute_update(
            DECIDE_UPDATE, foreign, result_type=DecisionResult
        )
    reason = str(getattr(refused.value.cause, "message", refused.value.cause))
    assert f"sealed with payload key id {strangers_id}" in reason
    assert "ICPC_PAYLOAD_KEY_FILE" in reason
    result = await ours.get_workflow_handle(case_id).execute_update(
        DECIDE_UPDATE, foreign, result_type=DecisionResult
    )
    assert result.accepted and result.stage != "awaiting_confirmation"

    # A reader without the workers' key (`icpc show` with the wrong key) still refuses.
    with pytest.raises(PayloadKeyError, match="no key with id"):
        await stranger.get_workflow_handle(case_id).query(STATE_QUERY, result_type=CaseState)

    await settle(ours, case_id)
    assert await failed_tasks(ours, case_id) == 0
    kinds = [e.event for e in (await read_case(ours, case_id)).timeline]
    assert kinds.count("unreadable") == 1 and "confirm_icpc" in kinds
    recorded = [e.summary for _, e in record_store().timeline(case_id) if e.event == "unreadable"]
    assert recorded == [entry.summary], "the case record has it too"
    await ours.get_workflow_handle(case_id).terminate("test finished")


async def test_an_unreadable_signal_sent_while_no_worker_runs_is_recorded_once_one_does(
    dev_env: WorkflowEnvironment, smtp_server: MailCatcher
) -> None:
    """The fire-and-forget signal works while no worker runs: it waits with the start, and the
    case, once a worker sets it up, records what it could not read."""
    ours = client_with(dev_env, EncryptionCodec(WORKERS_KEY))
    stranger = client_with(dev_env, EncryptionCodec(STRANGERS_KEY))
    task_queue = unique("keys-later")
    case_id = await start(ours, task_queue)
    foreign = DecisionRequest(decision=decision(procedure(BCT), "confirm_icpc", reason="Risk"))
    await stranger.get_workflow_handle(case_id).signal(DECIDE_SIGNAL, foreign)
    workers_client = client_with(dev_env, WorkerCodec(WORKERS_KEY))
    async with build_worker(workers_client, task_queue=task_queue):
        state = await state_when(
            ours, case_id, lambda s: any(e.event == "unreadable" for e in s.timeline)
        )
        assert state.stage == "awaiting_confirmation"
        await settle(ours, case_id)
        assert await failed_tasks(ours, case_id) == 0
        await ours.get_workflow_handle(case_id).terminate("test finished")


async def test_a_start_the_workers_cannot_read_waits_for_the_key(
    dev_env: WorkflowEnvironment, smtp_server: MailCatcher
) -> None:
    """A start is not a decision: its case cannot be set up without its input, so its task
    fails attempt after attempt (never the workflow for good) until the workers get the key."""
    stranger = client_with(dev_env, EncryptionCodec(STRANGERS_KEY, [WORKERS_KEY]))
    task_queue = unique("keys-start")
    case_id = await start(stranger, task_queue)
    async with build_worker(client_with(dev_env, WorkerCodec(WORKERS_KEY)), task_queue=task_queue):
        for _ in range(100):
            if await failed_tasks(stranger, case_id):
                break
            await asyncio.sleep(0.1)
        assert await failed_tasks(stranger, case_id) == 1
    given = client_with(dev_env, WorkerCodec(WORKERS_KEY, [STRANGERS_KEY]))
    async with build_worker(given, task_queue=task_queue):
        state = await state_when(stranger, case_id, lambda s: bool(s.timeline), tries=400)
        assert state.stage == "awaiting_confirmation"
        await stranger.get_workflow_handle(case_id).terminate("test finished")


async def test_the_plan_after_the_icpc_records_an_unreadable_signal_too(
    dev_env: WorkflowEnvironment, worker: Worker
) -> None:
    ours = client_with(dev_env, EncryptionCodec(WORKERS_KEY))
    stranger = client_with(dev_env, EncryptionCodec(STRANGERS_KEY))
    plan = await start_plan(ours, worker.task_queue, datetime.now(LONDON))
    state = await plan.state()
    foreign = PlanDecisionRequest(decision=book(working_days_before_due(state, 5)))
    await stranger.get_workflow_handle(plan.plan_id).signal(DECIDE_SIGNAL, foreign)
    state = await plan.until(lambda s: any(e.event == "unreadable" for e in s.timeline))
    assert state.stage != "review_booked"
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await stranger.get_workflow_handle(plan.plan_id).execute_update(
            DECIDE_UPDATE, foreign, result_type=DecisionResult
        )
    assert "cannot read the decision" in str(getattr(refused.value.cause, "message", ""))
    accepted = await plan.update(foreign.decision)
    assert accepted.stage == "review_booked"
    assert await failed_tasks(ours, plan.plan_id) == 0
    await plan.handle.terminate("test finished")


# --- item 2: a client does not send what the workers cannot read -----------------------------


async def polling(readers: PayloadReaders, task_queue: str) -> frozenset[str] | None:
    """What the workers read, once the worker has started polling (its first poll)."""
    for _ in range(100):
        listed = await readers.readable(task_queue)
        if listed is not None:
            return listed
        await asyncio.sleep(0.05)
    return None


def connect_with_key(monkeypatch: pytest.MonkeyPatch, env: WorkflowEnvironment, key: bytes) -> None:
    monkeypatch.delenv("ICPC_PAYLOAD_ENCRYPTION", raising=False)
    monkeypatch.setenv("ICPC_PAYLOAD_KEY", base64.b64encode(key).decode())
    monkeypatch.setenv("TEMPORAL_ADDRESS", env.client.service_client.config.target_host)
    monkeypatch.setenv("TEMPORAL_NAMESPACE", env.client.namespace)


def readers_of(client: Client) -> PayloadReaders:
    [check] = [i for i in client.config()["interceptors"] if isinstance(i, CheckReaders)]
    return check.readers


async def test_a_client_whose_key_the_workers_lack_sends_nothing(
    dev_env: WorkflowEnvironment, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    ours = client_with(dev_env, EncryptionCodec(WORKERS_KEY))
    case_id = await start(ours, worker.task_queue)
    await state_when(ours, case_id, lambda s: bool(s.timeline))
    await settle(ours, case_id)
    length = len((await ours.get_workflow_handle(case_id).fetch_history()).events)

    connect_with_key(monkeypatch, dev_env, STRANGERS_KEY)
    stranger = await connect()
    assert await polling(readers_of(stranger), worker.task_queue) is not None
    strangers_id = key_id(STRANGERS_KEY).decode()
    d = decision(procedure(BCT), "confirm_icpc", reason="Risk confirmed")
    for as_signal in (False, True):
        outcome = await send_decision(stranger, case_id, d, as_signal=as_signal)
        assert not outcome.accepted
        assert outcome.message.count("\n") == 0
        assert f"key id {strangers_id}" in outcome.message
        assert "ICPC_PAYLOAD_KEY_FILE" in outcome.message
        assert key_id(WORKERS_KEY).decode() in outcome.message  # what the workers do hold
    with pytest.raises(WorkersCannotRead, match=f"key id {strangers_id}"):
        await start(stranger, worker.task_queue)
    history = await ours.get_workflow_handle(case_id).fetch_history()
    assert len(history.events) == length, "nothing reached the case"

    # No worker polls this queue: nobody can tell, so the start is sent (see payload_readers).
    unpolled = await start(stranger, unique("nobody-polls"))
    await stranger.get_workflow_handle(unpolled).terminate("test finished")
    await ours.get_workflow_handle(case_id).terminate("test finished")


async def test_a_client_holding_a_key_the_workers_read_sends(
    dev_env: WorkflowEnvironment,
    worker: Worker,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The workers list every key they read in their identity.
    connect_with_key(monkeypatch, dev_env, OLD_KEY)  # it seals with a key the workers still read
    monkeypatch.setenv("ICPC_PAYLOAD_OLD_KEYS", base64.b64encode(WORKERS_KEY).decode())
    client = await connect()
    readers = readers_of(client)
    listed = await polling(readers, worker.task_queue)
    assert listed == frozenset({key_id(WORKERS_KEY).decode(), key_id(OLD_KEY).decode()})
    assert key_ids_in("4242@host") is None  # an older worker lists none

    case_id = await start(client, worker.task_queue)
    await state_when(client, case_id, lambda s: bool(s.timeline))
    d = decision(procedure(BCT), "confirm_icpc", reason="Risk confirmed")
    asked = readers.round_trips
    outcome = await send_decision(client, case_id, d)
    assert outcome.accepted, outcome.message
    # The start asked for the queue; the decision only for the case's queue, then cached.
    assert readers.round_trips == asked + 1

    # What the check costs: uncached (the case's queue and its pollers) and cached.
    uncached, cached = [], []
    for _ in range(20):
        fresh = PayloadReaders(readers.key_id)
        fresh.client = client
        began = time.perf_counter()
        await fresh.check_workflow(case_id)
        uncached.append(time.perf_counter() - began)
        began = time.perf_counter()
        await fresh.check_workflow(case_id)
        cached.append(time.perf_counter() - began)
        assert fresh.round_trips == 2
    uncached.sort()
    cached.sort()
    with capsys.disabled():
        print(
            f"\nreaders check, p50 of 20: uncached {uncached[10] * 1000:.2f} ms (2 round trips),"
            f" cached {cached[10] * 1000:.3f} ms (none)"
        )
    await client.get_workflow_handle(case_id).terminate("test finished")


async def test_icpc_start_with_a_key_the_workers_lack_says_so_in_one_line(
    dev_env: WorkflowEnvironment,
    smtp_server: MailCatcher,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    connect_with_key(monkeypatch, dev_env, STRANGERS_KEY)
    operator = person_token("keys-bss", "cp_conference_service", service_wide=True)
    monkeypatch.setenv("ICPC_PERSON_TOKEN", operator)
    ref = unique("KEYCLI")
    args = [
        "start",
        "--procedure", BCT,
        "--case-reference", ref,
        "--family-reference", "FAM-1",
        "--strategy-date", recent_working_day().isoformat(),
    ]  # fmt: skip
    async with build_worker(client_with(dev_env, WorkerCodec(WORKERS_KEY)), TASK_QUEUE):
        stranger = await connect()
        assert await polling(readers_of(stranger), TASK_QUEUE) is not None
        # The service holds the key the workers lack (it connects as icpc web does, in its own
        # thread); the command line is its client.
        with serving(connect) as url:
            monkeypatch.setenv("ICPC_SERVICE_URL", url)
            code, out, err = await icpc(capsys, *args)
    assert (code, out) == (2, ""), err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"icpc start: not sent: the workers on task queue {TASK_QUEUE}")
    assert f"key id {key_id(STRANGERS_KEY).decode()}" in err and "ICPC_PAYLOAD_KEY_FILE" in err
    found = [w async for w in dev_env.client.list_workflows(f"IcpcCaseReference = '{ref}'")]
    assert found == []
