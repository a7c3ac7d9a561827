"""SMTP connections kept open between ``send_emails`` calls in one worker process.

Opening a connection (TCP, EHLO, perhaps STARTTLS and a login) cost more than the message it
then carried: a case start sends one notice, so each start paid for a whole connection. The
pool keeps a few idle connections per set of server settings and lends them out one caller at
a time: a connection is only ever used by the thread that took it, until it is given back.

A connection taken from the pool is checked with NOOP first; one the server has dropped (or
that sat idle past ``IDLE_LIMIT``, as servers drop quiet clients after a few minutes) is
closed and a fresh one made, so the caller never sees a stale connection. A connection that
failed while in use is discarded, never given back. The worker closes the pool on shutdown.

Nothing here logs or raises anything about a message: connections only.
"""

from __future__ import annotations

import smtplib
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from activities.settings import MailSettings

MAX_IDLE = 8  # idle connections kept per server settings (a worker's mail in flight rarely more)
MAX_SERVERS = 4  # server settings kept at once: the least recently used are closed beyond this
IDLE_LIMIT = 60.0  # seconds: an idle connection older than this is closed, not checked

ServerKey = tuple[str, int, bool, str | None, str | None, float]


def server_key(settings: MailSettings) -> ServerKey:
    """What makes two connections interchangeable: the server, how it is reached, who logs in."""
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return (
        settings.smtp_host,
        settings.smtp_port,
        settings.smtp_starttls,
        settings.smtp_username,
        password,
        settings.smtp_timeout_seconds,
    )


def connect(settings: MailSettings) -> smtplib.SMTP:
    """A new connection, greeted (and secured and logged in, when the settings say so)."""
    s = settings
    smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds)
    try:
        smtp.ehlo()
        if s.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if s.smtp_username:
            password = s.smtp_password.get_secret_value() if s.smtp_password else ""
            smtp.login(s.smtp_username, password)
    except BaseException:
        smtp.close()
        raise
    return smtp


def close_quietly(smtp: smtplib.SMTP) -> None:
    """QUIT if the server still listens; drop the socket either way."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _alive(smtp: smtplib.SMTP) -> bool:
    try:
        code, _ = smtp.noop()
    except (smtplib.SMTPException, OSError):
        return False
    return code == 250


class SmtpPool:
    """Idle SMTP connections by server settings; thread-safe."""

    def __init__(
        self,
        opener: Callable[[MailSettings], smtplib.SMTP] = connect,
        *,
        max_idle: int = MAX_IDLE,
        max_servers: int = MAX_SERVERS,
        idle_limit: float = IDLE_LIMIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._open = opener
        self._max_idle = max_idle
        self._max_servers = max_servers
        self._idle_limit = idle_limit
        self._clock = clock
        self._idle: OrderedDict[ServerKey, list[tuple[smtplib.SMTP, float]]] = OrderedDict()
        self._lock = threading.Lock()
        self.opened = 0  # connections made, for tests and benchmarks

    def take(self, settings: MailSettings) -> smtplib.SMTP:
        """A live connection to the server: an idle one that answers NOOP, or a new one."""
        key = server_key(settings)
        while True:
            with self._lock:
                idle = self._idle.get(key)
                if not idle:
                    break
                smtp, since = idle.pop()  # the most recently used: the likeliest to be alive
            # Checked outside the lock: NOOP is a round trip to the server.
            if self._clock() - since < self._idle_limit and _alive(smtp):
                return smtp
            close_quietly(smtp)
        smtp = self._open(settings)
        with self._lock:
            self.opened += 1
        return smtp

    def give_back(self, settings: MailSettings, smtp: smtplib.SMTP) -> None:
        """Keep a connection that ended its use in good order (closed if enough are idle)."""
        key = server_key(settings)
        with self._lock:
            idle = self._idle.setdefault(key, [])
            self._idle.move_to_end(key)
            kept = len(idle) < self._max_idle
            if kept:
                idle.append((smtp, self._clock()))
            evicted = [
                old
                for _ in range(len(self._idle) - self._max_servers)
                for old, _ in self._idle.popitem(last=False)[1]
            ]
        if not kept:
            evicted.append(smtp)
        for old in evicted:  # the settings changed (tests do): the old server's connections
            close_quietly(old)

    def idle_count(self) -> int:
        with self._lock:
            return sum(len(idle) for idle in self._idle.values())

    def close(self) -> None:
        """Close every idle connection (the worker shuts down); the pool stays usable."""
        with self._lock:
            idle = [smtp for connections in self._idle.values() for smtp, _ in connections]
            self._idle.clear()
        for smtp in idle:
            close_quietly(smtp)


# The worker process's pool, shared by every send_emails call in it.
POOL = SmtpPool()
