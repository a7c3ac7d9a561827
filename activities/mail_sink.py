"""A mail sink for development: an SMTP server on loopback that keeps each message as a file.

Every message received is written to the folder as ``<UTC time>-<counter>.eml``, so the names
sort by arrival and any mail client (or a text editor) can open them. Only the file name and a
count are logged, never the addresses or content.
"""

from __future__ import annotations

import ipaddress
import itertools
import os
import socket
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from aiosmtpd.controller import Controller

log = structlog.get_logger("icpc")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class EmlFolder:
    """aiosmtpd handler: writes each message's raw bytes to a new ``.eml`` file."""

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)  # every email: owner-only
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def _name(self) -> str:
        with self._lock:
            number = next(self._counter)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        return f"{stamp}-{os.getpid()}-{number:06d}.eml"

    def store(self, content: bytes) -> Path:
        """Write atomically: a reader never sees half a message."""
        target = self.folder / self._name()
        partial = target.with_suffix(".eml.part")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # owner-only
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        partial.replace(target)
        return target

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        path = self.store(content)
        log.info("mail_stored", file=path.name, recipients=len(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


def start_mail_sink(folder: Path | str, host: str = "127.0.0.1", port: int = 8025) -> Controller:
    """Start the sink in a background thread; call ``.stop()`` on the result to end it."""
    if not is_loopback(host):
        raise ValueError(f"the mail sink only listens on loopback, not {host}")
    controller = Controller(
        EmlFolder(folder),
        hostname=host,
        port=port,
        enable_SMTPUTF8=True,
        ready_timeout=10.0,
    )
    controller.start()
    return controller


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True
