"""How fast the planner turns cases into schedules, and how much memory it peaks at.

Plans N cases (default 10,000) with strategy discussions at random days and times in
2026-2030, spread over every installed procedure, with a conference date given for half of
them so conference-anchored milestones are planned too. Prints figures only.

    .venv/bin/python benchmarks/plan_benchmark.py [--cases N] [--seed S]
"""

from __future__ import annotations

import argparse
import random
import sys
import time as clock
import tracemalloc
from datetime import date, datetime, time, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from domain.calendar import london_instant
from domain.planner import Schedule, plan
from domain.vocabulary import Anchor
from procedures import load_all

FIRST = date(2026, 1, 1)
SPAN_DAYS = (date(2030, 12, 31) - FIRST).days


def cases(n: int, seed: int) -> list[tuple[datetime, datetime | None]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        day = FIRST + timedelta(days=rng.randrange(SPAN_DAYS + 1))
        strategy = london_instant(day, time(rng.randrange(8, 18), rng.choice((0, 15, 30, 45))))
        conference = None
        if rng.random() < 0.5:
            conference = london_instant(day + timedelta(days=rng.randrange(7, 22)), time(10, 0))
        out.append((strategy, conference))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    procedures = list(load_all().values())
    work = cases(args.cases, args.seed)

    # Warm the holiday tables for the whole range once, as a worker would after its first
    # cases, so the timed run measures planning rather than the holidays package's start-up.
    for procedure in procedures:
        plan(procedure, work[0][0])
        cal = procedure.calendar
        for year in range(2026, 2032):
            cal.is_working_day(date(year, 6, 1))

    def run(keep: list[Schedule] | None = None) -> int:
        milestones = 0
        for i, (strategy, conference) in enumerate(work):
            procedure = procedures[i % len(procedures)]
            anchors = {Anchor.CONFERENCE_DATE: conference} if conference else {}
            schedule = plan(procedure, strategy, anchors)
            milestones += len(schedule.milestones)
            if keep is not None:
                keep.append(schedule)
        return milestones

    started = clock.perf_counter()
    milestones = run()
    elapsed = clock.perf_counter() - started

    # Peak memory, measured on separate runs (tracemalloc slows Python down): planning one
    # case at a time, and holding every schedule at once (as a batch start would).
    tracemalloc.start()
    run()
    _, streaming_peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    kept: list[Schedule] = []
    run(kept)
    _, holding_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    print(f"procedures:        {len(procedures)} ({', '.join(p.id for p in procedures)})")
    print(f"cases planned:     {len(work):,} ({milestones:,} milestones)")
    print(f"elapsed:           {elapsed:.3f} s")
    print(f"cases per second:  {len(work) / elapsed:,.0f}")
    print(f"milestones/second: {milestones / elapsed:,.0f}")
    print(f"peak memory:       {streaming_peak / 1024:,.0f} KiB planning one case at a time")
    print(
        f"peak memory:       {holding_peak / 2**20:,.1f} MiB holding all {len(kept):,} schedules"
        f" ({holding_peak / len(kept) / 1024:,.1f} KiB a case)"
    )


if __name__ == "__main__":
    main()
