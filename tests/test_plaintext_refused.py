"""A decision the service did not seal is refused, never applied (issue "One door").

Someone with Temporal access but no payload key sends JSON in clear with the real Temporal CLI
(the `temporal` binary that also runs the dev server), naming any `decided_by`. Against the
dev server, with the product's worker on the product's own connection (``connect(worker=True)``:
its codec and converter) and a case started through the product's own client:

- a plaintext `decide_signal` is recorded in the timeline as refused, with the reason, and
  changes nothing; so is one marked sealed with the workers' key id that does not open;
- a plaintext `decide` update is refused by the validator (the CLI exits non-zero, saying why);
- a plaintext start fails its workflow once, with the reason, instead of its task for ever;
- no workflow task fails, and the service's own decision is still taken.

Every name and reference is invented.
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from contracts.case import CASE_WORKFLOW, DECIDE_SIGNAL, DECIDE_UPDATE, CaseInput, DecisionRequest
from contracts.client import read_case, send_decision
from contracts.payload_keys import NOT_SEALED
from domain.calendar import LONDON
from domain.case_state import CaseState
from domain.decisions import Decider
from domain.milestones import TimelineEntry
from runtime.connection import connect
from runtime.encryption import ENCODING, KEY_ID, key_id
from tests.case_helpers import case_start, decision, first_role, procedure, settle, unique
from tests.conftest import DEV_SERVER, MailCatcher
from tests.test_payload_key_mismatch import BCT, connect_with_key, failed_tasks, start, state_when
from workers.main import build_worker

KEY = os.urandom(32)


@dataclass
class Product:
    """The product's own client and the task queue of its worker."""

    client: Client
    task_queue: str
    address: str
    namespace: str


@pytest.fixture
async def product(
    dev_env: WorkflowEnvironment, smtp_server: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Product]:
    connect_with_key(monkeypatch, dev_env, KEY)
    task_queue = unique("one-door")
    async with build_worker(await connect(worker=True), task_queue=task_queue):
        yield Product(
            await connect(),
            task_queue,
            dev_env.client.service_client.config.target_host,
            dev_env.client.namespace,
        )


async def temporal_cli(product: Product, *args: str) -> tuple[int, str]:
    """The Temporal CLI, as a person with Temporal access runs it; its status and output. In a
    subprocess of this event loop, which also runs the worker (an update waits for it)."""
    process = await asyncio.create_subprocess_exec(
        str(DEV_SERVER),
        *args,
        *("--address", product.address, "--namespace", product.namespace),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode or 0, out.decode()


def forged_decision() -> str:
    """A decision the case would take, as JSON in clear, naming whoever the sender likes (in a
    role that may take it) as decided_by."""
    proc = procedure(BCT)
    forger = Decider(user="someone-with-temporal-access", role=first_role(proc, "confirm_icpc"))
    chosen = decision(proc, "confirm_icpc", reason="Risk confirmed")
    return DecisionRequest(
        decision=chosen.model_copy(update={"decided_by": forger})
    ).model_dump_json()


def refusals(state: CaseState) -> list[TimelineEntry]:
    return [e for e in state.timeline if e.event == "refused"]


async def test_decisions_in_clear_are_refused_and_the_services_own_are_taken(
    product: Product,
) -> None:
    client = product.client
    case_id = await start(client, product.task_queue)
    await state_when(client, case_id, lambda s: bool(s.timeline))
    await settle(client, case_id)
    before = await read_case(client, case_id)
    assert before.stage == "awaiting_confirmation"

    signal = ("workflow", "signal", "--workflow-id", case_id, "--name", DECIDE_SIGNAL)
    code, out = await temporal_cli(product, *signal, "--input", forged_decision())
    assert code == 0, out  # Temporal takes the signal: the workers refuse it
    await settle(client, case_id)
    state = await read_case(client, case_id)
    assert state.stage == before.stage, "a decision in clear was applied"
    [entry] = refusals(state)
    assert entry.summary == (
        f"Refused a decision {NOT_SEALED}: decisions are taken only through the service"
    )
    assert entry.by is None, "the name the sender chose is not recorded as the decider"
    assert "confirm_icpc" not in [e.event for e in state.timeline]

    # Marked sealed with the workers' own key id (it is not secret), but not sealed with the key.
    sealed_in_name = base64.b64encode(os.urandom(48)).decode()
    code, out = await temporal_cli(
        product,
        *signal,
        *("--input", sealed_in_name, "--input-base64"),
        *("--input-meta", f"encoding={ENCODING.decode()}"),
        *("--input-meta", f"{KEY_ID}={key_id(KEY).decode()}"),
    )
    assert code == 0, out
    state = await state_when(client, case_id, lambda s: len(refusals(s)) == 2)
    assert state.stage == before.stage

    update = ("workflow", "update", "execute", "--workflow-id", case_id, "--name", DECIDE_UPDATE)
    code, out = await temporal_cli(product, *update, "--input", forged_decision())
    assert code != 0, out
    assert NOT_SEALED in out, out
    assert (await read_case(client, case_id)).stage == before.stage

    # The service's own path: sealed by the product's client, taken.
    proc = procedure(BCT)
    taken = await send_decision(client, case_id, decision(proc, "confirm_icpc", reason="Risk"))
    assert taken.accepted, taken.message
    await settle(client, case_id)
    after = await read_case(client, case_id)
    assert after.stage != before.stage
    assert [e.event for e in after.timeline].count("confirm_icpc") == 1
    assert len(refusals(after)) == 2
    assert await failed_tasks(client, case_id) == 0
    await client.get_workflow_handle(case_id).terminate("test finished")


async def test_a_case_started_in_clear_fails_once_with_the_reason(product: Product) -> None:
    """Not a task failing on every attempt (no key will ever make it readable): the workflow
    fails, once, saying why."""
    proc = procedure(BCT)
    strategy = datetime.now(LONDON) - timedelta(minutes=10)
    start_input = CaseInput.by_reference(case_start(proc, strategy, reference=unique("CLR")), proc)
    case_id = unique("plaintext-start")
    code, out = await temporal_cli(
        product,
        *("workflow", "start", "--type", CASE_WORKFLOW, "--workflow-id", case_id),
        *("--task-queue", product.task_queue, "--input", start_input.model_dump_json()),
    )
    assert code == 0, out
    handle = product.client.get_workflow_handle(case_id)
    with pytest.raises(WorkflowFailureError) as failed:
        await asyncio.wait_for(handle.result(), timeout=30)
    assert NOT_SEALED in str(getattr(failed.value.cause, "message", failed.value.cause))
    assert await failed_tasks(product.client, case_id) == 0
