"""Probes and metrics, for the people who keep the form and the worker running.

The web form's ``/healthz`` and ``/readyz`` (against Temporal dev servers started and stopped
here, and a case record that cannot be reached), its request metrics on a bind of their own,
and the worker's readiness endpoint (``icpc worker --health-bind``) in a real worker process.
Every reference here is invented.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import generate_latest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from tests.case_helpers import unique
from tests.conftest import DEV_SERVER, free_port
from web.app import create_app
from web.settings import Settings
from workers.health import serve_health, worker_ready
from workers.main import build_worker

ROOT = Path(__file__).resolve().parents[2]
UNREACHABLE_RECORD = "postgresql+psycopg://probe:not-a-real-password@127.0.0.1:1/none"
SECRET_CASE = "WEB-PROBE-4711"


def app_client(settings: Settings, factory: object) -> tuple[httpx.AsyncClient, object]:
    app = create_app(settings, factory)  # type: ignore[arg-type]
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    return http, app


def closed_port_factory() -> object:
    port = free_port()  # nothing listens there

    async def connect() -> Client:
        return await Client.connect(f"127.0.0.1:{port}")

    return connect


def fixed_client_factory(client: Client) -> object:
    async def connect() -> Client:
        return client

    return connect


async def start_dev_server(port: int) -> WorkflowEnvironment:
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(DEV_SERVER),
        data_converter=pydantic_data_converter,
        ip="127.0.0.1",
        port=port,
        ui=False,
    )


async def ready_status(http: httpx.AsyncClient, wanted: int, within: float) -> httpx.Response:
    deadline = time.monotonic() + within
    while True:
        response = await http.get("/readyz")
        if response.status_code == wanted or time.monotonic() > deadline:
            return response
        await asyncio.sleep(0.5)


# --- liveness -------------------------------------------------------------------------------


async def test_healthz_answers_without_a_session_even_when_nothing_else_is_up(
    web_settings: Settings,
) -> None:
    settings = Settings(**{**web_settings.__dict__, "record_url": UNREACHABLE_RECORD})
    http, _ = app_client(settings, closed_port_factory())
    async with http:
        response = await http.get("/healthz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
        assert "set-cookie" not in response.headers, "a probe gets no session cookie"
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"
        # A stale or forged cookie changes nothing and is not touched either.
        http.cookies.set("icpc_session", "forged")
        again = await http.get("/healthz")
        assert again.status_code == 200 and "set-cookie" not in again.headers


# --- readiness ------------------------------------------------------------------------------


async def test_readyz_follows_temporal_going_down_and_coming_back(
    web_settings: Settings,
) -> None:
    port = free_port()
    env = await start_dev_server(port)

    async def connect() -> Client:
        return await Client.connect(f"127.0.0.1:{port}")

    http, _ = app_client(web_settings, connect)
    restarted: WorkflowEnvironment | None = None
    try:
        async with http:
            up = await http.get("/readyz")
            assert up.status_code == 200, up.text
            assert up.json() == {"temporal": "ok", "record": "ok"}
            assert up.headers["cache-control"] == "no-store"
            assert "set-cookie" not in up.headers

            await env.shutdown()
            started = time.monotonic()
            down = await ready_status(http, 503, within=10)
            assert down.status_code == 503, down.text
            assert down.json() == {"temporal": "down", "record": "ok"}
            assert time.monotonic() - started < 10

            restarted = await start_dev_server(port)
            back = await ready_status(http, 200, within=60)
            assert back.status_code == 200, back.text
            assert back.json() == {"temporal": "ok", "record": "ok"}
    finally:
        if restarted is not None:
            await restarted.shutdown()


async def test_readyz_is_503_quickly_when_temporal_was_never_reachable(
    web_settings: Settings,
) -> None:
    http, _ = app_client(web_settings, closed_port_factory())
    async with http:
        started = time.monotonic()
        response = await http.get("/readyz")
        assert response.status_code == 503
        assert response.json() == {"temporal": "down", "record": "ok"}
        assert time.monotonic() - started < 5, "a probe must answer within its timeout"


async def test_readyz_is_503_when_the_case_record_is_unreachable(
    web_settings: Settings, dev_env: WorkflowEnvironment
) -> None:
    settings = Settings(**{**web_settings.__dict__, "record_url": UNREACHABLE_RECORD})
    http, _ = app_client(settings, fixed_client_factory(dev_env.client))
    async with http:
        response = await http.get("/readyz")
        assert response.status_code == 503
        assert response.json() == {"temporal": "ok", "record": "down"}
        for secret in ("not-a-real-password", "postgresql", "127.0.0.1", "probe"):
            assert secret not in response.text


# --- metrics --------------------------------------------------------------------------------


async def test_metrics_count_route_templates_never_case_references(
    web_settings: Settings, dev_env: WorkflowEnvironment
) -> None:
    http, app = app_client(web_settings, fixed_client_factory(dev_env.client))
    async with http:
        assert (await http.get(f"/cases/{SECRET_CASE}")).status_code == 303  # to sign in
        assert (await http.get(f"/cases/{SECRET_CASE}/plan")).status_code == 303
        assert (await http.get(f"/no-such-page/{SECRET_CASE}")).status_code == 303
        assert (await http.get("/healthz")).status_code == 200
        # The form's own port does not serve the metrics.
        on_form = await http.get("/metrics")
        assert on_form.status_code != 200 or "icpc_web_requests" not in on_form.text

    metrics = app.state.metrics  # type: ignore[attr-defined]
    port = free_port()
    stop = metrics.serve("127.0.0.1", port)
    try:
        async with httpx.AsyncClient() as scraper:
            scraped = await scraper.get(f"http://127.0.0.1:{port}/metrics")
    finally:
        stop()
    assert scraped.status_code == 200
    text = scraped.text
    assert text.startswith("# HELP")
    assert "icpc_web_requests_total" in generate_latest(metrics.registry).decode()
    assert (
        'icpc_web_requests_total{method="GET",route="/cases/{case_id}",status_class="3xx"} 1.0'
        in text
    )
    assert (
        'icpc_web_requests_total{method="GET",route="/cases/{case_id}/plan",status_class="3xx"}'
        in text
    )
    assert 'route="unmatched"' in text
    assert 'icpc_web_requests_total{method="GET",route="/healthz",status_class="2xx"} 1.0' in text
    assert 'icpc_web_request_duration_seconds_bucket{le="0.005",method="GET",route="/healthz"' in (
        text
    )
    assert SECRET_CASE not in text, "no case reference in a label"
    assert "no-such-page" not in text, "an unmatched address is not a label"


# --- the worker's readiness -------------------------------------------------------------------


async def status_of(url: str) -> int | None:
    """The status, or None when nothing answers (connection refused)."""
    try:
        async with httpx.AsyncClient(timeout=5) as probe:
            return (await probe.get(url)).status_code
    except httpx.ConnectError:
        return None


async def status_within(url: str, wanted: int, within: float) -> int | None:
    deadline = time.monotonic() + within
    while True:
        status = await status_of(url)
        if status == wanted or time.monotonic() > deadline:
            return status
        await asyncio.sleep(0.2)


async def test_worker_readiness_follows_the_worker(dev_env: WorkflowEnvironment) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/readyz"
    assert await status_of(url) is None, "off until bound"
    worker = build_worker(dev_env.client, task_queue=unique("health"))
    async with serve_health(f"127.0.0.1:{port}", worker_ready(dev_env.client, worker)) as bound:
        assert bound == f"127.0.0.1:{port}"
        assert await status_of(url) == 503, "not ready before the worker polls"
        assert await status_of(f"http://127.0.0.1:{port}/healthz") == 200
        assert await status_of(f"http://127.0.0.1:{port}/metrics") == 404
        async with worker:  # running once it has checked in with the server
            assert await status_within(url, 200, within=15) == 200
        assert await status_of(url) == 503, "not ready once the worker has stopped"
    assert await status_of(url) is None, "refused once the worker process is gone"


@pytest.fixture
async def worker_process(
    dev_env: WorkflowEnvironment, case_record: str
) -> AsyncIterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": dev_env.client.namespace,
        "ICPC_DATABASE_URL": case_record,
        "ICPC_WORKER_HEALTH_BIND": f"127.0.0.1:{port}",
        "ICPC_PAYLOAD_ENCRYPTION": "off",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "starters.cli", "worker", "--task-queue", unique("health-proc")],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process, f"http://127.0.0.1:{port}/readyz"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


async def test_icpc_worker_health_bind_answers_ready_while_it_runs(
    worker_process: tuple[subprocess.Popen[bytes], str],
) -> None:
    process, url = worker_process
    deadline = time.monotonic() + 60
    status = None
    while time.monotonic() < deadline and process.poll() is None:
        status = await status_of(url)
        if status == 200:
            break
        await asyncio.sleep(0.3)
    assert status == 200, f"worker not ready (exit status {process.poll()})"
    process.send_signal(signal.SIGINT)
    await asyncio.to_thread(process.wait, 30)
    assert await status_of(url) is None, "nothing answers once the worker has stopped"


# --- the compose file uses the probes ---------------------------------------------------------


def test_compose_probes_the_web_form_and_the_worker() -> None:
    import yaml

    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    web_test = " ".join(services["web"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/readyz" in web_test
    worker = services["worker"]
    bind = worker["command"][worker["command"].index("--health-bind") + 1]
    assert bind.startswith("127.0.0.1:"), "the worker's probe stays inside its container"
    assert f"http://{bind}/readyz" in " ".join(worker["healthcheck"]["test"])
