"""What one ``send_emails`` call costs, as a case start's notice makes it: one email each.

Runs the real activity (``activities.mail.send_emails`` through Temporal's
``ActivityEnvironment``) against an SMTP server on loopback that keeps nothing, with the outbox
ledger in a throwaway SQLite file, N calls one after another and then N with 8 in flight (as a
worker's activity slots run them). Prints the wall time and this process's CPU time per call;
the SMTP server runs in this process too, so its share of each connection is counted.

    .venv/bin/python benchmarks/mail_activity.py [--calls N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import tempfile
import time as clock
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiosmtpd.controller import Controller
from temporalio.testing import ActivityEnvironment

from activities.mail import send_emails
from domain.outbox import EmailPurpose, OutgoingEmail

IN_FLIGHT = 8


class Drop:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def notice(n: int) -> list[OutgoingEmail]:
    case = f"bench-mail-{n:06d}"
    return [
        OutgoingEmail(
            idempotency_key=f"{case}/started/1",
            case_id=case,
            purpose=EmailPurpose.NOTICE,
            to=["team.manager@staff.example.org"],
            subject=f"[ICPC BENCH-{n:06d}] A case has started",
            body="A case has started. Confirm whether an ICPC is needed.\n",
        )
    ]


async def timed(calls: range, in_flight: int) -> tuple[float, float]:
    """Wall and CPU seconds per call."""
    gate = asyncio.Semaphore(in_flight)
    env = ActivityEnvironment()

    async def one(n: int) -> None:
        async with gate:
            result = await env.run(send_emails, notice(n))
            assert len(result.sent) == 1, result

    wall, cpu = clock.perf_counter(), clock.process_time()
    await asyncio.gather(*(one(n) for n in calls))
    count = len(calls)
    return (clock.perf_counter() - wall) / count, (clock.process_time() - cpu) / count


async def main(calls: int) -> None:
    port = free_port()
    controller = Controller(Drop(), hostname="127.0.0.1", port=port)
    controller.start()
    with tempfile.TemporaryDirectory(prefix="icpc-mail-bench-") as folder:
        os.environ.update(
            ICPC_SMTP_HOST="127.0.0.1",
            ICPC_SMTP_PORT=str(port),
            ICPC_OUTBOX_DB=str(Path(folder) / "outbox.sqlite3"),
        )
        try:
            await timed(range(-10, 0), 1)  # warm-up: imports, the ledger's schema
            for label, first, in_flight in (("one at a time", 0, 1), ("8 in flight", calls, 8)):
                wall, cpu = await timed(range(first, first + calls), in_flight)
                print(
                    f"{label:<14} {calls} calls: {wall * 1000:6.2f} ms wall,"
                    f" {cpu * 1000:6.2f} ms CPU per call",
                    file=sys.stderr,  # stdout has the activity's own log lines
                )
        finally:
            controller.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=300)
    asyncio.run(main(parser.parse_args().calls))
