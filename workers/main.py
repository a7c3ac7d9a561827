"""The worker process: hosts the case workflows and every activity they call."""

from __future__ import annotations

import asyncio
import concurrent.futures
import signal
from collections.abc import Sequence
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.mail import send_emails
from activities.monthly_reports import send_monthly_out_of_timescale
from activities.outbox_ledger import close_shared_ledgers
from activities.planning import plan_case
from activities.record import RECORD_ACTIVITIES, record_store
from activities.smtp_pool import POOL
from contracts.case import TASK_QUEUE
from records.database import check_current, database_url
from runtime.connection import connect
from runtime.log_setup import configure_logging, get_logger
from runtime.payload_readers import identity_for
from runtime.tracing import configure_tracing
from workers.health import serve_health, worker_ready
from workers.metrics import metrics_runtime, publish_open_cases
from workers.schedules import ensure_schedules
from workflows.case_workflow import IcpcCaseWorkflow
from workflows.monthly_reports import MonthlyReportsWorkflow
from workflows.plan_workflow import IcpcPlanWorkflow

WORKFLOWS: Sequence[type] = [IcpcCaseWorkflow, IcpcPlanWorkflow, MonthlyReportsWorkflow]
ACTIVITIES: Sequence[Any] = [
    plan_case,
    send_emails,
    send_monthly_out_of_timescale,
    *RECORD_ACTIVITIES,
]


# Sized for a worker process given about 512 MB (README, "Sizing a worker"); `icpc worker`
# takes other figures from --max-cached-workflows and --max-concurrent-activities.
# Cases kept in memory between their tasks: each costs about 0.25 MB, on top of about 150 MB
# for the process (benchmarks/side_by_side.py); a case not cached replays its history on its
# next task (a timer, a decision), which is all it costs.
MAX_CACHED_WORKFLOWS = 1000
# Activities in flight: each holds an SMTP connection or a case record connection at most.
MAX_CONCURRENT_ACTIVITIES = 20

# The pure modules the workflows use (the rules, the contracts, the activities' definitions)
# come from outside the sandbox, never re-imported for each case: said here for the whole
# worker, so an import added later anywhere in workflow code is passed through too, not only
# those inside the workflow files' ``imports_passed_through`` blocks. They hold no state.
SANDBOX = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules(
        "domain", "contracts", "activities"
    )
)


def build_worker(
    client: Client,
    task_queue: str = TASK_QUEUE,
    *,
    max_cached_workflows: int = MAX_CACHED_WORKFLOWS,
    max_concurrent_activities: int = MAX_CONCURRENT_ACTIVITIES,
) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=ACTIVITIES,
        # Threads for the activities that are not async (the monthly reports), one per slot.
        activity_executor=concurrent.futures.ThreadPoolExecutor(
            max_workers=max_concurrent_activities
        ),
        workflow_runner=SANDBOX,
        # The ids of the keys it reads: clients check them before sending (issue 15).
        identity=identity_for(client),
        max_cached_workflows=max_cached_workflows,
        max_concurrent_activities=max_concurrent_activities,
    )


async def run_worker(
    task_queue: str | None = None,
    metrics_bind: str | None = None,
    *,
    health_bind: str | None = None,
    max_cached_workflows: int = MAX_CACHED_WORKFLOWS,
    max_concurrent_activities: int = MAX_CONCURRENT_ACTIVITIES,
) -> None:
    """``metrics_bind`` (checked ``HOST:PORT``): serve ``/metrics`` there; None: no metrics.
    ``health_bind`` (``HOST:PORT``): serve ``/readyz`` there (:mod:`workers.health`).
    ``max_cached_workflows`` and ``max_concurrent_activities``: see :func:`build_worker`."""
    configure_logging()
    # A record that is missing, behind, ahead or not ours stops the worker before any case runs.
    check_current(database_url())
    task_queue = task_queue or TASK_QUEUE
    configure_tracing("icpc-worker")  # before connecting: the worker names its spans
    runtime = metrics_runtime(metrics_bind) if metrics_bind else None
    client = await connect(runtime, worker=True)
    log = get_logger()
    log.info(
        "worker_started",
        task_queue=task_queue,
        namespace=client.namespace,
        max_cached_workflows=max_cached_workflows,
        max_concurrent_activities=max_concurrent_activities,
    )
    # The monthly out-of-timescale emails' schedule, once (left as it is if it exists).
    await ensure_schedules(client, task_queue)
    if metrics_bind:
        log.info("worker_metrics", address=f"http://{metrics_bind}/metrics")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Installed explicitly, so a worker started with SIGINT ignored still stops cleanly.
        loop.add_signal_handler(signum, stop.set)
    async with (
        publish_open_cases(runtime, record_store),  # icpc_open_cases, when metrics are on
        build_worker(
            client,
            task_queue,
            max_cached_workflows=max_cached_workflows,
            max_concurrent_activities=max_concurrent_activities,
        ) as worker,
        serve_health(health_bind, worker_ready(client, worker)) as health,
    ):
        if health:
            log.info("worker_health", address=f"http://{health}/readyz")
        await stop.wait()
        log.info("worker_stopping", task_queue=task_queue)
    # Once no activity runs: the mail activities' kept SMTP connections and ledger engines.
    POOL.close()
    close_shared_ledgers()
