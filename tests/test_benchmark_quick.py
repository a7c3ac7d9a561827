"""The shipped side-by-side benchmark runs: its quick mode, as a smoke test.

Real processes (a dev server, ``icpc worker``, the bare worker, the web form on loopback, the
time-skipping server). The figures are printed, never asserted: a shared machine is too noisy
for thresholds. What is asserted is that the run finishes and prints every row of its table.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from side_by_side import REPORTS_ROW, ROWS  # noqa: E402


def test_the_quick_benchmark_prints_every_row_of_its_table() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "side_by_side.py"), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    print(done.stdout)
    assert done.returncode == 0, done.stderr[-4000:]
    for row in (*ROWS, REPORTS_ROW):
        assert row in done.stdout, f"no row '{row}'"
    assert "ratio" in done.stdout
