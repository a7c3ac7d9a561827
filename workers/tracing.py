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
client (``workers.connection.connect``), so every worker built on that client traces too, and
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

No personal data leaves the process: every span passes :class:`PersonalDataFilter` on its way
to an exporter, which keeps only attributes known to hold none (Temporal's workflow, run,
update and activity ids, and the HTTP method, route *template*, status and scheme), so a client
address, a user agent, a URL or query string, or an exception's message is dropped. Case
workflow ids carry no name, date of birth or address.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace import Link, Status
from opentelemetry.util.types import Attributes, AttributeValue
from temporalio.client import Plugin
from temporalio.contrib.opentelemetry import (
    OpenTelemetryPlugin,
    ReplaySafeTracerProvider,
    create_tracer_provider,
)

from runtime.log_setup import get_logger

if TYPE_CHECKING:
    from fastapi import FastAPI

DEFAULT_SERVICE_NAME = "icpc-orchestrator"
WEB_SERVICE_NAME = "icpc-web"
SUPPORTED_EXPORTERS = ("otlp", "console")
OTLP_PROTOCOL = "http/protobuf"
# Probes and static files are not worth a trace (a regex each, matched against the URL).
WEB_EXCLUDED_URLS = "/healthz,/readyz,/static/"

# Span attributes that hold no personal data; everything else is dropped before export.
ALLOWED_ATTRIBUTES = frozenset(
    {
        # HTTP server spans, in both the old and the stable semantic conventions.
        "http.method",
        "http.request.method",
        "http.route",  # the template, /cases/{case_id}: never the address asked for
        "http.status_code",
        "http.response.status_code",
        "http.scheme",
        "url.scheme",
        "http.flavor",
        "network.protocol.version",
        "error.type",
        # Exceptions recorded on a span: the type only (a message may quote what was typed).
        "exception.type",
        "exception.escaped",
    }
)
ALLOWED_PREFIXES = ("temporal",)  # Temporal's ids and types: temporalWorkflowID, ...

_configured = False
_provider: ReplaySafeTracerProvider | None = None


def allowed(key: str) -> bool:
    return key in ALLOWED_ATTRIBUTES or key.startswith(ALLOWED_PREFIXES)


def _kept(attributes: Attributes) -> dict[str, AttributeValue]:
    return {k: v for k, v in (attributes or {}).items() if allowed(k)}


class PersonalDataFilter(SpanProcessor):
    """Hands each finished span on with only the attributes in the allow-list.

    Wraps the processor that exports (batch or simple): what it sees, and so what leaves the
    process, is the filtered copy. Status descriptions keep only the exception type.
    """

    def __init__(self, inner: SpanProcessor) -> None:
        self._inner = inner

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        self._inner.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        self._inner.on_end(filtered(span))

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)


def filtered(span: ReadableSpan) -> ReadableSpan:
    """A copy of ``span`` without the attributes, event details and status text that could
    carry personal data."""
    status = span.status
    if status.description:
        kind, colon, _ = status.description.partition(":")
        status = Status(status.status_code, kind if colon else None)
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=_kept(span.attributes),
        events=[Event(e.name, _kept(e.attributes), e.timestamp) for e in span.events],
        links=[Link(link.context, _kept(link.attributes)) for link in span.links],
        kind=span.kind,
        status=status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


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


def new_provider(
    processors: Sequence[SpanProcessor], resource: Resource | None = None
) -> ReplaySafeTracerProvider:
    """Temporal's replay-safe provider, each processor behind the personal-data filter."""
    provider = create_tracer_provider(resource=resource)
    for processor in processors:
        provider.add_span_processor(PersonalDataFilter(processor))
    return provider


def provider_from_environment(
    environ: Mapping[str, str], service_name: str = DEFAULT_SERVICE_NAME
) -> ReplaySafeTracerProvider | None:
    """A tracer provider exporting as OTEL_* asks, or None when tracing stays off."""
    exporters = [e for e in (_exporter(n, environ) for n in requested_exporters(environ)) if e]
    if not exporters:
        return None
    attributes = {} if environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service_name}
    return new_provider(
        [BatchSpanProcessor(exporter) for exporter in exporters], Resource.create(attributes)
    )


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
    if provider is not None and trace.get_tracer_provider() is not provider:
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
    return [OpenTelemetryPlugin(add_temporal_spans=True)] if _provider is not None else []


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
