"""The worker's readiness endpoint, for compose and Kubernetes probes: a tiny HTTP/1.1 server.

``icpc worker --health-bind 127.0.0.1:9466`` (or ``ICPC_WORKER_HEALTH_BIND``; off by default)
answers:

``GET /readyz``   200 when the worker is running (polling its task queue) and Temporal answers
                  its health check within ``CHECK_TIMEOUT`` seconds; 503 otherwise.
``GET /healthz``  200 while the process answers (liveness), nothing checked.

Anything else is 404 (405 for another method). Bodies are a few fixed words of JSON: no
address, no error text, no case data. One request per connection, then it closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

CHECK_TIMEOUT = 2.0
READ_TIMEOUT = 5.0
MAX_HEADER_BYTES = 8192

log = logging.getLogger(__name__)

ReadyCheck = Callable[[], Awaitable[bool]]

REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


def parse_bind(value: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:9466`` for IPv6) as a host and a port number."""
    host, sep, port = value.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"expected HOST:PORT, such as 127.0.0.1:9466, not {value!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def worker_ready(client: Client, worker: Worker) -> ReadyCheck:
    """Ready: the worker runs (polls) and Temporal answers its gRPC health check."""

    async def check() -> bool:
        if not worker.is_running:
            return False
        try:
            return await asyncio.wait_for(
                client.service_client.check_health(timeout=timedelta(seconds=CHECK_TIMEOUT)),
                CHECK_TIMEOUT,
            )
        except Exception as error:  # unreachable, refused, timed out: not ready
            log.warning("readiness: Temporal unavailable (%s)", type(error).__name__)
            return False

    return check


def _response(status: int, body: dict[str, str]) -> bytes:
    payload = json.dumps(body).encode()
    head = (
        f"HTTP/1.1 {status} {REASONS[status]}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n"
        "Cache-Control: no-store\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + payload


async def _answer(ready: ReadyCheck, request_line: bytes) -> bytes:
    parts = request_line.decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        return _response(404, {"status": "not found"})
    method, target = parts[0], parts[1].split("?", 1)[0]
    if target not in ("/healthz", "/readyz"):
        return _response(404, {"status": "not found"})
    if method not in ("GET", "HEAD"):
        return _response(405, {"status": "method not allowed"})
    if target == "/healthz":
        answer = _response(200, {"status": "ok"})
    elif await ready():
        answer = _response(200, {"status": "ready"})
    else:
        answer = _response(503, {"status": "not ready"})
    if method == "HEAD":
        answer = answer.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
    return answer


def _handler(
    ready: ReadyCheck,
) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT)
            if len(head) <= MAX_HEADER_BYTES:
                writer.write(await _answer(ready, head.split(b"\r\n", 1)[0]))
                await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # a probe that hung up or sent no request: nothing to answer
        except ConnectionError:
            pass  # the probe hung up while we answered
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    return handle


@contextlib.asynccontextmanager
async def serve_health(bind: str | None, ready: ReadyCheck) -> AsyncIterator[str | None]:
    """The endpoint on ``bind`` for as long as the block runs; yields its address (None: off)."""
    if not bind:
        yield None
        return
    host, port = parse_bind(bind)
    server = await asyncio.start_server(
        _handler(ready), host, port, limit=MAX_HEADER_BYTES, reuse_address=True
    )
    bound = server.sockets[0].getsockname()
    address = f"{host}:{bound[1]}"
    try:
        yield address
    finally:
        server.close()
        await server.wait_closed()
