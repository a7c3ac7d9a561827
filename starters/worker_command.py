"""``icpc worker``: run the worker (connection settings from TEMPORAL_* environment)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from typing import Any


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("worker", help="host the case workflows and activities")
    p.add_argument(
        "--task-queue", default=None, help="the task queue to poll (default: icpc-cases)"
    )
    p.add_argument(
        "--metrics-bind",
        default=None,
        metavar="HOST:PORT",
        help="serve Prometheus metrics on http://HOST:PORT/metrics, for example 127.0.0.1:9464"
        " (default: ICPC_METRICS_BIND; unset: off)",
    )
    p.add_argument(
        "--health-bind",
        default=os.environ.get("ICPC_WORKER_HEALTH_BIND") or None,
        metavar="HOST:PORT",
        help="serve readiness on http://HOST:PORT/readyz, for example 127.0.0.1:9466"
        " (default: ICPC_WORKER_HEALTH_BIND; unset: off)",
    )
    p.add_argument(
        "--max-cached-workflows",
        type=str,
        default=None,
        metavar="N",
        help="cases kept in memory between their tasks, about 0.25 MB each (default:"
        " ICPC_WORKER_MAX_CACHED_WORKFLOWS, else 1000: a worker of about 512 MB)",
    )
    p.add_argument(
        "--max-concurrent-activities",
        type=str,
        default=None,
        metavar="N",
        help="activities (emails, planning, record writes) in flight at once (default:"
        " ICPC_WORKER_MAX_CONCURRENT_ACTIVITIES, else 20)",
    )
    p.set_defaults(handler=run)


def positive(given: str | None, option: str, variable: str, default: int) -> int:
    """A whole number of at least 1: from the option, else the environment, else ``default``."""
    from starters.cli import CommandError

    text = (given if given is not None else os.environ.get(variable, "")).strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        where = option if given is not None else variable
        raise CommandError(f"{where} must be a whole number of at least 1 (got '{text}')")
    return value


def run(args: argparse.Namespace) -> int:
    from records.database import RecordStoreError
    from runtime.connection import TemporalSettingsError, connect_config, data_converter
    from runtime.encryption import PayloadKeyError
    from starters.cli import CommandError
    from starters.file_modes import check_at_start
    from workers.health import parse_bind
    from workers.main import MAX_CACHED_WORKFLOWS, MAX_CONCURRENT_ACTIVITIES, run_worker
    from workers.metrics import MetricsBindError, bind_from_environment

    check_at_start("worker")  # var/ and the product's files: owner-only
    try:
        data_converter()  # no key, no worker: it would hand out case data in clear
        connect_config()  # a TLS certificate or key that cannot be read: one line, not a trace
    except (PayloadKeyError, TemporalSettingsError) as error:
        raise CommandError(str(error)) from None
    if args.health_bind:
        try:
            parse_bind(args.health_bind)
        except ValueError as error:
            raise CommandError(f"--health-bind: {error}") from None
    cached = positive(
        args.max_cached_workflows,
        "--max-cached-workflows",
        "ICPC_WORKER_MAX_CACHED_WORKFLOWS",
        MAX_CACHED_WORKFLOWS,
    )
    activities = positive(
        args.max_concurrent_activities,
        "--max-concurrent-activities",
        "ICPC_WORKER_MAX_CONCURRENT_ACTIVITIES",
        MAX_CONCURRENT_ACTIVITIES,
    )
    try:
        bind = bind_from_environment(args.metrics_bind)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(
                run_worker(
                    args.task_queue,
                    metrics_bind=bind,
                    health_bind=args.health_bind,
                    max_cached_workflows=cached,
                    max_concurrent_activities=activities,
                )
            )
    except (RecordStoreError, MetricsBindError, PayloadKeyError) as error:
        raise CommandError(str(error)) from None
    return 0
