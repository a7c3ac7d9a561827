"""``icpc audit --case REF | --person ID [--json]``: the audit trail, newest first (issue 12),
asked of the service (the ``service`` fixture) with an administrator's token only; ``icpc audit
verify``, on the service host: its hash chain intact (exit 0) or its first broken link (exit 1)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from records.audit import Action, AuditEntry, AuditLog, Channel, Outcome
from records.database import ensure_ready, make_engine
from records.people import PeopleStore
from records.store import RecordStore
from tests import case_helpers
from tests.records.data import batch
from tests.service_helpers import RunningService

T = datetime(2026, 12, 18, 9, 0, tzinfo=UTC)


@pytest.fixture
def record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A case record with three cases, audit rows, and an administrator."""
    url = f"sqlite:///{tmp_path / 'records.sqlite3'}"
    monkeypatch.setenv("ICPC_DATABASE_URL", url)
    monkeypatch.delenv("ICPC_PERSON_TOKEN_FILE", raising=False)
    ensure_ready(url)
    store = RecordStore(url)
    # Two cases for one child (two strategy discussions), one other case.
    store.append(batch("icpc-a-1", case_reference="AUD-1"))
    store.append(batch("icpc-a-2", case_reference="AUD-1"))
    store.append(batch("icpc-b-1", case_reference="AUD-2"))
    store.close()
    engine = make_engine(url)
    log = AuditLog(engine)
    rows = [
        AuditEntry(Action.VIEW_CASE, Outcome.OK, Channel.WEB, "tia", "team_manager",
                   "icpc-a-1", address="192.0.2.7", at=T),
        AuditEntry(Action.DECISION, Outcome.REFUSED, Channel.CLI, "sam", "social_worker",
                   "icpc-a-2", detail="confirm_icpc:\nnot this role", at=T + timedelta(hours=1)),
        AuditEntry(Action.DECISION, Outcome.OK, Channel.WEB, "tia", "team_manager",
                   "icpc-a-1-plan", address="192.0.2.7", detail="sign_off_plan",
                   at=T + timedelta(hours=2)),
        AuditEntry(Action.VIEW_CASE, Outcome.OK, Channel.WEB, "hal", "area_head_of_service",
                   "icpc-b-1", at=T + timedelta(hours=3)),
        AuditEntry(Action.ACCOUNT_CHANGE, Outcome.OK, Channel.WEB, "ada", "admin",
                   target="tia", detail="roles: team_manager", at=T + timedelta(hours=4)),
    ]  # fmt: skip
    for row in rows:
        log.write(row)
    people = PeopleStore(engine)
    people.add("ada", roles=["admin"], name="Ada Admin")
    people.add("tia", roles=["team_manager"], name="Tia Manager")
    engine.dispose()
    return url


@pytest.fixture
def trail(record: str, service: RunningService, monkeypatch: pytest.MonkeyPatch) -> str:
    """The service, started on :func:`record` (after it: it reads ``ICPC_DATABASE_URL``), and
    the administrator acting by token."""
    engine = make_engine(record)
    try:
        monkeypatch.setenv("ICPC_PERSON_TOKEN", PeopleStore(engine).issue_token("ada"))
    finally:
        engine.dispose()
    return record


async def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    return await case_helpers.icpc(capsys, "audit", *argv)


async def test_a_case_reference_lists_every_case_it_names_newest_first(
    trail: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = await run(capsys, "--case", "AUD-1")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert len(lines) == 3
    assert lines[0] == (
        "2026-12-18 11:00:00 GMT  tia (team_manager)  decision  ok  web  192.0.2.7"
        "  case icpc-a-1-plan  sign_off_plan"
    )
    assert lines[1] == (
        "2026-12-18 10:00:00 GMT  sam (social_worker)  decision  refused  cli  -"
        "  case icpc-a-2  confirm_icpc: not this role"
    )
    assert lines[2].startswith("2026-12-18 09:00:00 GMT  tia (team_manager)  view_case  ok")
    assert "hal" not in out


async def test_a_person_as_actor_or_as_the_account_changed(
    trail: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = await run(capsys, "--person", "tia", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [r["action"] for r in rows] == ["account_change", "decision", "view_case"]
    assert "ada" not in [r["actor"] for r in rows[1:]]
    assert rows[0] == {
        "at": "2026-12-18T13:00:00Z",
        "actor": "ada",
        "actor_role": "admin",
        "action": "account_change",
        "outcome": "ok",
        "channel": "web",
        "address": None,
        "case_id": None,
        "target": "tia",
        "detail": "roles: team_manager",
    }


async def test_reading_the_trail_is_audited(trail: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert (await run(capsys, "--case", "AUD-2"))[0] == 0
    [read] = reads(trail)
    assert (read.channel, read.outcome, read.case_id) == (Channel.API, Outcome.OK, "icpc-b-1")
    assert (read.actor, read.actor_role) == ("ada", "admin")
    assert read.detail == "case AUD-2 (rows 1)"


def reads(url: str) -> list[AuditEntry]:
    engine = make_engine(url)
    try:
        return [e for e in AuditLog(engine).read() if e.action is Action.READ_AUDIT]
    finally:
        engine.dispose()


async def test_only_an_administrator_acting_by_token_reads_it(
    trail: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ICPC_PERSON_TOKEN")
    code, out, err = await run(capsys, "--case", "AUD-1")
    assert (code, out) == (2, "")
    assert err.startswith("icpc audit: no person token: give --token-file FILE")
    engine = make_engine(trail)
    try:
        token = PeopleStore(engine).issue_token("tia")
    finally:
        engine.dispose()
    monkeypatch.setenv("ICPC_PERSON_TOKEN", token)
    code, out, err = await run(capsys, "--case", "AUD-1")
    assert (code, out) == (2, "")
    assert err == ("icpc audit: refused: Only an account administrator can read the audit trail.\n")
    # Without a token nothing reached the service; the administrator's refusal is audited.
    [refused] = reads(trail)
    assert (refused.outcome, refused.actor, refused.channel, refused.detail) == (
        Outcome.REFUSED,
        "tia",
        Channel.API,
        "no admin role",
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--case", "NO-SUCH-REF"], "icpc audit: refused: No case has the reference NO-SUCH-REF"),
        (["--person", "nobody"], "icpc audit: refused: No person has the sign-in id nobody"),
        (["--case", "AUD-1", "--limit", "0"], "icpc audit: --limit is 1 to 100000"),
        ([], "icpc audit: say which: --case REF or --person ID"),
    ],
)
async def test_unknown_references_are_one_line(
    trail: str, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = await run(capsys, *argv)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and err.startswith(message), err
    if argv and "--limit" not in argv:
        [refused] = reads(trail)
        assert (refused.outcome, refused.actor) == (Outcome.REFUSED, "ada")


async def test_a_case_id_names_its_case_and_plan(
    trail: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = await run(capsys, "--case", "icpc-a-1")
    assert code == 0, err
    assert [row.split("  ")[6] for row in out.splitlines()] == [
        "case icpc-a-1-plan",
        "case icpc-a-1",
    ]


async def test_without_the_service_it_says_which_setting_names_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ICPC_SERVICE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("ICPC_PERSON_TOKEN", "icpc_not-needed-here")
    code, _, err = await run(capsys, "--person", "tia")
    assert code == 2 and "set ICPC_SERVICE_URL" in err and err.count("\n") == 1


# --- icpc audit verify ------------------------------------------------------------------------


async def test_verify_says_the_trail_is_intact_and_prints_its_last_hash(
    trail: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = await run(capsys, "verify")
    assert (code, err) == (0, "")
    [last] = re.findall(r"^Audit trail intact: 5 rows, last hash ([0-9a-f]{64})\n$", out)
    assert (await run(capsys, "verify", "--noted-hash", last))[0] == 0
    assert (await run(capsys, "--case", "AUD-2"))[0] == 0  # the service's read: one more row
    code, out, _ = await run(capsys, "verify", "--noted-hash", last)
    assert code == 0 and out.startswith("Audit trail intact: 6 rows")


async def test_verify_names_the_first_broken_link_and_exits_1(
    record: str, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(record)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE audit_events SET detail = '' WHERE id = 2"))
            connection.execute(text("DELETE FROM audit_events WHERE id = 4"))
    finally:
        engine.dispose()
    code, out, err = await run(capsys, "verify")
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        "Audit trail broken at row id 2 (sequence 2, 2026-12-18 10:00:00 GMT): hash mismatch:"
        " the row was changed after it was written: its columns no longer give its hash",
        f"1 row intact before it, last hash {first_hash(record)}",
    ]


async def test_verify_is_told_a_hash_noted_earlier_that_is_gone(
    record: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = await run(capsys, "verify", "--noted-hash", "ab" * 32)
    assert code == 1
    assert out.startswith(
        f"Audit trail broken: noted hash missing: no row has the noted hash {'ab' * 32}"
    )


def first_hash(url: str) -> str:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return str(
                connection.execute(
                    text("SELECT row_hash FROM audit_events WHERE seq = 1")
                ).scalar_one()
            )
    finally:
        engine.dispose()


async def test_without_a_record_or_with_what_it_cannot_take_verify_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = await run(capsys)
    assert code == 2 and err.startswith("icpc audit: say which: --case REF or --person ID")
    code, _, err = await run(capsys, "--case", "AUD-1", "verify")
    assert code == 2 and err.startswith("icpc audit: `icpc audit verify` checks the whole trail")
    monkeypatch.setenv("ICPC_DATABASE_URL", f"sqlite:///{tmp_path / 'none.sqlite3'}")
    code, out, err = await run(capsys, "verify")
    assert (code, out) == (2, "") and "run `icpc db upgrade`" in err and err.count("\n") == 1
