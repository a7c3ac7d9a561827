"""``icpc worker``: run the worker (connection settings from TEMPORAL_* environment)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from typing import Any


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("worker", help="host the case workflows and activities")
    p.add_argument(
        "--task-queue", default=None, help="the task queue to poll (default: icpc-cases)"
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from records.database import RecordStoreError
    from starters.cli import CommandError
    from workers.main import run_worker

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run_worker(args.task_queue))
    except RecordStoreError as error:
        raise CommandError(str(error)) from None
    return 0
