"""Traces: a decision posted to the web form is one trace, from the HTTP request through its
workflow update to the email activity it causes; and no span carries personal data.

Against the dev server, with spans collected in memory instead of sent to a collector. The
clients come from ``runtime.connection.connect`` (as every process gets its own), the web form
is ``web.app.create_app`` driven over ASGI, and the worker is built on the traced client, as
``icpc worker`` builds its own. Every name, address and reference here is invented.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode
from temporalio.testing import WorkflowEnvironment

from contracts.case import DECIDE_UPDATE
from domain.calendar import LONDON
from records.database import ensure_ready
from runtime import trace_export, tracing
from runtime.connection import connect
from tests.case_helpers import (
    RunningCase,
    contacts_for,
    invitees,
    procedure,
    start_running_case,
    unique,
)
from tests.conftest import MailCatcher
from tests.web.web_helpers import ACCOUNTS, PASSWORD, allocated_to, csrf_token, settings_for
from web.app import create_app
from workers.main import build_worker

BCT = "bct-management-note"
DECISION_POST = "POST /cases/{case_id}/decisions/{kind}"  # the route template, not the address
# One provider per process: OpenTelemetry lets a process install one, and the first test that
# turns tracing on installs this one. Each test clears what it collected.
EXPORTER = InMemorySpanExporter()
PROVIDER = trace_export.new_provider([SimpleSpanProcessor(EXPORTER)])


@pytest.fixture
def spans(
    dev_env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> Iterator[InMemorySpanExporter]:
    """Tracing on for clients connected and apps made in this test, into memory; off after."""
    monkeypatch.setenv("TEMPORAL_ADDRESS", dev_env.client.service_client.config.target_host)
    monkeypatch.setenv("TEMPORAL_NAMESPACE", dev_env.client.namespace)
    EXPORTER.clear()
    tracing.use_tracer_provider(PROVIDER)
    try:
        yield EXPORTER
    finally:
        tracing.reset_tracing()


def named(found: list[ReadableSpan], prefix: str) -> list[ReadableSpan]:
    return [s for s in found if s.name.startswith(prefix)]


def ancestry(span: ReadableSpan, found: list[ReadableSpan]) -> list[str]:
    """The names of ``span`` and its parents, up to the root of what was collected."""
    by_id = {s.context.span_id: s for s in found if s.context is not None}
    names = [span.name]
    parent = span.parent
    while parent is not None and parent.span_id in by_id:
        span = by_id[parent.span_id]
        names.append(span.name)
        parent = span.parent
    return names


async def until_spans(
    exporter: InMemorySpanExporter,
    ready: Callable[[list[ReadableSpan]], bool],
    timeout: float = 30.0,
) -> list[ReadableSpan]:
    """The spans finished so far, once ``ready`` says they are all there."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = list(exporter.get_finished_spans())
        if ready(found):
            return found
        assert asyncio.get_running_loop().time() < deadline, [s.name for s in found]
        await asyncio.sleep(0.2)


async def test_a_decision_posted_to_the_web_form_is_one_trace_down_to_its_email(
    dev_env: WorkflowEnvironment,
    smtp_server: MailCatcher,
    spans: InMemorySpanExporter,
    tmp_path: Path,
    case_record: str,
) -> None:
    ensure_ready(case_record)  # the web form's pages read the case record too
    client = await connect()
    assert client.config()["plugins"], "tracing is on: the client carries Temporal's plugin"
    proc = procedure(BCT)
    people = invitees(2)
    personal = [
        text for i in people for text in (i.name, i.email, i.telephone, i.postal_address) if text
    ]
    personal += [text for c in contacts_for(proc) for text in (c.name, c.email) if text]

    app = create_app(settings_for(tmp_path), connect)
    transport = httpx.ASGITransport(app=app)
    case: RunningCase | None = None
    async with (
        build_worker(client, task_queue=unique("traced")) as worker,
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
    ):
        try:
            strategy = datetime.now(LONDON) - timedelta(minutes=10)
            env = WorkflowEnvironment.from_client(client)
            case = await start_running_case(
                env,
                proc,
                strategy,
                worker.task_queue,
                unique("TRC"),
                contacts=allocated_to(ACCOUNTS, proc.id),  # so the social worker sees it
            )
            page_url = f"/cases/{case.handle.id}"

            async def decide(user: str, kind: str, fields: dict[str, str]) -> None:
                http.cookies.clear()  # whoever was signed in: out
                form = await http.get("/sign-in")
                signed = await http.post(
                    "/sign-in",
                    data={"user": user, "password": PASSWORD, "csrf_token": csrf_token(form.text)},
                )
                assert signed.status_code == 303, signed.text
                page = await http.get(page_url)
                assert page.status_code == 200, page.text
                answer = await http.post(
                    f"{page_url}/decisions/{kind}",
                    data={"csrf_token": csrf_token(page.text), **fields},
                )
                assert answer.status_code == 303, answer.text

            await decide("sol.worker", "confirm_icpc", {"reason": "Risk confirmed"})
            sheet = {"reason": ""}
            for row, person in enumerate(people, start=1):
                sheet |= {
                    f"invitee{row}_name": person.name,
                    f"invitee{row}_role_or_relationship": person.role_or_relationship,
                    f"invitee{row}_agency": person.agency,
                    f"invitee{row}_email": person.email or "",
                    f"invitee{row}_telephone": person.telephone or "",
                    f"invitee{row}_postal_address": person.postal_address or "",
                }
            await decide("cora.cpservice", "receive_convening_sheet", sheet)
            state = await case.state()
            limit = state.deadline.astimezone(LONDON).date()  # the most notice the rules allow
            booking = {
                "date": proc.calendar.previous_working_day(limit).isoformat(),
                "time": "10:00",
                "duration_minutes": "120",
                "format": "hybrid",
                "venue": "Room 2, Example House",
                "chair": "Chair A",
                "reason": "",
            }
            await decide("cora.cpservice", "book_conference", booking)

            # The invitations go out (to the invitees typed into the form)...
            address = people[0].email
            assert address
            for _ in range(150):
                if smtp_server.to(address):
                    break
                await asyncio.sleep(0.2)
            assert smtp_server.to(address), smtp_server.subjects()

            # ... and the email activity that sent them is in the booking POST's trace.
            def booking_post(found: list[ReadableSpan]) -> ReadableSpan | None:
                posts = [s for s in found if s.kind == SpanKind.SERVER and s.name == DECISION_POST]
                return max(posts, key=lambda s: s.start_time or 0) if len(posts) == 3 else None

            def sent_in_its_trace(found: list[ReadableSpan]) -> bool:
                post = booking_post(found)
                return post is not None and any(
                    s.context.trace_id == post.context.trace_id
                    for s in named(found, "RunActivity:send_emails")
                )

            found = await until_spans(spans, sent_in_its_trace)
        finally:
            if case is not None:
                with contextlib.suppress(Exception):
                    await case.clean_up()

    names = [s.name for s in found]
    post = booking_post(found)
    assert post is not None, names
    assert post.parent is None  # the request begins the trace
    trace_id = post.context.trace_id
    sent = [s for s in named(found, "RunActivity:send_emails") if s.context.trace_id == trace_id]
    assert sent, names
    # One trace, parent by parent, from the POST to each activity that sent its emails.
    for activity_span in sent:
        assert ancestry(activity_span, found) == [
            "RunActivity:send_emails",
            "StartActivity:send_emails",
            f"HandleUpdate:{DECIDE_UPDATE}",
            f"StartWorkflowUpdate:{DECIDE_UPDATE}",
            DECISION_POST,
        ]
    in_trace = {s.name for s in found if s.context.trace_id == trace_id}
    assert {f"StartWorkflowUpdate:{DECIDE_UPDATE}", f"HandleUpdate:{DECIDE_UPDATE}"} <= in_trace

    # No personal data: not in any attribute, event, status or name; no client address or
    # user agent on the HTTP span; the route template, never the address asked for.
    # Over every span of the test: the convening sheet's POST and update carried them all.
    for span in found:
        keys = list(span.attributes or {})
        assert all(trace_export.allowed(key) for key in keys), (span.name, keys)
        texts = [span.name, span.status.description or ""]
        texts += [str(v) for v in (span.attributes or {}).values()]
        for event in span.events:
            texts += [event.name, *(str(v) for v in (event.attributes or {}).values())]
        for text in personal:
            assert not any(text in t for t in texts), (span.name, text)
    assert post.attributes is not None
    assert post.attributes.get("http.route") == "/cases/{case_id}/decisions/{kind}"
    assert not {"net.peer.ip", "client.address", "http.user_agent", "http.target"} & set(
        post.attributes
    )


def test_the_filter_keeps_only_attributes_without_personal_data() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(trace_export.PersonalDataFilter(SimpleSpanProcessor(exporter)))
    tracer = provider.get_tracer(__name__)
    with tracer.start_as_current_span(
        "POST /cases/{case_id}",
        kind=SpanKind.SERVER,
        attributes={
            "http.method": "POST",
            "http.route": "/cases/{case_id}",
            "http.target": "/cases/icpc-x?name=Jo+Example",
            "net.peer.ip": "192.0.2.7",
            "http.user_agent": "Example Browser",
            "temporalWorkflowID": "icpc-bct-TST-1-20261117",
        },
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        span.add_event("exception", {"exception.type": "ValueError", "exception.message": "Jo"})
        span.set_status(Status(StatusCode.ERROR, "ValueError: jo@example.org refused"))
    provider.shutdown()
    (kept,) = exporter.get_finished_spans()
    assert dict(kept.attributes or {}) == {
        "http.method": "POST",
        "http.route": "/cases/{case_id}",
        "temporalWorkflowID": "icpc-bct-TST-1-20261117",
    }
    assert [dict(e.attributes or {}) for e in kept.events] == [{"exception.type": "ValueError"}]
    assert kept.status.status_code == StatusCode.ERROR
    assert kept.status.description == "ValueError"


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
    span = provider.get_tracer(__name__).start_span("unended")  # never ended: never exported
    assert span.resource.attributes["service.name"] == tracing.DEFAULT_SERVICE_NAME  # type: ignore[attr-defined]
    provider.shutdown()


def test_no_otel_settings_no_plugin_and_no_web_instrumentation(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in (
        "OTEL_TRACES_EXPORTER",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ):
        monkeypatch.delenv(name, raising=False)
    tracing.reset_tracing()
    try:
        assert tracing.client_plugins() == []
        assert not tracing.configure_tracing()
        app = create_app(settings_for(tmp_path), connect)
        assert not getattr(app, "_is_instrumented_by_opentelemetry", False)
    finally:
        tracing.reset_tracing()
