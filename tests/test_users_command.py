"""``icpc users`` on the product's database: add (a common password refused with the same
sentence the web form gives), list, roles, units, disable and enable, password, unlock, tokens,
remove, and the one-time import of the old accounts file. Every change is audited.

Every name here is invented.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from domain.passwords import TOO_COMMON
from records.audit import Action, AuditLog, Channel
from records.database import make_engine
from records.people import PeopleStore
from records.signin_guard import SigninGuard
from starters.cli import main as icpc
from tests.process_helpers import ICPC, ROOT

PASSWORD = "lantern orbit pickle"


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    found = f"sqlite:///{tmp_path / 'records.sqlite3'}"  # created by the first command
    monkeypatch.setenv("ICPC_DATABASE_URL", found)
    return found


@pytest.fixture
def store(url: str) -> Iterator[PeopleStore]:
    assert run("users", "list") == 0
    engine = make_engine(url)
    yield PeopleStore(engine)
    engine.dispose()


def run(*argv: str, stdin: str = "") -> int:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stdin", io.StringIO(stdin))
        return icpc(list(argv))


def test_a_common_password_is_refused_with_the_web_forms_sentence(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = run(
        "users", "add", "tia", "--role", "team_manager", "--password-stdin", stdin="Password123\n"
    )
    assert status == 2
    assert capsys.readouterr().err == f"icpc users: {TOO_COMMON}\n"
    status = run(
        "users", "add", "tia", "--role", "team_manager", "--password-stdin", stdin="short\n"
    )
    assert status == 2
    assert "at least 10 characters" in capsys.readouterr().err


def test_add_list_and_change_a_person(
    store: PeopleStore, capsys: pytest.CaptureFixture[str]
) -> None:
    added = run(
        "users", "add", "Tia", "--role", "team_manager", "--role", "social_worker",
        "--name", "Tia Brennan", "--team", "north-1", "--area", "north", "--password-stdin",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert added == 0
    assert "account tia (social_worker, team_manager; team north-1, area north)" in (
        capsys.readouterr().out
    )
    assert run("users", "add", "hal", "--role", "wizard", "--no-password") == 2
    assert "'wizard' is not a role of any installed procedure" in capsys.readouterr().err
    assert run("users", "add", "ada", "--role", "admin", "--no-password") == 0
    capsys.readouterr()

    assert run("users", "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "ada\tadmin\t\tactive\t",
        "tia\tsocial_worker,team_manager\tteam:north-1,area:north\tactive\tTia Brennan",
    ]

    assert run("users", "roles", "tia", "area_head_of_service") == 0
    assert run("users", "units", "tia", "--area", "south", "--service-wide") == 0
    person = store.get("tia")
    assert person is not None and person.roles == {"area_head_of_service"}
    assert person.areas == {"south"} and not person.teams and person.service_wide

    assert run("users", "disable", "tia") == 0
    assert not store.get("tia").active  # type: ignore[union-attr]
    assert run("users", "enable", "tia") == 0
    assert store.get("tia").active  # type: ignore[union-attr]

    assert run("users", "password", "tia", "--password-stdin", stdin="plum tractor 42\n") == 0
    assert store.verify_password("tia", "plum tractor 42") is not None
    assert store.verify_password("tia", PASSWORD) is None

    assert run("users", "roles", "nobody", "team_manager") == 2
    assert "no account 'nobody'" in capsys.readouterr().err
    assert run("users", "remove", "tia") == 0
    assert store.get("tia") is None


def test_unlock_forgets_an_accounts_or_an_addresss_failures(
    store: PeopleStore, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(url)
    guard = SigninGuard(engine)
    for _ in range(10):
        guard.failed("tia", "192.0.2.4")
    assert guard.locked("tia", "192.0.2.99") is not None
    assert run("users", "unlock", "tia") == 0
    assert "sign-in id tia unlocked" in capsys.readouterr().out
    assert guard.locked("tia", "192.0.2.99") is None
    assert run("users", "unlock", "--address", "192.0.2.4") == 0
    assert run("users", "unlock") == 2
    assert guard.locks() == []
    engine.dispose()


def test_a_token_is_printed_once_and_can_be_revoked(
    store: PeopleStore, capsys: pytest.CaptureFixture[str]
) -> None:
    run("users", "add", "sam", "--role", "social_worker", "--no-password")
    capsys.readouterr()
    assert run("users", "token", "sam", "--label", "laptop") == 0
    printed = capsys.readouterr()
    token = printed.out.strip()
    assert token.startswith("icpc_") and "shown once" in printed.err
    person = store.person_for_token(token)
    assert person is not None and person.id == "sam"
    assert run("users", "token", "sam", "--revoke") == 0
    assert store.person_for_token(token) is None
    assert run("users", "token", "nobody") == 2


def test_a_token_alone_goes_to_standard_output(store: PeopleStore, url: str) -> None:
    """``icpc users token sam > file``: the file holds the token, the audit trail's log line
    goes to standard error. A process of its own, as the command runs: in this one, an
    earlier test's logging set-up would hide what a fresh process does."""
    run("users", "add", "sam", "--role", "social_worker", "--no-password")
    done = subprocess.run(
        [str(ICPC), "users", "token", "sam"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "ICPC_DATABASE_URL": url, "PYTHONPATH": str(ROOT)},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"icpc_[A-Za-z0-9_-]+\n", done.stdout), done.stdout
    assert '"action": "account_change"' in done.stderr and "shown once" in done.stderr


def test_the_old_accounts_file_is_imported_with_its_passwords(
    store: PeopleStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hasher = PasswordHasher()
    old = tmp_path / "users.json"
    old.write_text(
        json.dumps(
            {
                "users": {
                    "tmanager": {
                        "role": "team_manager",
                        "name": "Tess Example",
                        "password_hash": hasher.hash(PASSWORD),
                    },
                    "gone": {"role": "retired_role", "name": "", "password_hash": "x"},
                }
            }
        )
    )
    assert run("users", "import-file", str(old)) == 0
    out = capsys.readouterr()
    assert "1 account(s) imported" in out.out and "1 skipped" in out.out
    assert "skipped gone: 'retired_role' is not a role" in out.err
    person = store.verify_password("tmanager", PASSWORD)
    assert person is not None and person.roles == {"team_manager"} and not person.teams
    assert person.name == "Tess Example"
    assert store.get("gone") is None
    assert run("users", "import-file", str(old)) == 2  # nothing new the second time
    assert "skipped tmanager: already a person here" in capsys.readouterr().err


def test_every_change_is_audited_under_the_operating_system_account(
    store: PeopleStore, url: str
) -> None:
    run("users", "add", "sam", "--role", "social_worker", "--no-password")
    run("users", "disable", "sam")
    run("users", "token", "sam")
    engine = make_engine(url)
    rows = list(reversed(AuditLog(engine).read(actor="sam")))
    engine.dispose()
    assert [(r.action, r.channel) for r in rows] == [(Action.ACCOUNT_CHANGE, Channel.CLI)] * 3
    assert [r.detail for r in rows] == [
        "added: social_worker; no team or area",
        "disabled",
        "command-line token issued (no label)",
    ]
    assert all(r.actor and r.actor.startswith("os:") and r.target == "sam" for r in rows)
