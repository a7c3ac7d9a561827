"""The record activity: append a batch of case events (and the summary) to the case record.

Exactly once: events are keyed by (case id, stream, position) and inserted with ON CONFLICT DO
NOTHING, the summary only replaces an older one, and both are written in one transaction. So a
retried attempt, a worker killed between commit and completion, or a replayed workflow asking
again writes nothing twice. A database that is down raises an ordinary (retryable) error:
Temporal retries with backoff while the case keeps running.

The store is built once per worker process, on first use, from ``ICPC_DATABASE_URL``. Logs and
errors carry the case id and counts only.
"""

from __future__ import annotations

import asyncio
import threading
import time

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from contracts.metrics import RECORD_WRITE_SECONDS
from domain.case_record import RecordBatch
from records.database import RecordStoreError, database_url, ensure_ready
from records.store import RecordStore

log = structlog.get_logger("icpc")

_lock = threading.Lock()
_store: RecordStore | None = None


def record_store() -> RecordStore:
    """This process's store, made on first use (and the database checked once)."""
    global _store
    with _lock:
        if _store is None:
            url = database_url()
            ensure_ready(url)
            _store = RecordStore(url)
        return _store


def reset_record_store() -> None:
    """Forget this process's store (tests that point ICPC_DATABASE_URL elsewhere)."""
    global _store
    with _lock:
        if _store is not None:
            _store.close()
        _store = None


def _append(batch: RecordBatch) -> int:
    return record_store().append(batch)


@activity.defn(name="record_case_events")
async def record_case_events(batch: RecordBatch) -> int:
    """Write the batch's new events and its summary once; returns how many events were new."""
    bound = log.bind(
        activity="record_case_events",
        case_id=batch.case_id,
        stream=batch.stream.value,
        attempt=activity.info().attempt if activity.in_activity() else None,
    )
    started = time.monotonic()
    outcome = "error"
    try:
        added = await asyncio.to_thread(_append, batch)
        outcome = "ok"
    except RecordStoreError as error:
        # The message names the database (no password) and the error type: nothing personal.
        bound.warning("record_unavailable", events=len(batch.events), error=str(error))
        raise ApplicationError(str(error), type="RecordUnavailable") from None
    except ValueError as error:
        # A batch that contradicts itself: retrying cannot help. The text names no person.
        bound.error("record_batch_invalid", events=len(batch.events))
        raise ApplicationError(
            f"record batch for {batch.case_id} is invalid: {error}",
            type="RecordBatchInvalid",
            non_retryable=True,
        ) from None
    finally:
        _observe_write(time.monotonic() - started, outcome)
    return added


def _observe_write(seconds: float, outcome: str) -> None:
    """The write's latency on the worker's metrics (labelled ok or error only)."""
    if activity.in_activity():
        histogram = activity.metric_meter().create_histogram_float(
            RECORD_WRITE_SECONDS, "Time to write a batch to the case record", "s"
        )
        histogram.record(seconds, {"outcome": outcome})


RECORD_ACTIVITIES = [record_case_events]
__all__ = ["RECORD_ACTIVITIES", "record_case_events", "record_store", "reset_record_store"]
