"""The outbox ledger: which idempotency keys the SMTP server has already accepted.

It lives in the case record database (``ICPC_DATABASE_URL``, see ``records.outbox``), so every
worker on that database shares it. The mail activity checks it before sending and records a
key as soon as the server has accepted the message, so a retried activity (or the same emails
asked for again, by any worker) never sends a key twice. It holds keys, case ids and
Message-IDs only: no addresses, names or message text.

``OutboxLedger`` takes a database URL, or a plain path naming a SQLite file of its own
(``ICPC_OUTBOX_DB``, kept for single-worker set-ups and tests).
"""

from __future__ import annotations

from records.outbox import OutboxLedger

__all__ = ["OutboxLedger"]
