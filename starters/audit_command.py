"""``icpc audit``: read the audit trail for one case or one person, newest first.

``--case REF`` takes a case reference (every case with that reference: a child may have
several) or a case's workflow id; ``--person ID`` a person's sign-in id, as the one who acted
or as the account changed. One line per row: when (Europe/London), who (role), action,
outcome, channel, address, then the case or account concerned and the detail; ``--json`` gives
the rows as a JSON list.

Only an account administrator reads it: the command acts as the person its token names
(``--token-file``, ``ICPC_PERSON_TOKEN`` or ``ICPC_PERSON_TOKEN_FILE``, see
:mod:`starters.operator`), who must hold the ``admin`` role. Reading the trail is itself
audited (``read_audit``), and so is every refusal (no token, no admin role, an unknown case or
person).

``icpc audit verify`` checks the trail's hash chain instead (:data:`VERIFY_HELP`).
"""

from __future__ import annotations

import argparse
import getpass
import json
from collections.abc import Sequence
from typing import Any

from starters import session
from starters.cli import CommandError
from starters.operator import add_token_argument

DEFAULT_LIMIT = 500


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "audit", help="read the audit trail for a case or a person; verify its hash chain"
    )
    which = p.add_mutually_exclusive_group()  # one of them is required, unless `verify`
    which.add_argument("--case", metavar="REF", help="a case reference (or a case's id)")
    which.add_argument("--person", metavar="ID", help="a person's sign-in id")
    p.add_argument(
        "--limit", type=int, default=DEFAULT_LIMIT, help=f"rows at most ({DEFAULT_LIMIT})"
    )
    p.add_argument("--json", action="store_true", help="the rows as JSON")
    add_token_argument(p)
    p.set_defaults(handler=run)
    add_verify_parser(p)


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def run(args: argparse.Namespace) -> int:

    from records.database import RecordStoreError

    if args.case is None and args.person is None:
        raise CommandError("say which: --case REF or --person ID (or `icpc audit verify`)")
    if not 1 <= args.limit <= 100_000:
        raise CommandError("--limit is 1 to 100000")
    store = session.record()
    try:
        entries = _read(args, store)
    except RecordStoreError as error:
        raise CommandError(str(error)) from None
    finally:
        store.close()
    if args.json:
        print(json.dumps([_as_json(e) for e in entries], indent=2))
    else:
        for entry in entries:
            print(line(entry))
    return 0


def _read(args: argparse.Namespace, store: Any) -> Sequence[Any]:
    """The rows asked for, once the token's person is found to be an administrator; every
    read and every refusal written to the trail itself."""
    from domain.people import ADMIN
    from records.audit import Action, AuditEntry, AuditLog, Channel, Outcome
    from records.people import PeopleStore
    from starters.operator import NO_TOKEN, token_from

    log = AuditLog(store.engine)
    token = token_from(args)
    person = PeopleStore(store.engine).person_for_token(token) if token else None
    about: dict[str, Any] = {}

    def audit(outcome: Outcome, detail: str) -> None:
        log.write(
            AuditEntry(
                action=Action.READ_AUDIT,
                outcome=outcome,
                channel=Channel.CLI,
                actor=person.id if person else None,
                actor_role=ADMIN if person and person.holds(ADMIN) else None,
                detail=f"icpc audit: {detail} (os user {_operator()})",
                **about,
            )
        )

    def refuse(reason: str) -> CommandError:
        audit(Outcome.REFUSED, reason)
        return CommandError(reason)

    if person is None:
        raise refuse(NO_TOKEN if not token else "the person token is unknown or revoked")
    if not person.holds(ADMIN):
        raise refuse("only an account administrator (the admin role) may read the audit trail")
    if args.case is not None:
        reference = args.case.strip()
        case_ids = _case_ids(store, reference)
        about["case_id"] = case_ids[0] if len(case_ids) == 1 else None
        if not case_ids:
            raise refuse(f"no case with the reference {reference!r} in the case record")
        streams = [i for case_id in case_ids for i in (case_id, f"{case_id}-plan")]
        entries = log.read(case_ids=streams, limit=args.limit)
        what = f"case {reference}"
    else:
        target = args.person.strip().lower()
        about["target"] = target
        entries = log.read(actor=target, limit=args.limit)
        if not entries and not _known_person(store, target):
            raise refuse(f"no person {target!r} in the people or the audit trail")
        what = f"person {target}"
    audit(Outcome.OK, f"{what} (rows {len(entries)})")
    return entries


def _case_ids(store: Any, reference: str) -> list[str]:
    """The case ids a reference names; a case id as it is."""
    from records.audit import AuditLog

    ids = [summary.case_id for summary in store.find(reference)]
    if (
        not ids
        and reference.startswith("icpc-")
        and (
            store.summary(reference) is not None
            or AuditLog(store.engine).read(case_id=reference, limit=1)
        )
    ):
        ids = [reference]
    return ids


def _known_person(store: Any, person: str) -> bool:
    from records.people import PeopleStore

    try:
        return PeopleStore(store.engine).get(person) is not None
    except ValueError:  # not even a well-formed id
        return False


def line(entry: Any) -> str:
    """One row, for a terminal: every field present, ``-`` for what is not known."""
    from domain.calendar import LONDON

    when = entry.at.astimezone(LONDON).strftime("%Y-%m-%d %H:%M:%S %Z")
    who = entry.actor or "-"
    if entry.actor_role:
        who += f" ({entry.actor_role})"
    fields: Sequence[str] = [
        when,
        who,
        entry.action.value,
        entry.outcome.value,
        entry.channel.value,
        entry.address or "-",
    ]
    about = []
    if entry.case_id:
        about.append(f"case {entry.case_id}")
    if entry.target:
        about.append(f"account {entry.target}")
    text = "  ".join([*fields, *about])
    detail = " ".join(entry.detail.split())  # one line, whatever was typed
    return f"{text}  {detail}" if detail else text


def _as_json(entry: Any) -> dict[str, Any]:
    return {
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "actor_role": entry.actor_role,
        "action": entry.action.value,
        "outcome": entry.outcome.value,
        "channel": entry.channel.value,
        "address": entry.address,
        "case_id": entry.case_id,
        "target": entry.target,
        "detail": entry.detail,
    }


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
