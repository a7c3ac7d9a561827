"""Server-side web sessions: the cookie carries only an opaque random id; the database keeps
its sha256, the person, when it started and was last used, when it ends whatever happens (the
absolute lifetime), when it was ended (sign-out), and a small JSON dict (the CSRF token, a
one-off message).

Every request loads its session here, so a sign-out ends it on the very next request, in every
process sharing the database. A session is refused when its id is unknown (a forged or stale
cookie), when it was ended, when it has not been used for the idle limit, or when it reached
its absolute lifetime, used or not.

Blocking (SQLAlchemy, synchronous): call it from a thread when in async code.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.engine import Engine

from records.schema import WebSessionRow

ID_BYTES = 32
KEEP_ENDED = timedelta(days=1)  # ended and expired rows are deleted this long after
# A session used again within this long is not marked as used again: a write (and a commit to
# disk) on every request cost more than the rest of the session's work. The idle limit then
# counts from up to this long before the last use, so a session can end that much sooner,
# never later.
TOUCH_EVERY = timedelta(minutes=1)


def utcnow() -> datetime:
    """The clock sessions are kept by (tests move it)."""
    return datetime.now(UTC)


def session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


class Refusal(StrEnum):
    """Why a session id did not sign anyone in."""

    UNKNOWN = "unknown session"  # never issued here, or deleted long after it ended
    ENDED = "session ended"  # signed out, or ended by an administrator
    IDLE = "idle limit reached"
    LIFETIME = "absolute lifetime reached"
    NO_PERSON = "account removed"
    DISABLED = "account disabled"


@dataclass
class WebSession:
    id_hash: str
    person_id: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Loaded:
    """A session that signs its person in, or why the id did not (with the person it named)."""

    session: WebSession | None
    refusal: Refusal | None = None
    person_id: str | None = None


class SessionStore:
    """Sessions on an engine the caller owns (and disposes of). Thread-safe."""

    def __init__(self, engine: Engine, *, lifetime: timedelta, idle: timedelta) -> None:
        if lifetime <= timedelta(0) or idle <= timedelta(0):
            raise ValueError("session limits must be positive")
        self._engine = engine
        self.lifetime = lifetime
        self.idle = idle

    def start(self, person_id: str, data: dict[str, Any] | None = None) -> tuple[str, WebSession]:
        """A new session for ``person_id``: its id (for the cookie only) and the session."""
        session_id = secrets.token_urlsafe(ID_BYTES)
        now = utcnow()
        session = WebSession(
            id_hash=session_hash(session_id),
            person_id=person_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + self.lifetime,
            data=dict(data or {}),
        )
        with self._engine.begin() as connection:
            connection.execute(
                delete(WebSessionRow).where(
                    or_(
                        WebSessionRow.expires_at < now - KEEP_ENDED,
                        WebSessionRow.ended_at < now - KEEP_ENDED,
                        WebSessionRow.last_seen_at < now - self.idle - KEEP_ENDED,
                    )
                )
            )
            connection.execute(
                insert(WebSessionRow).values(
                    id_hash=session.id_hash,
                    person_id=person_id,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=session.expires_at,
                    ended_at=None,
                    data=session.data,
                )
            )
        return session_id, session

    def load(self, session_id: str) -> Loaded:
        """The session the id names, marked as used now; or why it signs nobody in. A session
        found idle or past its lifetime is ended, so it can never come back."""
        if not session_id or len(session_id) > 200:
            return Loaded(None, Refusal.UNKNOWN)
        id_hash = session_hash(session_id)
        now = utcnow()
        with self._engine.connect() as connection:
            row = connection.execute(
                select(WebSessionRow).where(WebSessionRow.id_hash == id_hash)
            ).one_or_none()
        if row is None:
            return Loaded(None, Refusal.UNKNOWN)
        refusal: Refusal | None = None
        if row.ended_at is not None:
            refusal = Refusal.ENDED
        elif now >= row.expires_at:
            refusal = Refusal.LIFETIME
        elif now - row.last_seen_at >= self.idle:
            refusal = Refusal.IDLE
        if refusal is None and now - row.last_seen_at < TOUCH_EVERY:
            return Loaded(self._session(row, row.last_seen_at), None, row.person_id)
        live = (WebSessionRow.id_hash == id_hash) & WebSessionRow.ended_at.is_(None)
        # Written apart from the read (never a read upgraded to a write in one SQLite
        # transaction); a session ended meanwhile by a sign-out elsewhere is left ended.
        with self._engine.begin() as connection:
            if refusal is not None:
                if row.ended_at is None:
                    connection.execute(update(WebSessionRow).where(live).values(ended_at=now))
                return Loaded(None, refusal, row.person_id)
            touched = connection.execute(
                update(WebSessionRow).where(live).values(last_seen_at=now)
            ).rowcount
        if not touched:
            return Loaded(None, Refusal.ENDED, row.person_id)
        return Loaded(self._session(row, now), None, row.person_id)

    @staticmethod
    def _session(row: Any, last_seen_at: datetime) -> WebSession:
        return WebSession(
            id_hash=row.id_hash,
            person_id=row.person_id,
            created_at=row.created_at,
            last_seen_at=last_seen_at,
            expires_at=row.expires_at,
            data=dict(row.data or {}),
        )

    def save_data(self, id_hash: str, data: dict[str, Any]) -> None:
        """Keep the session's dict (only while the session is live)."""
        with self._engine.begin() as connection:
            connection.execute(
                update(WebSessionRow)
                .where(WebSessionRow.id_hash == id_hash, WebSessionRow.ended_at.is_(None))
                .values(data=data)
            )

    def end(self, id_hash: str) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                update(WebSessionRow)
                .where(WebSessionRow.id_hash == id_hash, WebSessionRow.ended_at.is_(None))
                .values(ended_at=utcnow())
            )

    def end_all(self, person_id: str) -> int:
        """End every live session of the person (a password reset, a removal)."""
        with self._engine.begin() as connection:
            result = connection.execute(
                update(WebSessionRow)
                .where(WebSessionRow.person_id == person_id, WebSessionRow.ended_at.is_(None))
                .values(ended_at=utcnow())
            )
        return int(result.rowcount)

    def live_count(self, person_id: str) -> int:
        now = utcnow()
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(WebSessionRow.id_hash).where(
                    WebSessionRow.person_id == person_id,
                    WebSessionRow.ended_at.is_(None),
                    WebSessionRow.expires_at > now,
                    WebSessionRow.last_seen_at > now - self.idle,
                )
            ).all()
        return len(rows)
