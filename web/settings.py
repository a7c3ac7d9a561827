"""The web form's settings, from the environment.

ICPC_WEB_SECRET            signs session cookies; if unset, one is generated once and kept in
                           var/web-secret (ICPC_WEB_SECRET_FILE), readable by this user only.
ICPC_WEB_SESSION_MINUTES   minutes of inactivity after which a session ends (30).
ICPC_WEB_SECURE_COOKIES    1: cookies only over HTTPS (set it behind a TLS proxy). Default 0.
ICPC_WEB_SIGNIN_DELAY      seconds a failed sign-in waits, doubled per recent failure (1.0).
ICPC_USERS_FILE            the local accounts file (var/users.json).
ICPC_TRUST_PROXY_HEADERS   1: take the user and role from an authenticating reverse proxy's
                           headers instead of local accounts. Off unless set.
ICPC_PROXY_USER_HEADER     the header with the sign-in id (X-Remote-User).
ICPC_PROXY_ROLE_HEADER     the header with the role id (X-Remote-Role).
ICPC_PROXY_NAME_HEADER     the header with a display name (X-Remote-Name), optional.
ICPC_DATABASE_URL          the case record the lists and case pages read (as the workers write
                           it; sqlite:///var/icpc-records.sqlite3).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from records.database import database_url

DEFAULT_SECRET_FILE = Path("var/web-secret")
DEFAULT_USERS_FILE = Path("var/users.json")


@dataclass(frozen=True)
class Settings:
    secret: str
    users_file: Path = DEFAULT_USERS_FILE
    session_minutes: int = 30
    secure_cookies: bool = False
    signin_delay: float = 1.0
    trust_proxy_headers: bool = False
    proxy_user_header: str = "X-Remote-User"
    proxy_role_header: str = "X-Remote-Role"
    proxy_name_header: str = "X-Remote-Name"
    record_url: str = field(default_factory=database_url, repr=False)  # may hold a password


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def ensure_secret_file(path: Path) -> str:
    """The secret kept in ``path``, created (owner-only) on first use."""
    if path.exists():
        secret = path.read_text(encoding="utf-8").strip()
        if secret:
            return secret
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(secret + "\n")
    return secret


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    secret = env.get("ICPC_WEB_SECRET", "").strip()
    if not secret:
        secret = ensure_secret_file(Path(env.get("ICPC_WEB_SECRET_FILE") or DEFAULT_SECRET_FILE))
    minutes = int(env.get("ICPC_WEB_SESSION_MINUTES") or 30)
    if minutes <= 0:
        raise ValueError("ICPC_WEB_SESSION_MINUTES must be a positive number of minutes")
    return Settings(
        secret=secret,
        users_file=Path(env.get("ICPC_USERS_FILE") or DEFAULT_USERS_FILE),
        session_minutes=minutes,
        secure_cookies=_flag(env.get("ICPC_WEB_SECURE_COOKIES")),
        signin_delay=float(env.get("ICPC_WEB_SIGNIN_DELAY") or 1.0),
        trust_proxy_headers=_flag(env.get("ICPC_TRUST_PROXY_HEADERS")),
        proxy_user_header=env.get("ICPC_PROXY_USER_HEADER") or "X-Remote-User",
        proxy_role_header=env.get("ICPC_PROXY_ROLE_HEADER") or "X-Remote-Role",
        proxy_name_header=env.get("ICPC_PROXY_NAME_HEADER") or "X-Remote-Name",
        record_url=database_url(dict(env)),
    )
