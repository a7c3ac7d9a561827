"""The outbox ledger: which idempotency keys the SMTP server has already accepted.

A small SQLite file on the worker's disk (``ICPC_OUTBOX_DB``). The mail activity checks it
before sending and records a key as soon as the server has accepted the message, so a retried
activity (or the same emails asked for again) never sends a key twice. It holds keys, case ids
and Message-IDs only: no addresses, names or message text.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sent (
    idempotency_key TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    sent_at TEXT NOT NULL
)
"""


class OutboxLedger:
    """One connection to the ledger; use as a context manager, from one thread at a time."""

    def __init__(self, path: Path | str) -> None:
        path = Path(path)
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        # Several worker processes on one host may share the file: wait for each other's locks.
        self._db = sqlite3.connect(path, timeout=30.0, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a recorded key survives a power cut
        self._db.execute(_SCHEMA)

    def __enter__(self) -> OutboxLedger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def is_sent(self, key: str) -> bool:
        row = self._db.execute("SELECT 1 FROM sent WHERE idempotency_key = ?", (key,)).fetchone()
        return row is not None

    def sent_among(self, keys: Iterable[str]) -> set[str]:
        return {key for key in keys if self.is_sent(key)}

    def record_sent(self, key: str, case_id: str, message_id: str) -> None:
        """Mark ``key`` as sent; recording the same key again changes nothing."""
        self._db.execute(
            "INSERT OR IGNORE INTO sent (idempotency_key, case_id, message_id, sent_at)"
            " VALUES (?, ?, ?, ?)",
            (key, case_id, message_id, datetime.now(UTC).isoformat()),
        )

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM sent").fetchone()[0])
