"""Which passwords a local account may have, after the NCSC's password guidance: a minimum
length (no composition rules, no expiry), and none of the commonest passwords, compared
without regard to case. Each refusal is one plain line that says what to do instead.

The common passwords are a maintained list shipped as data beside this module
(``common-passwords.txt``: its first line names its source and licence). Reading that file is
this module's one read, done once, like loading a table of constants.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import cache
from pathlib import Path

MIN_LENGTH = 10
MAX_LENGTH = 256  # long passphrases are welcome; this only bounds the work of hashing one
COMMON_PASSWORDS = Path(__file__).with_name("common-passwords.txt")

TOO_SHORT = f"a password needs at least {MIN_LENGTH} characters"
TOO_LONG = f"a password can have at most {MAX_LENGTH} characters"
TOO_COMMON = (
    "that password is one of the most commonly used passwords, which attackers try first:"
    " choose another (three random words make a good one)"
)
SAME_AS_ID = "a password must not be the sign-in id: choose another"


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list, lower-cased (the first line is its header)."""
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()[1:]
    return frozenset(line.strip().lower() for line in lines if line.strip())


def password_problem(
    password: str, person_id: str = "", common: Collection[str] | None = None
) -> str | None:
    """Why ``password`` may not be used, in one line; None when it may."""
    if len(password) < MIN_LENGTH:
        return TOO_SHORT
    if len(password) > MAX_LENGTH:
        return TOO_LONG
    folded = password.strip().lower()
    if folded in (common_passwords() if common is None else common):
        return TOO_COMMON
    if person_id and folded == person_id.strip().lower():
        return SAME_AS_ID
    return None
