"""Traces: OpenTelemetry through Temporal's ``OpenTelemetryPlugin``, off unless OTEL_* asks for it.

A decision sent from the web form is one trace: the form's HTTP server span (the FastAPI
instrumentation, :func:`instrument_web_app`) is the parent of the client's
``StartWorkflowUpdate:decide`` span, whose context travels in the update's headers to the
workflow's ``HandleUpdate:decide`` span; the emails the decision causes are started under it
(``workflows.trace_context`` carries the context from the handler that queued them to the loop
that sends them), so ``StartActivity:send_emails`` and the activity's ``RunActivity:send_emails``
are in the same trace. A case's start is the same: ``StartWorkflow`` → ``RunWorkflow`` → its
activities.

The plugin is the SDK's recommended way (``temporalio.contrib.opentelemetry``): it rides on the
client (``runtime.connection.connect``), so every worker built on that client traces too, and
spans made inside workflows have real durations, deterministic ids, and are not repeated when a
workflow replays. It needs the process-wide tracer provider to be Temporal's replay-safe one,
so turning tracing on installs it globally.

Tracing is on when the standard configuration asks for it:

- ``OTEL_TRACES_EXPORTER`` set to ``otlp`` or ``console`` (a comma-separated list works), or
- ``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` set (then ``otlp``).

``OTEL_TRACES_EXPORTER=none`` or ``OTEL_SDK_DISABLED=true`` keeps it off. Off, nothing is
installed: no plugin on the client, no middleware in the web form, no provider. The OTLP exporter
speaks ``http/protobuf`` (port 4318 on a collector); every other ``OTEL_EXPORTER_OTLP_*``
setting, ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` are read by OpenTelemetry itself.

No personal data leaves the process: every span passes :class:`runtime.trace_export.PersonalDataFilter` on its way
to an exporter, which keeps only attributes known to hold none (Temporal's workflow, run,
update and activity ids, and the HTTP method, route *template*, status and scheme), so a client
address, a user agent, a URL or query string, or an exception's message is dropped. Case
workflow ids carry no name, date of birth or address.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from temporalio.client import Plugin

from runtime.log_setup import get_logger

if TYPE_CHECKING:
    from fastapi import FastAPI
    from temporalio.contrib.opentelemetry import ReplaySafeTracerProvider

DEFAULT_SERVICE_NAME = "icpc-orchestrator"
WEB_SERVICE_NAME = "icpc-web"
# Probes and static files are not worth a trace (a regex each, matched against the URL).
WEB_EXCLUDED_URLS = "/healthz,/readyz,/static/"

_configured = False
_provider: ReplaySafeTracerProvider | None = None


def requested_exporters(environ: Mapping[str, str]) -> list[str]:
    """The span exporters the OTEL_* settings ask for; empty when tracing stays off."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    names = [
        n.strip().lower() for n in environ.get("OTEL_TRACES_EXPORTER", "").split(",") if n.strip()
    ]
    if "none" in names:
        return []
    if names:
        return names
    endpoint = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    return ["otlp"] if endpoint else []


def provider_from_environment(
    environ: Mapping[str, str], service_name: str = DEFAULT_SERVICE_NAME
) -> ReplaySafeTracerProvider | None:
    """A tracer provider exporting as OTEL_* asks, or None when tracing stays off."""
    names = requested_exporters(environ)
    if not names:
        return None  # OpenTelemetry stays unimported: most processes never trace
    from runtime.trace_export import provider_exporting

    return provider_exporting(names, environ, service_name)


def configure_tracing(service_name: str = DEFAULT_SERVICE_NAME) -> bool:
    """Turn tracing on once per process if OTEL_* asks for it; True when it is on.

    The first call wins, so a process that names itself (the worker, the web form) before it
    connects keeps its name.
    """
    if not _configured:
        provider = provider_from_environment(os.environ, service_name)
        if provider is None:
            use_tracer_provider(None)
        else:
            use_tracer_provider(provider)
            get_logger().info("tracing_on", exporters=requested_exporters(os.environ))
    return _provider is not None


def use_tracer_provider(provider: ReplaySafeTracerProvider | None) -> None:
    """Trace every client connected and web app made from now on through ``provider``, which
    becomes the process-wide provider (OpenTelemetry allows one per process: a second, different
    one is refused); None: no tracing from now on."""
    global _configured, _provider
    if provider is not None:
        from opentelemetry import trace

        if trace.get_tracer_provider() is not provider:
            trace.set_tracer_provider(provider)
            if trace.get_tracer_provider() is not provider:
                raise RuntimeError("another OpenTelemetry tracer provider is already installed")
    _configured = True
    _provider = provider


def reset_tracing() -> None:
    """Forget the configuration (for tests): the next connection reads OTEL_* again. The
    process-wide provider stays installed, unused."""
    global _configured, _provider
    _configured = False
    _provider = None


def client_plugins() -> Sequence[Plugin]:
    """The plugins for ``Client.connect``: Temporal's OpenTelemetry plugin when tracing is on.

    ``add_temporal_spans``: the client's, the workflow's and the activity's own spans
    (``StartWorkflowUpdate``, ``HandleUpdate``, ``StartActivity``, ``RunActivity``...), so a
    trace shows each hop, not only spans the product would make itself."""
    configure_tracing()
    if _provider is None:
        return []
    from temporalio.contrib.opentelemetry import OpenTelemetryPlugin

    return [OpenTelemetryPlugin(add_temporal_spans=True)]


def instrument_web_app(app: FastAPI) -> bool:
    """Trace the web form's requests (OpenTelemetry's FastAPI instrumentation) when tracing is
    on; True if it did. Each request is a server span named by its route template, the parent
    of the Temporal client calls its handler makes. Off, nothing is imported or added."""
    configure_tracing(WEB_SERVICE_NAME)
    if _provider is None:
        return False
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.metrics import NoOpMeterProvider

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=_provider,
        meter_provider=NoOpMeterProvider(),  # request metrics: web.metrics, on its own bind
        excluded_urls=WEB_EXCLUDED_URLS,
        exclude_spans=["receive", "send"],  # one span a request, not three
    )
    return True
