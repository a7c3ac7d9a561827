"""How fast every management information report answers over a year of cases, and ten.

Fills a throwaway case record with simulated years (``icpc simulate``'s engine: each case
driven through the product's decision rules): one authority of N cases (default 1,500), then
ten authorities' worth (ten simulated years with their own references, seeds and procedures,
15,000 cases). Each report is timed whole, as a face calls it: the record's two queries and the
pure computation (``records.reports_query``). Prints the median and worst wall-clock time of R runs
each (default 5) and the median CPU time of this process, in milliseconds, on SQLite, and on
PostgreSQL 15 when its binaries are installed (a throwaway server from ``tests/postgres.py``),
with the machine's load average.

    .venv/bin/python benchmarks/reports.py [--cases N] [--runs R] [--no-postgres]

Not a timed test: the figures depend on the machine. The aim is every report under a second.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time as clock
from collections.abc import Callable
from datetime import date, time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from domain.calendar import london_instant
from domain.reports import Period
from procedures import load_all
from records import reports_query as reports
from records.database import upgrade
from records.store import RecordStore
from simulation.year import simulate

YEAR = 2026
AS_OF = date(2026, 11, 25)  # fixed, so every run fills the same record
AUTHORITIES = 10


def fill(store: RecordStore, cases: int, authorities: range) -> int:
    procedures = list(load_all().values())
    as_of = london_instant(AS_OF, time(18))
    written = 0
    for n in authorities:
        simulation = simulate(
            cases,
            YEAR,
            seed=n,
            procedures=[procedures[n % len(procedures)]],
            as_of=as_of,
            prefix=f"LA{n:02d}",
        )
        batches = simulation.batches
        for chunk in range(0, len(batches), 1000):
            written += store.append_many(batches[chunk : chunk + 1000])
    return written


def timed(action: Callable[[], Any], runs: int) -> tuple[float, float, float]:
    """Median and worst wall-clock milliseconds, and the median CPU milliseconds of this
    process (on a machine shared with other work, the CPU time is the steadier figure; for
    PostgreSQL it leaves out the server's own work)."""
    action()  # warm: the first call builds the working-day indexes and compiles the queries
    times, cpu = [], []
    for _ in range(runs):
        started, used = clock.perf_counter(), clock.process_time()
        action()
        times.append((clock.perf_counter() - started) * 1000)
        cpu.append((clock.process_time() - used) * 1000)
    return statistics.median(times), max(times), statistics.median(cpu)


def measure(store: RecordStore, runs: int) -> list[tuple[str, float, float, float]]:
    procedures = load_all()
    month = Period.month("2026-10")
    year = Period.year_to_march(2027)
    so_far = Period.between(date(2026, 1, 1), AS_OF)
    window = Period.between(date(2026, 9, 1), date(2026, 10, 31))
    checks: list[tuple[str, Callable[[], Any]]] = [
        ("timeliness, a month", lambda: reports.timeliness_report(store, month, procedures)),
        (
            "timeliness, the year so far",
            lambda: reports.timeliness_report(store, so_far, procedures),
        ),
        (
            "out-of-timescale lists, a month",
            lambda: reports.out_of_timescale_report(store, month, procedures, AS_OF),
        ),
        ("capacity forecast, 4 weeks", lambda: reports.capacity_report(store, procedures, AS_OF)),
        ("audit sample, two months", lambda: reports.audit_sample_report(store, window)),
        ("census extract, a census year", lambda: reports.census_report(store, year)),
    ]
    return [(name, *timed(action, runs)) for name, action in checks]


def run(label: str, url: str, cases: int, runs: int) -> None:
    upgrade(url)
    with RecordStore(url) as store:
        for authorities in (range(1, 2), range(2, AUTHORITIES + 1)):
            started = clock.monotonic()
            events = fill(store, cases, authorities)
            total = cases * (authorities.stop - 1)
            load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
            print(
                f"\n{label}: {total:,} cases ({events:,} more events, filled in"
                f" {clock.monotonic() - started:.0f}s; load average {load}"
                f" on {os.cpu_count()} cores)"
            )
            print(f"  {'report':<34} {'median':>9} {'worst':>9} {'CPU':>9}")
            for name, median, worst, cpu in measure(store, runs):
                flag = "" if median < 1000 else "  (over a second)"
                print(f"  {name:<34} {median:>7.0f}ms {worst:>7.0f}ms {cpu:>7.0f}ms{flag}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1500, help="cases per authority")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="icpc-reports-bench-") as folder:
        run("SQLite", f"sqlite:///{Path(folder) / 'records.sqlite3'}", args.cases, args.runs)
    if args.no_postgres:
        return
    from tests.postgres import PG_BIN, PostgresServer

    if not (PG_BIN / "initdb").exists():
        print(f"\nPostgreSQL: skipped (no binaries in {PG_BIN})")
        return
    server = PostgresServer()
    server.start()
    try:
        run("PostgreSQL 15", server.url(server.create_database()), args.cases, args.runs)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
