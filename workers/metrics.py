"""The worker's Prometheus endpoint: Temporal's SDK metrics and the product's own, one address.

Off by default; ``icpc worker --metrics-bind HOST:PORT`` or ``ICPC_METRICS_BIND`` turns it on.
The SDK runtime serves ``/metrics`` itself; the client (and so the worker) must be connected
with that runtime for its metrics, and the workflows' and activities' meters, to land there.

Besides what the workflows and activities count, the worker process itself exports:

- ``icpc_open_cases{procedure, stage}``: open cases in the case record, from one GROUP BY on the
  case summaries every :data:`OPEN_CASES_EVERY` seconds (:func:`publish_open_cases`). Every
  worker exports the same figure: read it with ``max by (procedure, stage)``, not ``sum``.
- ``icpc_report_seconds{report}``: how long a management report took to build
  (:func:`observe_report`; the web form has the same in ``web.metrics``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
from collections.abc import AsyncIterator, Callable, Mapping

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from temporalio import activity
from temporalio.common import MetricMeter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from contracts.metrics import (
    RECORD_WRITE_BUCKETS,
    RECORD_WRITE_SECONDS,
    REPORT_BUCKETS,
    REPORT_SECONDS,
    record_report_seconds,
)
from records.database import RecordStoreError
from records.schema import CaseSummaryRow
from records.store import RecordStore
from runtime.log_setup import get_logger

METRICS_ENV = "ICPC_METRICS_BIND"
OPEN_CASES = "icpc_open_cases"  # gauge: procedure, stage
OPEN_CASES_EVERY = 30.0  # seconds between two counts of the case record

# The process's own meter (the metrics runtime's): no-op until ``metrics_runtime`` makes one.
_meter: MetricMeter = MetricMeter.noop


class MetricsBindError(ValueError):
    """A bind address that is not HOST:PORT, or that cannot be bound."""


def parse_bind(value: str) -> str:
    """``HOST:PORT`` (an IPv6 host in brackets), checked; returned as the exporter wants it."""
    example = "for example 127.0.0.1:9464"
    host, sep, port_text = value.strip().rpartition(":")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise MetricsBindError(f"metrics bind address {value!r} is not HOST:PORT ({example})")
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ipaddress.ip_address(bare)
    except ValueError:
        if bare != "localhost":
            raise MetricsBindError(
                f"metrics bind address {value!r} needs an IP address as host ({example})"
            ) from None
        host = "127.0.0.1"
    return f"{host}:{int(port_text)}"


def bind_from_environment(value: str | None = None) -> str | None:
    """The bind address from ``--metrics-bind`` or ``ICPC_METRICS_BIND``; None: off."""
    chosen = value if value is not None else os.environ.get(METRICS_ENV, "")
    return parse_bind(chosen) if chosen.strip() else None


def metrics_runtime(bind: str) -> Runtime:
    """A runtime whose Prometheus exporter serves ``http://<bind>/metrics``."""
    global _meter
    config = PrometheusConfig(
        bind_address=bind,
        histogram_bucket_overrides={
            RECORD_WRITE_SECONDS: RECORD_WRITE_BUCKETS,
            REPORT_SECONDS: REPORT_BUCKETS,
        },
    )
    try:
        runtime = Runtime(telemetry=TelemetryConfig(metrics=config))
    except (ValueError, RuntimeError) as error:
        raise MetricsBindError(f"cannot serve metrics on {bind}: {error}") from None
    _meter = runtime.metric_meter
    return runtime


def observe_report(report: str, seconds: float) -> None:
    """One build of ``report`` took ``seconds``: ``icpc_report_seconds{report}`` on the worker's
    ``/metrics``. From an activity, through its meter; elsewhere in the worker process, through
    the metrics runtime's; nothing when metrics are off."""
    meter = activity.metric_meter() if activity.in_activity() else _meter
    record_report_seconds(meter, report, seconds)


# --- open cases by stage ---------------------------------------------------------------------

OpenCounts = Mapping[tuple[str, str], int]


def open_case_counts(store: RecordStore) -> dict[tuple[str, str], int]:
    """Open cases in the case record by (procedure, stage): one GROUP BY on the summaries.

    Blocking (SQLAlchemy): call it from a thread in async code. Raises ``RecordStoreError``."""
    table = CaseSummaryRow
    query = (
        select(table.procedure_id, table.stage, func.count())
        .where(table.is_open.is_(True))
        .group_by(table.procedure_id, table.stage)
    )
    try:
        with store.engine.connect() as connection:
            rows = connection.execute(query).all()
    except SQLAlchemyError as error:  # down, or no such table yet
        raise RecordStoreError(f"cannot count open cases ({type(error).__name__})") from None
    return {(str(procedure), str(stage)): int(count) for procedure, stage, count in rows}


class OpenCasesGauge:
    """``icpc_open_cases{procedure, stage}`` on the runtime's meter; a stage that empties is
    shown as 0 (the exporter keeps the last value of every series it has seen)."""

    def __init__(self, meter: MetricMeter) -> None:
        self._gauge = meter.create_gauge(
            OPEN_CASES, "Open cases in the case record, by procedure and stage"
        )
        self._shown: set[tuple[str, str]] = set()

    def show(self, counts: OpenCounts) -> None:
        for procedure, stage in self._shown - set(counts):
            self._gauge.set(0, {"procedure": procedure, "stage": stage})
        for (procedure, stage), count in counts.items():
            self._gauge.set(count, {"procedure": procedure, "stage": stage})
        self._shown |= set(counts)

    async def refresh(self, store: Callable[[], RecordStore]) -> bool:
        """Count again and show it; False (the last figures kept) when the record fails."""
        try:
            counts = await asyncio.to_thread(lambda: open_case_counts(store()))
        except RecordStoreError as error:
            get_logger().warning("open_cases_uncounted", error=str(error))
            return False
        self.show(counts)
        return True


@contextlib.asynccontextmanager
async def publish_open_cases(
    runtime: Runtime | None, store: Callable[[], RecordStore], every: float = OPEN_CASES_EVERY
) -> AsyncIterator[OpenCasesGauge | None]:
    """Keep ``icpc_open_cases`` current on ``runtime``'s ``/metrics`` while the block runs
    (no runtime, metrics off: nothing is counted)."""
    if runtime is None:
        yield None
        return
    gauge = OpenCasesGauge(runtime.metric_meter)

    async def refresh_forever() -> None:
        while True:
            await gauge.refresh(store)
            await asyncio.sleep(every)

    task = asyncio.create_task(refresh_forever())
    try:
        yield gauge
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
