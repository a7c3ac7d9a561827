"""The worker process: hosts the case workflows and every activity they call."""

from __future__ import annotations

import asyncio
import concurrent.futures
import signal
from collections.abc import Sequence
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from activities.mail import send_emails
from activities.planning import plan_case
from activities.record import RECORD_ACTIVITIES
from contracts.case import TASK_QUEUE
from records.database import check_current, database_url
from workers.connection import connect
from workers.health import serve_health, worker_ready
from workers.log_setup import configure_logging, get_logger
from workers.metrics import metrics_runtime
from workers.tracing import configure_tracing
from workflows.case_workflow import IcpcCaseWorkflow
from workflows.plan_workflow import IcpcPlanWorkflow

WORKFLOWS: Sequence[type] = [IcpcCaseWorkflow, IcpcPlanWorkflow]
ACTIVITIES: Sequence[Any] = [plan_case, send_emails, *RECORD_ACTIVITIES]


def build_worker(client: Client, task_queue: str = TASK_QUEUE) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=ACTIVITIES,
        activity_executor=concurrent.futures.ThreadPoolExecutor(max_workers=8),
    )


async def run_worker(
    task_queue: str | None = None,
    metrics_bind: str | None = None,
    *,
    health_bind: str | None = None,
) -> None:
    """``metrics_bind`` (checked ``HOST:PORT``): serve ``/metrics`` there; None: no metrics.
    ``health_bind`` (``HOST:PORT``): serve ``/readyz`` there (:mod:`workers.health`)."""
    configure_logging()
    # A record that is missing, behind, ahead or not ours stops the worker before any case runs.
    check_current(database_url())
    task_queue = task_queue or TASK_QUEUE
    configure_tracing("icpc-worker")  # before connecting: the worker names its spans
    runtime = metrics_runtime(metrics_bind) if metrics_bind else None
    client = await connect(runtime)
    log = get_logger()
    log.info("worker_started", task_queue=task_queue, namespace=client.namespace)
    if metrics_bind:
        log.info("worker_metrics", address=f"http://{metrics_bind}/metrics")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Installed explicitly, so a worker started with SIGINT ignored still stops cleanly.
        loop.add_signal_handler(signum, stop.set)
    async with (
        build_worker(client, task_queue) as worker,
        serve_health(health_bind, worker_ready(client, worker)) as health,
    ):
        if health:
            log.info("worker_health", address=f"http://{health}/readyz")
        await stop.wait()
        log.info("worker_stopping", task_queue=task_queue)
