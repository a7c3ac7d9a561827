"""Where the case record lives, how to connect to it, and whether its schema fits this code.

One setting, ``ICPC_DATABASE_URL``: a SQLAlchemy URL. The embedded default is a SQLite file,
``var/icpc-records.sqlite3`` relative to the working directory; production uses PostgreSQL
(``postgresql+psycopg://user@host/dbname``).

SQLite files are created owner-only (mode 0600: the record holds personal data), run in WAL
mode with a generous busy timeout so that several processes (workers, the web form, the
command line) can share one file, and are never overwritten: a file that is not a SQLite
database, or a SQLite database that is not a case record, is refused.

Every failure here is a ``RecordStoreError`` with a one-line message fit to print as it is.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

ENVIRONMENT_VARIABLE = "ICPC_DATABASE_URL"
DEFAULT_URL = "sqlite:///var/icpc-records.sqlite3"
VERSION_TABLE = "icpc_record_version"  # also named in migrations/env.py
BUSY_TIMEOUT_SECONDS = 30.0
MIGRATIONS = Path(__file__).with_name("migrations")


class RecordStoreError(Exception):
    """The record database cannot be used as it is; the message is one printable line."""


def database_url(environ: dict[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    return env.get(ENVIRONMENT_VARIABLE, "").strip() or DEFAULT_URL


def _parse(url: str | URL) -> URL:
    try:
        return make_url(url)
    except ArgumentError:
        raise RecordStoreError(f"{ENVIRONMENT_VARIABLE} is not a database URL") from None


def describe(url: str | URL) -> str:
    """The URL for messages, without its password."""
    return _parse(url).render_as_string(hide_password=True)


def sqlite_path(url: str | URL) -> Path | None:
    """The file of a SQLite URL; None for other databases (and for in-memory SQLite)."""
    parsed = _parse(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _one_line(error: BaseException) -> str:
    original = getattr(error, "orig", None) or error
    text = str(original).strip().splitlines()
    return f"{type(original).__name__}: {text[0][:200]}" if text else type(original).__name__


def _create_sqlite_file(path: Path) -> None:
    """Create an empty SQLite file readable by its owner only (SQLite fills an empty file)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # SQLAlchemy, not the driver, opens transactions (see _on_sqlite_begin): DDL included.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")  # a recorded event survives a power cut
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _on_sqlite_begin(connection: Connection) -> None:
    # IMMEDIATE takes the write lock up front, so two writers queue on the busy timeout
    # instead of one failing when it upgrades a read lock.
    mode = connection.get_execution_options().get("sqlite_begin", "")
    connection.exec_driver_sql(f"BEGIN {mode}".strip())


def make_engine(url: str | URL, **options: Any) -> Engine:
    """An engine for reading and writing the record; creates a missing SQLite file (0600)."""
    parsed = _parse(url)
    path = sqlite_path(parsed)
    if path is not None:
        _create_sqlite_file(path)
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(
                parsed, connect_args={"timeout": BUSY_TIMEOUT_SECONDS}, **options
            )
            event.listen(engine, "connect", _on_sqlite_connect)
            event.listen(engine, "begin", _on_sqlite_begin)
        else:
            engine = create_engine(parsed, pool_pre_ping=True, **options)
    except (ArgumentError, NoSuchModuleError) as error:
        raise RecordStoreError(f"cannot use {describe(parsed)}: {_one_line(error)}") from None
    return engine


# --- what state the database is in ------------------------------------------------------------


class State(Enum):
    MISSING = "missing"  # a SQLite file that does not exist yet
    EMPTY = "empty"  # a database with no tables at all
    CURRENT = "current"
    BEHIND = "behind"
    AHEAD = "ahead"
    FOREIGN = "foreign"  # has tables, but not a case record
    NOT_A_DATABASE = "not a database"


@dataclass(frozen=True)
class Status:
    state: State
    revision: str | None = None  # the database's revision, where it has one
    head: str | None = None  # this code's newest revision


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@cache
def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


@cache
def known_revisions() -> frozenset[str]:
    return frozenset(
        script.revision for script in ScriptDirectory.from_config(_config()).walk_revisions()
    )


def _inspection_sqlite_engine(path: Path) -> Engine:
    """Reads a SQLite file without writing to it (no WAL switch, no creation, no statement
    that writes). Not ``mode=ro``: a record left with a hot WAL by a worker that died must be
    recovered as it is opened, and a read-only connection cannot do that."""
    uri = f"file:{quote(str(path.resolve()))}?mode=rw"

    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_SECONDS)
        connection.execute("PRAGMA query_only = ON")
        return connection

    return create_engine("sqlite://", creator=connect)


@contextmanager
def _inspection_connection(url: str | URL) -> Iterator[Connection | Status]:
    """A connection that only reads, or the status if the file settles it before connecting."""
    parsed = _parse(url)
    path = sqlite_path(parsed)
    if path is not None:
        if not path.exists():
            yield Status(State.MISSING)
            return
        if not path.is_file():
            raise RecordStoreError(f"{path} is not a file; refusing to use it")
        # Never open the file outside SQLite: closing any descriptor of it drops every lock
        # this process's SQLite connections hold on it (POSIX), and another process could then
        # corrupt the record. SQLite itself says "file is not a database" (handled below).
        if path.stat().st_size == 0:
            yield Status(State.EMPTY)
            return
        engine = _inspection_sqlite_engine(path)
    else:
        engine = make_engine(parsed)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def status(url: str | URL) -> Status:
    """Where the database stands against this code; raises RecordStoreError if unreachable."""
    head = head_revision()
    try:
        with _inspection_connection(url) as connection:
            if isinstance(connection, Status):
                return Status(connection.state, head=head)
            tables = set(inspect(connection).get_table_names())
            if not tables:
                return Status(State.EMPTY, head=head)
            if VERSION_TABLE not in tables:
                return Status(State.FOREIGN, head=head)
            context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
            heads = context.get_current_heads()
    except RecordStoreError:
        raise
    except DBAPIError as error:
        if isinstance(error.orig, sqlite3.DatabaseError) and not isinstance(
            error.orig, sqlite3.OperationalError
        ):
            return Status(State.NOT_A_DATABASE, head=head)
        raise RecordStoreError(
            f"cannot reach the case record at {describe(url)} ({_one_line(error)})"
        ) from None
    except SQLAlchemyError as error:
        raise RecordStoreError(
            f"cannot read the case record at {describe(url)} ({_one_line(error)})"
        ) from None
    if not heads:
        return Status(State.BEHIND, head=head)  # the version table exists but is empty
    revision = heads[0]
    if len(heads) > 1 or revision not in known_revisions():
        return Status(State.AHEAD, revision=revision, head=head)
    if revision != head:
        return Status(State.BEHIND, revision=revision, head=head)
    return Status(State.CURRENT, revision=revision, head=head)


def _refusal(url: str | URL, current: Status) -> RecordStoreError | None:
    """The error for a database no release may touch (not merely behind); None otherwise."""
    where = describe(url)
    if current.state is State.NOT_A_DATABASE:
        return RecordStoreError(f"{where} is not a SQLite database; refusing to use it")
    if current.state is State.FOREIGN:
        return RecordStoreError(
            f"{where} holds tables that are not a case record; refusing to use it"
        )
    if current.state is State.AHEAD:
        return RecordStoreError(
            f"this database was written by a newer release (revision {current.revision}, "
            f"this release knows up to {current.head}): {where}; upgrade the software"
        )
    return None


def check_current(url: str | URL) -> Status:
    """Raise RecordStoreError unless the database is at this code's revision."""
    return insist_current(url, status(url))


def insist_current(url: str | URL, current: Status) -> Status:
    """:func:`check_current` for a status already read."""
    refusal = _refusal(url, current)
    if refusal is not None:
        raise refusal
    if current.state in (State.MISSING, State.EMPTY):
        raise RecordStoreError(
            f"no case record at {describe(url)} yet: run `icpc db upgrade` to create it"
        )
    if current.state is State.BEHIND:
        raise RecordStoreError(
            f"the case record at {describe(url)} is at revision {current.revision or 'none'}, "
            f"behind this release ({current.head}): run `icpc db upgrade`"
        )
    return current


# Alembic's ``op`` and ``context`` are process-wide proxies: two upgrades at once in one process
# (two activity threads each creating an empty database, the ledger's and the record's, say)
# would pull them from under each other ("'NoneType' object has no attribute 'create_index'").
_ONE_MIGRATION_AT_A_TIME = threading.Lock()


def upgrade(url: str | URL, revision: str = "head") -> Status:
    """Create or upgrade the record to ``revision``, in one transaction; refuse foreign data."""
    before = status(url)
    refusal = _refusal(url, before)
    if refusal is not None:
        raise refusal
    engine = make_engine(url)
    try:
        with (
            _ONE_MIGRATION_AT_A_TIME,
            engine.connect().execution_options(sqlite_begin="IMMEDIATE") as connection,
            connection.begin(),
        ):
            command.upgrade(_config(connection), revision)
    except SQLAlchemyError as error:
        raise RecordStoreError(
            f"cannot upgrade the case record at {describe(url)} ({_one_line(error)})"
        ) from None
    finally:
        engine.dispose()
    return status(url)


# Databases this process has found ready: every mail activity opens the ledger, and looking at
# the schema each time (a connection and Alembic's inspection) is work done once is enough.
_READY: set[str] = set()


def ensure_ready(url: str | URL) -> None:
    """For processes that write: create the record in a new, empty database; otherwise insist
    that it is current. Never upgrades an existing record behind the operator's back."""
    key = _parse(url).render_as_string(hide_password=False)
    if key in _READY:
        return
    current = status(url)
    if current.state in (State.MISSING, State.EMPTY):
        upgrade(url)
    else:
        insist_current(url, current)
    _READY.add(key)


def insert_into(engine: Engine, table: Any) -> Any:
    """An INSERT that can say ON CONFLICT, in the engine's own dialect."""
    if engine.dialect.name == "postgresql":
        return postgresql.insert(table)
    if engine.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise RecordStoreError(f"unsupported database: {engine.dialect.name}")
