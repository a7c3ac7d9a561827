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
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from records.database import RecordStoreError
    from starters.cli import CommandError
    from workers.health import parse_bind
    from workers.main import run_worker
    from workers.metrics import MetricsBindError, bind_from_environment

    if args.health_bind:
        try:
            parse_bind(args.health_bind)
        except ValueError as error:
            raise CommandError(f"--health-bind: {error}") from None
    try:
        bind = bind_from_environment(args.metrics_bind)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(
                run_worker(args.task_queue, metrics_bind=bind, health_bind=args.health_bind)
            )
    except (RecordStoreError, MetricsBindError) as error:
        raise CommandError(str(error)) from None
    return 0
