"""What the commands that stay on the service host share (``icpc db``, ``audit verify``,
``simulate``): the case record, checked to fit this release, and the operating-system account
their audit rows name; each failure is one line for the operator. People's commands reach the
service instead (:mod:`starters.service_client`)."""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING

from starters.cli import CommandError

if TYPE_CHECKING:
    from records.store import RecordStore


def os_user() -> str:
    """The operating-system account a server-side command runs as, for its audit rows."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


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
