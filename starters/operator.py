"""The person a command acts as: their own token, which the command hands to the service
(:mod:`starters.service_client`); the service finds the person, checks what they may do
(:mod:`domain.scoping`) and audits every attempt.

The token (``icpc users token ID`` issues one; only its hash is kept) is read from, in this
order: ``--token-file FILE``, ``ICPC_PERSON_TOKEN`` (the token itself),
``ICPC_PERSON_TOKEN_FILE``. A token file must be its owner's only (0600), as an ssh key must.
"""

from __future__ import annotations

import argparse
import os
import stat
from pathlib import Path
from typing import Any

from starters.cli import CommandError

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
