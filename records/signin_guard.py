"""Sign-in protection shared by every web process through the database: failed sign-ins are
counted per account (the sign-in id typed, known or not) and per client address, and either
one past its limit within the window locks further attempts until the lock runs out or an
administrator unlocks it.

A failure is counted in one atomic upsert, so any number of parallel guesses, in any number of
processes, are each counted once, and exactly one of them trips the lock. A restart forgets
nothing: the counts are rows.

Blocking (SQLAlchemy, synchronous): call it from a thread when in async code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import case, delete, literal, select
from sqlalchemy.engine import Engine

from records.database import insert_into
from records.schema import SigninFailureRow, UtcDateTime


def utcnow() -> datetime:
    """The clock the guard counts by (tests move it)."""
    return datetime.now(UTC)


class LockKind(StrEnum):
    ACCOUNT = "user"
    ADDRESS = "ip"


def lock_key(kind: LockKind, value: str) -> str:
    return f"{kind.value}:{value}"[:300]


@dataclass(frozen=True)
class Limits:
    account: int = 10  # failures for one sign-in id within the window
    address: int = 50  # failures from one client address within the window
    window: timedelta = timedelta(minutes=15)
    lock: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class Lock:
    kind: LockKind
    value: str  # the sign-in id or the address
    until: datetime
    failures: int


@dataclass(frozen=True)
class Failure:
    """What one counted failure did: the lock now in force, if any, and whether this very
    failure set it (so that a lockout is reported once)."""

    lock: Lock | None
    tripped: bool


class SigninGuard:
    """Failed sign-ins on an engine the caller owns (and disposes of). Thread-safe."""

    def __init__(self, engine: Engine, limits: Limits | None = None) -> None:
        self._engine = engine
        self.limits = limits or Limits()

    def _limit(self, kind: LockKind) -> int:
        return self.limits.account if kind is LockKind.ACCOUNT else self.limits.address

    @staticmethod
    def _keys(account: str, address: str) -> dict[str, tuple[LockKind, str]]:
        return {
            lock_key(LockKind.ACCOUNT, account): (LockKind.ACCOUNT, account),
            lock_key(LockKind.ADDRESS, address): (LockKind.ADDRESS, address),
        }

    def locked(self, account: str, address: str) -> Lock | None:
        """The lock in force for this account or this address (the later-ending one)."""
        keys = self._keys(account, address)
        now = utcnow()
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(SigninFailureRow).where(
                    SigninFailureRow.key.in_(list(keys)),
                    SigninFailureRow.locked_until > now,
                )
            ).all()
            locks = [
                Lock(*keys[row.key], until=row.locked_until, failures=row.failures)
                for row in rows
                if row.locked_until is not None
            ]
        return max(locks, key=lambda lock: lock.until, default=None)

    def failed(self, account: str, address: str) -> Failure:
        """Count one failure against the account and the address."""
        now = utcnow()
        cutoff = now - self.limits.window
        until = now + self.limits.lock
        table = SigninFailureRow.__table__
        tripped = False
        locks: list[Lock] = []
        with self._engine.begin() as connection:
            for key, (kind, value) in self._keys(account, address).items():
                limit = self._limit(kind)
                statement = insert_into(self._engine, table).values(
                    key=key,
                    failures=1,
                    first_at=now,
                    last_at=now,
                    locked_until=until if limit <= 1 else None,
                )
                stale = table.c.first_at < literal(cutoff, UtcDateTime())
                counted = case((stale, 1), else_=table.c.failures + 1)
                statement = statement.on_conflict_do_update(
                    index_elements=["key"],
                    set_={
                        "failures": counted,
                        "first_at": case(
                            (stale, literal(now, UtcDateTime())), else_=table.c.first_at
                        ),
                        "last_at": literal(now, UtcDateTime()),
                        "locked_until": case(
                            (counted >= limit, literal(until, UtcDateTime())),
                            else_=table.c.locked_until,
                        ),
                    },
                ).returning(table.c.failures, table.c.locked_until)
                failures, locked_until = connection.execute(statement).one()
                if failures == limit:
                    tripped = True
                if locked_until is not None and locked_until > now:
                    locks.append(Lock(kind, value, locked_until, failures))
        return Failure(max(locks, key=lambda lock: lock.until, default=None), tripped)

    def succeeded(self, account: str) -> None:
        """A right password: the account's count starts again (the address's does not, so one
        good account cannot be used to reset an address that guesses at others)."""
        self.unlock(LockKind.ACCOUNT, account)

    def unlock(self, kind: LockKind, value: str) -> bool:
        """Forget the failures of an account or an address; whether there were any."""
        with self._engine.begin() as connection:
            result = connection.execute(
                delete(SigninFailureRow).where(SigninFailureRow.key == lock_key(kind, value))
            )
        return bool(result.rowcount)

    def locks(self) -> list[Lock]:
        """Every lock in force now, the latest-ending first."""
        now = utcnow()
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(SigninFailureRow)
                .where(SigninFailureRow.locked_until > now)
                .order_by(SigninFailureRow.locked_until.desc())
            ).all()
            found = []
            for row in rows:
                kind, _, value = row.key.partition(":")
                if row.locked_until is not None and kind in (k.value for k in LockKind):
                    found.append(Lock(LockKind(kind), value, row.locked_until, row.failures))
        return found

    def forget_stale(self) -> int:
        """Delete counts whose window and lock are both over."""
        now = utcnow()
        with self._engine.begin() as connection:
            result = connection.execute(
                delete(SigninFailureRow).where(
                    SigninFailureRow.last_at < now - self.limits.window,
                    (SigninFailureRow.locked_until.is_(None))
                    | (SigninFailureRow.locked_until < now),
                )
            )
        return int(result.rowcount)
