"""``icpc db bootstrap-admin``, on the service host: the first administrator, only while the
record has no active administrator, with a temporary password (made up and printed, or read
from standard input) changed at first sign-in, an optional token file, and an audit row
(channel cli). Every name here is invented."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest

from records.audit import Action, AuditLog, Channel, Outcome
from records.database import make_engine
from records.people import PeopleStore
from starters.cli import main as icpc


def run(url: str, *argv: str, stdin: str = "") -> int:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stdin", io.StringIO(stdin))
        return icpc(["db", "--url", url, "bootstrap-admin", *argv])


def test_the_first_administrator_once_and_never_beside_an_active_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'records.sqlite3'}"  # made by the command
    token_file = tmp_path / "ada.token"
    assert run(url, "Ada", "--name", "Ada Admin", "--write-token", str(token_file)) == 0
    out, err = capsys.readouterr()
    password = out.removesuffix("\n")
    assert out == password + "\n" and len(password) >= 20  # only the password on stdout
    assert "temporary password" in err and str(token_file) in err
    engine = make_engine(url)
    try:
        people = PeopleStore(engine)
        ada = people.verify_password("ada", password)
        assert ada is not None and ada.roles == {"admin"} and ada.password_must_change
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert people.person_for_token(token_file.read_text().strip()) == ada

        # An active administrator exists: refused, whoever asks and for whom.
        assert run(url, "eve", "--name", "Eve") == 2
        assert "already has an active administrator" in capsys.readouterr().err
        assert run(url, "ada", "--name", "Ada", "--password-stdin", stdin="new words here\n") == 2
        assert people.get("eve") is None
        assert people.verify_password("ada", password) is not None  # unchanged

        # With the only administrator disabled, the host can make a new first one.
        people.disable("ada")
        assert run(url, "bo", "--name", "Bo", "--password-stdin", stdin="chosen words here\n") == 0
        assert capsys.readouterr().out == ""  # a password read from stdin is not printed
        bo = people.verify_password("bo", "chosen words here")
        assert bo is not None and bo.password_must_change
        rows = list(reversed(AuditLog(engine).read()))
    finally:
        engine.dispose()
    changes = [r for r in rows if r.action == Action.ACCOUNT_CHANGE]
    assert all(r.channel == Channel.CLI and (r.actor or "").startswith("os:") for r in changes)
    assert [(r.target, r.outcome) for r in changes] == [
        ("ada", Outcome.OK),
        ("ada", Outcome.OK),  # the token
        ("eve", Outcome.REFUSED),
        ("ada", Outcome.REFUSED),
        ("bo", Outcome.OK),
    ]
    assert changes[0].detail.startswith("first administrator added (bootstrap) with roles admin")


def test_a_weak_password_from_stdin_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'records.sqlite3'}"
    assert run(url, "ada", "--name", "Ada", "--password-stdin", stdin="short\n") == 2
    assert "at least 10 characters" in capsys.readouterr().err
