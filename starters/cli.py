"""The ``icpc`` command: one entry point, one subcommand per job.

Each subcommand lives in its own module and registers itself through ``add_parser``; this
file only wires them together and turns expected errors into one plain line, not a traceback.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import importlib
import os
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

# Modules that each define ``add_parser(subparsers)``; the parser's ``handler`` does the work.
COMMAND_MODULES = [
    "starters.procedures_command",
    "starters.worker_command",
    "starters.case_commands",
    "starters.reading_commands",
    "starters.mailsink_command",
    "starters.dev_command",
    "starters.web_command",
    "starters.users_command",
    "starters.db_command",
    "starters.audit_command",
    "starters.report_command",
    "starters.simulate_command",
]


class CommandError(Exception):
    """An expected failure the user can fix; printed as one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="icpc", description="Book Initial Child Protection Conferences on time."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:  # the process is this command (the ``icpc`` script): see ``leave``
        leave(status_of(sys.argv[1:]))
    from domain.procedure import ProcedureError
    from starters.file_modes import owner_only_files

    args = build_parser().parse_args(argv)
    logs_to_stderr()
    try:
        with owner_only_files():  # what a command (or its children) creates: 0600, 0700
            result = args.handler(args)
    except (CommandError, ProcedureError) as error:
        print(f"icpc {args.command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return int(result or 0)


def logs_to_stderr() -> None:
    """Every command's log lines (the audit trail's among them) go to standard error: its
    output is its result alone (``icpc users token ID > file`` holds the token only).
    Unconfigured, structlog prints to standard output."""
    import structlog

    from runtime.log_setup import configure_logging

    if not structlog.is_configured():
        configure_logging()


def status_of(argv: Sequence[str]) -> int:
    """The command's exit status: ``main``'s, argparse's (usage, --help), or 1 with the
    traceback for an error no command expected."""
    try:
        return main(argv)
    except SystemExit as exit_:
        if exit_.code is None or isinstance(exit_.code, int):
            return exit_.code or 0
        print(exit_.code, file=sys.stderr)
        return 1
    except BrokenPipeError:  # whoever read the output stopped early (``icpc cases | head``)
        return 1
    except Exception:
        traceback.print_exc()
        return 1


def leave(status: int) -> NoReturn:
    """End the process with the command's own status, once its work is done.

    The Temporal SDK's Rust runtime keeps threads that outlive the command's event loop; when
    the interpreter tears itself down they may still call into it, and about one command in
    ten printed its result and then aborted ("Fatal Python error: PyGILState_Release", exit
    134) or crashed (temporalio/sdk-python#300, still open for SDK 1.35). So the command runs
    what would run at exit (atexit handlers: logging, tracing exporters), flushes its output,
    and leaves with ``os._exit``, skipping only the teardown."""
    with contextlib.suppress(Exception):
        atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed pipe (``icpc cases | head``)
            stream.flush()
    os._exit(status)


if __name__ == "__main__":
    # As ``python -m starters.cli``: run the imported module's main, so the CommandError the
    # commands raise (starters.cli's) is the one caught, not a second copy in __main__.
    from starters.cli import main as imported_main

    sys.exit(imported_main())
