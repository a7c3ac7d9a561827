"""``icpc mailsink``: keep the mail the product sends as ``.eml`` files in a folder."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "mailsink", help="run an SMTP server on loopback that saves each mail as a .eml file"
    )
    p.add_argument("--host", default="127.0.0.1", help="loopback address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8025, help="SMTP port (default 8025)")
    p.add_argument("--dir", type=Path, default=Path("var/mail"), help="folder for .eml files")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from activities.mail_sink import is_loopback, port_is_free, start_mail_sink
    from starters.cli import CommandError
    from starters.file_modes import check_at_start

    if not is_loopback(args.host):
        raise CommandError(f"the mail sink only listens on loopback, not {args.host}")
    if not port_is_free(args.host, args.port):
        raise CommandError(f"port {args.port} on {args.host} is already in use")
    check_at_start("mailsink", [args.dir])  # every email kept: owner-only (0700, 0600)
    controller = start_mail_sink(args.dir, args.host, args.port)
    print(f"Mail sink on smtp://{args.host}:{args.port}, saving to {args.dir}/", flush=True)
    stop = threading.Event()
    # Stop cleanly on Ctrl-C and on SIGTERM (how `icpc dev` ends its children).
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        while not stop.wait(1.0):
            pass
    finally:
        controller.stop()
    return 0
