"""The case record and the shared email ledger under faults, against the dev server.

- The record activity "crashes" after its commit and before it completes: Temporal retries it,
  and the record still holds each event once.
- A mail activity whose worker dies after sending and before completing is retried by another
  worker process: the shared ledger stops a second copy.
- Two worker processes on one task queue send every invitation exactly once.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.mail import send_emails
from activities.planning import plan_case
from activities.record import record_case_events, record_store
from contracts.case import DecisionRequest, DecisionResult
from domain.calendar import LONDON
from domain.case_record import RecordBatch, Stream
from domain.outbox import EmailPurpose, OutgoingEmail
from records.database import upgrade
from tests.case_helpers import (
    book,
    case_start,
    decision,
    idempotency_keys,
    invitees,
    procedure,
    start_case_workflow,
    unique,
)
from tests.conftest import MailCatcher
from tests.postgres import PostgresServer, postgres_server
from tests.process_helpers import state_of, until
from workers.main import WORKFLOWS

__all__ = ["postgres_server"]  # the fixture, for the PostgreSQL half

ROOT = Path(__file__).resolve().parent.parent
ICPC = Path(sys.executable).parent / "icpc"  # the installed command, as operators run it
BCT = "bct-management-note"
attempts: list[tuple[str, int]] = []


@activity.defn(name="record_case_events")
async def record_then_lose_the_first_completion(batch: RecordBatch) -> int:
    """The real activity, whose first attempt of each batch is lost after it committed."""
    added = await record_case_events(batch)
    attempt = activity.info().attempt
    attempts.append((batch.case_id, attempt))
    if attempt == 1:
        raise RuntimeError("worker lost after the commit")
    return added


async def decide(handle: WorkflowHandle[Any, Any], d: Any) -> DecisionResult:
    result: DecisionResult = await handle.execute_update(
        "decide", DecisionRequest(decision=d), result_type=DecisionResult
    )
    return result


def recent_strategy() -> datetime:
    now = datetime.now(LONDON)
    return (now - timedelta(hours=1)).replace(microsecond=0)


async def test_a_record_lost_after_its_commit_is_retried_and_written_once(
    dev_env: WorkflowEnvironment, smtp_server: MailCatcher
) -> None:
    proc = procedure(BCT)
    queue = unique("record-faults")
    start = case_start(proc, recent_strategy(), reference=unique("RFT"))
    async with Worker(
        dev_env.client,
        task_queue=queue,
        workflows=WORKFLOWS,
        activities=[plan_case, send_emails, record_then_lose_the_first_completion],
    ):
        handle = await start_case_workflow(dev_env.client, start, proc, queue)
        await until(partial(state_of, handle))
        await decide(handle, decision(proc, "confirm_icpc"))
        await decide(handle, decision(proc, "withdraw_icpc", reason="No longer needed"))
        await handle.result()
        state = await until(partial(state_of, handle))
    store = record_store()
    events = [e for s, e in store.timeline(handle.id) if s == Stream.CASE]
    assert [(e.position, e.event, e.summary) for e in events] == [
        (n, t.event, t.summary) for n, t in enumerate(state.timeline)
    ]
    mine = [a for case_id, a in attempts if case_id == handle.id]
    assert 1 in mine and 2 in mine  # every first completion was lost, and retried
    summary = store.summary(handle.id)
    assert summary is not None and not summary.is_open and summary.stage == "withdrawn"


# --- the shared email ledger across processes ---------------------------------------------------


def _process_env(smtp_server: MailCatcher, record_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ICPC_")}
    env.update(
        ICPC_DATABASE_URL=record_url,
        ICPC_SMTP_HOST=smtp_server.host,
        ICPC_SMTP_PORT=str(smtp_server.port),
        ICPC_PAYLOAD_ENCRYPTION="off",  # the tests' client reads plain payloads
        PYTHONPATH=str(ROOT),
    )
    return env


SEND_THEN_DIE = """
import asyncio, json, os, sys
from temporalio.testing import ActivityEnvironment
from activities.mail import send_emails
from domain.outbox import OutgoingEmail
emails = [OutgoingEmail.model_validate(e) for e in json.loads(sys.stdin.read())]
asyncio.run(ActivityEnvironment().run(send_emails, emails))
os._exit(9)  # the worker dies before Temporal hears the activity completed
"""


async def test_a_mail_activity_retried_on_another_worker_sends_nothing_twice(
    smtp_server: MailCatcher, case_record: str
) -> None:
    emails = [
        OutgoingEmail(
            idempotency_key=f"{unique('ledger')}/{n}",
            case_id="icpc-test-LEDGER-20260101",
            purpose=EmailPurpose.NOTICE,
            to=[f"person{n}@staff.example.org"],
            subject=f"[ICPC LEDGER] notice {n}",
            body="An invented notice.",
        )
        for n in range(3)
    ]
    payload = json.dumps([e.model_dump(mode="json") for e in emails])
    first = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", SEND_THEN_DIE],
        input=payload,
        text=True,
        capture_output=True,
        env=_process_env(smtp_server, case_record),
        cwd=ROOT,
        timeout=60,
    )
    assert first.returncode == 9, first.stderr
    assert len(smtp_server.messages) == 3
    # Temporal retries the activity on the other worker (this process), same database.
    os.environ.pop("ICPC_OUTBOX_DB", None)
    from temporalio.testing import ActivityEnvironment

    result = await ActivityEnvironment().run(send_emails, emails)
    assert sorted(result.skipped) == sorted(e.idempotency_key for e in emails)
    assert result.sent == [] and len(smtp_server.messages) == 3


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_record(request: pytest.FixtureRequest, case_record: str) -> Iterator[str]:
    """The database both workers share: the session's SQLite file, or a real PostgreSQL."""
    if request.param == "sqlite":
        yield case_record
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = server.create_database()
    url = server.url(name)
    upgrade(url)
    try:
        yield url
    finally:
        server.drop_database(name)


@pytest.fixture
async def two_workers(
    dev_env: WorkflowEnvironment, smtp_server: MailCatcher, shared_record: str
) -> AsyncIterator[tuple[str, list[subprocess.Popen[str]]]]:
    queue = unique("two-workers")
    env = _process_env(smtp_server, shared_record)
    env.update(
        TEMPORAL_ADDRESS=dev_env.client.service_client.config.target_host,
        TEMPORAL_NAMESPACE=dev_env.client.namespace,
    )
    workers = [
        subprocess.Popen(
            [str(ICPC), "worker", "--task-queue", queue],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        yield queue, workers
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(timeout=30)


async def test_two_worker_processes_send_every_invitation_exactly_once(
    dev_env: WorkflowEnvironment,
    smtp_server: MailCatcher,
    two_workers: tuple[str, list[subprocess.Popen[str]]],
) -> None:
    queue, workers = two_workers
    proc = procedure(BCT)
    handles = []
    for _ in range(6):
        start = case_start(proc, recent_strategy(), reference=unique("TWO"))
        handles.append(await start_case_workflow(dev_env.client, start, proc, queue))
    for handle in handles:
        state = await until(partial(state_of, handle), timeout=60)
        day = state.calendar.add_working_days(state.strategy_day, 12)
        await decide(handle, decision(proc, "confirm_icpc"))
        await decide(handle, decision(proc, "receive_convening_sheet", invitees=invitees(2)))
        await decide(handle, book(proc, day))
    for handle in handles:

        async def invited(h: WorkflowHandle[Any, Any] = handle) -> bool:
            s = await state_of(h)
            return s is not None and s.invitations_sent_sequence == 1

        await until(invited, timeout=60)
    invitations = [m for m in smtp_server.messages if "Invitation" in str(m["Subject"])]
    keys = idempotency_keys(smtp_server.messages)
    assert len(keys) == len(set(keys)), "an email went out twice"
    assert len(invitations) == 12  # two invitees on each of six cases, once each
    assert all(w.poll() is None for w in workers)  # both were serving the queue throughout
    for handle in handles:
        await handle.terminate("test finished")


# --- the worker refuses a record it cannot use, in one line -------------------------------------


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("unreachable", "cannot reach the case record"),
        ("garbage", "not a SQLite database"),
    ],
)
def test_a_worker_refuses_a_record_it_cannot_use_in_one_line(
    setup: str, expected: str, tmp_path: Path
) -> None:
    if setup == "unreachable":
        url = "postgresql+psycopg://icpc:secret@127.0.0.1:1/icpc_records"
    else:
        junk = tmp_path / "records.sqlite3"
        junk.write_bytes(os.urandom(4096))
        junk.chmod(0o600)  # owner-only: else `icpc worker` first says it made it so
        url = f"sqlite:///{junk}"
    before = junk.read_bytes() if setup == "garbage" else b""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ICPC_", "TEMPORAL_"))}
    env.update(ICPC_DATABASE_URL=url, ICPC_PAYLOAD_ENCRYPTION="off", PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [str(ICPC), "worker", "--task-queue", unique("never")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], done.stderr
    assert "Traceback" not in done.stderr and "secret" not in done.stderr
    if setup == "garbage":
        assert junk.read_bytes() == before  # refused, never overwritten
