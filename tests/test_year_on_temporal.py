"""The year-on-Temporal benchmark runs: a small year, as a smoke test.

Real parts: the time-skipping server, the product's worker, an SMTP sink on loopback, a
throwaway SQLite case record (``benchmarks/year_on_temporal.py`` starts them). What is asserted
is what the cases did, never how long it took: every case at the stage its script says, every
decision the rules took sent and none refused.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from year_on_temporal import CHECK_LINE  # noqa: E402

CASES = 30


def test_a_small_year_reaches_the_stages_its_scripts_say() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "year_on_temporal.py"), "--cases", str(CASES)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    print(done.stdout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"{CHECK_LINE}: {CASES}/{CASES}" in done.stdout
    started = re.search(r"cases started\s+(\d+)", done.stdout)
    assert started is not None and int(started.group(1)) == CASES
    sent = re.search(r"decisions sent\s+(\d+)\s+\(of (\d+) the rules took\)", done.stdout)
    assert sent is not None
    assert int(sent.group(1)) == int(sent.group(2)) > CASES  # several decisions a case
    # The year is not trivial: some conferences held, some withdrawn, some plans made.
    ends = re.search(r"how the year ends: (.*)", done.stdout)
    assert ends is not None
    assert "held" in ends.group(1) and "withdrawn" in ends.group(1) and "plan" in ends.group(1)
    assert "WRONG" not in done.stdout
