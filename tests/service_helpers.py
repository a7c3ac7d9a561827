"""The web service on loopback for the command line's tests: the product's own app, on the dev
server with a worker on the case task queue, reading the session's case record. A command run
against it needs only ``ICPC_SERVICE_URL`` and a person token, as on a person's machine.

Every person here is invented."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
from temporalio.client import Client
from temporalio.service import ServiceClient
from temporalio.testing import WorkflowEnvironment

from contracts.case import TASK_QUEUE
from records.database import database_url
from tests.conftest import free_port
from tests.web.web_helpers import serve_on_loopback
from web.app import create_app
from web.dependencies import ClientFactory
from web.settings import Settings
from workers.main import build_worker

# What a person's machine does not have: the command line must not need any of them.
SERVICE_ONLY_ENV = (
    "TEMPORAL_ADDRESS",
    "TEMPORAL_NAMESPACE",
    "ICPC_DATABASE_URL",
    "ICPC_PAYLOAD_KEY",
    "ICPC_PAYLOAD_KEY_FILE",
)


@dataclass
class RunningService:
    url: str
    env: WorkflowEnvironment

    @property
    def client(self) -> Client:
        return self.env.client


def service_settings() -> Settings:
    return Settings(secret="test-secret-" + "s" * 40, record_url=database_url(), signin_delay=0.0)


@contextlib.contextmanager
def serving(client: Client | ClientFactory, settings: Settings | None = None) -> Iterator[str]:
    """The product's web service on a free loopback port. Its Temporal client is made on first
    use like ``client`` (same server, namespace, converter and interceptors), or by ``client``
    when that is a factory (``runtime.connection.connect``, as ``icpc web`` does)."""
    if not isinstance(client, Client):
        factory = client
    else:
        template = client

        async def factory() -> Client:
            # A connection of its own, made on the app's loop in uvicorn's thread: a client is
            # not thread-safe, and ``template`` serves the test's loop (its worker, its calls).
            config = template.config()
            config["service_client"] = await ServiceClient.connect(template.service_client.config)
            return Client(**config)

    app = create_app(settings or service_settings(), factory)
    with serve_on_loopback(app, free_port(), name="icpc-service") as url:
        yield url


@contextlib.asynccontextmanager
async def running_service(
    env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[RunningService]:
    """The service and a worker; ``ICPC_SERVICE_URL`` set, and no token yet (each test acts as
    someone: ``ICPC_PERSON_TOKEN`` or ``--token-file``)."""
    monkeypatch.delenv("ICPC_PERSON_TOKEN", raising=False)
    monkeypatch.delenv("ICPC_PERSON_TOKEN_FILE", raising=False)
    async with build_worker(env.client, TASK_QUEUE):
        with serving(env.client) as url:
            monkeypatch.setenv("ICPC_SERVICE_URL", url)
            yield RunningService(url, env)
