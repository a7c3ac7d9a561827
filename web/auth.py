"""Who is signed in: a signed, expiring session cookie, or (only when the setting is on) the
identity headers of an authenticating reverse proxy. Failed sign-ins are slowed down.

The session cookie is signed (not encrypted) and holds only the sign-in id, role, display
name, the CSRF token and a one-off message; never case data. It is re-signed on every request,
so it ends after ``session_minutes`` without activity.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from web import csrf
from web.settings import Settings
from web.users import ROLE_ID, User

COOKIE = "icpc_session"
_PROXY_USER = re.compile(r"^[^\x00-\x1f\x7f]{1,200}$")


class SessionCodec:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._serializer = URLSafeTimedSerializer(settings.secret, salt="icpc-web-session")

    @property
    def max_age(self) -> int:
        return self.settings.session_minutes * 60

    def load(self, request: Request) -> tuple[dict[str, Any], bool]:
        """The session, and whether an earlier one had expired."""
        raw = request.cookies.get(COOKIE)
        if not raw:
            return {}, False
        try:
            data = self._serializer.loads(raw, max_age=self.max_age)
        except SignatureExpired:
            return {}, True
        except BadSignature:
            return {}, False
        return (data if isinstance(data, dict) else {}), False

    def save(self, response: Response, session: dict[str, Any]) -> None:
        if not session:
            response.delete_cookie(COOKIE, path="/")
            return
        response.set_cookie(
            COOKIE,
            self._serializer.dumps(session),
            max_age=self.max_age,
            path="/",
            httponly=True,
            secure=self.settings.secure_cookies,
            samesite="lax",
        )


def ensure_csrf(session: dict[str, Any]) -> str:
    token = session.get("csrf")
    if not isinstance(token, str) or not token:
        token = csrf.new_token()
        session["csrf"] = token
    return token


def sign_in(session: dict[str, Any], user: User) -> None:
    """A fresh session for ``user``: nothing from before sign-in is carried over."""
    session.clear()
    session.update(u=user.user, r=user.role, n=user.name, csrf=csrf.new_token())


def current_user(request: Request, settings: Settings, session: dict[str, Any]) -> User | None:
    if settings.trust_proxy_headers:
        name = request.headers.get(settings.proxy_user_header, "").strip()
        role = request.headers.get(settings.proxy_role_header, "").strip()
        if not _PROXY_USER.match(name) or not ROLE_ID.match(role):
            return None
        display = request.headers.get(settings.proxy_name_header, "").strip()
        return User(name, role, display if _PROXY_USER.match(display) else "")
    signed_in, signed_role = session.get("u"), session.get("r")
    if not isinstance(signed_in, str) or not isinstance(signed_role, str):
        return None
    if not signed_in or not signed_role:
        return None
    shown = session.get("n")
    return User(signed_in, signed_role, shown if isinstance(shown, str) else "")


@dataclass
class SignInThrottle:
    """Slows failed sign-ins: each failure for the same account or address waits longer.

    The wait is ``base`` seconds after a first failure, doubling with each further failure in
    the last ``window`` seconds, up to ``cap``. In memory: one process, forgotten at restart.
    """

    base: float = 1.0
    cap: float = 30.0
    window: float = 900.0
    _failures: dict[str, tuple[int, float]] = field(default_factory=dict)

    def _count(self, key: str, now: float) -> int:
        count, last = self._failures.get(key, (0, 0.0))
        return count if now - last < self.window else 0

    def delay_for(self, *keys: str) -> float:
        now = time.monotonic()
        count = max((self._count(k, now) for k in keys), default=0)
        if count <= 0 or self.base <= 0:
            return 0.0
        return float(min(self.cap, self.base * 2 ** (count - 1)))

    def failed(self, *keys: str) -> float:
        """Record a failure; the seconds to wait before answering."""
        now = time.monotonic()
        if len(self._failures) > 10_000:  # forget the oldest rather than grow without bound
            for key, (_, last) in list(self._failures.items()):
                if now - last >= self.window:
                    del self._failures[key]
        for key in keys:
            self._failures[key] = (self._count(key, now) + 1, now)
        return self.delay_for(*keys)

    def succeeded(self, *keys: str) -> None:
        for key in keys:
            self._failures.pop(key, None)

    async def wait_after_failure(self, *keys: str) -> None:
        delay = self.failed(*keys)
        if delay:
            await asyncio.sleep(delay)
