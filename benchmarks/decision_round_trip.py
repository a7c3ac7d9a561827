"""What writing each event to the case record adds to a decision's round trip (dev server).

Three shapes, each on its own worker and task queue, in one run against one Temporal dev server:

- bare: a workflow with one update handler that appends to a list (the floor);
- product, record off: the case workflow, with the record activity replaced by one that writes
  nothing (same commands in history, no database);
- product, record on: the case workflow writing to a real SQLite case record.

Each shape takes N decisions (``reassign_worker``, which any open case accepts again and again)
as validated updates, one after another, and the script prints the median and mean round trip
and the ratios. The record is written in the background after the update has answered, so the
ratio "on / off" is the record's cost as a decision maker feels it. Figures only, one run.

    .venv/bin/python benchmarks/decision_round_trip.py [--decisions N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time as clock
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bare_decisions import BareDecisions
from temporalio import activity
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.mail import send_emails
from activities.planning import plan_case
from activities.record import record_case_events
from contracts.case import DecisionRequest, DecisionResult
from contracts.client import start_case
from contracts.search_attributes import ALL as SEARCH_ATTRIBUTES
from domain.calendar import LONDON
from domain.case_record import RecordBatch
from domain.decisions import CaseStart, Contact, Decider, ReassignWorker
from procedures import get_procedure
from workers.main import WORKFLOWS

DEV_SERVER = Path(sys.executable).parent / "temporal"


@activity.defn(name="record_case_events")
async def record_nothing(batch: RecordBatch) -> int:
    return 0


async def timed(send: Callable[[int], Awaitable[Any]], n: int, warmup: int) -> list[float]:
    for i in range(warmup):
        await send(i)
    times = []
    for i in range(n):
        started = clock.perf_counter()
        await send(warmup + i)
        times.append((clock.perf_counter() - started) * 1000)
    return times


async def bare(client: Client, n: int, warmup: int) -> list[float]:
    queue = f"bench-bare-{uuid.uuid4().hex[:6]}"
    async with Worker(client, task_queue=queue, workflows=[BareDecisions]):
        handle = await client.start_workflow(BareDecisions.run, id=queue, task_queue=queue)
        times = await timed(
            lambda i: handle.execute_update(BareDecisions.decide, f"d{i}"), n, warmup
        )
        await handle.signal(BareDecisions.finish)
        await handle.result()
    return times


async def product(client: Client, n: int, warmup: int, recorder: Any) -> list[float]:
    queue = f"bench-case-{uuid.uuid4().hex[:6]}"
    proc = get_procedure("bct-management-note")
    start = CaseStart(
        procedure_id=proc.id,
        case_reference=f"BENCH-{uuid.uuid4().hex[:8]}",
        family_reference="FAM-BENCH",
        strategy_discussion=datetime.now(LONDON) - timedelta(hours=1),
        contacts=[],
    )
    role = proc.roles_for("reassign_worker")[0]  # type: ignore[arg-type]
    async with Worker(
        client,
        task_queue=queue,
        workflows=WORKFLOWS,
        activities=[plan_case, send_emails, recorder],
    ):
        case_id = (await start_case(client, start, proc, task_queue=queue)).case_id
        handle = client.get_workflow_handle(case_id)

        async def send(i: int) -> DecisionResult:
            decision = ReassignWorker(
                decided_by=Decider(user="bench", role=role),
                contact=Contact(
                    role="social_worker", name=f"Worker {i}", email=f"w{i}@staff.example.org"
                ),
            )
            result: DecisionResult = await handle.execute_update(
                "decide", DecisionRequest(decision=decision), result_type=DecisionResult
            )
            return result

        times = await timed(send, n, warmup)
        await handle.terminate("benchmark finished")
    return times


def line(name: str, times: list[float], floor: float) -> str:
    p50, mean = statistics.median(times), statistics.fmean(times)
    return f"{name:<28} {p50:>8.2f} {mean:>8.2f} {p50 / floor:>8.2f}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["ICPC_DATABASE_URL"] = f"sqlite:///{Path(scratch) / 'records.sqlite3'}"
        os.environ.pop("ICPC_OUTBOX_DB", None)
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(DEV_SERVER),
            data_converter=pydantic_data_converter,
            search_attributes=SEARCH_ATTRIBUTES,
            ui=False,
        )
        async with env:
            n, w = args.decisions, args.warmup
            floor = await bare(env.client, n, w)
            off = await product(env.client, n, w, record_nothing)
            on = await product(env.client, n, w, record_case_events)
    base = statistics.median(floor)
    print(f"decision round trip on the dev server, {n} decisions each (ms)")
    print(f"{'shape':<28} {'p50':>8} {'mean':>8} {'p50/bare':>8}")
    print(line("bare update workflow", floor, base))
    print(line("product, record off", off, base))
    print(line("product, record on", on, base))
    added = statistics.median(on) / statistics.median(off) - 1
    print(f"the record adds {added * 100:+.1f}% to the median round trip (target: at most +10%)")


if __name__ == "__main__":
    asyncio.run(main())
