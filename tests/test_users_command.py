"""``icpc users`` as a client of the service's API, as an administrator: refused in one line
without a token, refused (403, audited) with a token of someone who is not an administrator;
add (a common password refused with the same sentence the web form gives), list, roles,
units, disable and enable, password, unlock, tokens (only the token on standard output),
remove, and the one-time import of the old accounts file. An administrator cannot change their
own roles; another administrator can. Every change is audited under the administrator.

The people live in the session's shared record: each test's ids are its own. Every name here is
invented.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from domain.passwords import TOO_COMMON
from records.audit import Action, AuditEntry, AuditLog, Channel, Outcome
from records.database import database_url, make_engine
from records.people import PeopleStore
from records.signin_guard import SigninGuard
from starters.service_client import Service
from tests.case_helpers import icpc, person_token
from tests.service_helpers import RunningService

PASSWORD = "lantern orbit pickle"
ROOT = Path(__file__).resolve().parent.parent


def as_person(monkeypatch: pytest.MonkeyPatch, token: str) -> None:
    monkeypatch.setenv("ICPC_PERSON_TOKEN", token)


def as_admin(monkeypatch: pytest.MonkeyPatch, admin_id: str) -> None:
    as_person(monkeypatch, person_token(admin_id, "admin"))


def people() -> PeopleStore:
    return PeopleStore(make_engine(database_url()))


def audit_of(person_id: str) -> list[AuditEntry]:
    engine = make_engine(database_url())
    try:
        rows = AuditLog(engine).read(actor=person_id)
    finally:
        engine.dispose()
    return [r for r in reversed(rows) if r.action == Action.ACCOUNT_CHANGE]


def with_stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


async def test_without_an_administrators_token_it_is_refused(
    service: RunningService, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    person_token("uc-hana", "area_head_of_service", areas=["uc-north"])
    code, out, err = await icpc(capsys, "users", "token", "uc-hana")
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "icpc users acts as an administrator" in err

    as_person(monkeypatch, person_token("uc-tm", "team_manager", teams=["uc-team"]))
    code, out, err = await icpc(capsys, "users", "token", "uc-hana")
    assert (code, out) == (2, "")
    assert err == (
        "icpc users: refused: Only an account administrator can see or change accounts.\n"
    )
    refused = [r for r in audit_of("uc-tm") if r.outcome == Outcome.REFUSED]
    assert [(r.actor, r.channel, r.target) for r in refused] == [("uc-tm", Channel.API, "uc-hana")]
    code, _, err = await icpc(capsys, "users", "roles", "uc-tm", "admin")
    assert code == 2 and "Only an account administrator" in err
    assert people().get("uc-tm").roles == {"team_manager"}  # type: ignore[union-attr]


async def test_an_administrators_token_prints_only_the_token(
    service: RunningService, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    as_admin(monkeypatch, "uc-admin-t")
    person_token("uc-sam", "social_worker", teams=["uc-team"])
    code, out, err = await icpc(capsys, "users", "token", "uc-sam", "--label", "laptop")
    assert code == 0
    token = out.removesuffix("\n")
    assert out == token + "\n" and token.startswith("icpc_")  # nothing else on stdout
    assert "shown once" in err
    assert Service(service.url, token).get("/me")["id"] == "uc-sam"
    code, out, _ = await icpc(capsys, "users", "token", "uc-sam", "--revoke")
    assert code == 0 and out.startswith("2 token(s) of uc-sam revoked")  # person_token's too
    assert people().person_for_token(token) is None
    code, _, err = await icpc(capsys, "users", "token", "nobody-here")
    assert code == 2 and "no account 'nobody-here'" in err


async def test_a_person_s_machine_needs_only_the_url_and_a_token(
    service: RunningService,
) -> None:
    """In a process of its own holding only the service URL and the token: `icpc users token
    ID > file` is the token alone, and the command loads no record, engine or Temporal code."""
    admin = person_token("uc-admin-p", "admin")
    person_token("uc-pia", "social_worker", teams=["uc-team"])
    script = (
        "import sys\n"
        "from starters import cli\n"
        "parser = cli.build_parser()\n"
        "before = set(sys.modules)\n"
        "args = parser.parse_args(['users', 'token', 'uc-pia'])\n"
        "code = args.handler(args)\n"
        "loaded = {m.split('.')[0] for m in set(sys.modules) - before}\n"
        "bad = loaded & {'records', 'workers', 'temporalio', 'sqlalchemy', 'contracts'}\n"
        "print(sorted(bad), file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "ICPC_SERVICE_URL": service.url,
        "ICPC_PERSON_TOKEN": admin,
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("icpc_")  # no log line, no note
    assert done.stderr.strip().endswith("[]")
    assert Service(service.url, lines[0]).get("/me")["id"] == "uc-pia"


async def test_an_administrator_cannot_change_their_own_roles_another_can(
    service: RunningService, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    as_admin(monkeypatch, "uc-ada")
    code, _, err = await icpc(capsys, "users", "roles", "uc-ada", "admin", "area_head_of_service")
    assert code == 2
    assert (
        err == "icpc users: refused: You cannot change your own roles: ask another administrator\n"
    )
    code, _, err = await icpc(capsys, "users", "units", "uc-ada", "--area", "uc-north")
    assert code == 2 and "your own teams, areas or service-wide scope" in err
    for action in ("disable", "remove"):
        code, _, err = await icpc(capsys, "users", action, "uc-ada")
        assert code == 2 and f"You cannot {action} your own account" in err, action
    me = people().get("uc-ada")
    assert me is not None and me.active and me.roles == {"admin"} and not me.areas

    as_admin(monkeypatch, "uc-bo")
    code, out, _ = await icpc(capsys, "users", "roles", "uc-ada", "admin", "area_head_of_service")
    assert code == 0 and out == "account uc-ada now has the roles admin, area_head_of_service\n"
    assert people().get("uc-ada").roles == {"admin", "area_head_of_service"}  # type: ignore[union-attr]
    rows = audit_of("uc-ada")
    assert [(r.actor, r.outcome) for r in rows if r.target == "uc-ada"][-5:] == [
        ("uc-ada", Outcome.REFUSED)
    ] * 4 + [("uc-bo", Outcome.OK)]


async def test_a_common_password_is_refused_with_the_web_forms_sentence(
    service: RunningService, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    as_admin(monkeypatch, "uc-admin-c")
    with_stdin(monkeypatch, "Password123\n")
    code, _, err = await icpc(
        capsys, "users", "add", "uc-tia", "--role", "team_manager", "--password-stdin"
    )
    assert code == 2 and err == f"icpc users: {TOO_COMMON}\n"
    with_stdin(monkeypatch, "short\n")
    code, _, err = await icpc(
        capsys, "users", "add", "uc-tia", "--role", "team_manager", "--password-stdin"
    )
    assert code == 2 and "at least 10 characters" in err
    assert people().get("uc-tia") is None


async def test_add_list_and_change_a_person(
    service: RunningService, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    as_admin(monkeypatch, "uc-admin-a")
    with_stdin(monkeypatch, PASSWORD + "\n")
    code, out, _ = await icpc(
        capsys, "users", "add", "UC-Tess", "--role", "team_manager", "--role", "social_worker",
        "--name", "Tess Brennan", "--team", "uc-north-1", "--area", "uc-north",
        "--password-stdin",
    )  # fmt: skip
    assert code == 0
    assert out.startswith(
        "account uc-tess (social_worker, team_manager; team uc-north-1, area uc-north) saved\n"
    )
    added = people().get("uc-tess")
    assert added is not None and added.password_must_change  # temporary: set by an admin
    code, _, err = await icpc(capsys, "users", "add", "uc-hal", "--role", "wizard", "--no-password")
    assert code == 2 and "'wizard' is not a role of any installed procedure" in err
    code, _, _ = await icpc(capsys, "users", "add", "uc-sso", "--role", "admin", "--no-password")
    assert code == 0

    code, out, _ = await icpc(capsys, "users", "list")
    assert code == 0
    mine = [line for line in out.splitlines() if line.startswith(("uc-sso", "uc-tess"))]
    assert mine == [
        "uc-sso\tadmin\t\tactive\t",
        "uc-tess\tsocial_worker,team_manager\tteam:uc-north-1,area:uc-north\tactive\tTess Brennan",
    ]

    assert (await icpc(capsys, "users", "roles", "uc-tess", "area_head_of_service"))[0] == 0
    code, out, _ = await icpc(
        capsys, "users", "units", "uc-tess", "--area", "uc-south", "--service-wide"
    )
    assert (
        code == 0 and out == "account uc-tess: area_head_of_service; area uc-south, whole service\n"
    )
    person = people().get("uc-tess")
    assert person is not None and person.roles == {"area_head_of_service"}
    assert person.areas == {"uc-south"} and not person.teams and person.service_wide

    assert (await icpc(capsys, "users", "disable", "uc-tess"))[0] == 0
    assert not people().get("uc-tess").active  # type: ignore[union-attr]
    assert (await icpc(capsys, "users", "enable", "uc-tess"))[0] == 0
    assert people().get("uc-tess").active  # type: ignore[union-attr]

    with_stdin(monkeypatch, "plum tractor 42\n")
    code, out, _ = await icpc(capsys, "users", "password", "uc-tess", "--password-stdin")
    assert code == 0 and out.startswith("password of uc-tess set")
    assert people().verify_password("uc-tess", "plum tractor 42") is not None
    assert people().verify_password("uc-tess", PASSWORD) is None

    code, _, err = await icpc(capsys, "users", "roles", "uc-nobody", "team_manager")
    assert code == 2 and "no account 'uc-nobody'" in err
    assert (await icpc(capsys, "users", "remove", "uc-tess"))[0] == 0
    assert people().get("uc-tess") is None

    details = [(r.actor, r.channel, r.detail) for r in audit_of("uc-tess")]
    assert all(actor == "uc-admin-a" and channel == Channel.API for actor, channel, _ in details)
    assert [d for _, _, d in details][-4:] == [
        "disabled",
        "enabled",
        "password reset by an administrator",
        "removed",
    ]


async def test_unlock_forgets_an_accounts_or_an_addresss_failures(
    service: RunningService, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    as_admin(monkeypatch, "uc-admin-u")
    engine = make_engine(database_url())
    guard = SigninGuard(engine)
    for _ in range(10):
        guard.failed("uc-locked", "192.0.2.44")
    assert guard.locked("uc-locked", "192.0.2.99") is not None
    code, out, _ = await icpc(capsys, "users", "unlock", "uc-locked")
    assert code == 0 and out == "sign-in id uc-locked unlocked\n"
    assert guard.locked("uc-locked", "192.0.2.99") is None
    code, out, _ = await icpc(capsys, "users", "unlock", "--address", "192.0.2.44")
    assert code == 0 and out == "address 192.0.2.44 unlocked\n"
    assert (await icpc(capsys, "users", "unlock"))[0] == 2
    assert guard.locked("uc-other", "192.0.2.44") is None
    engine.dispose()


async def test_the_old_accounts_file_is_imported_with_its_passwords(
    service: RunningService,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    as_admin(monkeypatch, "uc-admin-i")
    old = tmp_path / "users.json"
    old.write_text(
        json.dumps(
            {
                "users": {
                    "uc-tmanager": {
                        "role": "team_manager",
                        "name": "Tess Example",
                        "password_hash": PasswordHasher().hash(PASSWORD),
                    },
                    "uc-gone": {"role": "retired_role", "name": "", "password_hash": "x"},
                }
            }
        )
    )
    code, out, err = await icpc(capsys, "users", "import-file", str(old))
    assert code == 0
    assert "1 account(s) imported" in out and "1 skipped" in out
    assert "skipped uc-gone: 'retired_role' is not a role" in err
    person = people().verify_password("uc-tmanager", PASSWORD)
    assert person is not None and person.roles == {"team_manager"} and not person.teams
    assert person.name == "Tess Example" and not person.password_must_change  # their own
    assert people().get("uc-gone") is None
    code, _, err = await icpc(capsys, "users", "import-file", str(old))
    assert code == 2  # nothing new the second time
    assert "skipped uc-tmanager: already a person here" in err
    rows = audit_of("uc-tmanager")
    assert [(r.actor, r.channel, r.detail) for r in rows] == [
        ("uc-admin-i", Channel.API, "imported from users.json: team_manager; no team or area")
    ]
