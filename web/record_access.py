"""The case record as the web form reads it: one store for the app, read off the event loop.

The store is made on first use (so a form started before its database exists still starts),
and every call runs in a thread (the store blocks). A record that cannot be used (unreachable,
not created yet, behind this release) becomes a plain 503 page; the one-line reason, which
names the database without its password and holds no case data, goes to the log.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from records.database import RecordStoreError
from records.store import RecordStore
from web.problems import Problem

T = TypeVar("T")

log = logging.getLogger(__name__)

UNAVAILABLE_TITLE = "Sorry, the case records are temporarily unavailable"
UNAVAILABLE_MESSAGE = "Try again later."


class RecordsUnavailable(Problem):
    def __init__(self) -> None:
        super().__init__(503, UNAVAILABLE_TITLE, UNAVAILABLE_MESSAGE)


class RecordHolder:
    """One :class:`RecordStore` for the app, made on first use from its URL."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._store: RecordStore | None = None
        self._lock = threading.Lock()

    def _get(self) -> RecordStore:
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = RecordStore(self._url)
        return self._store

    async def read(self, query: Callable[[RecordStore], T]) -> T:
        """``query`` on the store, in a thread; a 503 page if the record cannot be read."""
        try:
            return await asyncio.to_thread(lambda: query(self._get()))
        except RecordStoreError as error:
            log.warning("case record unavailable: %s", error)
            raise RecordsUnavailable from None

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None
