"""Who is signed in, on every request: a server-side session, loaded from the database with
its person each time (or, only when the setting is on, the identity headers of an
authenticating reverse proxy).

Two cookies, both HttpOnly and SameSite=Lax:

- ``icpc_session`` carries only an opaque random id. The database keeps its sha256 and the
  session (:mod:`records.sessions`); every request loads the session and then the person, so a
  sign-out, an ended session, a removed or disabled account, or a change of roles or teams
  takes effect on the very next request, in every process. An id the database does not know
  (forged, or long gone) is simply "not signed in", and the cookie is deleted.
- ``icpc_signin`` is the session before sign-in: a signed (not encrypted) cookie that holds
  only the sign-in form's CSRF token, a one-off "you were signed out" note and, while a single
  sign-on is under way, its state, nonce and PKCE verifier (:mod:`web.oidc`); never who anyone
  is. It is dropped at sign-in, where the CSRF token changes.

With ``ICPC_TRUST_PROXY_HEADERS=1`` the person is the one the proxy's user header names, looked
up in the people table on every request: someone unknown or disabled is refused (403, audited),
and their roles are the table's unless ``ICPC_PROXY_ROLES_FROM_HEADER=1``.

The client's address, for the sign-in guard and the audit trail, is the peer's, or with
``ICPC_TRUSTED_PROXY=1`` the right-most address in X-Forwarded-For that is not a proxy's.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
import time
from dataclasses import dataclass, field, replace
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from domain.people import PERSON_ID, ROLE_ID, Person
from records.audit import Action, AuditEntry, Channel, Outcome
from records.people import normalise_id
from records.sessions import Refusal
from web import csrf
from web.problems import Problem
from web.settings import Settings
from web.users import DISABLED_MESSAGE, Accounts

COOKIE = "icpc_session"
SIGNIN_COOKIE = "icpc_signin"
SIGNED_OUT = "signed_out"  # in the pre-sign-in session: why the last session ended
SSO_FLOW = "oidc"  # in the pre-sign-in session: a single sign-on under way (web.oidc.FLOW_KEY)
# Who stated why they decode case data (web.codec); behind a proxy, kept in this cookie.
CODEC_REASON = "codec_reason"
_PROXY_USER = re.compile(r"^[^\x00-\x1f\x7f]{1,200}$")


# --- the client's address ---------------------------------------------------------------------


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def client_address(request: Request, settings: Settings) -> str:
    """The client's address: the peer's; behind a trusted proxy, the right-most hop in
    X-Forwarded-For that is not the proxy itself (nor another proxy on loopback)."""
    peer = request.client.host if request.client else "-"
    if not settings.trusted_proxy:
        return peer
    hops = [
        hop for header in request.headers.getlist("x-forwarded-for") for hop in header.split(",")
    ]
    proxy = _address(peer)
    for hop in reversed(hops):
        found = _address(hop)
        if found is None:
            return peer  # the proxy appends what it saw: an unreadable hop is not to be trusted
        if found == proxy or found.is_loopback:
            continue
        return str(found)
    return peer


# --- the session before sign-in -----------------------------------------------------------------


class SignInCookie:
    """The signed pre-sign-in cookie: a CSRF token and a one-off note, for an hour at most."""

    MAX_AGE = 3600

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._serializer = URLSafeTimedSerializer(settings.secret, salt="icpc-web-signin")

    def load(self, request: Request) -> dict[str, Any]:
        raw = request.cookies.get(SIGNIN_COOKIE)
        if not raw:
            return {}
        try:
            data = self._serializer.loads(raw, max_age=self.MAX_AGE)
        except BadSignature:  # expired ones included
            return {}
        if not isinstance(data, dict):
            return {}
        # Only what this cookie may hold: never anyone's identity.
        return {k: v for k, v in data.items() if k in ("csrf", SIGNED_OUT, SSO_FLOW, CODEC_REASON)}

    def save(self, request: Request, response: Response, data: dict[str, Any]) -> None:
        if not data:
            if SIGNIN_COOKIE in request.cookies:
                response.delete_cookie(SIGNIN_COOKIE, path="/")
            return
        response.set_cookie(
            SIGNIN_COOKIE,
            self._serializer.dumps(data),
            max_age=self.MAX_AGE,
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


@dataclass(frozen=True)
class ProxyIdentity:
    """Who an authenticating reverse proxy's headers name (not yet looked up)."""

    person_id: str
    roles: frozenset[str]  # the role header's well-formed role ids
    display_name: str


def proxy_identity(request: Request, settings: Settings) -> ProxyIdentity | None:
    """The sign-in id (and role ids) the proxy's headers name; None without a user header.
    An id no person could have is looked up all the same, and refused (audited)."""
    name = normalise_id(request.headers.get(settings.proxy_user_header, ""))
    if not _PROXY_USER.match(name):  # none, or unprintable: nobody
        return None
    roles = request.headers.get(settings.proxy_role_header, "")
    display = request.headers.get(settings.proxy_name_header, "").strip()
    return ProxyIdentity(
        person_id=name,
        roles=frozenset(r for r in (x.strip() for x in roles.split(",")) if ROLE_ID.match(r)),
        display_name=display if _PROXY_USER.match(display) else "",
    )


PROXY_NO_ACCOUNT = (
    "You do not have an account for this form",
    "Your organisation signed you in, but this form has no account for you. Ask the person who"
    " looks after this service to add one.",
)
PROXY_DISABLED = ("Your account is disabled", DISABLED_MESSAGE)
PROXY_NO_ROLE = (
    "You have no role in this form",
    "Your organisation signed you in, but gives you no role this form knows. Ask your IT"
    " service desk or the person who looks after this service.",
)


def proxy_person(accounts: Accounts, settings: Settings, who: ProxyIdentity, where: str) -> Person:
    """The person the proxy names, from the people table: they must exist and be active; their
    roles are the table's, or the header's with ``proxy_roles_from_header``. A refusal is
    audited and raised as a 403 page. Blocking: run through :meth:`Accounts.run`."""
    person = accounts.people.get(who.person_id) if PERSON_ID.match(who.person_id) else None
    refusal: tuple[str, str] | None = None
    detail = ""
    if person is None:
        refusal, detail = PROXY_NO_ACCOUNT, "proxy headers: no such person"
    elif not person.active:
        refusal, detail = PROXY_DISABLED, "proxy headers: account disabled"
    elif settings.proxy_roles_from_header:
        known = accounts.people.known_roles
        roles = frozenset(r for r in who.roles if known is None or r in known)
        if not roles:
            refusal, detail = PROXY_NO_ROLE, "proxy headers: no known role"
        else:
            person = replace(person, roles=roles)
    if refusal is not None or person is None:
        accounts.audit(
            AuditEntry(
                Action.SESSION_REFUSED,
                Outcome.REFUSED,
                Channel.WEB,
                actor=who.person_id[:64],
                address=where,
                detail=detail,
            )
        )
        title, message = refusal or PROXY_NO_ACCOUNT
        raise Problem(403, title, message)
    if who.display_name and not person.name:
        person = replace(person, name=who.display_name)
    return person


# --- the session of a request ---------------------------------------------------------------------


def _snapshot(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, default=str)


@dataclass
class RequestSession:
    """What the request's session is: ``request.state.auth``. ``request.state.session`` is its
    data (a dict the pages read and write) and ``request.state.user`` its person."""

    session_id: str | None = None  # the cookie's value, while signed in
    id_hash: str | None = None
    saved: str = ""  # the data as loaded, so that only a change is written back
    address: str = "-"
    refusal: Refusal | None = None


class SessionKeeper:
    """Loads each request's session and person, and keeps what changed."""

    def __init__(self, settings: Settings, accounts: Accounts) -> None:
        self.settings = settings
        self.accounts = accounts
        self.signin_cookie = SignInCookie(settings)

    async def open(self, request: Request) -> None:
        auth = RequestSession(address=client_address(request, self.settings))
        request.state.auth = auth
        request.state.session = {}
        request.state.user = None
        before = self.signin_cookie.load(request)
        if self.settings.trust_proxy_headers:
            request.state.session = before
            who = proxy_identity(request, self.settings)
            if who is not None:
                settings, where = self.settings, auth.address
                request.state.user = await self.accounts.run(
                    lambda a: proxy_person(a, settings, who, where)
                )
            return
        raw = request.cookies.get(COOKIE)
        if raw:
            loaded, person = await self.accounts.run(lambda a: a.load_session(raw, auth.address))
            if loaded.session is not None and person is not None:
                auth.session_id, auth.id_hash = raw, loaded.session.id_hash
                auth.saved = _snapshot(loaded.session.data)
                request.state.session = loaded.session.data
                request.state.user = person
                return
            auth.refusal = loaded.refusal
            if loaded.refusal is Refusal.UNKNOWN:
                request.app.state.metrics.unknown_sessions.inc()
            if loaded.refusal in (Refusal.IDLE, Refusal.LIFETIME):  # told once, at sign-in
                before[SIGNED_OUT] = loaded.refusal.name.lower()
        request.state.session = before

    def signed_in(self, request: Request, session_id: str, id_hash: str, person: Person) -> None:
        """The request now has a new session (made by :meth:`Accounts.sign_in`)."""
        auth: RequestSession = request.state.auth
        data = {"csrf": csrf.new_token()}
        auth.session_id, auth.id_hash, auth.saved = session_id, id_hash, ""
        request.state.session = data
        request.state.user = person

    def signed_out(self, request: Request) -> None:
        auth: RequestSession = request.state.auth
        auth.session_id = auth.id_hash = None
        request.state.session = {}
        request.state.user = None

    async def close(self, request: Request, response: Response) -> None:
        auth: RequestSession | None = getattr(request.state, "auth", None)
        if auth is None:
            return
        data: dict[str, Any] = request.state.session
        if auth.session_id is not None and auth.id_hash is not None:
            if _snapshot(data) != auth.saved:
                id_hash = auth.id_hash
                await self.accounts.run(lambda a: a.sessions.save_data(id_hash, data))
            response.set_cookie(
                COOKIE,
                auth.session_id,
                max_age=self.settings.session_minutes * 60,
                path="/",
                httponly=True,
                secure=self.settings.secure_cookies,
                samesite="lax",
            )
            if SIGNIN_COOKIE in request.cookies:
                response.delete_cookie(SIGNIN_COOKIE, path="/")
            return
        if COOKIE in request.cookies:
            response.delete_cookie(COOKIE, path="/")
        self.signin_cookie.save(request, response, data)


# --- a small extra slowdown in this process -------------------------------------------------------


@dataclass
class SignInThrottle:
    """Slows failed sign-ins: each failure for the same account or address waits longer.

    The wait is ``base`` seconds after a first failure, doubling with each further failure in
    the last ``window`` seconds, up to ``cap``. In memory, one process: only an extra
    slowdown; the lockout the database keeps (:mod:`records.signin_guard`) is the control.
    """

    base: float = 1.0
    cap: float = 5.0
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
