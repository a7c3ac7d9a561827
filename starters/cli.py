"""The ``icpc`` command: one entry point, one subcommand per job.

Each subcommand lives in its own module and registers itself through ``add_parser``; this
file only wires them together and turns expected errors into one plain line, not a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

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
    from domain.procedure import ProcedureError

    args = build_parser().parse_args(argv)
    try:
        result = args.handler(args)
    except (CommandError, ProcedureError) as error:
        print(f"icpc {args.command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return int(result or 0)


if __name__ == "__main__":
    # As ``python -m starters.cli``: run the imported module's main, so the CommandError the
    # commands raise (starters.cli's) is the one caught, not a second copy in __main__.
    from starters.cli import main as imported_main

    sys.exit(imported_main())
