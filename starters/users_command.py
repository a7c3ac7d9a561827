"""``icpc users``: the people who sign in, changed through the service's API
(``/api/v1/people``, :mod:`web.api_people`) as an administrator: the caller's own person token,
of a person holding the ``admin`` role (``--token-file``, ``ICPC_PERSON_TOKEN`` or
``ICPC_PERSON_TOKEN_FILE``) and ``ICPC_SERVICE_URL``. Nothing else: no database address, no
Temporal, no payload key. Without a token it is refused in one line; with a token of someone
who is not an administrator the service refuses it (403), and the refusal is audited.

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

The rules are the Accounts pages' (:mod:`web.account_operations`): an administrator cannot
change their own roles or scope, nor disable or remove themselves; a password set here is
temporary, changed at the person's first sign-in. Passwords are typed at a prompt (not echoed)
or read from standard input with ``--password-stdin``; never taken as an argument, which would
leave them in shell history. Every change is audited by the service, under the administrator.

The first administrator is made on the service host: ``icpc db bootstrap-admin``.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starters.operator import TOKEN_ENV, add_token_argument, token_from

if TYPE_CHECKING:
    from starters.service_client import Service

NO_ADMIN_TOKEN = (
    "icpc users acts as an administrator: give your person token (--token-file FILE, or"
    f" {TOKEN_ENV}); the first administrator is made on the service host with"
    " `icpc db bootstrap-admin`"
)


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "users", help="people who sign in: accounts, roles, teams, tokens (as an administrator)"
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")

    def action(name: str, text: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = actions.add_parser(name, help=text)
        add_token_argument(parser)
        return parser

    add = action("add", "add a person (asks for a temporary password)")
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

    lst = action("list", "list people (ids, roles, units, status, names)")
    lst.set_defaults(handler=run_list)

    for name, handler, text in (
        ("remove", run_remove, "delete a person (their recorded decisions stay)"),
        ("disable", run_disable, "stop a person signing in or acting; ends their sessions"),
        ("enable", run_enable, "let a disabled person sign in again"),
    ):
        one = action(name, text)
        one.add_argument("user")
        one.set_defaults(handler=handler)

    roles = action("roles", "set a person's roles (replacing the old ones)")
    roles.add_argument("user")
    roles.add_argument("roles", nargs="+", metavar="ROLE")
    roles.set_defaults(handler=run_roles)

    units = action("units", "set a person's teams and areas (replacing the old ones)")
    units.add_argument("user")
    _unit_options(units)
    units.set_defaults(handler=run_units)

    pw = action("password", "set a temporary password for a person (asks for it)")
    pw.add_argument("user")
    pw.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    pw.set_defaults(handler=run_password)

    unlock = action("unlock", "forget the failed sign-ins that locked a sign-in id or an address")
    unlock.add_argument("user", nargs="?", help="the sign-in id to unlock")
    unlock.add_argument("--address", help="a client address to unlock instead")
    unlock.set_defaults(handler=run_unlock)

    token = action("token", "print a new person token for a person (shown once, only it)")
    token.add_argument("user")
    token.add_argument("--label", default="", help="what the token is for (e.g. laptop)")
    token.add_argument("--revoke", action="store_true", help="revoke all their tokens instead")
    token.set_defaults(handler=run_token)

    imp = action("import-file", "import the accounts of an old accounts file (var/users.json)")
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


def _service(args: argparse.Namespace) -> Service:
    """The service, as the administrator whose token was given; one line without one."""
    from starters.cli import CommandError
    from starters.service_client import service

    if not token_from(args):
        raise CommandError(NO_ADMIN_TOKEN)
    return service(args)


def _person_path(user: str, *rest: str) -> str:
    from urllib.parse import quote

    return "/".join(["/people", quote(user.strip().lower(), safe=""), *rest])


def _read_password(args: argparse.Namespace) -> str:
    """The password, checked here first so a refusal is the web form's own sentence (the
    service checks it again)."""
    from domain.passwords import password_problem
    from starters.cli import CommandError

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Temporary password: ")
    if not password:
        raise CommandError("no password given")
    problem = password_problem(password, args.user)
    if problem is not None:  # before asking twice
        raise CommandError(problem)
    if not args.password_stdin and getpass.getpass("Password again: ") != password:
        raise CommandError("the passwords do not match")
    return password


def _describe(person: dict[str, Any]) -> str:
    units = [*(f"team {t}" for t in person["teams"])]
    units += [f"area {a}" for a in person["areas"]]
    if person["service_wide"]:
        units.append("whole service")
    return f"{', '.join(person['roles'])}; {', '.join(units) or 'no team or area'}"


# --- the actions ----------------------------------------------------------------------------


def run_add(args: argparse.Namespace) -> int:
    service = _service(args)
    password = None if args.no_password else _read_password(args)
    person = service.post(
        "/people",
        {
            "id": args.user,
            "roles": args.role,
            "name": args.name,
            "email": args.email,
            "teams": args.team,
            "areas": args.area,
            "service_wide": args.service_wide,
            "password": password,
        },
    )
    print(f"account {person['id']} ({_describe(person)}) saved")
    if password is not None:
        print("The password is temporary: they choose their own when they first sign in.")
    return 0


def run_list(args: argparse.Namespace) -> int:
    for person in _service(args).get("/people"):
        status = "disabled" if not person["active"] else "locked" if person["locked"] else ""
        units = ",".join(
            [*(f"team:{t}" for t in person["teams"])]
            + [f"area:{a}" for a in person["areas"]]
            + (["service"] if person["service_wide"] else [])
        )
        fields = [person["id"], ",".join(person["roles"]), units, status or "active"]
        print("\t".join([*fields, person["name"]]))
    return 0


def run_remove(args: argparse.Namespace) -> int:
    removed = _service(args).call("DELETE", _person_path(args.user)).json()
    print(f"account {removed['person_id']} removed")
    return 0


def run_disable(args: argparse.Namespace) -> int:
    person = _service(args).post(_person_path(args.user, "disable"))
    print(f"account {person['id']} disabled: signed out, and cannot sign in or act")
    return 0


def run_enable(args: argparse.Namespace) -> int:
    person = _service(args).post(_person_path(args.user, "enable"))
    print(f"account {person['id']} enabled")
    return 0


def run_roles(args: argparse.Namespace) -> int:
    answer = _service(args).call("PATCH", _person_path(args.user), json={"roles": args.roles})
    person = answer.json()
    print(f"account {person['id']} now has the roles {', '.join(person['roles'])}")
    return 0


def run_units(args: argparse.Namespace) -> int:
    body = {"teams": args.team, "areas": args.area, "service_wide": args.service_wide}
    person = _service(args).call("PATCH", _person_path(args.user), json=body).json()
    print(f"account {person['id']}: {_describe(person)}")
    return 0


def run_password(args: argparse.Namespace) -> int:
    service = _service(args)
    password = _read_password(args)
    person = service.post(_person_path(args.user, "password"), {"password": password})
    print(
        f"password of {person['id']} set; their web sessions are ended. It is temporary: they"
        " choose their own when they next sign in."
    )
    return 0


def run_unlock(args: argparse.Namespace) -> int:
    from starters.cli import CommandError

    if bool(args.user) == bool(args.address):
        raise CommandError("name a sign-in id or --address ADDRESS (one of them)")
    service = _service(args)
    if args.address:
        done = service.post("/address-locks/unlock", {"address": args.address.strip()})
    else:
        done = service.post(_person_path(args.user, "unlock"))
    what = done["what"]
    print(f"{what} unlocked" if done["unlocked"] else f"{what} had no failed sign-ins to forget")
    return 0


def run_token(args: argparse.Namespace) -> int:
    service = _service(args)
    if args.revoke:
        revoked = service.call("DELETE", _person_path(args.user, "tokens")).json()
        print(f"{revoked['revoked']} token(s) of {revoked['person_id']} revoked")
        return 0
    issued = service.post(_person_path(args.user, "tokens"), {"label": args.label})
    # Only the token on standard output: `icpc users token ID > file` is the token file.
    print(issued["token"])
    print(
        f"This token is shown once and acts as {issued['person_id']}. Keep it like a password"
        f" ({TOKEN_ENV}, or a file readable only by them); `icpc users token ID --revoke`"
        " withdraws it.",
        file=sys.stderr,
    )
    return 0


def run_import(args: argparse.Namespace) -> int:
    """The accounts of the old JSON accounts file, roles mapped one to one, no teams; their
    argon2 hashes kept, so everyone signs in with the password they had."""
    from starters.cli import CommandError

    service = _service(args)
    try:
        data = json.loads(args.file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CommandError(f"cannot read {args.file}: {error}") from None
    accounts = data.get("users") if isinstance(data, dict) else None
    if not isinstance(accounts, dict):
        raise CommandError(f'{args.file} is not an accounts file (no "users")')
    done = service.post("/people/import", {"source": args.file.name, "accounts": accounts})
    for skipped in done["skipped"]:
        print(f"skipped {skipped['id']}: {skipped['reason']}", file=sys.stderr)
    imported, skipped_count = len(done["imported"]), len(done["skipped"])
    print(f"{imported} account(s) imported from {args.file}, {skipped_count} skipped")
    if imported:
        print(f"{args.file} is no longer read: keep it safe or delete it.")
    return 2 if skipped_count and not imported else 0
