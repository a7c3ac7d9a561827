"""What every command that talks to the running product shares: a Temporal client, one event
loop per command, and the case record; each failure is one line for the operator."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from starters.cli import CommandError

if TYPE_CHECKING:
    from records.store import RecordStore

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    from temporalio.service import RPCError

    from contracts.payload_keys import WorkersCannotRead
    from runtime.encryption import PayloadKeyError

    try:
        return asyncio.run(coroutine)
    except RPCError as error:
        raise CommandError(f"Temporal: {error.message}") from None
    # No key, a payload sealed with a key not configured, or a key the workers do not hold.
    except (PayloadKeyError, WorkersCannotRead) as error:
        raise CommandError(str(error)) from None
    except LookupError as error:
        raise CommandError(str(error)) from None


async def client() -> Any:
    """The Temporal client; refused in one line when payloads cannot be encrypted, so a
    command never sends case data in clear, or when a TLS file cannot be read."""
    from runtime.connection import TemporalSettingsError, connect
    from runtime.encryption import PayloadKeyError

    try:
        return await connect()
    except (PayloadKeyError, TemporalSettingsError) as error:
        raise CommandError(str(error)) from None
    except RuntimeError as error:
        raise CommandError(f"cannot reach Temporal ({error}); is `make run` going?") from None


def record() -> RecordStore:
    """The case record (``ICPC_DATABASE_URL``), checked to fit this release."""
    store = record_if_any()
    if store is None:
        from records.database import database_url, describe

        raise CommandError(
            f"no case record at {describe(database_url())} yet: run `icpc db upgrade` to create it"
        )
    return store


def record_if_any() -> RecordStore | None:
    """The case record, or None while none has been created yet (a worker creates it as the
    first case starts): what reads a running case can do without it."""
    from records.database import RecordStoreError, State, database_url, insist_current, status
    from records.store import RecordStore

    url = database_url()
    try:
        current = status(url)  # read once: absent, or checked as it is
        if current.state in (State.MISSING, State.EMPTY):
            return None
        insist_current(url, current)
    except RecordStoreError as error:
        raise CommandError(str(error)) from None
    return RecordStore(url)
