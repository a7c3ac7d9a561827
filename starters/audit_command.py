"""``icpc audit``: read the audit trail for one case or one person, newest first.

``--case REF`` takes a case reference (every case with that reference: a child may have
several) or a case's workflow id; ``--person ID`` a person's sign-in id, as the one who acted
or as the account changed. One line per row: when (Europe/London), who (role), action,
outcome, channel, address, then the case or account concerned and the detail; ``--json`` gives
the rows as a JSON list.

A client of the service (``GET /api/v1/audit``, :mod:`starters.service_client`): it needs only
``ICPC_SERVICE_URL`` and the person's token (``--token-file``, ``ICPC_PERSON_TOKEN`` or
``ICPC_PERSON_TOKEN_FILE``), who must hold the ``admin`` role. The service reads the trail as
its ``/admin/audit`` page does, and audits every read (``read_audit``) and every refusal.

``icpc audit verify`` checks the trail's hash chain instead (:data:`VERIFY_HELP`): it runs on
the service host with the record's address, as ``icpc db`` does.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from starters.cli import CommandError
from starters.operator import add_token_argument

DEFAULT_LIMIT = 500


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "audit", help="read the audit trail for a case or a person; verify its hash chain"
    )
    add_reading_arguments(p)
    p.set_defaults(handler=run)
    add_verify_parser(p)


def add_reading_arguments(p: argparse.ArgumentParser) -> None:
    """Reading's flags. One of --case and --person is checked in :func:`run`, not by argparse,
    so that a subcommand beside reading (``icpc audit verify``) needs neither."""
    which = p.add_mutually_exclusive_group()
    which.add_argument("--case", metavar="REF", help="a case reference (or a case's id)")
    which.add_argument("--person", metavar="ID", help="a person's sign-in id")
    p.add_argument(
        "--limit", type=int, default=DEFAULT_LIMIT, help=f"rows at most ({DEFAULT_LIMIT})"
    )
    p.add_argument("--json", action="store_true", help="the rows as JSON")
    add_token_argument(p)


def run(args: argparse.Namespace) -> int:
    from starters.service_client import service

    if args.case is None and args.person is None:
        raise CommandError("say which: --case REF or --person ID (or `icpc audit verify`)")
    if not 1 <= args.limit <= 100_000:
        raise CommandError("--limit is 1 to 100000")
    rows = service(args).get("/audit", case=args.case, person=args.person, limit=args.limit)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            print(line(row))
    return 0


def line(row: Mapping[str, Any]) -> str:
    """One row, for a terminal: every field present, ``-`` for what is not known."""
    from domain.calendar import LONDON

    at = datetime.fromisoformat(row["at"])
    when = at.astimezone(LONDON).strftime("%Y-%m-%d %H:%M:%S %Z")
    who = row["actor"] or "-"
    if row["actor_role"]:
        who += f" ({row['actor_role']})"
    fields: Sequence[str] = [
        when,
        who,
        row["action"],
        row["outcome"],
        row["channel"],
        row["address"] or "-",
    ]
    about = []
    if row["case_id"]:
        about.append(f"case {row['case_id']}")
    if row["target"]:
        about.append(f"account {row['target']}")
    text = "  ".join([*fields, *about])
    detail = " ".join(row["detail"].split())  # one line, whatever was typed
    return f"{text}  {detail}" if detail else text


# --- icpc audit verify ------------------------------------------------------------------------

VERIFY_HELP = """Walk the audit trail's hash chain (records.audit) on the case record's database
(ICPC_DATABASE_URL), on the service host, as `icpc db` does: no person token. Prints "Audit
trail intact: N rows, last hash H" and exits 0; or prints the first broken link (the row's id,
sequence and time, and what is wrong: a hash mismatch is an edited row, a previous_hash
mismatch a row removed or inserted) and exits 1, a finding to investigate. Exit 2: the check
could not be made (no case record, a record behind this release, usage). Note the last hash
somewhere else (a ticket, another system) and give it back with --noted-hash next time: rows
removed from the end of the chain show only that way."""


def add_verify_parser(audit_parser: Any) -> None:
    actions = audit_parser.add_subparsers(dest="audit_action", metavar="verify")
    p = actions.add_parser(
        "verify",
        help="check that no row of the audit trail was edited, removed or inserted",
        description=VERIFY_HELP,
    )
    p.add_argument(
        "--noted-hash",
        metavar="HASH",
        help="a last hash printed by an earlier run: exit 1 unless the chain still holds it",
    )
    p.set_defaults(handler=run_verify)


def run_verify(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from domain.calendar import LONDON
    from records.audit import AuditLog
    from records.database import describe
    from starters import session

    if args.case is not None or args.person is not None:
        raise CommandError("`icpc audit verify` checks the whole trail: no --case or --person")
    store = session.record()
    try:
        report = AuditLog(store.engine).verify(noted_hash=args.noted_hash)
    except SQLAlchemyError as error:
        where = describe(store.engine.url)
        cause = type(getattr(error, "orig", None) or error).__name__
        raise CommandError(f"cannot read the audit trail at {where} ({cause})") from None
    finally:
        store.close()
    head = report.head
    rows = f"{report.rows} row" + ("" if report.rows == 1 else "s")
    if report.broken is None:
        print(f"Audit trail intact: {rows}, last hash {head.row_hash if head else '-'}")
        return 0
    broken = report.broken
    if broken.row is None:
        print(f"Audit trail broken: {broken.fault}: {broken.explanation}")
    else:
        row = broken.row
        when = row.at.astimezone(LONDON).strftime("%Y-%m-%d %H:%M:%S %Z")
        print(
            f"Audit trail broken at row id {row.id} (sequence {row.seq}, {when}):"
            f" {broken.fault}: {broken.explanation}"
        )
    print(f"{rows} intact before it" + (f", last hash {head.row_hash}" if head else ""))
    return 1
