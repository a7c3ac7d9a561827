"""The record activity itself, on a SQLite record: exactly once, retryable when the DB is down."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.record import RECORD_ACTIVITIES, record_case_events, reset_record_store
from domain.case_record import Stream
from records.store import RecordStore
from tests.records.data import batch


@pytest.fixture
def record_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'records.sqlite3'}"
    monkeypatch.setenv("ICPC_DATABASE_URL", url)
    reset_record_store()
    yield url
    reset_record_store()


async def test_the_activity_appends_each_event_once(record_url: str) -> None:
    assert [record_case_events] == RECORD_ACTIVITIES
    first = batch(positions=range(3), stage="awaiting_confirmation")
    assert await record_case_events(first) == 3  # a fresh record is created on first use
    assert await record_case_events(first) == 0  # the retry after a crash past the commit
    env = ActivityEnvironment()
    assert await env.run(record_case_events, batch(positions=range(2, 5), stage="booked")) == 2
    with RecordStore(record_url) as store:
        assert [(s, e.position) for s, e in store.timeline("case-1")] == [
            (Stream.CASE, p) for p in range(5)
        ]
        stored = store.summary("case-1")
        assert stored is not None and stored.stage == "booked"


async def test_a_database_that_is_down_is_a_retryable_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("ICPC_DATABASE_URL", f"postgresql+psycopg://icpc@127.0.0.1:{port}/records")
    reset_record_store()
    secret_summary = batch(positions=[0], family_reference="FAM-SECRET-99")
    try:
        with capture_logs() as logs, pytest.raises(ApplicationError) as failure:
            await ActivityEnvironment().run(record_case_events, secret_summary)
    finally:
        reset_record_store()
    assert not failure.value.non_retryable
    assert failure.value.type == "RecordUnavailable"
    message = str(failure.value)
    assert "cannot reach the case record" in message and "\n" not in message
    everything = message + repr(logs)
    assert "FAM-SECRET" not in everything and "case 0" not in everything
    assert any(e.get("case_id") == "case-1" for e in logs)
