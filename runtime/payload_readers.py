"""Which payload keys the workers can read, so a client never sends what they cannot (issue 15).

Each worker puts the ids of the keys it opens in its Worker identity (``4242@host
icpc-keys=1a2b...,3c4d...``): key ids are a hash prefix of the key, not secret. Before a start,
a signal or an update, a client reads the pollers of the workflow's task queue
(``DescribeTaskQueue``) and refuses with :class:`~contracts.payload_keys.WorkersCannotRead`
when a worker polling now does not list the client's key id.

- *Polling now*: seen within :data:`POLLING_WINDOW`. A worker long-polls for about a minute
  and the server records the start of each poll, while it lists a stopped worker for minutes:
  a worker restarted with a new key must not keep clients out with its old self.
- *No worker polling*: sent anyway. The fire-and-forget signal is meant to work while no
  worker runs, and nobody can tell then which keys the next worker will hold. If it turns out
  not to hold the key, the case records the decision as unreadable and carries on
  (``runtime.encryption.WorkerCodec``); it never stalls.
- A worker of a release before this lists no key ids: it is left out of the check.
- The server will not answer the check (an API key without the right, say): sent, as above.

The answer is cached per task queue for :data:`READERS_TTL` and each workflow's task queue for
the life of the process (it never changes), so a long-lived process such as the web form
mostly pays no extra round trip for a decision.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeTaskQueueRequest,
    DescribeWorkflowExecutionRequest,
)
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    SignalWorkflowInput,
    StartWorkflowInput,
    StartWorkflowUpdateInput,
    StartWorkflowUpdateWithStartInput,
    WorkflowHandle,
    WorkflowUpdateHandle,
)
from temporalio.service import RPCError

from contracts.payload_keys import WorkersCannotRead
from runtime.encryption import EncryptionCodec

POLLING_WINDOW = timedelta(seconds=90)
READERS_TTL = 30.0  # seconds a task queue's answer is trusted
KNOWN_WORKFLOWS = 10_000  # workflow id -> task queue, most recently used kept
_MARK = "icpc-keys="
_KEYS = re.compile(re.escape(_MARK) + r"([0-9a-f,]*)")


def worker_identity(base: str, key_ids: Iterable[str]) -> str:
    """The worker's identity with the ids of the keys it reads, for clients to check."""
    return f"{base} {_MARK}{','.join(sorted(key_ids))}"


def identity_for(client: Client) -> str | None:
    """The identity a worker built on ``client`` takes: the client's, with the ids of the
    keys its codec reads; None (the SDK's default) when payloads are not encrypted."""
    codec = client.data_converter.payload_codec
    if not isinstance(codec, EncryptionCodec):
        return None
    return worker_identity(client.identity, codec.readable_key_ids)


def key_ids_in(identity: str) -> frozenset[str] | None:
    """The key ids a worker's identity lists; None when it lists none (an older release)."""
    found = _KEYS.search(identity)
    if found is None:
        return None
    return frozenset(filter(None, found.group(1).split(",")))


class PayloadReaders:
    """What the workers polling a task queue can read, asked of the server and kept briefly."""

    def __init__(self, key_id: str, *, ttl: float = READERS_TTL) -> None:
        self.key_id = key_id
        self.ttl = ttl
        self.client: Client | None = None  # set once connected (the interceptor comes first)
        self._readers: dict[str, tuple[float, frozenset[str] | None]] = {}
        self._queues: OrderedDict[str, str] = OrderedDict()
        self.round_trips = 0  # asked of the server (the tests and the benchmark read it)

    async def check(self, task_queue: str) -> None:
        """Raise ``WorkersCannotRead`` when a worker polling ``task_queue`` now cannot read
        this client's payloads; pass when they all can, or when none is polling."""
        readable = await self.readable(task_queue)
        if readable is not None and self.key_id not in readable:
            raise WorkersCannotRead(self.key_id, task_queue, readable)

    async def readable(self, task_queue: str) -> frozenset[str] | None:
        """The key ids every worker polling now can read; None when none is polling (or none
        lists its keys)."""
        now = time.monotonic()
        cached = self._readers.get(task_queue)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        found = await self._ask(task_queue)
        if found is not None and self.key_id in found:
            self._readers[task_queue] = (now, found)  # only a yes is kept: a no is asked again
        else:
            self._readers.pop(task_queue, None)
        return found

    async def _ask(self, task_queue: str) -> frozenset[str] | None:
        client = self._client()
        self.round_trips += 1
        try:
            described = await client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=client.namespace,
                    task_queue=TaskQueue(name=task_queue),
                    task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
                )
            )
        except RPCError:  # not allowed to ask, say: cannot tell, as with no worker polling
            return None
        since = datetime.now(UTC) - POLLING_WINDOW
        held: frozenset[str] | None = None
        for poller in described.pollers:
            keys = key_ids_in(poller.identity)
            if keys is None or poller.last_access_time.ToDatetime(UTC) < since:
                continue
            held = keys if held is None else held & keys  # a decision may reach any of them
        return held

    async def task_queue_of(self, workflow_id: str) -> str | None:
        """The task queue a workflow runs on; None when there is no such workflow, or the
        server will not say (the send then goes ahead, and meets the server's own answer)."""
        known = self._queues.get(workflow_id)
        if known is not None:
            self._queues.move_to_end(workflow_id)
            return known
        client = self._client()
        self.round_trips += 1
        try:
            described = await client.workflow_service.describe_workflow_execution(
                DescribeWorkflowExecutionRequest(
                    namespace=client.namespace, execution=WorkflowExecution(workflow_id=workflow_id)
                )
            )
        except RPCError:
            return None
        queue = described.execution_config.task_queue.name
        self._queues[workflow_id] = queue
        if len(self._queues) > KNOWN_WORKFLOWS:
            self._queues.popitem(last=False)
        return queue

    async def check_workflow(self, workflow_id: str) -> None:
        queue = await self.task_queue_of(workflow_id)
        if queue is not None:
            await self.check(queue)

    def _client(self) -> Client:
        if self.client is None:
            raise RuntimeError("PayloadReaders used before its client was attached")
        return self.client


class CheckReaders(Interceptor):
    """A client interceptor: every start, signal and update is checked first."""

    def __init__(self, readers: PayloadReaders) -> None:
        self.readers = readers

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _Outbound(next, self.readers)


class _Outbound(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, readers: PayloadReaders) -> None:
        super().__init__(next)
        self._readers = readers

    async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
        await self._readers.check(input.task_queue)
        return await super().start_workflow(input)

    async def signal_workflow(self, input: SignalWorkflowInput) -> None:
        await self._readers.check_workflow(input.id)
        await super().signal_workflow(input)

    async def start_workflow_update(
        self, input: StartWorkflowUpdateInput
    ) -> WorkflowUpdateHandle[Any]:
        await self._readers.check_workflow(input.id)
        return await super().start_workflow_update(input)

    async def start_update_with_start_workflow(
        self, input: StartWorkflowUpdateWithStartInput
    ) -> WorkflowUpdateHandle[Any]:
        await self._readers.check(input.start_workflow_input.task_queue)
        return await super().start_update_with_start_workflow(input)


def readers_for(codec: object) -> PayloadReaders | None:
    """The check for a client sealing with ``codec``; None when payloads are not encrypted
    (nothing to check: the workers read plain payloads)."""
    return PayloadReaders(codec.key_id) if isinstance(codec, EncryptionCodec) else None
