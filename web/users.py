"""Local accounts: a JSON file of sign-in ids, each with an argon2 password hash and a role.

The file holds no plain password. It is written whole to a temporary file and renamed, so a
crash never leaves half an accounts file, and it is readable by its owner only.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

USER_ID = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")
ROLE_ID = re.compile(r"^[a-z][a-z0-9_]*$")
MIN_PASSWORD = 10

_HASHER = PasswordHasher()
# Checked against when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("not a real password, only for timing")


class UserError(ValueError):
    """An account that cannot be added as asked; the message says why."""


@dataclass(frozen=True)
class User:
    user: str  # sign-in id, recorded as the decider
    role: str
    name: str = ""

    @property
    def display_name(self) -> str:
        return self.name or self.user


class UserStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> dict[str, dict[str, str]]:
        if not self.path.exists():
            return {}
        data = json.loads(self.path.read_text(encoding="utf-8"))
        users = data.get("users", {})
        if not isinstance(users, dict):
            raise UserError(f"{self.path} is not an accounts file")
        return users

    def _save(self, users: dict[str, dict[str, str]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".users-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"users": users}, f, indent=2, sort_keys=True)
                f.write("\n")
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def add(
        self, user: str, role: str, password: str, name: str = "", *, replace: bool = False
    ) -> User:
        if not USER_ID.match(user):
            raise UserError(
                "a sign-in id is 1 to 64 lower-case letters, digits, '.', '_', '@' or '-'"
            )
        if not ROLE_ID.match(role):
            raise UserError("a role is a procedure's role id, such as team_manager")
        if len(password) < MIN_PASSWORD:
            raise UserError(f"a password needs at least {MIN_PASSWORD} characters")
        users = self._load()
        if user in users and not replace:
            raise UserError(f"'{user}' already has an account (use --replace to change it)")
        users[user] = {"role": role, "name": name.strip(), "password_hash": _HASHER.hash(password)}
        self._save(users)
        return User(user, role, name.strip())

    def remove(self, user: str) -> bool:
        users = self._load()
        if users.pop(user, None) is None:
            return False
        self._save(users)
        return True

    def get(self, user: str) -> User | None:
        record = self._load().get(user)
        if record is None:
            return None
        return User(user, record["role"], record.get("name", ""))

    def all(self) -> list[User]:
        return [
            User(user, r["role"], r.get("name", "")) for user, r in sorted(self._load().items())
        ]

    def verify(self, user: str, password: str) -> User | None:
        """The account if ``password`` is right; None otherwise (about as slowly either way)."""
        record = self._load().get(user.strip().lower())
        stored = record["password_hash"] if record else _DUMMY_HASH
        try:
            _HASHER.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if record is None:
            return None
        if _HASHER.check_needs_rehash(stored):
            self.add(
                user.strip().lower(), record["role"], password, record.get("name", ""), replace=True
            )
        return User(user.strip().lower(), record["role"], record.get("name", ""))
