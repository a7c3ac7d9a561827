"""The people the web form signs in, as the form reaches them: the people, sessions, sign-in
guard and audit trail in the product's database (:mod:`records.people`,
:mod:`records.sessions`, :mod:`records.signin_guard`, :mod:`records.audit`), made on first use
and called off the event loop; and the few rules the pages share about a person's roles.

A database that cannot be used becomes a plain 503 page; the one-line reason, which names the
database without its password, goes to the log.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from domain.calendar import LONDON
from domain.people import PRODUCT_ROLES, Person
from records.audit import Action, AuditEntry, AuditLog, Channel, Outcome
from records.database import RecordStoreError, ensure_ready, make_engine
from records.people import PeopleStore, normalise_id
from records.sessions import Loaded, Refusal, SessionStore, WebSession
from records.signin_guard import Limits, Lock, LockKind, SigninGuard
from web.problems import Problem

T = TypeVar("T")

log = logging.getLogger(__name__)

UNAVAILABLE_TITLE = "Sorry, signing in is unavailable"
UNAVAILABLE_MESSAGE = "The form cannot reach its accounts just now. Try again later."


class AccountsUnavailable(Problem):
    def __init__(self) -> None:
        super().__init__(503, UNAVAILABLE_TITLE, UNAVAILABLE_MESSAGE)


# --- a person's roles, as the pages use them ------------------------------------------------


def acting_roles(person: Person) -> list[str]:
    """The person's roles in the order the pages try them: the procedures' roles (sorted),
    then the product's own."""
    return sorted(person.roles, key=lambda role: (role in PRODUCT_ROLES, role))


def first_role(person: Person, allowed: Callable[[str], bool]) -> str | None:
    """The first of the person's roles that ``allowed`` accepts: the role they act in."""
    return next((role for role in acting_roles(person) if allowed(role)), None)


def main_role(person: Person) -> str:
    """The one role a page that can name only one shows or filters by."""
    roles = acting_roles(person)
    return roles[0] if roles else ""


def known_roles(procedure_roles: Iterable[str]) -> frozenset[str]:
    """The roles a person may be given: the installed procedures' and the product's."""
    return frozenset(procedure_roles) | frozenset(PRODUCT_ROLES)


# --- signing in -----------------------------------------------------------------------------


class SignInResult(StrEnum):
    SIGNED_IN = "signed_in"
    WRONG = "wrong"  # unknown id or wrong password: the same answer for both
    LOCKED = "locked"
    DISABLED = "disabled"


@dataclass(frozen=True)
class SignIn:
    result: SignInResult
    person: Person | None = None
    session_id: str | None = None  # for the cookie only
    session: WebSession | None = None
    lock: Lock | None = None


def lock_message(lock: Lock) -> str:
    at = lock.until.astimezone(LONDON)
    when = f"{at:%H:%M}" if at.date() == datetime.now(LONDON).date() else f"{at:%H:%M on %-d %B}"
    who = "this sign-in id" if lock.kind is LockKind.ACCOUNT else "your network address"
    return (
        f"There have been too many failed sign-ins for {who}, so signing in is locked."
        f" Try again after {when}, or ask an administrator to unlock it."
    )


DISABLED_MESSAGE = (
    "This account is disabled. Ask an administrator if you need to use the form again."
)


# Seconds: a web process audits at most one cookie naming no session in each such window.
UNKNOWN_AUDIT_WINDOW = 600.0


@dataclass
class _Parts:
    engine: Engine
    people: PeopleStore
    sessions: SessionStore
    guard: SigninGuard
    audit: AuditLog


class Accounts:
    """People, sessions, the sign-in guard and the audit trail on one database, made on first
    use (so a form started before its database exists still starts)."""

    def __init__(
        self,
        url: str,
        *,
        roles: Collection[str] | None,
        lifetime: timedelta,
        idle: timedelta,
        limits: Limits | None = None,
    ) -> None:
        self._url = url
        self._roles = roles
        self._lifetime = lifetime
        self._idle = idle
        self._limits = limits or Limits()
        self._parts: _Parts | None = None
        self._lock = threading.Lock()
        self._unknown_audited_at: float | None = None  # monotonic: the window's audited one

    def parts(self) -> _Parts:
        if self._parts is None:
            with self._lock:
                if self._parts is None:
                    ensure_ready(self._url)
                    engine = make_engine(self._url)
                    self._parts = _Parts(
                        engine=engine,
                        people=PeopleStore(engine, self._roles),
                        sessions=SessionStore(engine, lifetime=self._lifetime, idle=self._idle),
                        guard=SigninGuard(engine, self._limits),
                        audit=AuditLog(engine),
                    )
        return self._parts

    @property
    def people(self) -> PeopleStore:
        return self.parts().people

    @property
    def sessions(self) -> SessionStore:
        return self.parts().sessions

    @property
    def guard(self) -> SigninGuard:
        return self.parts().guard

    def audit(self, entry: AuditEntry) -> None:
        self.parts().audit.write(entry)

    async def run(self, call: Callable[[Accounts], T]) -> T:
        """``call`` in a thread; a 503 page if the database cannot be used."""
        try:
            return await asyncio.to_thread(call, self)
        except RecordStoreError as error:
            log.warning("accounts unavailable: %s", error)
            raise AccountsUnavailable from None
        except SQLAlchemyError as error:
            log.warning("accounts unavailable: %s", type(error).__name__)
            raise AccountsUnavailable from None

    def close(self) -> None:
        with self._lock:
            if self._parts is not None:
                self._parts.engine.dispose()
                self._parts = None

    # --- the steps of a request (each runs in a thread) ---------------------------------

    def load_session(self, session_id: str, address: str) -> tuple[Loaded, Person | None]:
        """The session and its person; a refusal (audited) when either no longer holds."""
        loaded = self.sessions.load(session_id)
        person = None
        if loaded.session is not None:
            person = self.people.get(loaded.session.person_id)
            if person is None or not person.active:
                self.sessions.end(loaded.session.id_hash)
                refusal = Refusal.NO_PERSON if person is None else Refusal.DISABLED
                loaded, person = Loaded(None, refusal, loaded.person_id), None
        if loaded.refusal is not None and self._audits(loaded.refusal):
            self.audit(
                AuditEntry(
                    Action.SESSION_REFUSED,
                    Outcome.REFUSED,
                    Channel.WEB,
                    actor=loaded.person_id,
                    address=address,
                    detail=loaded.refusal.value,
                )
            )
        return loaded, person

    def _audits(self, refusal: Refusal) -> bool:
        """Whether this refusal is written to the audit trail: every one that names a person;
        of cookies naming no session (anyone can send any number), the first in each
        :data:`UNKNOWN_AUDIT_WINDOW` only. Every one is counted (``icpc_web_unknown_sessions``,
        :class:`web.auth.SessionKeeper`)."""
        if refusal is not Refusal.UNKNOWN:
            return True
        now = time.monotonic()
        with self._lock:
            last = self._unknown_audited_at
            if last is not None and now - last < UNKNOWN_AUDIT_WINDOW:
                return False
            self._unknown_audited_at = now
        return True

    def sign_in(self, typed_id: str, password: str, address: str) -> SignIn:
        """Check the lock, then the password; count a failure, start a session on success.
        Every outcome is audited (a failure under the id as typed)."""
        account = normalise_id(typed_id)[:64]

        def failed(result: SignInResult, detail: str, lock: Lock | None = None) -> SignIn:
            self.audit(
                AuditEntry(
                    Action.SIGN_IN_FAILED,
                    Outcome.REFUSED,
                    Channel.WEB,
                    actor=account,
                    address=address,
                    detail=detail,
                )
            )
            return SignIn(result, lock=lock)

        lock = self.guard.locked(account, address)
        if lock is not None:
            return failed(SignInResult.LOCKED, f"locked ({lock.kind.value})", lock)
        person = self.people.verify_password(account, password)
        if person is None:
            failure = self.guard.failed(account, address)
            outcome = failed(SignInResult.WRONG, "wrong sign-in id or password")
            if failure.tripped and failure.lock is not None:
                self.audit(
                    AuditEntry(
                        Action.LOCKOUT,
                        Outcome.REFUSED,
                        Channel.WEB,
                        actor=account,
                        target=failure.lock.value,
                        address=address,
                        detail=f"{failure.lock.kind.value} locked after"
                        f" {failure.lock.failures} failures until {failure.lock.until.isoformat()}",
                    )
                )
            if failure.lock is not None:
                return SignIn(SignInResult.LOCKED, lock=failure.lock)
            return outcome
        if not person.active:
            return failed(SignInResult.DISABLED, "account disabled")
        # A lock set by parallel guesses while this password was being checked still holds.
        lock = self.guard.locked(account, address)
        if lock is not None:
            return failed(SignInResult.LOCKED, f"locked ({lock.kind.value})", lock)
        self.guard.succeeded(account)
        session_id, session = self.sessions.start(person.id)
        self.audit(
            AuditEntry(
                Action.SIGN_IN,
                Outcome.OK,
                Channel.WEB,
                actor=person.id,
                actor_role=main_role(person) or None,
                address=address,
            )
        )
        return SignIn(SignInResult.SIGNED_IN, person, session_id, session)

    def sign_out(self, person: Person, id_hash: str, address: str) -> None:
        self.sessions.end(id_hash)
        self.audit(
            AuditEntry(
                Action.SIGN_OUT,
                Outcome.OK,
                Channel.WEB,
                actor=person.id,
                actor_role=main_role(person) or None,
                address=address,
            )
        )
