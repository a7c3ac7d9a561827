"""Migrations, and databases that must be refused: behind, ahead, corrupt, foreign, unreachable."""

from __future__ import annotations

import argparse
import os
import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import column, create_engine, insert, table, text

from domain.case_record import RecordBatch, Stream
from records.audit import Action, AuditEntry, AuditLog, Channel, Outcome
from records.database import (
    RecordStoreError,
    State,
    check_current,
    ensure_ready,
    head_revision,
    make_engine,
    status,
    upgrade,
)
from records.outbox import OutboxLedger
from records.schema import UtcDateTime
from records.store import RecordStore
from starters import db_command
from starters.cli import CommandError
from tests.records.data import events


def _execute(url: str, sql: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(sql))
    finally:
        engine.dispose()


def _refused_everywhere(url: str, fragment: str) -> None:
    """Every way in refuses the database with a one-line message holding ``fragment``."""
    for attempt in (check_current, upgrade, ensure_ready, OutboxLedger):
        with pytest.raises(RecordStoreError) as refused:
            attempt(url)
        message = str(refused.value)
        assert fragment in message, message
        assert "\n" not in message and "Traceback" not in message


def _sqlite_file(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "records.sqlite3"
    return path, f"sqlite:///{path}"


# --- migrations -------------------------------------------------------------------------------


def _r0001_case(url: str, case_id: str, positions: range, stage: str) -> None:
    """A case written as the first revision wrote it (its summary had fewer columns)."""
    with RecordStore(url) as store:
        store.append(RecordBatch(case_id=case_id, stream=Stream.CASE, events=events(positions)))
    _execute(
        url,
        "INSERT INTO case_summaries (case_id, case_reference, family_reference, procedure_id,"
        " stream, stage, is_open, strategy_discussion, icpc_deadline, deadline,"
        " out_of_timescale, escalated, stamp_rank, stamp_position) VALUES"
        f" ('{case_id}', 'REF-{case_id}', 'FAM-1', 'bct-management-note', 'case', '{stage}',"
        " true, '2026-12-17 10:30:00', '2027-01-07 10:30:00', '2027-01-07 10:30:00', false,"
        f" false, 0, {positions[-1]})",
    )


def test_an_upgrade_from_the_first_revision_keeps_every_row(database_url: str) -> None:
    assert upgrade(database_url, "r0001").revision == "r0001"
    _r0001_case(database_url, "case-1", range(4), "conference_booked")
    _r0001_case(database_url, "case-2", range(2), "awaiting_confirmation")
    before = status(database_url)
    assert (before.state, before.revision) == (State.BEHIND, "r0001")
    with pytest.raises(RecordStoreError, match="run `icpc db upgrade`"):
        check_current(database_url)
    with pytest.raises(RecordStoreError, match="run `icpc db upgrade`"):
        ensure_ready(database_url)  # a writer never upgrades behind the operator's back

    after = upgrade(database_url)
    assert (after.state, after.revision) == (State.CURRENT, head_revision())
    check_current(database_url)
    with RecordStore(database_url) as store:
        assert [e.position for _, e in store.timeline("case-1")] == [0, 1, 2, 3]
        assert store.count() == 2
        stored = store.summary("case-1")
        assert stored is not None and stored.stage == "conference_booked"
    with OutboxLedger(database_url) as ledger:  # the table of the second revision
        ledger.record_sent("key-1", "case-1", "<m1@example.org>")
        assert ledger.count() == 1


def test_an_upgrade_from_r0004_chains_the_audit_rows_already_there(database_url: str) -> None:
    assert upgrade(database_url, "r0004").revision == "r0004"
    at = datetime(2026, 12, 18, 9, 0, 0, 123456, tzinfo=UTC)
    # Written as r0004 wrote them: no chain yet, ids in time order but not every time distinct.
    before_r0005 = table(
        "audit_events",
        *(column(name) for name in ("actor", "action", "outcome", "channel", "detail")),
        column("at", UtcDateTime()),
    )
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(before_r0005),
                [
                    {
                        "at": at,
                        "actor": "tia",
                        "action": "view_case",
                        "outcome": "ok",
                        "channel": "web",
                        "detail": "",
                    },
                    {
                        "at": at,
                        "actor": None,
                        "action": "sign_in_failed",
                        "outcome": "refused",
                        "channel": "web",
                        "detail": "unknown account",
                    },
                    {
                        "at": at + timedelta(days=40),
                        "actor": "ada",
                        "action": "account_change",
                        "outcome": "ok",
                        "channel": "cli",
                        "detail": "roles: admin\nand more",
                    },
                ],
            )
        upgrade(database_url)
        log = AuditLog(engine)
        report = log.verify()
        assert report.intact and report.rows == 3
        assert report.head is not None and (report.head.id, report.head.seq) == (3, 3)
        log.write(AuditEntry(Action.SIGN_IN, Outcome.OK, Channel.WEB, actor="tia"))
        report = log.verify(noted_hash=report.head.row_hash)
        assert report.intact and report.rows == 4
    finally:
        engine.dispose()


def test_upgrade_twice_is_harmless(database_url: str) -> None:
    assert status(database_url).state in (State.MISSING, State.EMPTY)
    with pytest.raises(RecordStoreError, match="run `icpc db upgrade` to create it"):
        check_current(database_url)
    assert upgrade(database_url).state is State.CURRENT
    assert upgrade(database_url).state is State.CURRENT


def test_a_database_from_a_newer_release_is_refused(database_url: str) -> None:
    upgrade(database_url)
    _execute(database_url, "UPDATE icpc_record_version SET version_num = 'r9999'")
    assert status(database_url).state is State.AHEAD
    _refused_everywhere(database_url, "this database was written by a newer release")


def test_a_foreign_database_is_refused_and_kept(database_url: str) -> None:
    _execute(database_url, "CREATE TABLE invoices (id INTEGER PRIMARY KEY, total INTEGER)")
    _execute(database_url, "INSERT INTO invoices VALUES (1, 250)")
    _refused_everywhere(database_url, "not a case record; refusing")
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT total FROM invoices")).scalar_one() == 250
            tables = connection.execute(
                text(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                    if database_url.startswith("sqlite")
                    else "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                )
            ).scalars()
            assert set(tables) == {"invoices"}
    finally:
        engine.dispose()


# --- SQLite files -----------------------------------------------------------------------------


def test_random_bytes_are_refused_and_left_as_they_were(tmp_path: Path) -> None:
    path, url = _sqlite_file(tmp_path)
    content = os.urandom(8192)
    path.write_bytes(content)
    _refused_everywhere(url, "is not a SQLite database")
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["records.sqlite3"]


def test_a_damaged_sqlite_file_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    path, url = _sqlite_file(tmp_path)
    upgrade(url)
    content = bytearray(path.read_bytes())
    content[100:] = os.urandom(len(content) - 100)  # the header survives, the pages do not
    path.write_bytes(bytes(content))
    _refused_everywhere(url, "is not a SQLite database")
    assert path.read_bytes() == bytes(content)


def test_a_foreign_sqlite_file_is_not_touched_at_all(tmp_path: Path) -> None:
    path, url = _sqlite_file(tmp_path)
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE alembic_version (version_num TEXT)")  # someone else's alembic
        db.execute("INSERT INTO alembic_version VALUES ('abc123')")
        db.execute("CREATE TABLE contacts (id INTEGER)")
    db.close()
    content = path.read_bytes()
    _refused_everywhere(url, "not a case record; refusing")
    assert path.read_bytes() == content  # not even switched to WAL


def test_sqlite_files_are_for_their_owner_only(tmp_path: Path) -> None:
    for name, create in [
        ("upgraded.sqlite3", lambda url: upgrade(url)),
        ("ledger.sqlite3", lambda url: OutboxLedger(url).close()),
        ("nested/store.sqlite3", lambda url: RecordStore(url).close()),
    ]:
        path = tmp_path / name
        create(f"sqlite:///{path}")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, name


def test_an_empty_file_becomes_a_record(tmp_path: Path) -> None:
    path, url = _sqlite_file(tmp_path)
    path.touch()
    assert status(url).state is State.EMPTY
    assert upgrade(url).state is State.CURRENT


# --- unreachable ------------------------------------------------------------------------------


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_server_is_one_line_without_the_password() -> None:
    url = f"postgresql+psycopg://icpc:s3cret-pw@127.0.0.1:{_closed_port()}/records"
    for attempt in (check_current, upgrade, ensure_ready):
        with pytest.raises(RecordStoreError) as refused:
            attempt(url)
        message = str(refused.value)
        assert message.startswith("cannot reach the case record at"), message
        assert "s3cret-pw" not in message and "\n" not in message


# --- icpc db ----------------------------------------------------------------------------------


def _icpc_db(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="icpc")
    db_command.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["db", *argv])
    return int(args.handler(args))


def test_icpc_db_upgrade_and_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path, url = _sqlite_file(tmp_path)
    monkeypatch.setenv("ICPC_DATABASE_URL", url)
    with pytest.raises(CommandError, match="run `icpc db upgrade`"):
        _icpc_db("check")
    assert _icpc_db("upgrade") == 0
    assert "upgraded from nothing to" in capsys.readouterr().out
    assert _icpc_db("check") == 0
    assert _icpc_db("--url", url, "upgrade") == 0
    assert "already at revision" in capsys.readouterr().out
    path.unlink()
    path.write_bytes(b"not a database at all, just text" * 10)
    with pytest.raises(CommandError, match="is not a SQLite database"):
        _icpc_db("upgrade")
