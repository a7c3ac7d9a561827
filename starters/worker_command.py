"""``icpc worker``: run the worker (connection settings from TEMPORAL_* environment)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from typing import Any


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("worker", help="host the case workflows and activities")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from workers.main import run_worker

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_worker())
    return 0
