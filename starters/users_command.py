"""``icpc users``: local accounts for the web form (add, list, remove).

Passwords are typed at a prompt (not echoed) or read from standard input with
``--password-stdin``; never taken as an argument, which would leave them in shell history.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("users", help="local accounts for the web form")
    p.add_argument(
        "--file",
        type=Path,
        default=None,
        help="accounts file (ICPC_USERS_FILE, default var/users.json)",
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")

    add = actions.add_parser("add", help="add an account (asks for its password)")
    add.add_argument("user", help="sign-in id, recorded with each decision (e.g. tmanager)")
    add.add_argument(
        "--role", required=True, help="the procedure role id it acts in (e.g. team_manager)"
    )
    add.add_argument("--name", default="", help="display name shown on the pages")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    add.add_argument("--replace", action="store_true", help="replace an existing account")
    add.set_defaults(handler=run_add)

    lst = actions.add_parser("list", help="list accounts (ids, roles, names)")
    lst.set_defaults(handler=run_list)

    rm = actions.add_parser("remove", help="remove an account")
    rm.add_argument("user")
    rm.set_defaults(handler=run_remove)


def _store(args: argparse.Namespace) -> Any:
    from web.settings import DEFAULT_USERS_FILE
    from web.users import UserStore

    path = args.file or Path(os.environ.get("ICPC_USERS_FILE") or DEFAULT_USERS_FILE)
    return UserStore(path)


def _read_password(args: argparse.Namespace) -> str:
    from starters.cli import CommandError

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != password:
            raise CommandError("the passwords do not match")
    if not password:
        raise CommandError("no password given")
    return password


def _known_roles() -> set[str]:
    from procedures import load_all

    return {role.id for proc in load_all().values() for role in proc.roles}


def run_add(args: argparse.Namespace) -> int:
    from starters.cli import CommandError
    from web.users import UserError

    roles = _known_roles()
    if args.role not in roles:
        raise CommandError(
            f"'{args.role}' is not a role in any installed procedure"
            f" (roles: {', '.join(sorted(roles))})"
        )
    store = _store(args)
    try:
        user = store.add(
            args.user, args.role, _read_password(args), args.name, replace=args.replace
        )
    except UserError as error:
        raise CommandError(str(error)) from None
    print(f"account {user.user} ({user.role}) saved in {store.path}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    for user in _store(args).all():
        print(f"{user.user}\t{user.role}\t{user.name}")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    from starters.cli import CommandError

    store = _store(args)
    if not store.remove(args.user):
        raise CommandError(f"no account '{args.user}'")
    print(f"account {args.user} removed")
    return 0
