"""How fast the case record answers its list queries over many recorded cases (SQLite).

Fills a fresh SQLite record with N invented cases (default 10,000), a few events each, through
``RecordStore.append`` in batches as the activity would, then times the first page (50 rows)
of the open cases soonest deadline first, and of a filtered list (open, one procedure, one
team). Prints the median and worst of R runs each (default 25), in milliseconds.

    .venv/bin/python benchmarks/record_benchmark.py [--cases N] [--runs R] [--seed S]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time as clock
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from domain.case_record import CaseSummary, RecordBatch, RecordedEvent, Stream
from records.database import upgrade
from records.store import CaseFilter, RecordStore

PROCEDURES = ["bct-management-note", "kent", "essex", "surrey", "hampshire"]
TEAMS = ["north", "south", "east", "west", "central"]
STAGES = ["awaiting_confirmation", "awaiting_convening_sheet", "booking", "booked", "held"]
START = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def case_batch(n: int, rng: random.Random) -> RecordBatch:
    strategy = START + timedelta(days=rng.randrange(1500), minutes=rng.randrange(600))
    deadline = strategy + timedelta(days=21)
    is_open = rng.random() < 0.4
    events = [
        RecordedEvent(
            position=p,
            at=strategy + timedelta(days=p),
            event=["case_started", "confirm_icpc", "reminder", "book_conference"][p],
            summary=f"step {p}",
            data={"planned": p},
        )
        for p in range(rng.randrange(2, 5))
    ]
    summary = CaseSummary(
        case_id=f"bench-{n:06d}",
        case_reference=f"REF-{n:06d}",
        family_reference=f"FAM-{n // 2:06d}",
        procedure_id=rng.choice(PROCEDURES),
        stream=Stream.CASE,
        stage=rng.choice(STAGES),
        is_open=is_open,
        strategy_discussion=strategy,
        icpc_deadline=deadline,
        deadline=deadline if is_open or rng.random() < 0.5 else None,
        team=rng.choice(TEAMS),
        outcome=None if is_open else rng.choice(["plan", "no_plan"]),
    )
    return RecordBatch(case_id=summary.case_id, stream=Stream.CASE, events=events, summary=summary)


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        started = clock.perf_counter()
        fn()
        times.append((clock.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--seed", type=int, default=10)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'records.sqlite3'}"
        upgrade(url)
        with RecordStore(url) as store:
            started = clock.perf_counter()
            events = sum(store.append(case_batch(n, rng)) for n in range(args.cases))
            fill_seconds = clock.perf_counter() - started
            open_cases = CaseFilter(is_open=True)
            filtered = CaseFilter(is_open=True, procedure_id="kent", team="north")
            first_page = store.list_cases(open_cases, page=1, page_size=50)
            some = store.list_cases(filtered, page=1, page_size=50)
            assert len(first_page.rows) == 50 and some.rows
            open_ms = timed(lambda: store.list_cases(open_cases, page=1, page_size=50), args.runs)
            filtered_ms = timed(lambda: store.list_cases(filtered, page=1, page_size=50), args.runs)
            reference_ms = timed(lambda: store.find("REF-004242"), args.runs)
            timeline_ms = timed(lambda: store.timeline("bench-004242"), args.runs)
        print(f"cases recorded:                     {args.cases} ({events} events)")
        print(f"append, per case (one batch):       {fill_seconds / args.cases * 1000:.2f} ms")
        print(f"open cases matching:                {first_page.total}")
        print(f"filtered cases matching:            {some.total}")
        print(
            f"first page, open, soonest deadline: median {open_ms[0]:.2f} ms, worst {open_ms[1]:.2f} ms"
        )
        print(
            f"first page, open+procedure+team:    median {filtered_ms[0]:.2f} ms, worst {filtered_ms[1]:.2f} ms"
        )
        print(
            f"find by reference:                  median {reference_ms[0]:.2f} ms, worst {reference_ms[1]:.2f} ms"
        )
        print(
            f"timeline of one case:               median {timeline_ms[0]:.2f} ms, worst {timeline_ms[1]:.2f} ms"
        )


if __name__ == "__main__":
    main()
