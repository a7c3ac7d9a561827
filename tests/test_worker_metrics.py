"""The worker's ``/metrics``: Temporal's SDK metrics and the product's counters, one endpoint.

Against the dev server, with a worker whose client runs on a runtime with a Prometheus
exporter (as ``icpc worker --metrics-bind`` makes it). Every name and reference is invented.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from datetime import datetime, time, timedelta
from pathlib import Path

import httpx
import pytest
from temporalio import workflow
from temporalio.client import Client, WorkflowHistory, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner, Worker

from activities.record import record_store, reset_record_store
from contracts import metrics
from contracts.case import DECIDE_UPDATE, DecisionRequest, DecisionResult
from domain.calendar import LONDON, london_instant
from tests.case_helpers import (
    case_start,
    decision,
    procedure,
    start_case_workflow,
    start_running_case,
    unique,
)
from tests.conftest import MailCatcher, free_port
from web.metrics import WebMetrics
from web.metrics import observe_report as observe_web_report
from workers.main import WORKFLOWS, build_worker
from workers.metrics import (
    OPEN_CASES,
    REPORT_SECONDS,
    MetricsBindError,
    bind_from_environment,
    metrics_runtime,
    observe_report,
    open_case_counts,
    parse_bind,
    publish_open_cases,
)

BCT = "bct-management-note"
HISTORIES = Path(__file__).parent / "histories"
SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})? (?P<value>\S+)$")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')

Samples = list[tuple[str, dict[str, str], float]]


def parse(text: str) -> Samples:
    samples: Samples = []
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if line.startswith("#") or match is None:
            continue
        labels = dict(LABEL.findall(match["labels"] or ""))
        samples.append((match["name"], labels, float(match["value"])))
    return samples


def total(samples: Samples, name: str, **labels: str) -> float:
    return sum(
        value
        for sample, have, value in samples
        if sample == name and all(have.get(k) == v for k, v in labels.items())
    )


class Scraper:
    def __init__(self, url: str, task_queue: str, runtime: Runtime | None = None) -> None:
        self.url = url
        self.task_queue = task_queue
        self.runtime = runtime

    async def scrape(self) -> Samples:
        async with httpx.AsyncClient() as http:
            response = await http.get(self.url, timeout=5)
        assert response.status_code == 200
        return parse(response.text)

    async def until(self, ready: Callable[[Samples], bool], timeout: float = 20.0) -> Samples:
        """Scrape until ``ready`` (the record activity runs in the background)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            samples = await self.scrape()
            if ready(samples):
                return samples
            assert asyncio.get_running_loop().time() < deadline, "metrics never got there"
            await asyncio.sleep(0.2)

    def count(self, samples: Samples, name: str, **labels: str) -> float:
        return total(samples, name, task_queue=self.task_queue, **labels)


@pytest.fixture
async def metered(
    dev_env: WorkflowEnvironment, smtp_server: MailCatcher
) -> AsyncIterator[tuple[Worker, Scraper]]:
    bind = f"127.0.0.1:{free_port()}"
    runtime = metrics_runtime(bind)
    client = await Client.connect(
        dev_env.client.service_client.config.target_host,
        namespace=dev_env.client.namespace,
        data_converter=pydantic_data_converter,
        runtime=runtime,  # the worker's metrics come from its client's runtime
    )
    async with build_worker(client, task_queue=unique("metrics")) as worker:
        yield worker, Scraper(f"http://{bind}/metrics", worker.task_queue, runtime)


async def update(handle: object, d: object) -> DecisionResult:
    result: DecisionResult = await handle.execute_update(  # type: ignore[attr-defined]
        DECIDE_UPDATE, DecisionRequest(decision=d), result_type=DecisionResult
    )
    return result


async def test_metrics_show_temporal_and_the_products_counters(
    dev_env: WorkflowEnvironment, metered: tuple[Worker, Scraper]
) -> None:
    worker, scraper = metered
    proc = procedure(BCT)
    strategy = datetime.now(LONDON) - timedelta(minutes=10)
    case = await start_running_case(dev_env, proc, strategy, worker.task_queue, unique("MET"))
    await update(case.handle, decision(proc, "confirm_icpc"))
    with pytest.raises(WorkflowUpdateFailedError):  # nothing to approve: refused
        await update(case.handle, decision(proc, "approve_delay", reason="Agreed"))
    with pytest.raises(WorkflowUpdateFailedError):  # refused again
        await update(case.handle, decision(proc, "approve_delay", reason="Agreed again"))

    # A case registered after its statutory limit: out of timescale, its milestones escalated.
    today = datetime.now(LONDON).date()
    expired_at = london_instant(proc.calendar.add_working_days(today, -17), time(9, 0))
    expired = await start_running_case(dev_env, proc, expired_at, worker.task_queue, unique("MET"))
    overdue = sum(1 for e in (await expired.state()).timeline if e.event == "overdue")
    assert overdue >= 1

    def settled(s: Samples) -> bool:
        return (
            scraper.count(s, metrics.EMAILS, purpose="escalation", result="sent") >= overdue
            and scraper.count(s, f"{metrics.RECORD_WRITE_SECONDS}_count") >= 2
        )

    samples = await scraper.until(settled)
    count = scraper.count
    # Temporal's own metrics, on the same endpoint.
    names = {name for name, _, _ in samples}
    assert "temporal_request" in names
    assert count(samples, "temporal_workflow_task_execution_latency_count") > 0
    assert count(samples, "temporal_activity_execution_latency_count") > 0
    # The product's.
    assert count(samples, metrics.CASES_STARTED, procedure=BCT) == 2
    decided = {"procedure": BCT, "kind": "confirm_icpc"}
    assert count(samples, metrics.DECISIONS, result="accepted", **decided) == 1
    refused = {"procedure": BCT, "kind": "approve_delay"}
    assert count(samples, metrics.DECISIONS, result="refused", **refused) == 2
    assert count(samples, metrics.DECISIONS, result="accepted", **refused) == 0
    assert count(samples, metrics.ESCALATIONS_SENT, procedure=BCT) == overdue
    assert count(samples, metrics.CASES_OUT_OF_TIMESCALE, procedure=BCT) == 1
    assert count(samples, metrics.EMAILS, purpose="escalation", result="sent") == overdue
    assert count(samples, metrics.EMAILS, result="failed") == 0
    assert count(samples, f"{metrics.RECORD_WRITE_SECONDS}_count", outcome="ok") >= 2
    # Bounded labels only: no case reference or id anywhere on the page.
    page = (await httpx.AsyncClient().get(scraper.url)).text
    # The SDK metrics the dashboard and alert rules in deploy/ read are really exported so.
    assert "temporal_num_pollers{" in page and 'poller_type="workflow_task"' in page
    assert "temporal_workflow_task_schedule_to_start_latency_bucket{" in page
    for text in (case.start.case_reference, expired.start.case_reference, case.handle.id):
        assert text not in page
    for running in (case, expired):
        await running.clean_up()


async def test_emails_that_cannot_reach_the_server_are_counted_failed(
    dev_env: WorkflowEnvironment,
    metered: tuple[Worker, Scraper],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    worker, scraper = metered
    monkeypatch.setenv("ICPC_SMTP_PORT", str(free_port()))  # nothing listens there
    proc = procedure(BCT)
    strategy = datetime.now(LONDON) - timedelta(minutes=10)
    start = case_start(proc, strategy, reference=unique("MET"))
    handle = await start_case_workflow(dev_env.client, start, proc, worker.task_queue)
    samples = await scraper.until(
        lambda s: scraper.count(s, metrics.EMAILS, purpose="notice", result="failed") >= 1
    )
    assert scraper.count(samples, metrics.EMAILS, result="sent") == 0
    # The activity-failure series the IcpcActivitiesFailing rule reads is really exported.
    await scraper.until(
        lambda s: any(name == "temporal_activity_execution_failed" for name, _, _ in s)
    )
    await handle.terminate("test over")


@workflow.defn(name="IcpcTestBrokenWorkflow")
class BrokenWorkflow:
    """Test-only: its code raises a plain (non-Temporal) exception, so its workflow task fails
    and is retried, as a bug or a bad deploy would make a case's."""

    @workflow.run
    async def run(self) -> None:
        raise RuntimeError("broken on purpose (test)")


async def test_a_failing_workflow_task_is_counted_under_the_name_the_rules_read(
    metered: tuple[Worker, Scraper],
) -> None:
    worker, scraper = metered
    client = worker.client
    queue = unique("broken")
    async with Worker(
        client,
        task_queue=queue,
        workflows=[BrokenWorkflow],
        workflow_runner=UnsandboxedWorkflowRunner(),  # a test module, not a workflow module
    ):
        handle = await client.start_workflow(
            BrokenWorkflow.run, id=unique("broken"), task_queue=queue
        )
        try:
            name = "temporal_workflow_task_execution_failed"  # deploy/: alert rule, dashboard
            labels = {"task_queue": queue, "workflow_type": "IcpcTestBrokenWorkflow"}
            samples = await scraper.until(lambda s: total(s, name, **labels) >= 1)
            failed = [
                have
                for sample, have, _ in samples
                if sample == name and have.get("task_queue") == queue
            ]
            assert failed and all(have.get("failure_reason") for have in failed), failed
        finally:
            await handle.terminate("test over")


async def test_open_cases_are_shown_by_procedure_and_stage(
    dev_env: WorkflowEnvironment,
    metered: tuple[Worker, Scraper],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Counted from a case record of this test's own, so only its cases are in it."""
    worker, scraper = metered
    assert scraper.runtime is not None
    monkeypatch.setenv("ICPC_DATABASE_URL", f"sqlite:///{tmp_path / 'record.sqlite3'}")
    reset_record_store()
    try:
        proc = procedure(BCT)
        strategy = datetime.now(LONDON) - timedelta(minutes=10)
        waiting = await start_running_case(
            dev_env, proc, strategy, worker.task_queue, unique("OPN")
        )
        confirmed = await start_running_case(
            dev_env, proc, strategy, worker.task_queue, unique("OPN")
        )
        await update(confirmed.handle, decision(proc, "confirm_icpc"))
        first, second = (await waiting.state()).stage, (await confirmed.state()).stage
        assert first != second

        async def recorded(expected: dict[tuple[str, str], int]) -> None:
            deadline = asyncio.get_running_loop().time() + 20
            while await asyncio.to_thread(lambda: open_case_counts(record_store())) != expected:
                assert asyncio.get_running_loop().time() < deadline, "the record never got there"
                await asyncio.sleep(0.2)

        def shown(s: Samples, stage: str) -> float:
            return total(s, OPEN_CASES, procedure=BCT, stage=stage)

        await recorded({(BCT, first): 1, (BCT, second): 1})
        async with publish_open_cases(scraper.runtime, record_store, every=3600) as gauge:
            assert gauge is not None
            samples = await scraper.until(lambda s: shown(s, first) == 1 and shown(s, second) == 1)
            # One case closes: its stage goes to 0, the other stays.
            await update(confirmed.handle, decision(proc, "withdraw_icpc", reason="No risk found"))
            await recorded({(BCT, first): 1})
            assert await gauge.refresh(record_store)
            samples = await scraper.until(lambda s: shown(s, second) == 0)
            assert shown(samples, first) == 1
        page = (await httpx.AsyncClient().get(scraper.url)).text
        for case in (waiting, confirmed):  # no case reference or id in a label
            assert case.start.case_reference not in page and case.handle.id not in page
        await waiting.clean_up()
    finally:
        reset_record_store()


async def test_report_run_times_are_observed_by_report_name_only() -> None:
    bind = f"127.0.0.1:{free_port()}"
    runtime = metrics_runtime(bind)  # the worker process's meter, outside any activity
    observe_report("timeliness", 0.3)
    observe_report("BCT-1001 Jo Example", 0.1)  # not a report name: counted as "other"
    async with httpx.AsyncClient() as http:
        page = (await http.get(f"http://{bind}/metrics", timeout=5)).text
    samples = parse(page)
    assert total(samples, f"{REPORT_SECONDS}_count", report="timeliness") == 1
    assert total(samples, f"{REPORT_SECONDS}_count", report="other") == 1
    assert "BCT-1001" not in page and "Jo Example" not in page
    del runtime  # kept alive until scraped: its exporter stops with it
    # The web form's: the same name, on every app's registry.
    web = WebMetrics(process=False)
    before = web.registry.get_sample_value(f"{REPORT_SECONDS}_count", {"report": "capacity"})
    observe_web_report("capacity", 0.2)
    after = web.registry.get_sample_value(f"{REPORT_SECONDS}_count", {"report": "capacity"})
    assert (after or 0) - (before or 0) == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("127.0.0.1:9464", "127.0.0.1:9464"),
        (" 0.0.0.0:80 ", "0.0.0.0:80"),
        ("[::1]:9464", "[::1]:9464"),
        ("localhost:9464", "127.0.0.1:9464"),
    ],
)
def test_good_bind_addresses(value: str, expected: str) -> None:
    assert parse_bind(value) == expected


@pytest.mark.parametrize(
    "value", ["9464", ":9464", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:70000", "example:9464"]
)
def test_bad_bind_addresses_are_refused(value: str) -> None:
    with pytest.raises(MetricsBindError, match="metrics bind address"):
        parse_bind(value)


def test_metrics_are_off_unless_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ICPC_METRICS_BIND", raising=False)
    assert bind_from_environment(None) is None
    monkeypatch.setenv("ICPC_METRICS_BIND", "127.0.0.1:9999")
    assert bind_from_environment(None) == "127.0.0.1:9999"
    assert bind_from_environment("127.0.0.1:9998") == "127.0.0.1:9998"  # the flag wins


def test_a_port_in_use_is_refused_plainly() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        bind = f"127.0.0.1:{taken.getsockname()[1]}"
        with pytest.raises(MetricsBindError, match=f"cannot serve metrics on {bind}"):
            metrics_runtime(bind)


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_a_bad_metrics_bind_stops_the_worker_with_one_line(
    how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    argv = [sys.executable, "-m", "starters.cli", "worker"]
    if how == "flag":
        argv += ["--metrics-bind", "nowhere"]
    else:
        monkeypatch.setenv("ICPC_METRICS_BIND", "nowhere")
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines == [
        "icpc worker: metrics bind address 'nowhere' is not HOST:PORT (for example 127.0.0.1:9464)"
    ]


async def test_replaying_a_saved_history_emits_no_product_metrics() -> None:
    """The workflows count through the SDK's replay-safe meter: a replay counts nothing."""
    bind = f"127.0.0.1:{free_port()}"
    replayer = Replayer(
        workflows=WORKFLOWS, data_converter=pydantic_data_converter, runtime=metrics_runtime(bind)
    )
    for path in sorted(HISTORIES.glob("case_*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        history = WorkflowHistory.from_json(data.pop("workflowId", None) or path.stem, data)
        await replayer.replay_workflow(history, raise_on_replay_failure=True)
    async with httpx.AsyncClient() as http:
        page = (await http.get(f"http://{bind}/metrics", timeout=5)).text
    assert "icpc_" not in page
