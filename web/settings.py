"""The web form's settings, from the environment.

ICPC_WEB_SECRET            signs the pre-sign-in cookie (the sign-in form's CSRF token, a
                           one-off message); if unset, one is generated once and kept in
                           var/web-secret (ICPC_WEB_SECRET_FILE), readable by this user only.
ICPC_WEB_SESSION_MINUTES   minutes of inactivity after which a session ends (30).
ICPC_WEB_SESSION_HOURS     hours after sign-in at which a session ends, used or not (8).
ICPC_WEB_SECURE_COOKIES    1: cookies only over HTTPS (set it behind a TLS proxy). Default 0.
ICPC_WEB_SIGNIN_DELAY      seconds a failed sign-in waits in this process, doubled per recent
                           failure up to a few seconds (1.0): a small extra slowdown; the
                           lockout kept in the database is the real control.
ICPC_TRUSTED_PROXY         1: the form is behind a reverse proxy, so the client's address (for
                           sign-in lockouts and the audit trail) is the right-most address in
                           X-Forwarded-For that is not a proxy's. Off unless set.
ICPC_TRUST_PROXY_HEADERS   1: take the user and role from an authenticating reverse proxy's
                           headers instead of local accounts. Off unless set.
ICPC_PROXY_USER_HEADER     the header with the sign-in id (X-Remote-User).
ICPC_PROXY_ROLE_HEADER     the header with the role id (X-Remote-Role).
ICPC_PROXY_NAME_HEADER     the header with a display name (X-Remote-Name), optional.
ICPC_PROXY_ROLES_FROM_HEADER 1: the person's roles are the role header's (comma-separated,
                           known role ids), not the people table's. The person must exist in
                           the people table and be active either way. Off unless set.
ICPC_OIDC_*                single sign-on with OpenID Connect: see :mod:`web.oidc`.
ICPC_DATABASE_URL          the case record the lists and case pages read (as the workers write
                           it; sqlite:///var/icpc-records.sqlite3). People, sessions, sign-in
                           failures and the audit trail live in the same database.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from records.database import database_url
from records.signin_guard import Limits
from web.oidc_settings import OidcSettings, load_oidc_settings

DEFAULT_SECRET_FILE = Path("var/web-secret")


@dataclass(frozen=True)
class Settings:
    secret: str
    session_minutes: int = 30  # the idle limit
    session_hours: int = 8  # the absolute lifetime
    secure_cookies: bool = False
    signin_delay: float = 1.0
    signin_limits: Limits = field(default_factory=Limits)
    trusted_proxy: bool = False
    trust_proxy_headers: bool = False
    proxy_user_header: str = "X-Remote-User"
    proxy_role_header: str = "X-Remote-Role"
    proxy_name_header: str = "X-Remote-Name"
    proxy_roles_from_header: bool = False  # roles from the proxy's header, not the people table
    oidc: OidcSettings | None = None  # single sign-on with OpenID Connect, when configured
    record_url: str = field(default_factory=database_url, repr=False)  # may hold a password
    # Where people, sessions, sign-in failures and the audit trail live: the case record's
    # database unless given (tests give each their own).
    accounts_url: str | None = field(default=None, repr=False)

    @property
    def people_url(self) -> str:
        return self.accounts_url or self.record_url


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def ensure_secret_file(path: Path) -> str:
    """The secret kept in ``path``, created (owner-only) on first use."""
    if path.exists():
        secret = path.read_text(encoding="utf-8").strip()
        if secret:
            return secret
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(secret + "\n")
    return secret


def _positive(env: Mapping[str, str], name: str, default: int, unit: str) -> int:
    text = (env.get(name) or "").strip() or str(default)
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise ValueError(f"{name} must be a positive whole number of {unit}")
    return value


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    secret = env.get("ICPC_WEB_SECRET", "").strip()
    if not secret:
        secret = ensure_secret_file(Path(env.get("ICPC_WEB_SECRET_FILE") or DEFAULT_SECRET_FILE))

    oidc = load_oidc_settings(env)
    trust_proxy_headers = _flag(env.get("ICPC_TRUST_PROXY_HEADERS"))
    if oidc is not None and trust_proxy_headers:
        raise ValueError("ICPC_OIDC_ISSUER and ICPC_TRUST_PROXY_HEADERS=1 exclude each other")
    return Settings(
        secret=secret,
        session_minutes=_positive(env, "ICPC_WEB_SESSION_MINUTES", 30, "minutes"),
        session_hours=_positive(env, "ICPC_WEB_SESSION_HOURS", 8, "hours"),
        secure_cookies=_flag(env.get("ICPC_WEB_SECURE_COOKIES")),
        signin_delay=float(env.get("ICPC_WEB_SIGNIN_DELAY") or 1.0),
        trusted_proxy=_flag(env.get("ICPC_TRUSTED_PROXY")),
        trust_proxy_headers=trust_proxy_headers,
        proxy_roles_from_header=_flag(env.get("ICPC_PROXY_ROLES_FROM_HEADER")),
        oidc=oidc,
        proxy_user_header=env.get("ICPC_PROXY_USER_HEADER") or "X-Remote-User",
        proxy_role_header=env.get("ICPC_PROXY_ROLE_HEADER") or "X-Remote-Role",
        proxy_name_header=env.get("ICPC_PROXY_NAME_HEADER") or "X-Remote-Name",
        record_url=database_url(dict(env)),
    )
