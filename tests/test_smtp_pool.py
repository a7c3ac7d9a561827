"""The worker's kept SMTP connections, against a real SMTP server on loopback.

Every address here is invented.
"""

from __future__ import annotations

import smtplib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

import activities.mail as mail
from activities.mail import send_emails
from activities.settings import MailSettings
from activities.smtp_pool import POOL, SmtpPool
from domain.outbox import EmailPurpose, OutgoingEmail
from tests.conftest import free_port, smtp_on_loopback


@dataclass
class CountingServer:
    """Accepts every message and notes which connection (the client's port) carried it."""

    port: int
    peers: list[Any] = field(default_factory=list)
    quits: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.peers.append(session.peer)
        return "250 Message accepted for delivery"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        self.quits += 1
        return "221 Bye"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[CountingServer]:
    with smtp_on_loopback(monkeypatch, tmp_path, CountingServer(free_port())) as counting:
        try:
            yield counting
        finally:
            POOL.close()  # no connection to a stopped server outlives the test


def settings_for(port: int) -> MailSettings:
    return MailSettings(smtp_host="127.0.0.1", smtp_port=port)


def message(n: int) -> EmailMessage:
    note = EmailMessage()
    note["From"] = "icpc@example.org"
    note["To"] = f"person{n}@example.org"
    note["Subject"] = f"note {n}"
    note.set_content("hello")
    return note


def send(smtp: smtplib.SMTP, n: int) -> None:
    smtp.send_message(message(n))


def notice(n: int) -> list[OutgoingEmail]:
    return [
        OutgoingEmail(
            idempotency_key=f"case-POOL-{n}/started/1",
            case_id=f"case-POOL-{n}",
            purpose=EmailPurpose.NOTICE,
            to=[f"manager{n}@example.org"],
            subject=f"[ICPC POOL-{n}] started",
            body="A case has started.\n",
        )
    ]


def test_a_connection_given_back_carries_the_next_message(server: CountingServer) -> None:
    pool = SmtpPool()
    settings = settings_for(server.port)
    for n in range(3):
        smtp = pool.take(settings)
        send(smtp, n)
        pool.give_back(settings, smtp)

    assert pool.opened == 1
    assert len(server.peers) == 3 and len(set(server.peers)) == 1
    pool.close()
    assert server.quits == 1 and pool.idle_count() == 0


def test_a_connection_the_server_dropped_is_replaced(server: CountingServer) -> None:
    pool = SmtpPool()
    settings = settings_for(server.port)
    smtp = pool.take(settings)
    send(smtp, 1)
    pool.give_back(settings, smtp)
    # The connection is cut (a server restart, a firewall's idle timeout).
    smtp.sock.shutdown(socket.SHUT_RDWR)  # type: ignore[union-attr]

    again = pool.take(settings)  # NOOP fails: a new connection, not an error
    send(again, 2)

    assert pool.opened == 2
    assert len(server.peers) == 2 and server.peers[0] != server.peers[1]
    again.quit()


def test_a_connection_idle_too_long_is_closed_unchecked(server: CountingServer) -> None:
    now = [0.0]
    pool = SmtpPool(idle_limit=60.0, clock=lambda: now[0])
    settings = settings_for(server.port)
    pool.give_back(settings, pool.take(settings))
    now[0] = 61.0

    smtp = pool.take(settings)

    assert pool.opened == 2 and server.quits == 1  # the old one was closed politely
    smtp.quit()


def test_connections_differ_by_server(server: CountingServer) -> None:
    pool = SmtpPool()
    pool.give_back(settings_for(server.port), pool.take(settings_for(server.port)))
    other = MailSettings(
        smtp_host="127.0.0.1", smtp_port=server.port, smtp_username=None, smtp_timeout_seconds=5.0
    )

    pool.take(other).quit()  # other settings: never the connection made for the first

    assert pool.opened == 2
    pool.close()


def test_connections_to_settings_no_longer_used_are_closed(server: CountingServer) -> None:
    pool = SmtpPool(max_servers=1)
    first = settings_for(server.port)
    later = MailSettings(smtp_host="127.0.0.1", smtp_port=server.port, smtp_timeout_seconds=5.0)
    pool.give_back(first, pool.take(first))

    pool.give_back(later, pool.take(later))  # the settings changed: the first kept is closed

    assert server.quits == 1 and pool.idle_count() == 1
    pool.close()


def test_threads_never_share_a_connection(server: CountingServer) -> None:
    pool = SmtpPool(max_idle=4)
    settings = settings_for(server.port)
    in_use: set[int] = set()
    guard = threading.Lock()
    overlaps: list[int] = []

    def work(worker: int) -> None:
        for n in range(10):
            smtp = pool.take(settings)
            with guard:
                if id(smtp) in in_use:
                    overlaps.append(id(smtp))
                in_use.add(id(smtp))
            send(smtp, worker * 100 + n)
            with guard:
                in_use.discard(id(smtp))
            pool.give_back(settings, smtp)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert overlaps == []
    assert len(server.peers) == 60
    assert pool.opened <= 6 and pool.idle_count() <= 4
    pool.close()


async def test_send_emails_calls_share_one_connection(server: CountingServer) -> None:
    POOL.close()
    opened = POOL.opened
    for n in range(4):
        result = await ActivityEnvironment().run(send_emails, notice(n))
        assert len(result.sent) == 1

    assert POOL.opened - opened == 1
    assert len(server.peers) == 4 and len(set(server.peers)) == 1


async def test_a_connection_that_failed_is_not_lent_again(
    server: CountingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    POOL.close()
    real_deliver = mail.deliver

    def broken(smtp: smtplib.SMTP, *args: Any) -> dict[str, Any]:
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr(mail, "deliver", broken)
    with pytest.raises(ApplicationError):
        await ActivityEnvironment().run(send_emails, notice(1))
    assert POOL.idle_count() == 0

    monkeypatch.setattr(mail, "deliver", real_deliver)
    result = await ActivityEnvironment().run(send_emails, notice(1))  # Temporal's retry

    assert result.sent == ["case-POOL-1/started/1"]
    assert len(server.peers) == 1 and POOL.idle_count() == 1
