"""The outbox ledger: which idempotency keys the SMTP server has already accepted.

It lives in the case record database (``ICPC_DATABASE_URL``, see ``records.outbox``), so every
worker on that database shares it. The mail activity checks it before sending and records a
key as soon as the server has accepted the message, so a retried activity (or the same emails
asked for again, by any worker) never sends a key twice. It holds keys, case ids and
Message-IDs only: no addresses, names or message text.

``OutboxLedger`` takes a database URL, or a plain path naming a SQLite file of its own
(``ICPC_OUTBOX_DB``, kept for single-worker set-ups and tests).

:func:`shared_ledger` is the worker's: one ledger (one engine, one pool of connections) per
database for the whole process, instead of an engine opened and disposed of by every mail
activity. Its engine is thread-safe, and each call checks a connection out of its pool.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from records.outbox import OutboxLedger

KEEP = 4  # ledgers kept open at once (a worker uses one; tests point at many in turn)

_lock = threading.Lock()
_shared: OrderedDict[str, OutboxLedger] = OrderedDict()


def shared_ledger(target: str) -> OutboxLedger:
    """This process's ledger on ``target`` (a database URL or a SQLite path), made on first use."""
    with _lock:
        ledger = _shared.get(target)
        if ledger is not None:
            _shared.move_to_end(target)
            return ledger
    made = OutboxLedger(target)  # checks the schema: outside the lock
    with _lock:
        ledger = _shared.setdefault(target, made)
        _shared.move_to_end(target)
        evicted = [_shared.popitem(last=False)[1] for _ in range(len(_shared) - KEEP)]
    if ledger is not made:
        made.close()  # another thread made it first
    for old in evicted:
        old.close()  # a connection still checked out is closed when it is returned
    return ledger


def close_shared_ledgers() -> None:
    """Dispose of every shared ledger's engine (the worker shuts down)."""
    with _lock:
        ledgers = list(_shared.values())
        _shared.clear()
    for ledger in ledgers:
        ledger.close()


__all__ = ["OutboxLedger", "close_shared_ledgers", "shared_ledger"]
