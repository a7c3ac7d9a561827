"""The web form's own Prometheus metrics: requests and their latencies by route template.

Labels are the route's *template* (``/cases/{case_id}``, never the address asked for), the
method (one of a few) and the status class (``2xx`` ... ``5xx``): no case reference, name or
query string ever becomes a label, and an address that matches no route is counted under
``unmatched``. The metrics are served on a bind of their own (``icpc web --metrics-bind``,
``ICPC_WEB_METRICS_BIND``), never on the form's port, so the form's users cannot read them.

Management reports built in this process are timed too: :func:`observe_report` gives
``icpc_report_seconds{report}``, labelled by the report's name only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    start_http_server,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contracts.metrics import REPORT_BUCKETS, REPORT_SECONDS, report_label

UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST"})
# Seconds: a page is a Temporal query or a record read; a decision waits for its update.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Process-wide (reports are built wherever the web form is), shown by every app's registry.
REPORT_SECONDS_HISTOGRAM = Histogram(
    REPORT_SECONDS,
    "Time to build a management report, by report.",
    ("report",),
    buckets=REPORT_BUCKETS,
    registry=None,
)


def observe_report(report: str, seconds: float) -> None:
    """One build of ``report`` took ``seconds`` (``icpc_report_seconds{report}``)."""
    REPORT_SECONDS_HISTOGRAM.labels(report_label(report)).observe(seconds)


class WebMetrics:
    """One registry per app, so apps made in one process (tests) do not share counts."""

    def __init__(self, *, process: bool = True) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        if process:
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
        labels = ("method", "route", "status_class")
        self.requests = Counter(
            "icpc_web_requests",
            "Requests the web form answered, by route template and status class.",
            labels,
            registry=self.registry,
        )
        self.latency = Histogram(
            "icpc_web_request_duration_seconds",
            "Time the web form took to answer, by route template and status class.",
            labels,
            buckets=BUCKETS,
            registry=self.registry,
        )
        # Cookies naming no session (made up, or long deleted): counted, each one; the audit
        # trail has only the first of each window (web.users.UNKNOWN_AUDIT_WINDOW).
        self.unknown_sessions = Counter(
            "icpc_web_unknown_sessions",
            "Requests whose session cookie named no session.",
            registry=self.registry,
        )
        self.registry.register(REPORT_SECONDS_HISTOGRAM)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        shown = method if method in METHODS else "other"
        status_class = f"{status // 100}xx" if 100 <= status < 600 else "other"
        self.requests.labels(shown, route, status_class).inc()
        self.latency.labels(shown, route, status_class).observe(seconds)

    def serve(self, host: str, port: int) -> Callable[[], None]:
        """Serve ``/metrics`` on ``host:port`` in a thread; returns what stops it."""
        server, thread = start_http_server(port, addr=host, registry=self.registry)

        def stop() -> None:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)

        return stop


def route_template(scope: Scope) -> str:
    """The template of the route that answered (``/cases/{case_id}``), never the path."""
    route: Any = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if isinstance(template, str) and template:
        return template
    return UNMATCHED


class MetricsMiddleware:
    """Pure ASGI: times every HTTP request and counts it once its status is known."""

    def __init__(self, app: ASGIApp, metrics: WebMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            self.metrics.observe(
                str(scope.get("method", "")),
                route_template(scope),
                status,
                time.perf_counter() - started,
            )
