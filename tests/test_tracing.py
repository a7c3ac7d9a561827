"""Traces: a case's start, a decision sent to it as an update, its handling in the workflow
and the activities it starts are traced and tied together.

Against the dev server, with spans collected in memory instead of sent to a collector. The
client comes from ``workers.connection.connect`` (as every process gets its own), and the
worker is built on it, as ``icpc worker`` builds its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.testing import WorkflowEnvironment

from contracts.case import DECIDE_UPDATE, DecisionRequest, DecisionResult
from domain.calendar import LONDON
from tests.case_helpers import RunningCase, decision, procedure, start_running_case, unique
from tests.conftest import MailCatcher
from workers import tracing
from workers.connection import connect
from workers.main import build_worker

BCT = "bct-management-note"


@pytest.fixture
def spans(
    dev_env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> Iterator[InMemorySpanExporter]:
    """Tracing on for clients connected in this test, into memory; off again afterwards."""
    monkeypatch.setenv("TEMPORAL_ADDRESS", dev_env.client.service_client.config.target_host)
    monkeypatch.setenv("TEMPORAL_NAMESPACE", dev_env.client.namespace)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_tracer_provider(provider)
    try:
        yield exporter
    finally:
        tracing.reset_tracing()
        provider.shutdown()


def named(found: list[ReadableSpan], prefix: str) -> list[ReadableSpan]:
    return [s for s in found if s.name.startswith(prefix)]


async def test_an_update_and_its_workflow_handling_are_traced_together(
    dev_env: WorkflowEnvironment, smtp_server: MailCatcher, spans: InMemorySpanExporter
) -> None:
    client = await connect()
    assert client.config()["interceptors"], "tracing is on: the client carries the interceptor"
    async with build_worker(client, task_queue=unique("traced")) as worker:
        traced_env = WorkflowEnvironment.from_client(client)
        proc = procedure(BCT)
        strategy = datetime.now(LONDON) - timedelta(minutes=10)
        case: RunningCase = await start_running_case(
            traced_env, proc, strategy, worker.task_queue, unique("TRACE")
        )
        started = named(list(spans.get_finished_spans()), "StartWorkflow:")
        assert len(started) == 1
        case_trace = started[0].context.trace_id
        spans.clear()
        result = await case.handle.execute_update(
            DECIDE_UPDATE,
            DecisionRequest(decision=decision(proc, "confirm_icpc", reason="Risk confirmed")),
            result_type=DecisionResult,
        )
        assert result.accepted
        await case.settle()
        await case.clean_up()

    found = list(spans.get_finished_spans())
    names = [s.name for s in found]
    sent = named(found, f"StartWorkflowUpdate:{DECIDE_UPDATE}")
    assert len(sent) == 1, names
    sent_context = sent[0].context
    # Temporal's interceptor puts the workflow's handling of an update in the case's own trace
    # (the one its start began) and links it to the client's update span.
    for prefix in (f"ValidateUpdate:{DECIDE_UPDATE}", f"HandleUpdate:{DECIDE_UPDATE}"):
        handled = named(found, prefix)
        assert len(handled) == 1, names
        linked = [(link.context.trace_id, link.context.span_id) for link in handled[0].links]
        assert (sent_context.trace_id, sent_context.span_id) in linked, prefix
        assert handled[0].context.trace_id == case_trace, prefix
    # The activities the decision started run in the same trace.
    ran = named(found, "RunActivity:")
    assert ran, names
    assert {s.context.trace_id for s in ran} == {case_trace}, names
    # No personal data: only Temporal's types and ids are recorded.
    for span in found:
        for key in span.attributes or {}:
            assert key.startswith("temporal"), (span.name, key)


def test_tracing_is_off_unless_otel_settings_ask_for_it() -> None:
    assert tracing.requested_exporters({}) == []
    assert tracing.requested_exporters({"OTEL_SERVICE_NAME": "icpc"}) == []
    endpoint = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}
    assert tracing.requested_exporters(endpoint) == ["otlp"]
    assert tracing.requested_exporters({**endpoint, "OTEL_TRACES_EXPORTER": "none"}) == []
    assert tracing.requested_exporters({**endpoint, "OTEL_SDK_DISABLED": "true"}) == []
    assert tracing.requested_exporters({"OTEL_TRACES_EXPORTER": "console"}) == ["console"]
    assert tracing.provider_from_environment({}) is None
    assert tracing.provider_from_environment({"OTEL_TRACES_EXPORTER": "zipkin"}) is None
    grpc = {**endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
    assert tracing.provider_from_environment(grpc) is None
    provider = tracing.provider_from_environment(endpoint)
    assert provider is not None
    assert provider.resource.attributes["service.name"] == tracing.DEFAULT_SERVICE_NAME
    provider.shutdown()


async def test_no_otel_settings_no_interceptor(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    tracing.reset_tracing()
    try:
        assert tracing.client_interceptors() == []
        assert not tracing.configure_tracing()
    finally:
        tracing.reset_tracing()
