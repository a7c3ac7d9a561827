"""``icpc simulate``: a year of invented cases, written straight into the case record.

    icpc simulate --cases 1500 --year 2026 [--seed N] [--procedure ID ...]

The cases are drawn and driven through the rules by :mod:`simulation.year` (its docstring gives
the mix); this command checks its arguments and writes the batches.

A server-side command (it writes to the case record, ``ICPC_DATABASE_URL``), for a record of
its own: it refuses a record holding any case a simulation did not write (simulated cases are
marked by their family reference, :data:`simulation.year.SIMULATED_FAMILY`), so invented cases
never reach managers' lists and reports beside real ones. Each run and each refusal is a
``simulate`` row of the audit trail (channel ``cli``, with the operating-system account).
"""

from __future__ import annotations

import argparse
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

from domain.calendar import LONDON, london_instant
from simulation.year import DEFAULT_PROCEDURE, SIMULATED_FAMILY, simulate
from starters.cli import CommandError

if TYPE_CHECKING:
    from records.audit import Outcome
    from records.store import RecordStore

# --- the command ------------------------------------------------------------------------------


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "simulate",
        help="fill the case record with a simulated year of cases (invented data)",
        description=(
            "Drive a year of invented strategy discussions through the product's decision"
            " rules and write them to the case record (not through Temporal: no workflow runs"
            " for them and no email is sent)."
        ),
    )
    p.add_argument("--cases", type=int, default=1500, help="strategy discussions (default 1500)")
    p.add_argument("--year", type=int, required=True, help="the calendar year of the discussions")
    p.add_argument("--seed", type=int, default=1, help="the same seed gives the same cases")
    p.add_argument(
        "--procedure",
        action="append",
        metavar="ID",
        help=f"a procedure the cases follow (repeat for several; default {DEFAULT_PROCEDURE})",
    )
    p.add_argument("--as-of", metavar="YYYY-MM-DD", help="the day the world stops (default today)")
    p.set_defaults(handler=run_simulate)


def run_simulate(args: argparse.Namespace) -> int:
    import time as clock

    from procedures import load_all
    from records.audit import Outcome
    from starters import session

    if not 1 <= args.cases <= 100_000:
        raise CommandError("--cases must be 1 to 100000")
    installed = load_all()
    wanted = args.procedure or [DEFAULT_PROCEDURE]
    unknown = [p for p in wanted if p not in installed]
    if unknown:
        raise CommandError(
            f"unknown procedure '{unknown[0]}' (installed: {', '.join(sorted(installed))})"
        )
    now = datetime.now(LONDON)
    if args.as_of:
        try:
            as_of_day = date.fromisoformat(args.as_of)
        except ValueError:
            raise CommandError(f"--as-of '{args.as_of}' is not a date (YYYY-MM-DD)") from None
        if as_of_day > now.date():
            raise CommandError(f"--as-of {as_of_day.isoformat()} is in the future")
        as_of = london_instant(as_of_day, time(18, 0))
    else:
        as_of = now
    if not 2000 <= args.year <= as_of.year:
        raise CommandError(
            f"--year {args.year} is in the future (the world stops on {as_of.date().isoformat()})"
            if args.year > as_of.year
            else f"--year {args.year} is out of range"
        )
    if args.year == as_of.year and as_of.date() <= date(args.year, 1, 1):
        raise CommandError(f"{args.year} has only just begun: nothing to simulate yet")
    store = session.record()
    asked = (
        f"cases {args.cases}, year {args.year}, seed {args.seed}, procedures {', '.join(wanted)}"
    )
    real = store.count_other_families(SIMULATED_FAMILY)
    if real:
        reason = (
            f"the case record holds {real} cases no simulation wrote: simulate into a record of"
            " its own (ICPC_DATABASE_URL), never beside real cases"
        )
        _audit(store, Outcome.REFUSED, f"{asked}: {reason}")
        raise CommandError(reason)
    started = clock.monotonic()
    try:
        simulation = simulate(
            args.cases, args.year, args.seed, [installed[p] for p in wanted], as_of
        )
    except RuntimeError as error:
        raise CommandError(f"the simulation went wrong: {error}") from None
    drew = clock.monotonic() - started
    batches = simulation.batches
    written = 0
    for chunk in range(0, len(batches), 500):
        written += store.append_many(batches[chunk : chunk + 500])
    took = clock.monotonic() - started
    _audit(store, Outcome.OK, f"{asked}: events written {written}")
    held = sum(1 for c in simulation.cases if c.held_day is not None)
    print(
        f"Simulated {len(simulation.cases)} strategy discussions in {args.year}"
        f" (seed {args.seed}, as at {as_of.date().isoformat()}): {held} ICPCs held,"
        f" {written} events written to the case record in {took:.1f}s"
        f" ({drew:.1f}s driving the rules). Read them with `icpc report timeliness"
        f" --year {args.year + 1 if as_of.month > 3 else args.year}` or `icpc cases --status all`."
    )
    return 0


def _audit(store: RecordStore, outcome: Outcome, detail: str) -> None:
    from records.audit import Action, AuditEntry, AuditLog, Channel
    from starters import session

    AuditLog(store.engine).write(
        AuditEntry(
            action=Action.SIMULATE,
            outcome=outcome,
            channel=Channel.CLI,
            detail=f"icpc simulate: {detail} (os user {session.os_user()})",
        )
    )
