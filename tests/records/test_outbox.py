"""The outbox ledger in the record database, shared by every worker that points at it."""

from __future__ import annotations

from pathlib import Path

from activities.outbox_ledger import OutboxLedger as ActivityLedger
from records.database import State, status
from records.outbox import OutboxLedger


def test_two_ledgers_on_one_database_share_their_keys(database_url: str) -> None:
    # Two engines, as two worker processes would have; the first creates the empty record.
    with OutboxLedger(database_url) as worker_a, OutboxLedger(database_url) as worker_b:
        assert worker_a.count() == worker_b.count() == 0
        worker_a.record_sent("inv-1", "case-1", "<1@example.org>")
        assert worker_b.is_sent("inv-1")
        worker_b.record_sent("inv-1", "case-1", "<1@example.org>")  # again: no change
        worker_b.record_sent("inv-2", "case-1", "<2@example.org>")
        assert worker_a.sent_among(["inv-1", "inv-2", "inv-3", "inv-1"]) == {"inv-1", "inv-2"}
        assert worker_a.count() == worker_b.count() == 2
        assert not worker_a.is_sent("inv-3")
    assert status(database_url).state is State.CURRENT


def test_many_keys_at_once(database_url: str) -> None:
    with OutboxLedger(database_url) as ledger:
        for n in range(0, 1200, 3):
            ledger.record_sent(f"key-{n}", "case-1", f"<{n}@example.org>")
        found = ledger.sent_among(f"key-{n}" for n in range(1200))
        assert found == {f"key-{n}" for n in range(0, 1200, 3)}


def test_the_activity_ledger_takes_a_url_or_a_plain_path(tmp_path: Path) -> None:
    path = tmp_path / "own" / "outbox.sqlite3"
    with ActivityLedger(path) as by_path:
        by_path.record_sent("k", "case-1", "<k@example.org>")
    with ActivityLedger(f"sqlite:///{path}") as by_url:
        assert by_url.is_sent("k") and by_url.count() == 1
