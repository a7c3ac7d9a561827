"""The outbox ledger on the record database: which idempotency keys the SMTP server accepted.

Every worker pointing at one database shares it, so two workers never send the same key
twice in sequence (the primary key makes recording a key idempotent). It holds keys, case ids
and Message-IDs only: no addresses, names or message text.

``OutboxLedger(url)`` opens its own engine; a new, empty database (or a missing SQLite file)
is given the record's schema first, and a database at another revision is refused with the
command to run (``records.database.ensure_ready``). A plain path, not a URL, names a SQLite file.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import URL

from records.database import ensure_ready, insert_into, make_engine
from records.schema import OutboxSentRow

_KEYS_PER_QUERY = 500


def as_url(target: str | Path | URL) -> str | URL:
    """A database URL as it is; a plain path as the URL of that SQLite file."""
    if isinstance(target, URL):
        return target
    text = str(target)
    if "://" in text:
        return text
    return URL.create("sqlite", database=text)


class OutboxLedger:
    """One engine on the ledger; use as a context manager, from one thread at a time."""

    def __init__(self, target: str | Path | URL) -> None:
        url = as_url(target)
        ensure_ready(url)
        self._engine = make_engine(url)

    def __enter__(self) -> OutboxLedger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._engine.dispose()

    def is_sent(self, key: str) -> bool:
        return bool(self.sent_among([key]))

    def sent_among(self, keys: Iterable[str]) -> set[str]:
        wanted = list(dict.fromkeys(keys))
        found: set[str] = set()
        with self._engine.connect() as connection:
            for start in range(0, len(wanted), _KEYS_PER_QUERY):
                chunk = wanted[start : start + _KEYS_PER_QUERY]
                found.update(
                    connection.execute(
                        select(OutboxSentRow.idempotency_key).where(
                            OutboxSentRow.idempotency_key.in_(chunk)
                        )
                    ).scalars()
                )
        return found

    def record_sent(self, key: str, case_id: str, message_id: str) -> None:
        """Mark ``key`` as sent; recording the same key again changes nothing."""
        statement = (
            insert_into(self._engine, OutboxSentRow)
            .values(
                idempotency_key=key,
                case_id=case_id,
                message_id=message_id,
                sent_at=datetime.now(UTC),
            )
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
        )
        with self._engine.begin() as connection:
            connection.execute(statement)

    def count(self) -> int:
        with self._engine.connect() as connection:
            return int(
                connection.execute(select(func.count()).select_from(OutboxSentRow)).scalar_one()
            )
