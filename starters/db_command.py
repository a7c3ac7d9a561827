"""``icpc db``: create, upgrade and check the case record database (``ICPC_DATABASE_URL``).

``icpc db upgrade`` creates the record in a new database (a missing SQLite file is created
owner-only) or brings an older one up to this release, keeping every row; ``icpc db check``
says whether the database fits this release. A database written by a newer release, a file
that is not a SQLite database, or a database holding someone else's tables is refused and left
untouched. Every failure is one line and exit status 2.

``icpc db bootstrap-admin ID --name NAME`` makes the first account administrator, on the
service host (it needs the database itself, as the service does): only while no active person
holds the admin role, and only as a new person. Its temporary password, made up and printed
(alone on standard output) or read from standard input with ``--password-stdin``, is changed at
the first sign-in; ``--write-token FILE`` also issues them a person token into FILE (0600), for
``icpc users``. Audited (channel ``cli``, under the operating-system account). Every other
change to people is an administrator's, through the service (``icpc users``).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("db", help="the case record database: upgrade, check")
    p.add_argument(
        "--url",
        default=None,
        help="database URL (ICPC_DATABASE_URL, default sqlite:///var/icpc-records.sqlite3)",
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    up = actions.add_parser("upgrade", help="create the record, or upgrade it to this release")
    up.set_defaults(handler=run_upgrade)
    check = actions.add_parser("check", help="exit 0 if the record fits this release")
    check.set_defaults(handler=run_check)
    boot = actions.add_parser(
        "bootstrap-admin",
        help="on the service host: the first account administrator (only while there is none)",
    )
    boot.add_argument("user", help="their sign-in id (a new person)")
    boot.add_argument("--name", required=True, help="their display name")
    boot.add_argument("--email", default="", help="their email address")
    boot.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the temporary password from standard input (else one is made up and printed)",
    )
    boot.add_argument(
        "--write-token",
        type=Path,
        metavar="FILE",
        help="also issue them a person token, written to FILE (0600; must not exist)",
    )
    boot.set_defaults(handler=run_bootstrap_admin)


def _url(args: argparse.Namespace) -> str:
    from records.database import database_url

    return str(args.url) if args.url else database_url()


def run_upgrade(args: argparse.Namespace) -> int:
    from records.database import RecordStoreError, describe, status, upgrade
    from starters.cli import CommandError

    url = _url(args)
    try:
        before = status(url)
        after = upgrade(url)
    except RecordStoreError as error:
        raise CommandError(str(error)) from None
    if before.revision == after.revision:
        print(f"{describe(url)}: already at revision {after.revision}")
    else:
        print(f"{describe(url)}: upgraded from {before.revision or 'nothing'} to {after.revision}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    from records.database import RecordStoreError, check_current, describe
    from starters.cli import CommandError

    url = _url(args)
    try:
        current = check_current(url)
    except RecordStoreError as error:
        raise CommandError(str(error)) from None
    print(f"{describe(url)}: at revision {current.revision}, current")
    return 0


def _write_token(path: Path, token: str) -> None:
    from starters.cli import CommandError

    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as error:
        raise CommandError(f"cannot write the token to {path}: {error.strerror}") from None
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(token + "\n")


def run_bootstrap_admin(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from sqlalchemy.exc import SQLAlchemyError

    from domain.passwords import password_problem
    from records.audit import Channel
    from records.database import RecordStoreError, describe
    from starters import session
    from starters.cli import CommandError
    from web import account_operations as ops
    from web.users import Accounts

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        problem = password_problem(password, args.user)
        if problem is not None:
            raise CommandError(problem)
    else:
        password = "-".join(secrets.token_urlsafe(6) for _ in range(3))  # 24 random characters
    if args.write_token is not None and args.write_token.exists():
        raise CommandError(f"{args.write_token} already exists: name a new file for the token")
    url = _url(args)
    # Roles are not checked against the procedures: the one given here is the product's admin.
    accounts = Accounts(url, roles=None, lifetime=timedelta(hours=8), idle=timedelta(minutes=30))
    op = ops.Operator(f"os:{session.os_user()}", Channel.CLI, role=None)
    new = ops.NewPerson(args.user, roles=(), name=args.name, email=args.email, password=password)
    try:
        person = ops.bootstrap_admin(accounts, op, new)
        token = ops.issue_token(accounts, op, person.id, "bootstrap") if args.write_token else ""
    except ops.AccountRefused as refused:
        raise CommandError(refused.message) from None
    except RecordStoreError as error:
        raise CommandError(str(error)) from None
    except SQLAlchemyError as error:
        raise CommandError(
            f"cannot use the database at {describe(url)} ({type(error).__name__})"
        ) from None
    finally:
        accounts.close()
    if args.write_token:
        _write_token(args.write_token, token)
    if not args.password_stdin:
        print(password)  # alone on standard output; what it is goes to standard error
    print(
        f"administrator {person.id} added in {describe(url)}."
        + ("" if args.password_stdin else " The line above is their temporary password:")
        + " they choose their own when they first sign in to the web form."
        + (f" Their person token is in {args.write_token}." if args.write_token else ""),
        file=sys.stderr,
    )
    return 0
