"""The person a command acts as: identified by their own token, checked, and audited.

A command that still works on the record itself (``icpc report audit-review``) acts as a
person, never as whoever ``--by`` names (``start``, ``import``, ``decide``, ``show`` and
``cases`` are clients of the service: :mod:`starters.service_client`). The
person is found from a per-person token (``icpc users token ID`` issues one; only its hash is
kept), read from, in this order: ``--token-file FILE``, ``ICPC_PERSON_TOKEN`` (the token
itself), ``ICPC_PERSON_TOKEN_FILE``. A token file must be its owner's only (0600), as an ssh
key must. Who may do what is :mod:`domain.scoping`; every attempt, accepted or refused, is a
row of the audit trail (channel ``cli``), with the operating-system account in its detail.
"""

from __future__ import annotations

import argparse
import getpass
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starters import session
from starters.cli import CommandError

if TYPE_CHECKING:
    from domain.people import Person
    from records.audit import Action, AuditLog, Outcome
    from records.people import PeopleStore
    from records.store import RecordStore

TOKEN_ENV = "ICPC_PERSON_TOKEN"
TOKEN_FILE_ENV = "ICPC_PERSON_TOKEN_FILE"
NO_TOKEN = (
    f"no person token: give --token-file FILE, or set {TOKEN_ENV} (or {TOKEN_FILE_ENV});"
    " `icpc users token ID` issues one"
)


def add_token_argument(parser: Any) -> None:
    parser.add_argument(
        "--token-file",
        type=Path,
        metavar="FILE",
        help=f"your person token (default: {TOKEN_ENV}, or the file {TOKEN_FILE_ENV} names)",
    )


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _read_token_file(path: Path) -> str:
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CommandError(f"token file {path}: {error.strerror}") from None
    if stat.S_IMODE(mode) & 0o077:
        raise CommandError(
            f"token file {path} is open to other users ({stat.S_IMODE(mode):04o}):"
            f" run `chmod 600 {path}`"
        )
    return text.strip()


def token_from(args: argparse.Namespace) -> str | None:
    """The token: ``--token-file``, then ``ICPC_PERSON_TOKEN``, then ``ICPC_PERSON_TOKEN_FILE``."""
    if getattr(args, "token_file", None) is not None:
        return _read_token_file(args.token_file)
    if os.environ.get(TOKEN_ENV, "").strip():
        return os.environ[TOKEN_ENV].strip()
    if os.environ.get(TOKEN_FILE_ENV, "").strip():
        return _read_token_file(Path(os.environ[TOKEN_FILE_ENV].strip()))
    return None


class Refused(Exception):
    """The person may not do this; the message is the plain reason, already audited."""


@dataclass
class Acting:
    """A command acting as ``person``, on the case record (people, cases, audit trail)."""

    person: Person
    record: RecordStore
    people: PeopleStore
    audit: AuditLog
    command: str

    def write(
        self,
        action: Action,
        outcome: Outcome,
        *,
        role: str | None = None,
        case_id: str | None = None,
        detail: str = "",
    ) -> None:
        from records.audit import AuditEntry, Channel

        self.audit.write(
            AuditEntry(
                action=action,
                outcome=outcome,
                channel=Channel.CLI,
                actor=self.person.id,
                actor_role=role,
                case_id=case_id,
                detail=f"icpc {self.command}: {detail} (os user {_os_user()})"[:4000],
            )
        )

    def refuse(
        self,
        action: Action,
        reason: str,
        *,
        role: str | None = None,
        case_id: str | None = None,
    ) -> Refused:
        """Audit the refusal; the caller raises what this returns."""
        from records.audit import Outcome

        self.write(action, Outcome.REFUSED, role=role, case_id=case_id, detail=reason)
        return Refused(reason)


@contextmanager
def acting(args: argparse.Namespace, command: str, action: Action) -> Iterator[Acting]:
    """The person the token names, or a one-line refusal (exit 2), audited either way."""
    from records.audit import AuditEntry, AuditLog, Channel, Outcome
    from records.people import PeopleStore
    from runtime.connection import data_converter
    from runtime.encryption import PayloadKeyError

    try:  # a command that could not encrypt what it sends stops before anything else
        data_converter()
    except PayloadKeyError as error:
        raise CommandError(str(error)) from None
    token = token_from(args)
    record = session.record()
    try:
        audit = AuditLog(record.engine)
        people = PeopleStore(record.engine)
        person = people.person_for_token(token) if token else None
        if person is None:
            reason = (
                NO_TOKEN
                if not token
                else "the person token is unknown, revoked, or its person is disabled"
            )
            audit.write(
                AuditEntry(
                    action=action,
                    outcome=Outcome.REFUSED,
                    channel=Channel.CLI,
                    detail=f"icpc {command}: {reason} (os user {_os_user()})",
                )
            )
            raise CommandError(reason)
        yield Acting(person, record, people, audit, command)
    finally:
        record.close()
