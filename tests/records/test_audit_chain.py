"""The audit trail is a hash chain: an edited, removed or inserted row is found and named by
``AuditLog.verify``; writers in several threads never fork it; on PostgreSQL the product's
connection cannot change or remove a row, and the app role of docs/operations.md may only add
and read them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import Engine, make_url, text
from sqlalchemy.exc import DBAPIError

from records.audit import (
    GENESIS_HASH,
    Action,
    AuditEntry,
    AuditLog,
    Channel,
    Fault,
    Outcome,
    row_hash,
    verify_chain,
)
from records.database import ensure_ready, make_engine
from records.store import RecordStore
from tests.records.data import batch

T = datetime(2026, 12, 18, 9, 0, tzinfo=UTC)
OPERATIONS = Path(__file__).parents[2] / "docs" / "operations.md"
APP_ROLE = "icpc_app"
ON_POSTGRES = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def entry(n: int) -> AuditEntry:
    return AuditEntry(
        Action.VIEW_CASE,
        Outcome.OK,
        Channel.WEB,
        actor=f"worker-{n}",
        actor_role="social_worker",
        case_id=f"icpc-case-{n}",
        address="192.0.2.7",
        detail=f"row {n}",
        at=T + timedelta(minutes=n, microseconds=n),
    )


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A current case record holding five audit rows, ids 1 to 5."""
    ensure_ready(database_url)
    engine = make_engine(database_url)
    for n in range(1, 6):
        AuditLog(engine).write(entry(n))
    try:
        yield engine
    finally:
        engine.dispose()


def tamper(engine: Engine, sql: str) -> None:
    """Change the trail behind the product's back, as its database's owner could: on
    PostgreSQL by switching the append-only trigger off first."""
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as connection:
        if postgres:
            connection.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        connection.execute(text(sql))
        if postgres:
            connection.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))


def test_rows_written_make_an_intact_chain(engine: Engine) -> None:
    report = AuditLog(engine).verify()
    assert report.intact and report.rows == 5
    assert report.head is not None and (report.head.id, report.head.seq) == (5, 5)
    with engine.connect() as connection:
        chain = connection.execute(
            text("SELECT seq, previous_hash, row_hash FROM audit_events ORDER BY seq")
        ).all()
    assert [row.seq for row in chain] == [1, 2, 3, 4, 5]
    assert chain[0].previous_hash == GENESIS_HASH
    assert all(after.previous_hash == before.row_hash for before, after in pairwise(chain))
    assert report.head.row_hash == chain[-1].row_hash
    assert AuditLog(engine).verify(noted_hash=chain[2].row_hash).intact
    assert verify_chain([]).intact and verify_chain([]).head is None


def test_an_edited_row_is_named(engine: Engine) -> None:
    tamper(engine, "UPDATE audit_events SET detail = 'nothing to see' WHERE id = 3")
    report = AuditLog(engine).verify()
    assert report.broken is not None and report.broken.row is not None
    assert report.broken.fault is Fault.EDITED
    assert (report.broken.row.id, report.broken.row.seq) == (3, 3)
    assert report.broken.row.at == entry(3).at
    assert report.rows == 2 and report.head is not None and report.head.id == 2


def test_an_edit_with_its_hash_recomputed_breaks_the_next_link(engine: Engine) -> None:
    """Whoever edits a row and gives it a fresh row_hash (the method is no secret) leaves the
    next row pointing at the old one."""
    with engine.connect() as connection:
        row = connection.execute(text("SELECT * FROM audit_events WHERE id = 2")).mappings().one()
    forged = row_hash({**row, "at": entry(2).at, "detail": "rewritten"})
    tamper(
        engine,
        f"UPDATE audit_events SET detail = 'rewritten', row_hash = '{forged}' WHERE id = 2",
    )
    report = AuditLog(engine).verify()
    assert report.broken is not None and report.broken.row is not None
    assert (report.broken.fault, report.broken.row.id, report.rows) == (Fault.LINK, 3, 2)
    assert "a row before it was removed or rewritten" in report.broken.explanation


@pytest.mark.parametrize(("removed", "named"), [(3, 4), (1, 2)])
def test_a_removed_row_is_named_by_the_row_after_it(
    engine: Engine, removed: int, named: int
) -> None:
    tamper(engine, f"DELETE FROM audit_events WHERE id = {removed}")
    report = AuditLog(engine).verify()
    assert report.broken is not None and report.broken.row is not None
    assert (report.broken.fault, report.broken.row.id) == (Fault.LINK, named)
    assert report.broken.explanation.startswith("1 row(s) removed before it")
    assert report.rows == removed - 1


def test_rows_removed_from_the_end_show_against_a_noted_hash(engine: Engine) -> None:
    noted = AuditLog(engine).verify().head
    assert noted is not None
    tamper(engine, "DELETE FROM audit_events WHERE id >= 4")
    assert AuditLog(engine).verify().intact  # what is left is a chain...
    report = AuditLog(engine).verify(noted_hash=noted.row_hash)
    assert report.broken is not None and report.broken.fault is Fault.NOTED_HASH_MISSING
    assert report.broken.row is None and report.rows == 3  # ...without the head noted before


def test_writers_in_several_threads_never_fork_the_chain(database_url: str) -> None:
    ensure_ready(database_url)
    engine = make_engine(database_url, pool_size=8)
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda n: AuditLog(engine).write(entry(n)), range(120)))
        report = AuditLog(engine).verify()
    finally:
        engine.dispose()
    assert report.intact and report.rows == 120
    assert report.head is not None and report.head.seq == 120


@ON_POSTGRES
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET detail = 'nothing to see' WHERE id = 3",
        "UPDATE audit_events SET detail = detail WHERE id = 999",  # even when no row matches
        "DELETE FROM audit_events WHERE id = 3",
        "TRUNCATE audit_events",
    ],
)
def test_on_postgresql_the_products_connection_cannot_change_the_trail(
    engine: Engine, statement: str
) -> None:
    with pytest.raises(DBAPIError, match="the audit trail is append-only"), engine.begin() as c:
        c.execute(text(statement))
    report = AuditLog(engine).verify()
    assert report.intact and report.rows == 5


def documented_grants() -> str:
    """The SQL docs/operations.md gives for the product's own role."""
    section = OPERATIONS.read_text().split("## Tamper-evident audit trail", 1)[1]
    found = re.search(r"```sql\n(.*?)```", section, re.DOTALL)
    assert found is not None, "docs/operations.md: no ```sql block under the audit section"
    return found.group(1)


@ON_POSTGRES
def test_on_postgresql_the_documented_app_role_may_only_add_and_read_audit_rows(
    engine: Engine, database_url: str
) -> None:
    with engine.begin() as connection:
        connection.execute(text(f"CREATE ROLE {APP_ROLE} LOGIN"))
        for statement in documented_grants().split(";"):
            if statement.strip():
                connection.execute(text(statement))
    app_url = make_url(database_url).set(username=APP_ROLE)
    app = make_engine(app_url)
    try:
        ensure_ready(app_url)
        AuditLog(app).write(entry(6))
        assert [e.detail for e in AuditLog(app).read(limit=2)] == ["row 6", "row 5"]
        with RecordStore(app) as store:  # the rest of the record as before
            store.append(batch("icpc-app-1", case_reference="APP-1"))
        for statement in (
            "UPDATE audit_events SET detail = '' WHERE id = 3",
            "DELETE FROM audit_events WHERE id = 3",
            "TRUNCATE audit_events",
            "UPDATE icpc_record_version SET version_num = 'r0001'",
            "ALTER TABLE audit_events DISABLE TRIGGER USER",
        ):
            with pytest.raises(DBAPIError) as refused, app.begin() as connection:
                connection.execute(text(statement))
            assert "permission denied" in str(refused.value) or "must be owner" in str(
                refused.value
            ), statement
        report = AuditLog(app).verify()
        assert report.intact and report.rows == 6
    finally:
        app.dispose()
        with engine.begin() as connection:  # a role outlives its database: the next test's
            connection.execute(text(f"DROP OWNED BY {APP_ROLE}"))
            connection.execute(text(f"DROP ROLE {APP_ROLE}"))
