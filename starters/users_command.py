"""``icpc users``: the people who sign in, kept in the product's database (``ICPC_DATABASE_URL``),
the same store the web form's Accounts pages change.

    icpc users add ID --role ROLE [--role ROLE ...] [--name N] [--email E] [--team T ...]
                   [--area A ...] [--service-wide] [--password-stdin | --no-password]
    icpc users list
    icpc users remove ID | disable ID | enable ID
    icpc users roles ID ROLE [ROLE ...]
    icpc users units ID [--team T ...] [--area A ...] [--service-wide]
    icpc users password ID [--password-stdin]
    icpc users unlock ID | icpc users unlock --address ADDRESS
    icpc users token ID [--label L] | icpc users token ID --revoke
    icpc users import-file var/users.json

Passwords are typed at a prompt (not echoed) or read from standard input with
``--password-stdin``; never taken as an argument, which would leave them in shell history.
Every change is written to the audit trail, under the operating-system account that ran it.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when a command runs, not when the parser is built
    from records.audit import AuditLog
    from records.people import PeopleStore
    from records.sessions import SessionStore
    from records.signin_guard import SigninGuard


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("users", help="people who sign in: accounts, roles, teams, tokens")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")

    add = actions.add_parser("add", help="add a person (asks for a password)")
    add.add_argument("user", help="sign-in id, recorded with each decision (e.g. tia.brennan)")
    add.add_argument(
        "--role",
        action="append",
        required=True,
        help="a role id they act in (e.g. team_manager; admin, support); repeat for several",
    )
    add.add_argument("--name", default="", help="display name shown on the pages")
    add.add_argument("--email", default="", help="their email address")
    _unit_options(add)
    password = add.add_mutually_exclusive_group()
    password.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    password.add_argument(
        "--no-password", action="store_true", help="no local password: single sign-on only"
    )
    add.set_defaults(handler=run_add)

    lst = actions.add_parser("list", help="list people (ids, roles, units, status, names)")
    lst.set_defaults(handler=run_list)

    for name, handler, text in (
        ("remove", run_remove, "delete a person (their recorded decisions stay)"),
        ("disable", run_disable, "stop a person signing in or acting; ends their sessions"),
        ("enable", run_enable, "let a disabled person sign in again"),
    ):
        one = actions.add_parser(name, help=text)
        one.add_argument("user")
        one.set_defaults(handler=handler)

    roles = actions.add_parser("roles", help="set a person's roles (replacing the old ones)")
    roles.add_argument("user")
    roles.add_argument("roles", nargs="+", metavar="ROLE")
    roles.set_defaults(handler=run_roles)

    units = actions.add_parser(
        "units", help="set a person's teams and areas (replacing the old ones)"
    )
    units.add_argument("user")
    _unit_options(units)
    units.set_defaults(handler=run_units)

    pw = actions.add_parser("password", help="set a person's password (asks for it)")
    pw.add_argument("user")
    pw.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    pw.set_defaults(handler=run_password)

    unlock = actions.add_parser(
        "unlock", help="forget the failed sign-ins that locked a sign-in id or an address"
    )
    unlock.add_argument("user", nargs="?", help="the sign-in id to unlock")
    unlock.add_argument("--address", help="a client address to unlock instead")
    unlock.set_defaults(handler=run_unlock)

    token = actions.add_parser(
        "token", help="print a new command-line token for a person (shown once)"
    )
    token.add_argument("user")
    token.add_argument("--label", default="", help="what the token is for (e.g. laptop)")
    token.add_argument("--revoke", action="store_true", help="revoke all their tokens instead")
    token.set_defaults(handler=run_token)

    imp = actions.add_parser(
        "import-file", help="import the accounts of an old accounts file (var/users.json)"
    )
    imp.add_argument("file", type=Path)
    imp.set_defaults(handler=run_import)


def _unit_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--team", action="append", default=[], help="a team id; repeat for several")
    parser.add_argument(
        "--area", action="append", default=[], help="an area id; repeat for several"
    )
    parser.add_argument(
        "--service-wide", action="store_true", help="they work across the whole service"
    )


# --- the store ------------------------------------------------------------------------------


@dataclass
class Stores:
    people: PeopleStore
    sessions: SessionStore
    guard: SigninGuard
    audit_log: AuditLog
    where: str

    def audit(self, target: str, detail: str) -> None:
        from records.audit import Action, AuditEntry, Channel, Outcome

        self.audit_log.write(
            AuditEntry(
                Action.ACCOUNT_CHANGE,
                Outcome.OK,
                Channel.CLI,
                actor=f"os:{_os_user()}",
                target=target,
                detail=detail,
            )
        )


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def known_roles() -> frozenset[str]:
    from domain.people import PRODUCT_ROLES
    from procedures import load_all

    return frozenset(role.id for proc in load_all().values() for role in proc.roles) | frozenset(
        PRODUCT_ROLES
    )


@contextmanager
def stores() -> Iterator[Stores]:
    """The people, sessions, sign-in guard and audit trail of ``ICPC_DATABASE_URL``; every
    refusal becomes one printable line."""
    from datetime import timedelta

    from sqlalchemy.exc import SQLAlchemyError

    from records.audit import AuditLog
    from records.database import RecordStoreError, database_url, describe, ensure_ready, make_engine
    from records.people import PeopleError, PeopleStore
    from records.sessions import SessionStore
    from records.signin_guard import SigninGuard
    from starters.cli import CommandError

    url = database_url()
    try:
        ensure_ready(url)
        engine = make_engine(url)
    except RecordStoreError as error:
        raise CommandError(str(error)) from None
    try:
        yield Stores(
            people=PeopleStore(engine, known_roles()),
            # The limits only matter to the web form; ending sessions needs none.
            sessions=SessionStore(engine, lifetime=timedelta(hours=8), idle=timedelta(minutes=30)),
            guard=SigninGuard(engine),
            audit_log=AuditLog(engine),
            where=describe(url),
        )
    except PeopleError as error:
        raise CommandError(str(error)) from None
    except SQLAlchemyError as error:
        raise CommandError(
            f"cannot use the database at {describe(url)} ({type(error).__name__})"
        ) from None
    finally:
        engine.dispose()


def _read_password(args: argparse.Namespace) -> str:
    from domain.passwords import password_problem
    from starters.cli import CommandError

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        problem = password_problem(password, args.user)
        if problem is not None:  # before asking twice
            raise CommandError(problem)
        if getpass.getpass("Password again: ") != password:
            raise CommandError("the passwords do not match")
    if not password:
        raise CommandError("no password given")
    return password


def _describe(person: Any) -> str:
    units = [*(f"team {t}" for t in sorted(person.teams))]
    units += [f"area {a}" for a in sorted(person.areas)]
    if person.service_wide:
        units.append("whole service")
    return f"{', '.join(sorted(person.roles))}; {', '.join(units) or 'no team or area'}"


# --- the actions ----------------------------------------------------------------------------


def run_add(args: argparse.Namespace) -> int:
    password = None if args.no_password else _read_password(args)
    with stores() as s:
        person = s.people.add(
            args.user,
            roles=args.role,
            name=args.name,
            email=args.email,
            teams=args.team,
            areas=args.area,
            service_wide=args.service_wide,
            password=password,
        )
        s.audit(person.id, f"added: {_describe(person)}")
        print(f"account {person.id} ({_describe(person)}) saved in {s.where}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    with stores() as s:
        locked = {lock.value for lock in s.guard.locks() if lock.kind.value == "user"}
        for person in s.people.all():
            status = "disabled" if not person.active else "locked" if person.id in locked else ""
            units = ",".join(
                [*(f"team:{t}" for t in sorted(person.teams))]
                + [f"area:{a}" for a in sorted(person.areas)]
                + (["service"] if person.service_wide else [])
            )
            print(
                "\t".join(
                    [
                        person.id,
                        ",".join(sorted(person.roles)),
                        units,
                        status or "active",
                        person.name,
                    ]
                )
            )
    return 0


def _change(args: argparse.Namespace, detail: str, call: Callable[[Stores], Any]) -> int:
    from records.people import normalise_id
    from starters.cli import CommandError

    with stores() as s:
        if s.people.get(args.user) is None:
            raise CommandError(f"no account '{normalise_id(args.user)}'")
        call(s)
        s.audit(normalise_id(args.user), detail)
    return 0


def run_remove(args: argparse.Namespace) -> int:
    def remove(s: Stores) -> None:
        s.sessions.end_all(args.user.strip().lower())
        s.people.remove(args.user)

    _change(args, "removed", remove)
    print(f"account {args.user} removed")
    return 0


def run_disable(args: argparse.Namespace) -> int:
    def disable(s: Stores) -> None:
        s.people.disable(args.user)
        s.sessions.end_all(args.user.strip().lower())

    _change(args, "disabled", disable)
    print(f"account {args.user} disabled: signed out, and cannot sign in or act")
    return 0


def run_enable(args: argparse.Namespace) -> int:
    _change(args, "enabled", lambda s: s.people.enable(args.user))
    print(f"account {args.user} enabled")
    return 0


def run_roles(args: argparse.Namespace) -> int:
    shown = ", ".join(sorted(set(args.roles)))
    _change(args, f"roles set to {shown}", lambda s: s.people.update(args.user, roles=args.roles))
    print(f"account {args.user} now has the roles {shown}")
    return 0


def run_units(args: argparse.Namespace) -> int:
    def units(s: Stores) -> None:
        person = s.people.update(
            args.user, teams=args.team, areas=args.area, service_wide=args.service_wide
        )
        print(f"account {person.id}: {_describe(person)}")

    detail = f"teams {args.team}, areas {args.area}, service-wide {args.service_wide}"
    return _change(args, detail, units)


def run_password(args: argparse.Namespace) -> int:
    password = _read_password(args)

    def reset(s: Stores) -> None:
        s.people.set_password(args.user, password)
        s.sessions.end_all(args.user.strip().lower())

    _change(args, "password set", reset)
    print(f"password of {args.user} set; their web sessions are ended")
    return 0


def run_unlock(args: argparse.Namespace) -> int:
    from records.signin_guard import LockKind
    from starters.cli import CommandError

    if bool(args.user) == bool(args.address):
        raise CommandError("name a sign-in id or --address ADDRESS (one of them)")
    with stores() as s:
        if args.address:
            found = s.guard.unlock(LockKind.ADDRESS, args.address.strip())
            s.audit(f"address {args.address.strip()}", "sign-in unlocked for the address")
            what = f"address {args.address.strip()}"
        else:
            user = args.user.strip().lower()
            found = s.guard.unlock(LockKind.ACCOUNT, user)
            s.audit(user, "sign-in unlocked")
            what = f"sign-in id {user}"
    print(f"{what} unlocked" if found else f"{what} had no failed sign-ins to forget")
    return 0


def run_token(args: argparse.Namespace) -> int:
    if args.revoke:
        with stores() as s:
            count = s.people.revoke_tokens(args.user)
            s.audit(args.user.strip().lower(), f"command-line tokens revoked ({count})")
        print(f"{count} token(s) of {args.user} revoked")
        return 0

    def issue(s: Stores) -> None:
        token = s.people.issue_token(args.user, args.label)
        print(token)
        print(
            "This token is shown once. Keep it like a password (ICPC_TOKEN, or a file readable"
            " only by you); `icpc users token ID --revoke` withdraws it.",
            file=sys.stderr,
        )

    return _change(args, f"command-line token issued ({args.label or 'no label'})", issue)


def run_import(args: argparse.Namespace) -> int:
    """The accounts of the old JSON accounts file, roles mapped one to one, no teams; their
    argon2 hashes kept, so everyone signs in with the password they had."""
    from records.people import PeopleError
    from starters.cli import CommandError

    try:
        data = json.loads(args.file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CommandError(f"cannot read {args.file}: {error}") from None
    accounts = data.get("users") if isinstance(data, dict) else None
    if not isinstance(accounts, dict):
        raise CommandError(f'{args.file} is not an accounts file (no "users")')
    imported, skipped = 0, 0
    with stores() as s:
        for user, record in sorted(accounts.items()):
            if not isinstance(record, dict):
                print(f"skipped {user}: not an account", file=sys.stderr)
                skipped += 1
                continue
            if s.people.get(str(user)) is not None:
                print(f"skipped {user}: already a person here", file=sys.stderr)
                skipped += 1
                continue
            try:
                person = s.people.add(
                    str(user), roles=[str(record.get("role", ""))], name=str(record.get("name", ""))
                )
                s.people.import_hash(person.id, str(record.get("password_hash", "")))
            except PeopleError as error:
                s.people.remove(str(user))
                print(f"skipped {user}: {error}", file=sys.stderr)
                skipped += 1
                continue
            s.audit(person.id, f"imported from {args.file.name}: {_describe(person)}")
            imported += 1
    print(f"{imported} account(s) imported from {args.file}, {skipped} skipped")
    if imported:
        print(f"{args.file} is no longer read: keep it safe or delete it.")
    return 2 if skipped and not imported else 0
