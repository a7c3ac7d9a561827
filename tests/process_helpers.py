"""Real processes for the fault tests (issue 15): ``icpc worker`` as operators run it, and a
Temporal dev server of a test's own, on a database file, that the test may kill and start again.

Every name, address and reference a test gives these is invented.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from temporalio.client import Client, WorkflowHandle

from contracts.case import STATE_QUERY
from domain.case_state import CaseState
from starters.dev_command import Child, _wait_for_server, server_command
from tests.case_helpers import idempotency_key
from tests.conftest import MailCatcher, free_port

ROOT = Path(__file__).resolve().parent.parent
ICPC = Path(sys.executable).parent / "icpc"  # the installed command, as operators run it

T = TypeVar("T")


def worker_env(client: Client, sink: MailCatcher, record_url: str) -> dict[str, str]:
    """``icpc worker``'s settings: the client's server and namespace, the sink, the record."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ICPC_", "TEMPORAL_"))}
    env.update(
        TEMPORAL_ADDRESS=client.service_client.config.target_host,
        TEMPORAL_NAMESPACE=client.namespace,
        ICPC_DATABASE_URL=record_url,  # the one ledger every worker shares
        ICPC_SMTP_HOST=sink.host,
        ICPC_SMTP_PORT=str(sink.port),
        ICPC_PAYLOAD_ENCRYPTION="off",  # the test's client reads plain payloads
        ICPC_PAYLOAD_KEY_FILE="",
        PYTHONPATH=str(ROOT),
    )
    return env


def spawn_worker(
    env: dict[str, str], queue: str, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """``icpc worker`` on ``queue``; its log lines go to ``log`` when given (else nowhere)."""
    output = open(log, "ab") if log is not None else subprocess.DEVNULL  # noqa: SIM115
    try:
        return subprocess.Popen(
            [str(ICPC), "worker", "--task-queue", queue],
            env=env,
            cwd=ROOT,
            stdout=output,
            stderr=output,
        )
    finally:
        if log is not None:
            output.close()  # type: ignore[union-attr]  # the child holds its own copy


async def until(
    check: Callable[[], Awaitable[T | None]], timeout: float = 30.0, every: float = 0.02
) -> T:
    """``check()`` again and again until it gives something true (returned), or fail."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(every)


async def state_of(handle: WorkflowHandle[Any, Any]) -> CaseState | None:
    """The case's state, or None while it cannot answer (being set up, or unreachable)."""
    try:
        state: CaseState = await handle.query(STATE_QUERY, result_type=CaseState)
    except Exception:
        return None
    return state if state.timeline else None


def invitations(sink: MailCatcher) -> list[tuple[str, str]]:
    """(idempotency key, Message-ID) of each invitation the server received, in order."""
    return [
        (idempotency_key(m), str(m["Message-ID"]))
        for m in list(sink.messages)
        if "Invitation" in str(m["Subject"])
    ]


class DevServer:
    """The Temporal dev server as ``make run`` starts it (``icpc dev``'s own command line: the
    database file, the product's search attributes), on a free loopback port, without the Web
    UI. Killed with SIGKILL, it can be started again on the same file and port."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.log = data_dir / "temporal.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def db_file(self) -> Path:
        return self.data_dir / "temporal.db"

    def command(self) -> list[str]:
        args = argparse.Namespace(
            data_dir=self.data_dir, port=self.port, ui_port=free_port(), no_web=True
        )
        return [*server_command(args), "--headless"]

    async def start(self, timeout: float = 60.0) -> None:
        """Start it, and wait until it answers and lists every custom search attribute."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}
        with open(self.log, "ab") as output:
            self.process = subprocess.Popen(
                self.command(), env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=output
            )
        child = Child("temporal", self.process, signal.SIGTERM)
        await _wait_for_server(self.address, child, time.monotonic() + timeout)

    def kill(self) -> None:
        """SIGKILL: no goodbye, nothing flushed but what the database already holds."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)


def stop_process(process: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    """SIGTERM, then SIGKILL if it has not stopped within ``grace`` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
