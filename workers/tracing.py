"""Traces: OpenTelemetry through Temporal's tracing interceptor, off unless OTEL_* asks for it.

One interceptor on the client (``workers.connection.connect``) covers the client's calls and
every worker built on that client, so a decision sent as an update, its handling in the
workflow and the activities it starts share one trace id.

Tracing is on when the standard configuration asks for it:

- ``OTEL_TRACES_EXPORTER`` set to ``otlp`` or ``console`` (a comma-separated list works), or
- ``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` set (then ``otlp``).

``OTEL_TRACES_EXPORTER=none`` or ``OTEL_SDK_DISABLED=true`` keeps it off. The OTLP exporter
speaks ``http/protobuf`` (port 4318 on a collector); every other ``OTEL_EXPORTER_OTLP_*``
setting, ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` are read by OpenTelemetry itself.

Spans carry what Temporal's interceptor records: workflow, update and activity types, and the
workflow, run and update ids. Case workflow ids carry no name, date of birth or address.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from temporalio.client import Interceptor
from temporalio.contrib.opentelemetry import TracingInterceptor

from workers.log_setup import get_logger

DEFAULT_SERVICE_NAME = "icpc-orchestrator"
SUPPORTED_EXPORTERS = ("otlp", "console")
OTLP_PROTOCOL = "http/protobuf"

_configured = False
_interceptor: TracingInterceptor | None = None


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


def _exporter(name: str, environ: Mapping[str, str]) -> SpanExporter | None:
    log = get_logger()
    if name == "console":
        return ConsoleSpanExporter()
    if name != "otlp":
        log.warning("tracing_exporter_unknown", exporter=name, supported=SUPPORTED_EXPORTERS)
        return None
    protocol = environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or environ.get(
        "OTEL_EXPORTER_OTLP_PROTOCOL", OTLP_PROTOCOL
    )
    if protocol.strip() != OTLP_PROTOCOL:
        log.warning("tracing_protocol_unsupported", protocol=protocol, supported=OTLP_PROTOCOL)
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def provider_from_environment(
    environ: Mapping[str, str], service_name: str = DEFAULT_SERVICE_NAME
) -> TracerProvider | None:
    """A tracer provider exporting as OTEL_* asks, or None when tracing stays off."""
    exporters = [e for e in (_exporter(n, environ) for n in requested_exporters(environ)) if e]
    if not exporters:
        return None
    attributes = {} if environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service_name}
    provider = TracerProvider(resource=Resource.create(attributes))
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def configure_tracing(service_name: str = DEFAULT_SERVICE_NAME) -> bool:
    """Turn tracing on once per process if OTEL_* asks for it; True when it is on.

    The first call wins, so a process that names itself (the worker, the web form) before it
    connects keeps its name.
    """
    global _configured
    if not _configured:
        provider = provider_from_environment(os.environ, service_name)
        if provider is not None:
            # The global provider too, so any other instrumentation joins the same traces.
            trace.set_tracer_provider(provider)
        use_tracer_provider(provider)
        if provider is not None:
            get_logger().info("tracing_on", exporters=requested_exporters(os.environ))
    return _interceptor is not None


def use_tracer_provider(provider: trace.TracerProvider | None) -> None:
    """Trace every client connected from now on through ``provider`` (None: no tracing)."""
    global _configured, _interceptor
    _configured = True
    _interceptor = None if provider is None else TracingInterceptor(provider.get_tracer(__name__))


def reset_tracing() -> None:
    """Forget the configuration (for tests): the next connection reads OTEL_* again."""
    global _configured, _interceptor
    _configured = False
    _interceptor = None


def client_interceptors() -> Sequence[Interceptor]:
    """The interceptors for ``Client.connect``: the tracing one when tracing is on."""
    configure_tracing()
    return [_interceptor] if _interceptor is not None else []
