"""``icpc db``: create, upgrade and check the case record database (``ICPC_DATABASE_URL``).

``icpc db upgrade`` creates the record in a new database (a missing SQLite file is created
owner-only) or brings an older one up to this release, keeping every row; ``icpc db check``
says whether the database fits this release. A database written by a newer release, a file
that is not a SQLite database, or a database holding someone else's tables is refused and left
untouched. Every failure is one line and exit status 2.
"""

from __future__ import annotations

import argparse
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
