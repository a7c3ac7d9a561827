"""Server-side sessions and the sign-in guard, on SQLite and PostgreSQL: the limits that end a
session, and failed sign-ins counted once each by any number of parallel guesses, in any
number of engines (as in several web processes)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

import records.sessions
import records.signin_guard
from records.database import make_engine, upgrade
from records.schema import WebSessionRow
from records.sessions import Refusal, SessionStore, session_hash
from records.signin_guard import Limits, LockKind, SigninGuard

T0 = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    upgrade(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


class Clock:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = T0
        monkeypatch.setattr(records.sessions, "utcnow", lambda: self.now)
        monkeypatch.setattr(records.signin_guard, "utcnow", lambda: self.now)

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


@pytest.fixture
def sessions(engine: Engine) -> SessionStore:
    return SessionStore(engine, lifetime=timedelta(hours=8), idle=timedelta(minutes=30))


# --- sessions --------------------------------------------------------------------------------


def test_only_the_hash_of_the_id_is_stored(sessions: SessionStore, engine: Engine) -> None:
    session_id, session = sessions.start("tia", {"csrf": "token"})
    assert len(session_id) >= 40 and session.id_hash == session_hash(session_id)
    with engine.connect() as connection:
        stored = connection.execute(select(WebSessionRow.id_hash)).scalars().all()
    assert stored == [session_hash(session_id)]
    loaded = sessions.load(session_id)
    assert loaded.session is not None and loaded.session.data == {"csrf": "token"}
    assert loaded.session.person_id == "tia"


def test_an_unknown_or_malformed_id_signs_nobody_in(sessions: SessionStore) -> None:
    sessions.start("tia")
    for made_up in ("", "x" * 500, "made-up-id", session_hash("made-up-id")):
        assert sessions.load(made_up).refusal is Refusal.UNKNOWN


def test_an_ended_session_stays_ended(sessions: SessionStore) -> None:
    session_id, session = sessions.start("tia")
    sessions.end(session.id_hash)
    for _ in range(2):
        loaded = sessions.load(session_id)
        assert loaded.session is None and loaded.refusal is Refusal.ENDED
        assert loaded.person_id == "tia"
    sessions.save_data(session.id_hash, {"flash": "x"})  # ignored: it is over


def test_the_idle_limit_ends_a_session_not_used_for_that_long(
    sessions: SessionStore, clock: Clock
) -> None:
    session_id, _ = sessions.start("tia")
    clock.advance(minutes=29)
    assert sessions.load(session_id).session is not None  # used: the idle clock starts again
    clock.advance(minutes=29)
    assert sessions.load(session_id).session is not None
    clock.advance(minutes=30)
    assert sessions.load(session_id).refusal is Refusal.IDLE
    clock.advance(seconds=1)
    assert sessions.load(session_id).refusal is Refusal.ENDED  # never comes back


def test_a_session_is_marked_used_at_most_once_a_minute_and_never_lives_longer(
    sessions: SessionStore, engine: Engine, clock: Clock
) -> None:
    session_id, session = sessions.start("tia")

    def last_seen() -> datetime:
        with engine.connect() as connection:
            seen = connection.execute(
                select(WebSessionRow.last_seen_at).where(WebSessionRow.id_hash == session.id_hash)
            ).scalar_one()
        return seen if seen.tzinfo else seen.replace(tzinfo=UTC)

    clock.advance(seconds=59)
    assert sessions.load(session_id).session is not None
    assert last_seen() == T0  # used within the minute: nothing written
    clock.advance(seconds=2)
    assert sessions.load(session_id).session is not None
    assert last_seen() == T0 + timedelta(seconds=61)
    clock.advance(seconds=30)
    assert sessions.load(session_id).session is not None  # not written: 30 s since
    # The idle limit counts from the last use written: a minute sooner at most, never later.
    clock.advance(minutes=30, seconds=-30)
    assert sessions.load(session_id).refusal is Refusal.IDLE


def test_the_absolute_lifetime_ends_a_session_even_when_used(
    sessions: SessionStore, clock: Clock
) -> None:
    session_id, session = sessions.start("tia")
    assert session.expires_at == T0 + timedelta(hours=8)
    for _ in range(8 * 3 - 1):  # used every 20 minutes for 7 hours 40 minutes
        clock.advance(minutes=20)
        assert sessions.load(session_id).session is not None
    clock.advance(minutes=20)
    assert sessions.load(session_id).refusal is Refusal.LIFETIME


def test_ending_all_of_a_persons_sessions_leaves_others_alone(sessions: SessionStore) -> None:
    mine = [sessions.start("tia")[0] for _ in range(3)]
    theirs, _ = sessions.start("hal")
    assert sessions.live_count("tia") == 3
    assert sessions.end_all("tia") == 3
    assert all(sessions.load(s).refusal is Refusal.ENDED for s in mine)
    assert sessions.load(theirs).session is not None


def test_old_rows_are_deleted_when_new_sessions_start(
    sessions: SessionStore, engine: Engine, clock: Clock
) -> None:
    old, _ = sessions.start("tia")
    clock.advance(hours=8 + 25)
    sessions.start("hal")
    assert sessions.load(old).refusal is Refusal.UNKNOWN
    with engine.connect() as connection:
        assert len(connection.execute(select(WebSessionRow.id_hash)).all()) == 1


# --- the sign-in guard -----------------------------------------------------------------------


def test_the_account_locks_at_its_limit_and_the_message_time_is_the_locks_end(
    engine: Engine, clock: Clock
) -> None:
    guard = SigninGuard(engine)
    for n in range(1, 10):
        failure = guard.failed("tia", "192.0.2.1")
        assert failure.lock is None and not failure.tripped, n
    tenth = guard.failed("tia", "192.0.2.1")
    assert tenth.tripped and tenth.lock is not None
    assert tenth.lock.kind is LockKind.ACCOUNT and tenth.lock.value == "tia"
    assert tenth.lock.until == T0 + timedelta(minutes=15)
    # Locked from anywhere; another account from the same address is not.
    lock = guard.locked("tia", "198.51.100.7")
    assert lock is not None and lock.kind is LockKind.ACCOUNT
    assert guard.locked("hal", "192.0.2.1") is None
    clock.advance(minutes=15)
    assert guard.locked("tia", "192.0.2.1") is None  # it runs out
    assert not guard.failed("tia", "192.0.2.1").tripped  # and the count starts again


def test_failures_older_than_the_window_are_not_counted(engine: Engine, clock: Clock) -> None:
    guard = SigninGuard(engine, Limits(account=3, address=100))
    guard.failed("tia", "192.0.2.1")
    guard.failed("tia", "192.0.2.1")
    clock.advance(minutes=16)
    assert guard.failed("tia", "192.0.2.1").lock is None
    assert guard.failed("tia", "192.0.2.1").lock is None
    assert guard.failed("tia", "192.0.2.1").tripped


def test_an_address_locks_across_accounts(engine: Engine) -> None:
    guard = SigninGuard(engine, Limits(account=100, address=5))
    for n in range(5):
        failure = guard.failed(f"user{n}", "192.0.2.9")
    assert failure.tripped and failure.lock is not None
    assert failure.lock.kind is LockKind.ADDRESS and failure.lock.value == "192.0.2.9"
    lock = guard.locked("someone-else", "192.0.2.9")
    assert lock is not None and lock.kind is LockKind.ADDRESS
    assert guard.unlock(LockKind.ADDRESS, "192.0.2.9")
    assert guard.locked("someone-else", "192.0.2.9") is None


def test_parallel_failures_from_several_engines_are_each_counted_once(
    engine: Engine, database_url: str
) -> None:
    """40 guesses at once, through two engines (two web processes): 40 counted, one lockout."""
    other = make_engine(database_url)
    try:
        guards = [SigninGuard(engine), SigninGuard(other)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            failures = list(
                pool.map(lambda n: guards[n % 2].failed("tia", f"192.0.2.{n}"), range(40))
            )
    finally:
        other.dispose()
    assert sum(f.tripped for f in failures) == 1
    lock = SigninGuard(engine).locked("tia", "203.0.113.1")
    assert lock is not None and lock.failures == 40


def test_unlocking_and_success_forget_the_accounts_failures(engine: Engine) -> None:
    guard = SigninGuard(engine, Limits(account=2))
    guard.failed("tia", "192.0.2.1")
    guard.failed("tia", "192.0.2.1")
    assert [(lock.kind, lock.value) for lock in guard.locks()] == [(LockKind.ACCOUNT, "tia")]
    assert guard.unlock(LockKind.ACCOUNT, "tia")
    assert not guard.unlock(LockKind.ACCOUNT, "tia")
    assert guard.locked("tia", "192.0.2.1") is None
    guard.failed("tia", "192.0.2.1")
    guard.succeeded("tia")
    assert guard.failed("tia", "192.0.2.1").lock is None  # counted from one again
