"""A worker killed (SIGKILL) in the middle of sending invitations, and started again (issue 15).

Real processes on loopback: the dev server, ``icpc worker`` as a subprocess, a real SMTP
server that takes a moment per message (so batches are in flight when the worker dies), and
the case record's shared ledger. Before the heartbeat timeout, the batches in flight stalled
for the send activity's whole 2-minute limit after the restart; now a dead worker is noticed
within the 10-second heartbeat timeout and the batches resume on the new worker in seconds.

Printed and asserted: invitations expected, delivered, duplicates (at most the one message
each batch had in flight, with its Message-ID unchanged), lost (none), and the seconds from
the restart until the last invitation arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes
from functools import partial
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from contracts.case import DecisionRequest
from domain.calendar import LONDON
from records.database import upgrade
from tests.case_helpers import (
    book,
    case_start,
    decision,
    invitees,
    procedure,
    start_case_workflow,
    unique,
)
from tests.conftest import MailCatcher, free_port
from tests.process_helpers import invitations, spawn_worker, state_of, until, worker_env

BCT = "bct-management-note"
CASES = 6
INVITEES = 10
SMTP_DELAY = 0.3  # seconds the server takes to answer each message, once it has it
KILL_AFTER = 15  # invitations received before the worker is killed
RESUME_LIMIT = 45.0  # seconds; the activity's start-to-close limit alone was 120


class SlowSink(MailCatcher):
    """Keeps each message as it arrives, then takes a moment to say so: a worker killed in
    that moment has had its message accepted without hearing it (the in-flight message)."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        await asyncio.sleep(SMTP_DELAY)
        return "250 Message accepted for delivery"


@pytest.fixture
def slow_sink() -> Iterator[SlowSink]:
    sink = SlowSink(host="127.0.0.1", port=free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


async def test_a_worker_killed_mid_send_resumes_in_seconds_with_nothing_lost(
    dev_env: WorkflowEnvironment, slow_sink: SlowSink, case_record: str
) -> None:
    upgrade(case_record)  # the worker refuses a record that is not there yet
    env = worker_env(dev_env.client, slow_sink, case_record)
    queue = unique("killed")
    proc = procedure(BCT)
    workers = [spawn_worker(env, queue)]
    handles: list[WorkflowHandle[Any, Any]] = []
    try:
        strategy = (datetime.now(LONDON) - timedelta(hours=1)).replace(microsecond=0)
        for _ in range(CASES):
            start = case_start(proc, strategy, reference=unique("KIL"))
            handles.append(await start_case_workflow(dev_env.client, start, proc, queue))
        for handle in handles:
            state = await until(partial(state_of, handle), timeout=60)
            for d in (
                decision(proc, "confirm_icpc"),
                decision(proc, "receive_convening_sheet", invitees=invitees(INVITEES)),
            ):
                await handle.execute_update("decide", DecisionRequest(decision=d))
        day = state.calendar.add_working_days(state.strategy_day, 12)
        for handle in handles:  # each booking sends its invitations, one batch a case
            await handle.execute_update("decide", DecisionRequest(decision=book(proc, day)))

        async def enough() -> bool:
            return len(invitations(slow_sink)) >= KILL_AFTER

        await until(enough, timeout=60)
        workers[0].send_signal(signal.SIGKILL)  # mid-send: no goodbye, nothing flushed
        workers[0].wait(timeout=10)
        at_kill = len(invitations(slow_sink))
        restarted = time.monotonic()
        workers.append(spawn_worker(env, queue))

        expected = CASES * INVITEES

        async def all_arrived() -> bool:
            return len({key for key, _ in invitations(slow_sink)}) >= expected

        await until(all_arrived, timeout=150)
        resumed_in = time.monotonic() - restarted
        for handle in handles:  # and every case knows its invitations went

            async def sent(h: WorkflowHandle[Any, Any] = handle) -> bool:
                s = await state_of(h)
                return s is not None and s.invitations_sent_sequence == 1

            await until(sent, timeout=60)

        received = invitations(slow_sink)
        keys = Counter(key for key, _ in received)
        duplicates = sum(n - 1 for n in keys.values())
        lost = expected - len(keys)
        print(
            f"worker killed mid-send: {expected} invitations expected, {len(received)} delivered"
            f" ({at_kill} before the kill), {duplicates} duplicate(s), {lost} lost;"
            f" all out {resumed_in:.1f} s after the restart"
        )
        assert at_kill < expected  # killed in the middle of sending
        assert lost == 0
        assert duplicates <= CASES  # at most the message each batch had in flight
        for key, count in keys.items():
            assert count <= 2
            if count == 2:  # the same message again: the same Message-ID
                assert len({mid for k, mid in received if k == key}) == 1
        assert resumed_in < RESUME_LIMIT
        assert workers[1].poll() is None  # the new worker served the rest
    finally:
        for handle in handles:
            with contextlib.suppress(Exception):
                await handle.terminate("test finished")
        for w in workers:
            if w.poll() is None:
                w.terminate()
                w.wait(timeout=30)
