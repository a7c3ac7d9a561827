"""What a process that traces sends out (:mod:`runtime.tracing` decides whether it does): the
exporters OTEL_* names, behind the filter that keeps personal data in the process.

Apart from :mod:`runtime.tracing` so that OpenTelemetry is imported only by a process that
traces: the web form, the command line and the workers load it only when tracing is on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from opentelemetry import context as otel_context
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace import Link, Status
from opentelemetry.util.types import Attributes, AttributeValue
from temporalio.contrib.opentelemetry import ReplaySafeTracerProvider, create_tracer_provider

from runtime.log_setup import get_logger

SUPPORTED_EXPORTERS = ("otlp", "console")
OTLP_PROTOCOL = "http/protobuf"

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


def provider_exporting(
    names: Sequence[str], environ: Mapping[str, str], service_name: str
) -> ReplaySafeTracerProvider | None:
    """A tracer provider exporting to each of ``names`` (:func:`runtime.tracing.requested_exporters`)
    that can be made, or None when none can."""
    exporters = [e for e in (_exporter(n, environ) for n in names) if e]
    if not exporters:
        return None
    attributes = {} if environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service_name}
    return new_provider(
        [BatchSpanProcessor(exporter) for exporter in exporters], Resource.create(attributes)
    )
