"""``icpc dev`` starts the whole stack on free ports and stops every child on Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import smtplib
import subprocess
import sys
import threading
import time
from email.message import EmailMessage
from pathlib import Path

import httpx
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client

from contracts.search_attributes import SEARCH_ATTRIBUTES
from tests.conftest import free_port

START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _read_lines(stream: object, lines: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        lines.put(line)


async def test_dev_starts_the_stack_and_ctrl_c_stops_every_child(tmp_path: Path) -> None:
    port, ui_port, mail_port = free_port(), free_port(), free_port()
    metrics_port = free_port()
    dev = subprocess.Popen(
        [
            *(sys.executable, "-m", "starters.cli", "dev", "--no-web"),
            *("--data-dir", str(tmp_path), "--port", str(port)),
            *("--ui-port", str(ui_port), "--mail-port", str(mail_port)),
            *("--worker-metrics-port", str(metrics_port)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_read_lines, args=(dev.stdout, lines), daemon=True).start()
    output: list[str] = []
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not any("Processes" in line for line in output):
            assert time.monotonic() < deadline, "".join(output)
            assert dev.poll() is None, "".join(output)
            with contextlib.suppress(queue.Empty):
                output.append(lines.get(timeout=0.5))
        text = "".join(output)
        assert f"127.0.0.1:{port}" in text and f"http://127.0.0.1:{ui_port}" in text
        assert str(tmp_path / "mail") in text
        metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        assert metrics_url in text
        pids = dict(
            item.split("=")
            for item in next(line for line in output if "Processes" in line).split()[1:]
        )
        assert {"temporal", "mailsink"} <= set(pids)
        assert "web" not in pids

        client = await Client.connect(f"127.0.0.1:{port}")
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace="default")
        )
        for name, _ in SEARCH_ATTRIBUTES:
            assert name in listed.custom_attributes

        # The mail sink answers and keeps what it gets.
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@example.org", "b@example.org", "t"
        message.set_content("test")
        deadline = time.monotonic() + 10
        while True:
            try:
                with smtplib.SMTP("127.0.0.1", mail_port, timeout=5) as smtp:
                    smtp.send_message(message)
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert len(list((tmp_path / "mail").glob("*.eml"))) == 1
        assert (tmp_path / "temporal.db").exists()
        # Issue 12: everything under the data folder is its owner's only.
        for path in [tmp_path, *tmp_path.rglob("*")]:
            if not path.is_symlink():
                wanted = 0o700 if path.is_dir() else 0o600
                assert path.stat().st_mode & 0o777 == wanted, path

        # The worker serves Temporal's SDK metrics once it is up.
        deadline = time.monotonic() + 30
        while True:
            try:
                scraped = httpx.get(metrics_url, timeout=5)
                if scraped.status_code == 200 and "temporal_" in scraped.text:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the worker's /metrics never answered"
            time.sleep(0.3)

        dev.send_signal(signal.SIGINT)
        assert dev.wait(timeout=STOP_TIMEOUT) == 0
        for name, pid in pids.items():
            assert not _alive(int(pid)), f"{name} is still running"
    finally:
        if dev.poll() is None:
            dev.kill()
            dev.wait()
